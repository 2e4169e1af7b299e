import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { createMetrics } from '../../../src/observability/metrics.ts';
import { systemClock } from '../../../src/time/clock.ts';
import { createController, type Reconciler } from '../../../src/runtime/controller.ts';

const controllerOf = (workers: number, reconcile: Reconciler) =>
  createController({ name: 'test', workers, clock: systemClock, log: pino({ level: 'silent' }), metrics: createMetrics(), reconcile });

describe('controller', () => {
  it('lets the event loop poll between reconciles that never wait on I/O (health probes, lease renewals)', async () => {
    const keys = 2000;
    let reconciled = 0;
    let reconciledWhenTimerRan: number | undefined;
    let done!: () => void;
    const allDone = new Promise<void>((r) => (done = r));
    // Up to date: settles without I/O, as a no-op reconcile of a Ready Certificate from the cache does.
    const controller = controllerOf(4, async () => {
      if (++reconciled === keys) done();
      return undefined;
    });
    for (let i = 0; i < keys; i++) controller.enqueue(`ns/c${i}`);
    controller.start();
    // A timer due now stands for a probe's socket or the lease renewal's timer.
    setTimeout(() => (reconciledWhenTimerRan = reconciled), 0);
    await allDone;
    await controller.stop();
    assert.equal(reconciled, keys);
    assert.ok(reconciledWhenTimerRan !== undefined && reconciledWhenTimerRan < keys, `the timer ran only after all ${keys} reconciles`);
  });

  it('gives each reconcile a logger and a signal that aborts when the controller stops', async () => {
    let started!: () => void;
    const running = new Promise<void>((r) => (started = r));
    let seen: { hasLog: boolean; abortedAtStart: boolean; abortedAtEnd?: boolean } | undefined;
    const controller = controllerOf(1, async (_key, ctx) => {
      seen = { hasLog: typeof ctx.log.info === 'function', abortedAtStart: ctx.signal.aborted };
      started();
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => resolve(), { once: true }));
      seen.abortedAtEnd = ctx.signal.aborted;
      ctx.signal.throwIfAborted();
      return undefined;
    });
    controller.enqueue('ns/a');
    controller.start();
    await running;
    await controller.stop();
    assert.deepEqual(seen, { hasLog: true, abortedAtStart: false, abortedAtEnd: true });
  });

  it('is busy only while started with keys queued: a standby holding keys for later does not keep the trimmer waiting', async () => {
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    const controller = controllerOf(1, async () => {
      await blocked;
      return undefined;
    });
    controller.enqueue('ns/a');
    controller.enqueue('ns/b');
    assert.equal(controller.busy(), false, 'not started: keys wait for a leader');
    controller.start();
    await new Promise((r) => setImmediate(r));
    assert.equal(controller.busy(), true, 'one key in work, one queued');
    release();
    await controller.stop();
    assert.equal(controller.busy(), false, 'stopped');
  });
});
