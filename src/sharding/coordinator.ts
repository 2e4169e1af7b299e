// Holds this replica's shards: a member Lease says it is alive (and with which --shards), one Lease per shard says
// who works it. Every tick it renews what it holds, gives back what is beyond its fair share and takes free or
// expired shards up to it (lease-plan.ts decides). Safety is the leader election's: a holder stops working a shard
// when it could not renew for the renew deadline, which is shorter than the lease duration others wait out; and a
// shard given back is drained (onOwnedChanged resolves) before its Lease is freed.
import type { Logger } from 'pino';
import type { KubeClient } from '../kube/client.ts';
import { isConflict } from '../kube/errors.ts';
import { Resources } from '../kube/resources.ts';
import { leaseExpired, microTime, type Lease, type LeaseSpec } from '../runtime/leader-election.ts';
import { CertsmithError } from '../errors.ts';
import type { Clock } from '../time/clock.ts';
import { createSleeper } from '../time/sleeper.ts';
import { realTimers, type Timers } from '../time/timers.ts';
import { planLeases, type MemberView } from './lease-plan.ts';
import { fnv1a32 } from './shards.ts';

export const LEASE_ROLE_LABEL = 'certsmith.dev/lease-role';
export const LEASE_SHARDS_ANNOTATION = 'certsmith.dev/shards';
/** On a member Lease: host:port of the replica's HTTP-01 challenge server, which peers ask (acme/http01-peers.ts). */
export const LEASE_HTTP01_PEER_ANNOTATION = 'certsmith.dev/http01-peer';

export interface ShardCoordinatorOptions {
  client: KubeClient;
  namespace: string;
  /** Prefix of the Lease names: <prefix>-shard-<k>, <prefix>-member-<hash of identity>. */
  prefix: string;
  identity: string;
  shards: number;
  leaseDurationSeconds?: number;
  renewDeadlineSeconds?: number;
  retryPeriodSeconds?: number;
  clock: Clock;
  timers?: Timers;
  log: Logger;
  /** The shards this replica works changed; resolves once the ones removed are drained. */
  onOwnedChanged(owned: readonly number[]): Promise<void>;
  /** Another live replica runs with a different --shards: this one must exit. */
  onRefused(err: CertsmithError): void;
  /** host:port others reach this replica's HTTP-01 challenge server at, published on its member Lease. */
  http01Peer?: () => string | undefined;
}

export interface ShardCoordinator {
  run(): Promise<void>;
  /** Resolves after the first tick that found no replica with another shard count; rejects if one was found. */
  joined(): Promise<void>;
  /** Stops working every shard, frees the Leases and removes the member Lease, so others take over at once. */
  stop(): Promise<void>;
  owned(): readonly number[];
  /** host:port of the other live replicas' challenge servers, as of the last tick. */
  http01Peers(): readonly string[];
}

export const shardLeaseName = (prefix: string, shard: number) => `${prefix}-shard-${shard}`;
/** Identities need not be valid object names (host_pid): the name carries a hash, the Lease the identity. */
export const memberLeaseName = (prefix: string, identity: string) => `${prefix}-member-${fnv1a32(identity).toString(16).padStart(8, '0')}`;

export function createShardCoordinator(opts: ShardCoordinatorOptions): ShardCoordinator {
  const timers = opts.timers ?? realTimers;
  const durationS = opts.leaseDurationSeconds ?? 15;
  const renewDeadlineMs = (opts.renewDeadlineSeconds ?? 10) * 1000;
  const retryMs = (opts.retryPeriodSeconds ?? 2) * 1000;
  const log = opts.log.child({ shards: opts.shards, identity: opts.identity });
  const client = opts.client;
  /** Shard → when its Lease was last renewed (the renewTime written). */
  const held = new Map<number, number>();
  let peers: readonly string[] = [];
  let stopped = false;
  const pause = createSleeper(timers);
  let running: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;
  const joined = Promise.withResolvers<void>();
  joined.promise.catch(() => {});

  const leaseBody = (name: string, role: 'member' | 'shard', spec: LeaseSpec, metadata?: Lease['metadata']): Lease => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      ...(metadata ?? { name, namespace: opts.namespace }),
      labels: { ...metadata?.labels, [LEASE_ROLE_LABEL]: role },
      annotations: { ...metadata?.annotations, [LEASE_SHARDS_ANNOTATION]: String(opts.shards) },
    },
    spec,
  });

  async function changeOwned(): Promise<void> {
    await opts.onOwnedChanged([...held.keys()].sort((a, b) => a - b));
  }

  /** Stops working shards (drained before this resolves). */
  async function drop(shards: readonly number[], why: string): Promise<void> {
    if (shards.length === 0) return;
    for (const s of shards) held.delete(s);
    log.warn({ dropped: shards }, why);
    await changeOwned();
  }

  /** The member Lease carries this replica's challenge-server address beside the shard count. */
  const memberBody = (name: string, spec: LeaseSpec, metadata?: Lease['metadata']): Lease => {
    const body = leaseBody(name, 'member', spec, metadata);
    const peer = opts.http01Peer?.();
    if (peer) body.metadata.annotations = { ...body.metadata.annotations, [LEASE_HTTP01_PEER_ANNOTATION]: peer };
    return body;
  };

  async function writeMember(now: Date, leases: readonly Lease[]): Promise<void> {
    const name = memberLeaseName(opts.prefix, opts.identity);
    const current = leases.find((l) => l.metadata.name === name);
    const stamp = microTime(now);
    if (!current) {
      await client.create<Lease>(
        Resources.leases,
        memberBody(name, { holderIdentity: opts.identity, leaseDurationSeconds: durationS, acquireTime: stamp, renewTime: stamp }),
      );
      return;
    }
    const mine = current.spec?.holderIdentity === opts.identity;
    await client.replace<Lease>(
      Resources.leases,
      memberBody(
        name,
        { holderIdentity: opts.identity, leaseDurationSeconds: durationS, acquireTime: mine ? (current.spec?.acquireTime ?? stamp) : stamp, renewTime: stamp },
        current.metadata,
      ),
    );
  }

  async function writeShard(shard: number, now: Date, current: Lease | undefined, holder: string): Promise<void> {
    const name = shardLeaseName(opts.prefix, shard);
    const stamp = microTime(now);
    const prev = current?.spec ?? {};
    const takingOver = prev.holderIdentity !== holder;
    const spec: LeaseSpec = {
      holderIdentity: holder,
      // A freed Lease expires at once for electors that only look at time.
      leaseDurationSeconds: holder ? durationS : 1,
      renewTime: stamp,
      acquireTime: takingOver ? stamp : (prev.acquireTime ?? stamp),
      leaseTransitions: (prev.leaseTransitions ?? 0) + (takingOver && holder ? 1 : 0),
    };
    if (!current) await client.create<Lease>(Resources.leases, leaseBody(name, 'shard', spec));
    // The read's resourceVersion rides along: a Lease written by someone else since fails with 409.
    else await client.replace<Lease>(Resources.leases, leaseBody(name, 'shard', spec, current.metadata));
  }

  async function tick(): Promise<void> {
    const now = opts.clock.now();
    // Past the renew deadline without a renewal: another replica may take these any moment now.
    const stale = [...held].filter(([, renewed]) => now.getTime() - renewed > renewDeadlineMs).map(([s]) => s);
    await drop(stale, 'could not renew shard leases within the renew deadline; stopped working them');

    const { items } = await client.list<Lease>(Resources.leases, { namespace: opts.namespace, labelSelector: LEASE_ROLE_LABEL });
    const leases = items.filter((l) => l.metadata.name.startsWith(`${opts.prefix}-`));
    await writeMember(now, leases);
    const members: MemberView[] = leases
      .filter((l) => l.metadata.labels?.[LEASE_ROLE_LABEL] === 'member' && l.spec?.holderIdentity && l.spec.holderIdentity !== opts.identity)
      .map((l) => ({ identity: l.spec!.holderIdentity!, shards: Number(l.metadata.annotations?.[LEASE_SHARDS_ANNOTATION]), spec: l.spec! }));
    // This replica as just written: live now, joined when its member Lease was first taken.
    const stamp = microTime(now);
    const ownSpec = leases.find((l) => l.metadata.name === memberLeaseName(opts.prefix, opts.identity))?.spec;
    const joinedAt = ownSpec?.holderIdentity === opts.identity ? (ownSpec.acquireTime ?? stamp) : stamp;
    members.push({
      identity: opts.identity,
      shards: opts.shards,
      spec: { holderIdentity: opts.identity, leaseDurationSeconds: durationS, acquireTime: joinedAt, renewTime: stamp },
    });
    peers = leases
      .filter(
        (l) =>
          l.metadata.labels?.[LEASE_ROLE_LABEL] === 'member' &&
          l.spec?.holderIdentity &&
          l.spec.holderIdentity !== opts.identity &&
          !leaseExpired(l.spec, now, durationS),
      )
      .flatMap((l) => l.metadata.annotations?.[LEASE_HTTP01_PEER_ANNOTATION] ?? [])
      .sort();
    const byShard = new Map<number, Lease>();
    for (let s = 0; s < opts.shards; s++) {
      const l = leases.find((x) => x.metadata.name === shardLeaseName(opts.prefix, s));
      if (l) byShard.set(s, l);
    }
    const plan = planLeases({
      identity: opts.identity,
      shards: opts.shards,
      now,
      leaseDurationSeconds: durationS,
      members,
      shardLeases: new Map([...byShard].map(([s, l]) => [s, l.spec ?? {}])),
      held: new Set(held.keys()),
    });
    if (plan.kind === 'refuse') {
      await drop([...held.keys()], 'refusing to run beside a replica with another shard count');
      stopped = true;
      const err = new CertsmithError('ShardCountMismatch', plan.message);
      joined.reject(err);
      opts.onRefused(err);
      return;
    }
    joined.resolve();
    await drop(plan.lost, 'shard leases taken by another replica; stopped working them');

    for (const s of plan.renew) {
      try {
        await writeShard(s, now, byShard.get(s), opts.identity);
        held.set(s, now.getTime());
      } catch (err) {
        if (isConflict(err)) await drop([s], 'shard lease changed under this replica; stopped working it');
        else log.warn({ shard: s, err: (err as Error).message }, 'could not renew a shard lease');
      }
    }
    if (plan.release.length > 0) {
      await drop(plan.release, 'more than a fair share of shards; giving some back');
      for (const s of plan.release) {
        await writeShard(s, opts.clock.now(), byShard.get(s), '').catch((err: Error) =>
          log.warn({ shard: s, err: err.message }, 'could not free a shard lease'),
        );
      }
    }
    const taken: number[] = [];
    for (const s of plan.acquire) {
      try {
        await writeShard(s, now, byShard.get(s), opts.identity);
        held.set(s, now.getTime());
        taken.push(s);
      } catch (err) {
        if (!isConflict(err)) log.warn({ shard: s, err: (err as Error).message }, 'could not take a shard lease');
      }
    }
    if (taken.length > 0) {
      log.info({ taken, owned: [...held.keys()].sort((a, b) => a - b), liveMembers: plan.liveMembers, fairShare: plan.fairShare }, 'took shards');
      await changeOwned();
    }
  }

  async function loop(): Promise<void> {
    while (!stopped) {
      try {
        await tick();
      } catch (err) {
        log.warn({ err: (err as Error).message, code: (err as { code?: string }).code }, 'shard lease tick failed');
      }
      if (stopped) break;
      await pause.sleep(retryMs);
    }
  }

  async function release(): Promise<void> {
    const mine = [...held.keys()];
    await drop(mine, 'stopping; giving back every shard');
    const { items } = await client.list<Lease>(Resources.leases, { namespace: opts.namespace, labelSelector: LEASE_ROLE_LABEL });
    for (const s of mine) {
      const l = items.find((x) => x.metadata.name === shardLeaseName(opts.prefix, s));
      if (l?.spec?.holderIdentity === opts.identity) await writeShard(s, opts.clock.now(), l, '');
    }
    const member = items.find((x) => x.metadata.name === memberLeaseName(opts.prefix, opts.identity));
    if (member?.spec?.holderIdentity === opts.identity) {
      await client.delete(Resources.leases, opts.namespace, member.metadata.name, { uid: member.metadata.uid! });
    }
  }

  return {
    run() {
      running ??= loop();
      return running;
    },
    stop() {
      stopping ??= (async () => {
        stopped = true;
        joined.resolve();
        pause.wake();
        await running;
        // Bounded, so shutdown never hangs on an unreachable API server: the Leases then simply expire.
        await Promise.race([
          release().catch((err: Error) => log.warn({ err: err.message }, 'could not free shard leases')),
          new Promise<void>((r) => timers.setTimeout(r, renewDeadlineMs)),
        ]);
      })();
      return stopping;
    },
    joined: () => joined.promise,
    http01Peers: () => peers,
    owned: () => [...held.keys()].sort((a, b) => a - b),
  };
}
