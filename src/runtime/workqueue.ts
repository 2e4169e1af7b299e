// A rate-limited work queue keyed by object, with client-go's semantics: a key is queued at most once, is never
// handed to two workers at once (a key re-added while processing is re-queued when done), failures back off per
// key, and a global token bucket bounds the retry rate.
import { systemClock, type Clock } from '../policy/clock.ts';
import { MAX_TIMER_MS, realTimers, type Timers } from './timers.ts';

export interface WorkQueue<K extends string> {
  add(key: K): void;
  addAfter(key: K, delayMs: number): void;
  addRateLimited(key: K): void;
  forget(key: K): void;
  failures(key: K): number;
  get(): Promise<K | undefined>;
  done(key: K): void;
  len(): number;
  shutdown(): void;
}

export interface WorkQueueOptions {
  name: string;
  clock?: Clock;
  timers?: Timers;
  baseDelayMs?: number;
  maxDelayMs?: number;
  bucket?: { ratePerSecond: number; burst: number };
  onDepthChange?: (depth: number) => void;
}

export function createWorkQueue<K extends string>(opts: WorkQueueOptions): WorkQueue<K> {
  const clock = opts.clock ?? systemClock;
  const timers = opts.timers ?? realTimers;
  const baseDelay = opts.baseDelayMs ?? 1000;
  const maxDelay = opts.maxDelayMs ?? 5 * 60_000;
  const rate = opts.bucket?.ratePerSecond ?? 50;
  const burst = opts.bucket?.burst ?? 200;

  const queue: K[] = [];
  const queued = new Set<K>();
  const processing = new Set<K>();
  const dirty = new Set<K>();
  const failureCounts = new Map<K, number>();
  const delayed = new Map<K, { at: number; handle: unknown }>();
  const waiters: ((k: K | undefined) => void)[] = [];
  let tokens = burst;
  let lastRefill = clock.now().getTime();
  let closed = false;

  const depthChanged = () => opts.onDepthChange?.(queue.length);

  function add(key: K) {
    if (closed) return;
    if (processing.has(key)) {
      dirty.add(key);
      return;
    }
    if (queued.has(key)) return;
    const waiter = waiters.shift();
    if (waiter) {
      processing.add(key);
      waiter(key);
      return;
    }
    queued.add(key);
    queue.push(key);
    depthChanged();
  }

  function addAfter(key: K, delayMs: number) {
    if (closed) return;
    if (delayMs <= 0) {
      add(key);
      return;
    }
    const at = clock.now().getTime() + delayMs;
    const existing = delayed.get(key);
    if (existing && existing.at <= at) return; // keep the earliest
    if (existing) timers.clearTimeout(existing.handle);
    const handle = timers.setTimeout(() => {
      delayed.delete(key);
      add(key);
    }, Math.min(delayMs, MAX_TIMER_MS));
    delayed.set(key, { at, handle });
  }

  /** Seconds to wait for a token from the global bucket (reserving it). */
  function bucketDelayMs(): number {
    const now = clock.now().getTime();
    tokens = Math.min(burst, tokens + ((now - lastRefill) / 1000) * rate);
    lastRefill = now;
    tokens -= 1;
    return tokens >= 0 ? 0 : (-tokens / rate) * 1000;
  }

  return {
    add,
    addAfter,
    addRateLimited(key) {
      const n = failureCounts.get(key) ?? 0;
      failureCounts.set(key, n + 1);
      const perKey = Math.min(baseDelay * 2 ** Math.min(n, 40), maxDelay);
      addAfter(key, Math.max(perKey, bucketDelayMs()));
    },
    forget(key) {
      failureCounts.delete(key);
    },
    failures: (key) => failureCounts.get(key) ?? 0,
    get() {
      if (closed) return Promise.resolve(undefined);
      const key = queue.shift();
      if (key !== undefined) {
        queued.delete(key);
        processing.add(key);
        depthChanged();
        return Promise.resolve(key);
      }
      return new Promise((resolve) => waiters.push(resolve));
    },
    done(key) {
      processing.delete(key);
      if (dirty.delete(key)) add(key);
    },
    len: () => queue.length,
    shutdown() {
      closed = true;
      for (const d of delayed.values()) timers.clearTimeout(d.handle);
      delayed.clear();
      for (const w of waiters.splice(0)) w(undefined);
    },
  };
}
