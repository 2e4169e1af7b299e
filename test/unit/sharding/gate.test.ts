import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { ReconcileContext } from '../../../src/runtime/controller.ts';
import { createShardGate } from '../../../src/sharding/gate.ts';
import type { Timers } from '../../../src/time/timers.ts';

/** Timers that fire only when told to. */
function manualTimers() {
  let next = 0;
  const pending = new Map<number, { fn: () => void; ms: number }>();
  const timers: Timers = {
    setTimeout(fn, ms) {
      const handle = ++next;
      pending.set(handle, { fn, ms });
      return handle;
    },
    clearTimeout(handle) {
      pending.delete(handle as number);
    },
  };
  return {
    timers,
    pending,
    /** Fires every pending timer. */
    fireAll() {
      const due = [...pending.values()];
      pending.clear();
      for (const t of due) t.fn();
    },
  };
}

const ctx: ReconcileContext = { log: pino({ level: 'silent' }), signal: new AbortController().signal };

/** Lets pending promise callbacks run. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Records whether a promise has settled, and with what. */
function track<T>(p: Promise<T>) {
  const state: { done: boolean; value?: T } = { done: false };
  void p.then((value) => {
    state.done = true;
    state.value = value;
  });
  return state;
}

/** Keys name their shard: "<shard>/<name>". */
const shardOfKey = (key: string) => Number(key.split('/')[0]);

/** A reconciler whose runs block until released, per key. */
function blockingReconciler() {
  const calls: string[] = [];
  const release = new Map<string, () => void>();
  const reconcile = async (key: string) => {
    calls.push(key);
    const { promise, resolve } = Promise.withResolvers<void>();
    release.set(key, resolve);
    await promise;
    return { requeueAfterMs: 1000 };
  };
  return { calls, release: (key: string) => release.get(key)!(), reconcile };
}

describe('shard gate', () => {
  it('keeps the owned shards, sorted', () => {
    const gate = createShardGate(4, manualTimers().timers);
    assert.equal(gate.shards, 4);
    assert.deepEqual(gate.owned(), []);
    gate.setOwned([3, 1]);
    assert.deepEqual(gate.owned(), [1, 3]);
    assert.equal(gate.owns(1), true);
    assert.equal(gate.owns(0), false);
    gate.setOwned([]);
    assert.equal(gate.owns(1), false);
  });

  it('skips a reconcile of a shard not owned: the reconciler is not called and the result is undefined', async () => {
    const gate = createShardGate(3, manualTimers().timers);
    gate.setOwned([0]);
    const calls: string[] = [];
    const guarded = gate.guard(shardOfKey, async (key) => {
      calls.push(key);
      return { requeueAfterMs: 5 };
    });
    assert.equal(await guarded('1/web', ctx), undefined);
    assert.equal(await guarded('2/api', ctx), undefined);
    assert.deepEqual(calls, []);
    assert.deepEqual(await guarded('0/db', ctx), { requeueAfterMs: 5 });
    assert.deepEqual(calls, ['0/db']);
  });

  it('passes the key and context through to the reconciler', async () => {
    const gate = createShardGate(2, manualTimers().timers);
    gate.setOwned([1]);
    let seen: [string, ReconcileContext] | undefined;
    const guarded = gate.guard(shardOfKey, async (key, c) => {
      seen = [key, c];
      return undefined;
    });
    await guarded('1/x', ctx);
    assert.equal(seen?.[0], '1/x');
    assert.equal(seen?.[1], ctx);
  });

  it('follows ownership changes between reconciles', async () => {
    const gate = createShardGate(2, manualTimers().timers);
    const calls: string[] = [];
    const guarded = gate.guard(shardOfKey, async (key) => {
      calls.push(key);
      return undefined;
    });
    await guarded('1/a', ctx);
    gate.setOwned([1]);
    await guarded('1/b', ctx);
    gate.setOwned([0]);
    await guarded('1/c', ctx);
    assert.deepEqual(calls, ['1/b']);
  });

  it('drained resolves true at once when nothing runs, without arming a timer', async () => {
    const t = manualTimers();
    const gate = createShardGate(3, t.timers);
    gate.setOwned([0, 1, 2]);
    assert.equal(await gate.drained([0, 1, 2], 1000), true);
    assert.equal(await gate.drained([], 1000), true);
    assert.equal(t.pending.size, 0);
  });

  it('drained waits for a running reconcile of that shard to finish, then clears its timer', async () => {
    const t = manualTimers();
    const gate = createShardGate(3, t.timers);
    gate.setOwned([0]);
    const r = blockingReconciler();
    const guarded = gate.guard(shardOfKey, r.reconcile);
    const run = guarded('0/a', ctx);
    await settle();
    assert.deepEqual(r.calls, ['0/a']);

    const drained = track(gate.drained([0], 30_000));
    await settle();
    assert.equal(drained.done, false);
    assert.equal(t.pending.size, 1);
    assert.equal([...t.pending.values()][0]!.ms, 30_000);

    r.release('0/a');
    assert.deepEqual(await run, { requeueAfterMs: 1000 });
    await settle();
    assert.deepEqual(drained, { done: true, value: true });
    assert.equal(t.pending.size, 0);
  });

  it('drained waits for every running reconcile of the shard, not just the first to finish', async () => {
    const t = manualTimers();
    const gate = createShardGate(2, t.timers);
    gate.setOwned([0]);
    const r = blockingReconciler();
    const guarded = gate.guard(shardOfKey, r.reconcile);
    const runs = [guarded('0/a', ctx), guarded('0/b', ctx)];
    await settle();

    const drained = track(gate.drained([0], 30_000));
    r.release('0/a');
    await runs[0];
    await settle();
    assert.equal(drained.done, false);

    r.release('0/b');
    await runs[1];
    await settle();
    assert.deepEqual(drained, { done: true, value: true });
  });

  it('drained resolves false after the timeout if the reconcile still runs', async () => {
    const t = manualTimers();
    const gate = createShardGate(3, t.timers);
    gate.setOwned([2]);
    const r = blockingReconciler();
    const guarded = gate.guard(shardOfKey, r.reconcile);
    const run = guarded('2/slow', ctx);
    await settle();

    const drained = track(gate.drained([2], 500));
    await settle();
    assert.equal(drained.done, false);
    t.fireAll();
    await settle();
    assert.deepEqual(drained, { done: true, value: false });

    // The reconcile finishing later changes nothing, and the shard then reads as drained.
    r.release('2/slow');
    await run;
    await settle();
    assert.deepEqual(drained, { done: true, value: false });
    assert.equal(await gate.drained([2], 500), true);
  });

  it('counts a reconcile that throws as finished', async () => {
    const t = manualTimers();
    const gate = createShardGate(1, t.timers);
    gate.setOwned([0]);
    const { promise: block, reject } = Promise.withResolvers<void>();
    const guarded = gate.guard(shardOfKey, async () => {
      await block;
      return undefined;
    });
    const run = guarded('0/boom', ctx);
    await settle();
    const drained = track(gate.drained([0], 1000));
    reject(new Error('boom'));
    await assert.rejects(run, /boom/);
    await settle();
    assert.deepEqual(drained, { done: true, value: true });
    assert.equal(t.pending.size, 0);
  });

  it('drained is not held up by reconciles of other shards', async () => {
    const t = manualTimers();
    const gate = createShardGate(3, t.timers);
    gate.setOwned([0, 1]);
    const r = blockingReconciler();
    const guarded = gate.guard(shardOfKey, r.reconcile);
    const runs = [guarded('1/other', ctx)];
    await settle();

    // Nothing runs in shard 0: at once.
    assert.equal(await gate.drained([0], 1000), true);
    assert.equal(t.pending.size, 0);

    // Shard 0 busy too: resolves when shard 0 is done, while shard 1 still runs.
    runs.push(guarded('0/mine', ctx));
    await settle();
    const drained = track(gate.drained([0], 1000));
    await settle();
    assert.equal(drained.done, false);
    r.release('0/mine');
    await runs[1];
    await settle();
    assert.deepEqual(drained, { done: true, value: true });
    assert.equal(t.pending.size, 0);

    // A drain over both shards still waits for shard 1.
    const both = track(gate.drained([0, 1], 1000));
    await settle();
    assert.equal(both.done, false);
    r.release('1/other');
    await runs[0];
    await settle();
    assert.deepEqual(both, { done: true, value: true });
  });

  it('a reconcile still running after its shard is given back keeps the drain waiting', async () => {
    const t = manualTimers();
    const gate = createShardGate(2, t.timers);
    gate.setOwned([0, 1]);
    const r = blockingReconciler();
    const guarded = gate.guard(shardOfKey, r.reconcile);
    const run = guarded('1/a', ctx);
    await settle();
    gate.setOwned([0]);
    const drained = track(gate.drained([1], 1000));
    await settle();
    assert.equal(drained.done, false);
    r.release('1/a');
    await run;
    await settle();
    assert.deepEqual(drained, { done: true, value: true });
  });
});
