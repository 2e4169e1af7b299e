// Leader election on a coordination.k8s.io/v1 Lease, the way client-go does it: take the Lease when it is missing,
// released or expired with a conditional write (a 409 means another replica won), renew it every retry period, and
// give up leadership when renewals keep failing for the renew deadline, which is shorter than the lease duration so
// the old leader stops before anyone else may start.
import type { Logger } from 'pino';
import { CertsmithError } from '../errors.ts';
import type { KubeObject } from '../api/meta.ts';
import type { KubeClient } from '../kube/client.ts';
import { isConflict } from '../kube/errors.ts';
import { Resources } from '../kube/resources.ts';
import { systemClock, type Clock } from '../time/clock.ts';
import { createSleeper } from '../time/sleeper.ts';
import { realTimers, type Timers } from '../time/timers.ts';

export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number | null;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number | null;
}
export type Lease = KubeObject<LeaseSpec>;

export interface LeaderElectorOptions {
  client: KubeClient;
  namespace: string;
  name: string;
  identity: string;
  /** How long others wait after the last renewal before taking over (default 15). */
  leaseDurationSeconds?: number;
  /** How long the leader keeps trying to renew before it gives up; must be below the lease duration (default 10). */
  renewDeadlineSeconds?: number;
  /** Pause between attempts, for the leader and for candidates (default 2). */
  retryPeriodSeconds?: number;
  clock?: Clock;
  timers?: Timers;
  /** Source of jitter in [0, 1); tests pin it. */
  random?: () => number;
  log: Logger;
  onStartedLeading(): void;
  /** Called once when leadership is lost (not on stop()); the operator should exit. */
  onStoppedLeading(): void;
}

export interface LeaderElector {
  /** Campaigns and renews until stop(), or until leadership is lost (after onStoppedLeading). */
  run(): Promise<void>;
  /** Ends the loop and releases the Lease if held, so a successor takes over without waiting it out. */
  stop(): Promise<void>;
  isLeader(): boolean;
}

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(d: Date): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** True when the Lease is free to take at `now`: no holder, or not renewed within its duration. */
export function leaseExpired(spec: LeaseSpec, now: Date, defaultDurationSeconds: number): boolean {
  if (!spec.holderIdentity) return true;
  const renewed = spec.renewTime ? Date.parse(spec.renewTime) : NaN;
  if (!Number.isFinite(renewed)) return true;
  return renewed + (spec.leaseDurationSeconds ?? defaultDurationSeconds) * 1000 < now.getTime();
}

type Attempt = 'held' | 'heldByOther';

export function createLeaderElector(opts: LeaderElectorOptions): LeaderElector {
  const clock = opts.clock ?? systemClock;
  const timers = opts.timers ?? realTimers;
  const random = opts.random ?? Math.random;
  const leaseDurationMs = (opts.leaseDurationSeconds ?? 15) * 1000;
  const renewDeadlineMs = (opts.renewDeadlineSeconds ?? 10) * 1000;
  const retryPeriodMs = (opts.retryPeriodSeconds ?? 2) * 1000;
  if (renewDeadlineMs >= leaseDurationMs) {
    throw new CertsmithError('ConfigInvalid', 'renewDeadlineSeconds must be shorter than leaseDurationSeconds');
  }
  if (retryPeriodMs >= renewDeadlineMs) {
    throw new CertsmithError('ConfigInvalid', 'retryPeriodSeconds must be shorter than renewDeadlineSeconds');
  }
  const log = opts.log.child({ lease: `${opts.namespace}/${opts.name}`, identity: opts.identity });
  let leader = false;
  /** This replica's identity may be in the Lease: stop() must release it even if the callbacks never ran. */
  let mayHoldLease = false;
  let stopped = false;
  let lastRenewMs = 0;
  const pause = createSleeper(timers);
  let running: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;

  /** The client has no request timeout: a request hanging on a dead connection must not hold leadership. */
  function withTimeout<R>(p: Promise<R>, ms: number): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      const handle = timers.setTimeout(() => reject(new Error(`lease request took longer than ${ms} ms`)), ms);
      p.then(
        (v) => {
          timers.clearTimeout(handle);
          resolve(v);
        },
        (err: unknown) => {
          timers.clearTimeout(handle);
          reject(err);
        },
      );
    });
  }

  /** One read-then-conditional-write; throws on API errors (409 included: someone else wrote first). */
  async function tryAcquireOrRenew(now: Date): Promise<Attempt> {
    const lease = await opts.client.get<Lease>(Resources.leases, opts.namespace, opts.name);
    const stamp = microTime(now);
    const durationSeconds = leaseDurationMs / 1000;
    if (!lease) {
      mayHoldLease = true;
      await opts.client.create<Lease>(Resources.leases, {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: opts.name, namespace: opts.namespace },
        spec: { holderIdentity: opts.identity, leaseDurationSeconds: durationSeconds, acquireTime: stamp, renewTime: stamp, leaseTransitions: 0 },
      });
      return 'held';
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    if (holder !== opts.identity && !leaseExpired(spec, now, durationSeconds)) return 'heldByOther';
    const takingOver = holder !== opts.identity;
    mayHoldLease = true;
    await opts.client.replace<Lease>(Resources.leases, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: lease.metadata, // carries resourceVersion: the write fails with 409 if the Lease changed since the read
      spec: {
        ...spec,
        holderIdentity: opts.identity,
        leaseDurationSeconds: durationSeconds,
        renewTime: stamp,
        acquireTime: takingOver ? stamp : (spec.acquireTime ?? stamp),
        leaseTransitions: (spec.leaseTransitions ?? 0) + (takingOver ? 1 : 0),
      },
    });
    return 'held';
  }

  function lose(why: string, fields: Record<string, unknown>) {
    leader = false;
    log.warn(fields, why);
    try {
      opts.onStoppedLeading();
    } catch (err) {
      log.error({ err: (err as Error)?.message ?? String(err) }, 'onStoppedLeading handler failed');
    }
  }

  /** Milliseconds the leader has left before it must consider itself deposed. */
  const deadlineLeftMs = () => lastRenewMs + renewDeadlineMs - clock.now().getTime();

  async function loop(): Promise<void> {
    while (!stopped) {
      if (leader && deadlineLeftMs() <= 0) {
        lose('could not renew the lease within the renew deadline; stopped leading', { renewDeadlineMs });
        return;
      }
      const attemptAt = clock.now();
      // A leader may spend only what is left of its renew deadline on one attempt; a candidate loses nothing by
      // waiting, but must not wait forever either.
      const budgetMs = leader ? deadlineLeftMs() : renewDeadlineMs;
      let outcome: Attempt | 'failed';
      try {
        outcome = await withTimeout(tryAcquireOrRenew(attemptAt), budgetMs);
      } catch (err) {
        outcome = 'failed';
        const e = err as { message?: string; code?: string };
        if (isConflict(err)) log.debug('lost a race for the lease');
        else log.warn({ err: e?.message ?? String(err), code: e?.code }, 'lease request failed');
      }
      if (stopped) break;
      if (outcome === 'held') {
        // The renewTime written is attemptAt, so that is what others count the lease duration from.
        lastRenewMs = attemptAt.getTime();
        if (!leader) {
          leader = true;
          log.info('acquired lease');
          try {
            opts.onStartedLeading();
          } catch (err) {
            log.error({ err: (err as Error)?.message ?? String(err) }, 'onStartedLeading handler failed');
          }
        }
      } else if (leader && outcome === 'heldByOther') {
        mayHoldLease = false;
        lose('lease taken by another holder; stopped leading', {});
        return;
      }
      if (stopped) break;
      // Candidates jitter so they do not knock on the Lease in step; the leader keeps a steady beat, but never
      // sleeps past its renew deadline.
      const waitMs = leader ? Math.max(0, Math.min(retryPeriodMs, deadlineLeftMs())) : Math.round(retryPeriodMs * (0.8 + 0.4 * random()));
      await pause.sleep(waitMs);
    }
  }

  async function release(): Promise<void> {
    const lease = await opts.client.get<Lease>(Resources.leases, opts.namespace, opts.name);
    if (!lease || lease.spec?.holderIdentity !== opts.identity) return;
    const now = microTime(clock.now());
    await opts.client.replace<Lease>(Resources.leases, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: lease.metadata,
      // An empty holder is free at once for us; a one-second duration makes it expire at once for electors that
      // only look at time (client-go).
      spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: now },
    });
    log.info('released lease');
  }

  return {
    run() {
      if (stopped) return Promise.resolve();
      running ??= loop().finally(() => {
        running = undefined;
      });
      return running;
    },
    stop() {
      stopping ??= (async () => {
        stopped = true;
        pause.wake();
        // Waiting for an attempt in flight keeps it from renewing the Lease after the release below.
        await running?.catch(() => {});
        leader = false;
        if (!mayHoldLease) return;
        mayHoldLease = false;
        // Bounded, so a shutdown never hangs on an unreachable API server; the Lease then simply expires.
        await withTimeout(release(), renewDeadlineMs);
      })();
      return stopping;
    },
    isLeader: () => leader,
  };
}
