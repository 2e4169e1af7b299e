// Requeues keys at a wall-clock time (renewals weeks ahead). One timer per key; delays beyond what setTimeout
// can hold are re-armed in steps, so a renewal 60 days out does not fire at once. Each step re-reads the clock:
// the wall clock, not the timer, decides when a renewal is due.
import type { Clock } from '../policy/clock.ts';
import { MAX_TIMER_MS, realTimers, type Timers } from './timers.ts';

export interface Scheduler {
  /** Calls onDue(key) at `at`, replacing whatever was scheduled for the key before. */
  scheduleAt(key: string, at: Date): void;
  cancel(key: string): void;
  nextFor(key: string): Date | undefined;
  size(): number;
  stop(): void;
}

interface Entry {
  at: number;
  handle: unknown;
}

export function createScheduler(opts: { clock: Clock; timers?: Timers; onDue: (key: string) => void }): Scheduler {
  const timers = opts.timers ?? realTimers;
  const entries = new Map<string, Entry>();
  let stopped = false;

  function arm(key: string, entry: Entry) {
    const wait = Math.max(0, entry.at - opts.clock.now().getTime());
    entry.handle = timers.setTimeout(() => {
      if (entries.get(key) !== entry) return;
      if (opts.clock.now().getTime() < entry.at) {
        arm(key, entry); // one step of a long wait, or a timer that ran ahead of the clock
        return;
      }
      entries.delete(key);
      opts.onDue(key);
    }, Math.min(wait, MAX_TIMER_MS));
  }

  function cancel(key: string) {
    const e = entries.get(key);
    if (e) timers.clearTimeout(e.handle);
    entries.delete(key);
  }

  return {
    scheduleAt(key, at) {
      if (stopped) return;
      cancel(key);
      // An invalid date is treated as due now: reconciling again is the safe reading of a bad time.
      const t = at.getTime();
      const entry: Entry = { at: Number.isNaN(t) ? opts.clock.now().getTime() : t, handle: undefined };
      entries.set(key, entry);
      arm(key, entry);
    },
    cancel,
    nextFor(key) {
      const e = entries.get(key);
      return e ? new Date(e.at) : undefined;
    },
    size: () => entries.size,
    stop() {
      stopped = true;
      for (const e of entries.values()) timers.clearTimeout(e.handle);
      entries.clear();
    },
  };
}
