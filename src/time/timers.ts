// Injectable timers, so tests can drive time without sleeping.
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Node's setTimeout overflows above 2^31−1 ms and fires at once; longer waits re-arm in steps. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
