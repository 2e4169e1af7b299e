// A sharded replica's side of ownership: the coordinator holds the Leases, and this applies what it holds to the
// caches and the gate. A shard given back stops at once (no reconcile of it starts) and is drained before its Lease
// is freed; a shard taken is cached first (Secrets, then Certificates) and worked after, so its Certificates are
// never read without their Secrets.
import type { Logger } from 'pino';
import type { Certificate } from '../api/certificate.ts';
import type { Config } from '../config/config.ts';
import type { CertsmithError } from '../errors.ts';
import type { KubeClient } from '../kube/client.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { Clock } from '../time/clock.ts';
import { createShardCoordinator, type ShardCoordinator } from './coordinator.ts';
import type { Sharding } from './sharding.ts';
import { certificateShard } from './shards.ts';

/** Longest a shard given back waits for its running reconciles before its Lease is freed (below the renew deadline). */
const DRAIN_TIMEOUT_MS = 5000;

export function createShardedReplica(deps: {
  config: Pick<Config, 'leaderElectionNamespace' | 'leaderElectionId' | 'identity'>;
  client: KubeClient;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  sharding: Sharding;
  /** Makes the shared caches hold these shards' objects (shared-caches.ts). */
  selectShards(owned: readonly number[]): Promise<void>;
  /** The cached Certificates, after a selection. */
  certificates(): readonly Certificate[];
  enqueueCertificate(c: Certificate): void;
  /** The Ingresses and Gateways of these shards are looked at. */
  enqueueShimShards(shards: readonly number[]): void;
  /** host:port the other replicas reach this one's HTTP-01 challenge server at. */
  http01Address(): string | undefined;
  onRefused(err: CertsmithError): void;
}): ShardCoordinator {
  const { sharding, log } = deps;
  const gate = sharding.gate;
  /** Selections run one at a time, each for the latest owned set. */
  let selecting: Promise<void> = Promise.resolve();
  let wanted: readonly number[] = [];

  async function own(owned: readonly number[]): Promise<void> {
    wanted = owned;
    const dropped = gate.owned().filter((s) => !owned.includes(s));
    gate.setOwned(gate.owned().filter((s) => owned.includes(s)));
    deps.metrics.shardsOwned.set(owned.length);
    if (dropped.length > 0 && !(await gate.drained(dropped, DRAIN_TIMEOUT_MS))) {
      log.warn({ dropped }, 'reconciles of shards given back still running after the drain timeout');
    }
    selecting = selecting.then(async () => {
      const target = wanted;
      try {
        await deps.selectShards(target);
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'could not change the shard selection');
        return;
      }
      // Only what is still wanted (not dropped meanwhile) is worked.
      const now = target.filter((s) => wanted.includes(s));
      const gained = now.filter((s) => !gate.owns(s));
      gate.setOwned(now);
      if (gained.length === 0) return;
      for (const c of deps.certificates()) if (gained.includes(certificateShard(c, sharding.shards))) deps.enqueueCertificate(c);
      deps.enqueueShimShards(gained);
      log.info({ gained, owned: now }, 'working shards');
    });
  }

  return createShardCoordinator({
    client: deps.client,
    namespace: deps.config.leaderElectionNamespace,
    prefix: deps.config.leaderElectionId,
    identity: deps.config.identity,
    shards: sharding.shards,
    clock: deps.clock,
    log,
    onOwnedChanged: own,
    http01Peer: deps.http01Address,
    onRefused: deps.onRefused,
  });
}
