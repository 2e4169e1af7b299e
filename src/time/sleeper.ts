// A wait on injected timers that wake() cuts short: the loops that pause between attempts (informers, leader
// election, shard Leases) end their pause at once when they are stopped or have new work.
import type { Timers } from './timers.ts';

export interface Sleeper {
  /** Resolves after `ms`, or at the next wake(). One wait at a time. */
  sleep(ms: number): Promise<void>;
  /** Ends the current wait, if any. */
  wake(): void;
}

export function createSleeper(timers: Timers): Sleeper {
  let wakeNow: (() => void) | undefined;
  return {
    sleep(ms) {
      return new Promise<void>((resolve) => {
        const handle = timers.setTimeout(() => {
          wakeNow = undefined;
          resolve();
        }, ms);
        wakeNow = () => {
          timers.clearTimeout(handle);
          wakeNow = undefined;
          resolve();
        };
      });
    },
    wake() {
      wakeNow?.();
    },
  };
}
