// Requeues keys at a wall-clock time (renewals weeks ahead). One timer per key; delays beyond what setTimeout
// can hold are re-armed in steps, so a renewal 60 days out does not fire at once.
import type { Clock } from '../policy/clock.ts';
import { MAX_TIMER_MS, realTimers, type Timers } from './timers.ts';

export interface Scheduler {
  scheduleAt(key: string, at: Date): void;
  cancel(key: string): void;
  nextFor(key: string): Date | undefined;
  size(): number;
  stop(): void;
}

export function createScheduler(opts: { clock: Clock; timers?: Timers; onDue: (key: string) => void }): Scheduler {
  const timers = opts.timers ?? realTimers;
  const entries = new Map<string, { at: number; handle: unknown }>();
  let stopped = false;

  function arm(key: string, at: number) {
    const wait = Math.max(0, at - opts.clock.now().getTime());
    const handle = timers.setTimeout(() => {
      const e = entries.get(key);
      if (!e || e.at !== at) return;
      if (opts.clock.now().getTime() < at) {
        arm(key, at); // a step of a long wait
        return;
      }
      entries.delete(key);
      opts.onDue(key);
    }, Math.min(wait, MAX_TIMER_MS));
    entries.set(key, { at, handle });
  }

  return {
    scheduleAt(key, at) {
      if (stopped) return;
      const e = entries.get(key);
      if (e) timers.clearTimeout(e.handle);
      arm(key, at.getTime());
    },
    cancel(key) {
      const e = entries.get(key);
      if (e) timers.clearTimeout(e.handle);
      entries.delete(key);
    },
    nextFor: (key) => {
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
