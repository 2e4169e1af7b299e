// Returns the memory a burst of work leaves behind once the operator is idle again. After issuing 10,000
// Certificates, V8 kept ~100 MiB of freed heap pages resident (pooled for reuse, not given back) and its memory
// reducer did not run in the idle minutes that followed: RSS stayed at the burst's high-water mark. A last-resort
// full collection releases those pages. It pauses the event loop (tens to a few hundred ms), so it runs only when the
// work queues have been empty for a while, RSS has grown since the last one, and not more often than once a minute.
// The first idle stretch after start always collects: the initial lists and the resync after them are a burst of
// their own, and RSS when the caches are synced is already high with the lists' garbage (a baseline taken there
// let 165 MiB stand after a restart onto 10,000 Certificates, where a collection gave 132–141).
import type { Logger } from 'pino';
import type { Clock } from '../time/clock.ts';
import { realTimers, type Timers } from '../time/timers.ts';

const MiB = 2 ** 20;

export interface TrimPolicy {
  /** The work queues must have been empty this long. */
  idleMs: number;
  /** RSS must have grown this much since the last trim. */
  minGrowthBytes: number;
  minIntervalMs: number;
}

export const DEFAULT_TRIM_POLICY: TrimPolicy = { idleMs: 10_000, minGrowthBytes: 16 * MiB, minIntervalMs: 60_000 };

export interface TrimState {
  /** When the queues were first seen empty in the current idle stretch. */
  idleSince?: number;
  /** RSS after the last trim; none before the first. */
  baselineRssBytes?: number;
  lastTrimAt?: number;
}

export interface TrimSample {
  now: number;
  idle: boolean;
  rssBytes: number;
}

/** Pure: whether to collect now, and the state to keep. */
export function decideTrim(state: TrimState, sample: TrimSample, policy: TrimPolicy): { trim: boolean; state: TrimState } {
  if (!sample.idle) {
    const { idleSince: _busy, ...rest } = state;
    return { trim: false, state: rest };
  }
  const idleSince = state.idleSince ?? sample.now;
  const next = { ...state, idleSince };
  const trim =
    sample.now - idleSince >= policy.idleMs &&
    (state.baselineRssBytes === undefined || sample.rssBytes - state.baselineRssBytes >= policy.minGrowthBytes) &&
    (state.lastTrimAt === undefined || sample.now - state.lastTrimAt >= policy.minIntervalMs);
  return { trim, state: next };
}

/** The state after a trim: RSS then is the new baseline, so memory that is really live is not collected again. */
export function afterTrim(state: TrimState, now: number, rssBytes: number): TrimState {
  return { ...state, baselineRssBytes: rssBytes, lastTrimAt: now };
}

export interface MemoryTrimmer {
  stop(): void;
}

export function startMemoryTrimmer(opts: {
  clock: Clock;
  /** True while no work is queued. */
  isIdle: () => boolean;
  rssBytes: () => number;
  /** A full collection that gives freed pages back; undefined when the runtime does not offer one. */
  collect: (() => void) | undefined;
  log: Logger;
  policy?: TrimPolicy;
  sampleEveryMs?: number;
  timers?: Timers;
}): MemoryTrimmer {
  const { clock, log, collect } = opts;
  const timers = opts.timers ?? realTimers;
  const policy = opts.policy ?? DEFAULT_TRIM_POLICY;
  const every = opts.sampleEveryMs ?? 5000;
  if (!collect) {
    log.info('memory after bursts is returned only when node runs with --expose-gc (the image does)');
    return { stop() {} };
  }
  let state: TrimState = {};
  let handle: unknown;
  let stopped = false;
  const tick = () => {
    const now = clock.now().getTime();
    const before = opts.rssBytes();
    const d = decideTrim(state, { now, idle: opts.isIdle(), rssBytes: before }, policy);
    state = d.state;
    if (d.trim) {
      const t0 = performance.now();
      collect();
      const after = opts.rssBytes();
      state = afterTrim(state, now, after);
      log.info(
        { rssBeforeMiB: Math.round(before / MiB), rssAfterMiB: Math.round(after / MiB), pauseMs: Math.round(performance.now() - t0) },
        'idle after a burst of work; returned freed memory',
      );
    }
    if (!stopped) handle = timers.setTimeout(tick, every);
  };
  handle = timers.setTimeout(tick, every);
  return {
    stop() {
      stopped = true;
      timers.clearTimeout(handle);
    },
  };
}

/** The runtime's collector, when node was started with --expose-gc: last-resort, so pooled pages are released. */
export function exposedCollector(): (() => void) | undefined {
  const gc = globalThis.gc;
  if (typeof gc !== 'function') return undefined;
  return () => gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}
