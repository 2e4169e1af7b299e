// Requeues keys at a wall-clock time (renewals weeks ahead). One timer for all keys, armed for the earliest due
// time: a timer per key costs ~300 bytes each, 3 MiB at 10,000 Certificates. Delays beyond what setTimeout can hold
// are re-armed in steps, so a renewal 60 days out does not fire at once. Each firing re-reads the clock: the wall
// clock, not the timer, decides when a renewal is due.
import type { Clock } from '../time/clock.ts';
import { MAX_TIMER_MS, realTimers, type Timers } from '../time/timers.ts';

export interface Scheduler {
  /** Calls onDue(key) at `at`, replacing whatever was scheduled for the key before. */
  scheduleAt(key: string, at: Date): void;
  cancel(key: string): void;
  nextFor(key: string): Date | undefined;
  size(): number;
  stop(): void;
}

/** A due time in the heap; stale once its key was rescheduled or cancelled (the map no longer points at it). */
interface Slot {
  at: number;
  key: string;
}

export function createScheduler(opts: { clock: Clock; timers?: Timers; onDue: (key: string) => void }): Scheduler {
  const timers = opts.timers ?? realTimers;
  const current = new Map<string, Slot>();
  const heap = createMinHeap();
  let armed: { at: number; handle: unknown } | undefined;
  let stopped = false;

  function disarm() {
    if (armed) timers.clearTimeout(armed.handle);
    armed = undefined;
  }

  /** Points the one timer at the earliest live due time, unless it already fires no later than that. */
  function arm() {
    while (heap.peek() && current.get(heap.peek()!.key) !== heap.peek()) heap.pop();
    const next = heap.peek();
    if (!next) return disarm();
    if (armed && armed.at <= next.at) return;
    disarm();
    const wait = Math.max(0, next.at - opts.clock.now().getTime());
    armed = { at: next.at, handle: timers.setTimeout(fire, Math.min(wait, MAX_TIMER_MS)) };
  }

  function fire() {
    armed = undefined;
    const now = opts.clock.now().getTime();
    const due: string[] = [];
    for (let top = heap.peek(); top && top.at <= now; top = heap.peek()) {
      heap.pop();
      if (current.get(top.key) !== top) continue;
      current.delete(top.key);
      due.push(top.key);
    }
    // Rebuilt when mostly stale (keys rescheduled at every reconcile leave their old slots behind).
    if (heap.size() > 2 * current.size + 64) heap.rebuild([...current.values()]);
    arm();
    for (const key of due) opts.onDue(key);
  }

  function cancel(key: string) {
    current.delete(key);
  }

  return {
    scheduleAt(key, at) {
      if (stopped) return;
      // An invalid date is treated as due now: reconciling again is the safe reading of a bad time.
      const t = at.getTime();
      const slot: Slot = { at: Number.isNaN(t) ? opts.clock.now().getTime() : t, key };
      current.set(key, slot);
      heap.push(slot);
      if (heap.size() > 2 * current.size + 64) heap.rebuild([...current.values()]);
      arm();
    },
    cancel,
    nextFor(key) {
      const s = current.get(key);
      return s ? new Date(s.at) : undefined;
    },
    size: () => current.size,
    stop() {
      stopped = true;
      disarm();
      current.clear();
      heap.rebuild([]);
    },
  };
}

/** A binary min-heap of slots by due time. */
function createMinHeap() {
  let items: Slot[] = [];
  const less = (i: number, j: number) => items[i]!.at < items[j]!.at;
  const swap = (i: number, j: number) => ([items[i], items[j]] = [items[j]!, items[i]!]);
  function up(i: number) {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(i, parent)) return;
      swap(i, parent);
      i = parent;
    }
  }
  function down(i: number) {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let min = i;
      if (l < items.length && less(l, min)) min = l;
      if (r < items.length && less(r, min)) min = r;
      if (min === i) return;
      swap(i, min);
      i = min;
    }
  }
  return {
    size: () => items.length,
    peek: (): Slot | undefined => items[0],
    push(s: Slot) {
      items.push(s);
      up(items.length - 1);
    },
    pop(): Slot | undefined {
      const top = items[0];
      const last = items.pop();
      if (items.length > 0 && last) {
        items[0] = last;
        down(0);
      }
      return top;
    },
    rebuild(slots: Slot[]) {
      items = slots;
      for (let i = (items.length >> 1) - 1; i >= 0; i--) down(i);
    },
  };
}
