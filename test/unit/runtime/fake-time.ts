// A clock and timers that move only when told, in lockstep. Like Node's setTimeout, a delay above 2^31−1 ms
// (or below 1, or NaN) becomes 1 ms, so code that forgets the cap fires early here as it would in production.
import type { Clock } from '../../../src/time/clock.ts';
import type { Timers } from '../../../src/time/timers.ts';

const NODE_TIMEOUT_MAX = 2 ** 31 - 1;

export interface FakeTime {
  clock: Clock;
  timers: Timers;
  /** Armed timers, as delays from now, shortest first. */
  pendingDelays(): number[];
  /** Moves time forward, firing due timers in order (and letting the promises they wake run). */
  advance(ms: number): Promise<void>;
  /** Moves the wall clock only, as when the machine slept or NTP stepped the clock. */
  jumpClock(ms: number): void;
}

export const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};

export function createFakeTime(start = '2026-01-01T00:00:00Z'): FakeTime {
  let now = Date.parse(start);
  let timerNow = now;
  let seq = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  return {
    clock: { now: () => new Date(now) },
    timers: {
      setTimeout(fn, ms) {
        const delay = ms >= 1 && ms <= NODE_TIMEOUT_MAX ? ms : 1;
        const id = ++seq;
        pending.set(id, { at: timerNow + delay, fn });
        return id;
      },
      clearTimeout(h) {
        pending.delete(h as number);
      },
    },
    pendingDelays: () => [...pending.values()].map((p) => p.at - timerNow).sort((a, b) => a - b),
    async advance(ms) {
      const target = timerNow + ms;
      // A timer re-armed every millisecond (an overflowed delay) would spin here for ever; fail instead.
      for (let fired = 0; ; fired++) {
        if (fired > 10_000) throw new Error(`more than 10000 timers fired within ${ms} ms: a timer is re-arming in a loop`);
        let next: [number, { at: number; fn: () => void }] | undefined;
        for (const e of pending) if (e[1].at <= target && (!next || e[1].at < next[1].at || (e[1].at === next[1].at && e[0] < next[0]))) next = e;
        if (!next) break;
        pending.delete(next[0]);
        now += next[1].at - timerNow;
        timerNow = next[1].at;
        next[1].fn();
        await settle();
      }
      now += target - timerNow;
      timerNow = target;
      await settle();
    },
    jumpClock(ms) {
      now += ms;
    },
  };
}
