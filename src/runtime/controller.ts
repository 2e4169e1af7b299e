// The reconcile loop: workers take keys off a rate-limited queue, run the reconciler, and requeue. Errors
// back off per key; a requested requeue (e.g. at renewal time) goes to the scheduler, which handles any delay.
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Metrics } from '../observability/metrics.ts';
import type { Clock } from '../time/clock.ts';
import { createScheduler } from './scheduler.ts';
import { createWorkQueue } from './workqueue.ts';

/** What every reconcile is given besides its key. */
export interface ReconcileContext {
  /** The controller's logger; a reconciler adds the object's kind, namespace and name. */
  log: Logger;
  /** Aborted when the controller stops (leadership lost, shutdown): no new issuance or write should start after it. */
  signal: AbortSignal;
}

export type Reconciler = (key: string, ctx: ReconcileContext) => Promise<{ requeueAfterMs?: number } | undefined>;

export interface Controller {
  readonly name: string;
  /** `low`: after every other queued key (see WorkQueue.add). */
  enqueue(key: string, priority?: 'low'): void;
  start(): void;
  stop(): Promise<void>;
  /**
   * Keys wait for its running workers. A controller not started (a standby's singletons) only holds keys for later,
   * so it is never busy: the memory trimmer waits for busy controllers only.
   */
  busy(): boolean;
}

export function createController(opts: { name: string; reconcile: Reconciler; workers: number; clock: Clock; log: Logger; metrics: Metrics }): Controller {
  const { name, metrics } = opts;
  const queue = createWorkQueue<string>({
    name,
    clock: opts.clock,
    onDepthChange: (depth) => metrics.workqueueDepth.set({ name }, depth),
  });
  const scheduler = createScheduler({ clock: opts.clock, onDue: (key) => queue.add(key) });
  const running: Promise<void>[] = [];
  const stopping = new AbortController();
  const ctx: ReconcileContext = { log: opts.log.child({ controller: name }), signal: stopping.signal };
  let started = false;

  async function worker() {
    for (;;) {
      // A reconcile with nothing to write never waits on I/O, and an awaited promise that is already settled runs
      // the next one as a microtask: without this turn, a queue of 10,000 up-to-date Certificates after a restart
      // ran for ~50 s without the event loop polling a socket. /healthz and /readyz went unanswered and the leader
      // could not renew its lease, lost it and exited, to start the same queue again.
      await nextTurn();
      const key = await queue.get();
      if (key === undefined) return;
      const t0 = performance.now();
      try {
        const result = await opts.reconcile(key, ctx);
        queue.forget(key);
        if (result?.requeueAfterMs !== undefined) {
          scheduler.scheduleAt(key, new Date(opts.clock.now().getTime() + Math.max(result.requeueAfterMs, 0)));
          metrics.reconcileTotal.inc({ controller: name, result: 'requeue' });
        } else {
          scheduler.cancel(key);
          metrics.reconcileTotal.inc({ controller: name, result: 'success' });
        }
      } catch (err) {
        // Stopped mid-reconcile: the next leader starts the key afresh; no failure to report.
        if (stopping.signal.aborted) continue;
        metrics.reconcileTotal.inc({ controller: name, result: 'error' });
        metrics.workqueueRetries.inc({ name });
        opts.log.warn({ controller: name, key, err: (err as Error).message, code: (err as { code?: string }).code }, 'reconcile failed; retrying with backoff');
        queue.addRateLimited(key);
      } finally {
        metrics.reconcileDuration.observe({ controller: name }, (performance.now() - t0) / 1000);
        queue.done(key);
      }
    }
  }

  return {
    name,
    enqueue: (key, priority) => queue.add(key, priority),
    start() {
      if (started) return;
      started = true;
      for (let i = 0; i < opts.workers; i++) running.push(worker());
    },
    async stop() {
      stopping.abort(new Error(`controller ${name} stopped`));
      scheduler.stop();
      queue.shutdown();
      await Promise.all(running);
    },
    busy: () => started && !stopping.signal.aborted && queue.len() > 0,
  };
}
