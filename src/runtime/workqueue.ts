// A rate-limited work queue keyed by object, with client-go's semantics: a key is queued at most once, is never
// handed to two workers at once (a key re-added while processing is re-queued when done), failures back off per
// key, and a global token bucket bounds the retry rate.
import { CertsmithError } from '../errors.ts';
import { systemClock, type Clock } from '../time/clock.ts';
import { MAX_TIMER_MS, realTimers, type Timers } from '../time/timers.ts';

export interface WorkQueue<K extends string> {
  /**
   * Queues the key now, unless it is already queued; a key being processed is re-queued when done. `low`: handed
   * out only when no other key waits (the initial list and periodic resyncs), so a Certificate created during the
   * reconcile of 10,000 unchanged ones is not queued behind them. A key added normally while it waits low moves up.
   */
  add(key: K, priority?: 'low'): void;
  /** Queues the key after a delay; of several pending delays for a key, only the earliest is kept. */
  addAfter(key: K, delayMs: number): void;
  /** Queues the key after the later of its exponential backoff and the global token bucket's delay. */
  addRateLimited(key: K): void;
  /** Resets the key's failure count (call after a successful reconcile). */
  forget(key: K): void;
  failures(key: K): number;
  /** The next key; waits while the queue is empty; undefined once shut down. */
  get(): Promise<K | undefined>;
  /** Marks the key as no longer being processed. */
  done(key: K): void;
  /** Keys waiting to be handed out (not those being processed or delayed). */
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

interface Delayed {
  at: number;
  handle: unknown;
}

export function createWorkQueue<K extends string>(opts: WorkQueueOptions): WorkQueue<K> {
  const clock = opts.clock ?? systemClock;
  const timers = opts.timers ?? realTimers;
  const baseDelay = opts.baseDelayMs ?? 1000;
  const maxDelay = opts.maxDelayMs ?? 5 * 60_000;
  const rate = opts.bucket?.ratePerSecond ?? 50;
  const burst = opts.bucket?.burst ?? 200;
  if (!(rate > 0) || !(burst >= 1)) {
    throw new CertsmithError('ConfigInvalid', `work queue ${opts.name}: bucket needs ratePerSecond > 0 and burst >= 1`);
  }

  const queue: K[] = [];
  const queued = new Set<K>();
  // The low lane: keys in `low` wait in `lowOrder`; a key that moved up stays in lowOrder and is skipped there.
  const lowOrder: K[] = [];
  const low = new Set<K>();
  const processing = new Set<K>();
  // Keys re-added while processing, with the lane they go back to: low only if every re-add was low.
  const dirty = new Map<K, 'low' | 'normal'>();
  const failureCounts = new Map<K, number>();
  const delayed = new Map<K, Delayed>();
  const waiters: ((key: K | undefined) => void)[] = [];
  let tokens = burst;
  let lastRefill = clock.now().getTime();
  let closed = false;

  const depth = () => queue.length + low.size;
  const depthChanged = () => opts.onDepthChange?.(depth());

  function add(key: K, priority?: 'low') {
    if (closed) return;
    if (processing.has(key)) {
      dirty.set(key, priority === 'low' && dirty.get(key) !== 'normal' ? 'low' : 'normal');
      return;
    }
    if (queued.has(key)) return;
    if (low.has(key)) {
      if (priority === 'low') return;
      low.delete(key);
    }
    const waiter = waiters.shift();
    if (waiter) {
      processing.add(key);
      waiter(key);
      return;
    }
    if (priority === 'low') {
      low.add(key);
      lowOrder.push(key);
    } else {
      queued.add(key);
      queue.push(key);
    }
    depthChanged();
  }

  function nextKey(): K | undefined {
    const key = queue.shift();
    if (key !== undefined) {
      queued.delete(key);
      return key;
    }
    for (let k = lowOrder.shift(); k !== undefined; k = lowOrder.shift()) {
      if (low.delete(k)) return k;
    }
    return undefined;
  }

  // setTimeout cannot hold more than MAX_TIMER_MS, so a longer delay is waited out in steps.
  function arm(key: K, entry: Delayed, remainingMs: number) {
    const step = Math.min(remainingMs, MAX_TIMER_MS);
    entry.handle = timers.setTimeout(() => {
      if (delayed.get(key) !== entry) return;
      if (remainingMs > step) {
        arm(key, entry, remainingMs - step);
        return;
      }
      delayed.delete(key);
      add(key);
    }, step);
  }

  function addAfter(key: K, delayMs: number) {
    if (closed) return;
    if (!(delayMs > 0)) {
      add(key);
      return;
    }
    const at = clock.now().getTime() + delayMs;
    const existing = delayed.get(key);
    if (existing && existing.at <= at) return;
    if (existing) timers.clearTimeout(existing.handle);
    const entry: Delayed = { at, handle: undefined };
    delayed.set(key, entry);
    arm(key, entry, delayMs);
  }

  // Reserves one token and returns how long to wait for it (0 while the burst lasts), like rate.Limiter.Reserve.
  function bucketDelayMs(): number {
    const now = clock.now().getTime();
    tokens = Math.min(burst, tokens + (Math.max(0, now - lastRefill) / 1000) * rate);
    lastRefill = Math.max(lastRefill, now);
    tokens -= 1;
    return tokens >= 0 ? 0 : (-tokens / rate) * 1000;
  }

  return {
    add,
    addAfter,
    addRateLimited(key) {
      if (closed) return;
      const n = failureCounts.get(key) ?? 0;
      failureCounts.set(key, n + 1);
      const perKey = Math.min(baseDelay * 2 ** Math.min(n, 52), maxDelay);
      addAfter(key, Math.max(perKey, bucketDelayMs()));
    },
    forget(key) {
      failureCounts.delete(key);
    },
    failures: (key) => failureCounts.get(key) ?? 0,
    get() {
      if (closed) return Promise.resolve(undefined);
      const key = nextKey();
      if (key !== undefined) {
        processing.add(key);
        depthChanged();
        return Promise.resolve(key);
      }
      return new Promise((resolve) => waiters.push(resolve));
    },
    done(key) {
      processing.delete(key);
      const lane = dirty.get(key);
      if (lane === undefined) return;
      dirty.delete(key);
      add(key, lane === 'low' ? 'low' : undefined);
    },
    len: depth,
    shutdown() {
      if (closed) return;
      closed = true;
      for (const d of delayed.values()) timers.clearTimeout(d.handle);
      delayed.clear();
      // Nothing queued will be handed out any more.
      const hadKeys = depth() > 0;
      queue.length = 0;
      queued.clear();
      lowOrder.length = 0;
      low.clear();
      dirty.clear();
      if (hadKeys) depthChanged();
      for (const w of waiters.splice(0)) w(undefined);
    },
  };
}
