// The shards this replica works right now, and the reconciles running in each: a reconcile of a shard not owned
// does nothing, and a shard given back waits until its running reconciles are done before its Lease is freed.
import type { Reconciler } from '../runtime/controller.ts';
import type { Timers } from '../time/timers.ts';

export interface ShardGate {
  readonly shards: number;
  owns(shard: number): boolean;
  setOwned(owned: readonly number[]): void;
  owned(): readonly number[];
  /** Runs the reconciler only while its shard is owned, counted as running in it. */
  guard(shardOfKey: (key: string) => number, reconcile: Reconciler): Reconciler;
  /** Resolves once no reconcile of these shards runs, or after `timeoutMs` (false then). */
  drained(shards: readonly number[], timeoutMs: number): Promise<boolean>;
}

export function createShardGate(shards: number, timers: Timers): ShardGate {
  let owned = new Set<number>();
  const running = new Map<number, number>();
  const waiters = new Set<() => void>();
  const busy = (list: readonly number[]) => list.some((s) => (running.get(s) ?? 0) > 0);

  return {
    shards,
    owns: (s) => owned.has(s),
    setOwned(next) {
      owned = new Set(next);
    },
    owned: () => [...owned].sort((a, b) => a - b),
    guard(shardOfKey, reconcile) {
      return async (key, ctx) => {
        const shard = shardOfKey(key);
        if (!owned.has(shard)) return undefined;
        running.set(shard, (running.get(shard) ?? 0) + 1);
        try {
          return await reconcile(key, ctx);
        } finally {
          running.set(shard, running.get(shard)! - 1);
          for (const w of [...waiters]) w();
        }
      };
    },
    drained(list, timeoutMs) {
      if (!busy(list)) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const check = () => {
          if (busy(list)) return;
          finish(true);
        };
        const handle = timers.setTimeout(() => finish(false), timeoutMs);
        const finish = (ok: boolean) => {
          waiters.delete(check);
          timers.clearTimeout(handle);
          resolve(ok);
        };
        waiters.add(check);
      });
    },
  };
}
