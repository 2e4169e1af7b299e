// Leader election on a coordination.k8s.io/v1 Lease, as client-go does it: take the Lease when it is free or
// expired with a conditional write (a 409 means another replica won), renew every retry period, and give up
// leadership when renewals keep failing for the renew deadline.
import type { Logger } from 'pino';
import type { KubeObject } from '../api/meta.ts';
import type { KubeClient } from '../kube/client.ts';
import { isConflict } from '../kube/errors.ts';
import { Resources } from '../kube/resources.ts';
import { systemClock, type Clock } from '../policy/clock.ts';

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}
type Lease = KubeObject & { spec?: LeaseSpec };

export interface LeaderElector {
  run(): Promise<void>;
  stop(): Promise<void>;
  isLeader(): boolean;
}

export function createLeaderElector(opts: {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
  clock?: Clock;
  log: Logger;
  onStartedLeading(): void;
  onStoppedLeading(): void;
}): LeaderElector {
  const clock = opts.clock ?? systemClock;
  const leaseDuration = opts.leaseDurationSeconds ?? 15;
  const renewDeadline = opts.renewDeadlineSeconds ?? 10;
  const retryPeriod = opts.retryPeriodSeconds ?? 2;
  const log = opts.log.child({ lease: `${opts.namespace}/${opts.name}`, identity: opts.identity });
  let leader = false;
  let stopped = false;
  let lastRenew = 0;
  let wake: (() => void) | undefined;
  let running: Promise<void> | undefined;

  const microTime = (d: Date) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });

  /** One attempt to acquire or renew; true when this replica holds the Lease afterwards. */
  async function tryAcquireOrRenew(): Promise<boolean> {
    const now = clock.now();
    const lease = await opts.client.get<Lease>(Resources.leases, opts.namespace, opts.name);
    const mine: LeaseSpec = {
      holderIdentity: opts.identity,
      leaseDurationSeconds: leaseDuration,
      renewTime: microTime(now),
    };
    if (!lease) {
      await opts.client.create<Lease>(Resources.leases, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: opts.name, namespace: opts.namespace },
        spec: { ...mine, acquireTime: microTime(now), leaseTransitions: 0 },
      });
      return true;
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const renewed = spec.renewTime ? Date.parse(spec.renewTime) : 0;
    const expired = renewed + (spec.leaseDurationSeconds ?? leaseDuration) * 1000 < now.getTime();
    if (holder && holder !== opts.identity && !expired) return false;
    const takingOver = holder !== opts.identity;
    await opts.client.replace<Lease>(Resources.leases, {
      ...lease,
      spec: {
        ...spec,
        ...mine,
        acquireTime: takingOver ? microTime(now) : (spec.acquireTime ?? microTime(now)),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (takingOver && holder ? 1 : 0),
      },
    });
    return true;
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      let held = false;
      try {
        held = await tryAcquireOrRenew();
        if (held) lastRenew = clock.now().getTime();
      } catch (err) {
        if (!isConflict(err)) log.warn({ err: (err as Error).message }, 'lease update failed');
      }
      if (stopped) break;
      if (held && !leader) {
        leader = true;
        log.info('acquired lease');
        opts.onStartedLeading();
      } else if (leader && !held && clock.now().getTime() - lastRenew > renewDeadline * 1000) {
        leader = false;
        log.warn('could not renew the lease within the deadline');
        opts.onStoppedLeading();
        return;
      } else if (leader && !held) {
        // Someone else holds it now (it was taken over): stop at once.
        const lease = await opts.client.get<Lease>(Resources.leases, opts.namespace, opts.name).catch(() => undefined);
        const holder = lease?.spec?.holderIdentity;
        if (holder && holder !== opts.identity) {
          leader = false;
          log.warn({ holder }, 'lease taken by another replica');
          opts.onStoppedLeading();
          return;
        }
      }
      await sleep(retryPeriod * 1000 * (leader ? 1 : 0.8 + Math.random() * 0.4));
    }
  }

  return {
    run() {
      running ??= loop();
      return running;
    },
    async stop() {
      stopped = true;
      wake?.();
      await running;
      if (!leader) return;
      leader = false;
      // Release: an empty holder lets a successor take over without waiting out the lease.
      const lease = await opts.client.get<Lease>(Resources.leases, opts.namespace, opts.name);
      if (lease?.spec?.holderIdentity !== opts.identity) return;
      await opts.client.replace<Lease>(Resources.leases, {
        ...lease,
        spec: { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: microTime(clock.now()) },
      });
      log.info('released lease');
    },
    isLeader: () => leader,
  };
}
