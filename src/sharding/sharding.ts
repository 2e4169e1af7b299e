// What the controllers of a sharded replica (--shards N > 1) share: the gate saying which shards it works now, how a
// workqueue key maps to a shard, and the labels that place an object made from another in that object's shard.
import { SHARD_LABEL } from '../api/labels.ts';
import type { ShardGate } from './gate.ts';
import { shardLabelValue, shardOf } from './shards.ts';

export interface Sharding {
  shards: number;
  gate: ShardGate;
  /** The shard of a "namespace/name" workqueue key, by hash. */
  shardOfKey(key: string): number;
  /** The shard label of the shard namespace/name hashes to. */
  labelsFor(namespace: string, name: string): Record<string, string>;
}

export function createSharding(shards: number, gate: ShardGate): Sharding {
  return {
    shards,
    gate,
    // Workqueue keys are "namespace/name", or "name" for a cluster-scoped object.
    shardOfKey: (key) => {
      const i = key.indexOf('/');
      return i < 0 ? shardOf(undefined, key, shards) : shardOf(key.slice(0, i), key.slice(i + 1), shards);
    },
    labelsFor: (namespace, name) => ({ [SHARD_LABEL]: shardLabelValue(shardOf(namespace, name, shards), shards) }),
  };
}
