import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { systemClock } from '../../../src/time/clock.ts';
import { createScheduler, type Scheduler } from '../../../src/runtime/scheduler.ts';
import { MAX_TIMER_MS } from '../../../src/time/timers.ts';
import { createFakeTime, type FakeTime } from './fake-time.ts';

const SECOND = 1000;
const DAY = 24 * 3600 * SECOND;

function setup() {
  const time = createFakeTime();
  const fired: { key: string; at: number }[] = [];
  const scheduler = createScheduler({
    clock: time.clock,
    timers: time.timers,
    onDue: (key) => fired.push({ key, at: time.clock.now().getTime() }),
  });
  const start = time.clock.now().getTime();
  const inMs = (ms: number) => new Date(start + ms);
  /** Keys fired so far, with when (ms from the start). */
  const firedSinceStart = () => fired.map((f) => `${f.key}@${f.at - start}`);
  return { time, scheduler, inMs, firedSinceStart };
}

describe('scheduler', () => {
  const cases: {
    name: string;
    run: (s: Scheduler, inMs: (ms: number) => Date, t: FakeTime) => void;
    checks: { afterMs: number; fired: string[] }[];
  }[] = [
    {
      name: 'a key fires at its due time, not before, and once',
      run: (s, inMs) => s.scheduleAt('a', inMs(10 * SECOND)),
      checks: [
        { afterMs: 10 * SECOND - 1, fired: [] },
        { afterMs: 1, fired: ['a@10000'] },
        { afterMs: DAY, fired: ['a@10000'] },
      ],
    },
    {
      name: 'rescheduling to a later time replaces the earlier schedule',
      run: (s, inMs) => {
        s.scheduleAt('a', inMs(10 * SECOND));
        s.scheduleAt('a', inMs(20 * SECOND));
      },
      checks: [
        { afterMs: 15 * SECOND, fired: [] },
        { afterMs: 10 * SECOND, fired: ['a@20000'] },
      ],
    },
    {
      name: 'rescheduling to an earlier time fires at the earlier time only',
      run: (s, inMs) => {
        s.scheduleAt('a', inMs(20 * SECOND));
        s.scheduleAt('a', inMs(10 * SECOND));
      },
      checks: [{ afterMs: 30 * SECOND, fired: ['a@10000'] }],
    },
    {
      name: 'keys fire independently, in due order',
      run: (s, inMs) => {
        s.scheduleAt('b', inMs(2 * SECOND));
        s.scheduleAt('a', inMs(1 * SECOND));
      },
      checks: [{ afterMs: 3 * SECOND, fired: ['a@1000', 'b@2000'] }],
    },
    {
      name: 'a due time in the past fires on the next timer turn',
      run: (s, inMs) => s.scheduleAt('a', inMs(-DAY)),
      checks: [{ afterMs: 1, fired: ['a@1'] }],
    },
    {
      name: 'an invalid date is treated as due now',
      run: (s) => s.scheduleAt('a', new Date(Number.NaN)),
      checks: [{ afterMs: 1, fired: ['a@1'] }],
    },
    {
      name: 'a cancelled key does not fire',
      run: (s, inMs) => {
        s.scheduleAt('a', inMs(SECOND));
        s.scheduleAt('b', inMs(SECOND));
        s.cancel('a');
      },
      checks: [{ afterMs: 2 * SECOND, fired: ['b@1000'] }],
    },
    {
      name: 'a due time 60 days away does not fire early',
      run: (s, inMs) => s.scheduleAt('a', inMs(60 * DAY)),
      checks: [
        { afterMs: 1, fired: [] },
        { afterMs: 30 * DAY, fired: [] },
        { afterMs: 30 * DAY - 2, fired: [] },
        { afterMs: 1, fired: ['a@5184000000'] },
      ],
    },
    {
      name: 'when the wall clock steps back, the key waits for the clock to reach its due time',
      run: (s, inMs, t) => {
        s.scheduleAt('a', inMs(10 * SECOND));
        t.jumpClock(-5 * SECOND);
      },
      checks: [
        { afterMs: 10 * SECOND, fired: [] },
        { afterMs: 5 * SECOND, fired: ['a@10000'] },
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { time, scheduler, inMs, firedSinceStart } = setup();
      c.run(scheduler, inMs, time);
      let elapsed = 0;
      for (const check of c.checks) {
        await time.advance(check.afterMs);
        elapsed += check.afterMs;
        assert.deepEqual(firedSinceStart(), check.fired, `after ${elapsed} ms`);
      }
    });
  }

  it('never arms a timer longer than Node can hold', () => {
    const { time, scheduler, inMs } = setup();
    scheduler.scheduleAt('a', inMs(60 * DAY));
    assert.deepEqual(time.pendingDelays(), [MAX_TIMER_MS]);
  });

  it('arms one timer for many keys, for the earliest of them, and fires each once in due order', async () => {
    const { time, scheduler, inMs, firedSinceStart } = setup();
    for (let i = 100; i >= 1; i--) scheduler.scheduleAt(`k${i}`, inMs(i * SECOND));
    assert.deepEqual(time.pendingDelays(), [SECOND]);
    await time.advance(100 * SECOND);
    assert.deepEqual(
      firedSinceStart(),
      Array.from({ length: 100 }, (_, i) => `k${i + 1}@${(i + 1) * SECOND}`),
    );
    assert.deepEqual(time.pendingDelays(), []);
  });

  it('a key rescheduled at every reconcile fires once, at its last due time', async () => {
    const { time, scheduler, inMs, firedSinceStart } = setup();
    for (let i = 0; i < 10_000; i++) scheduler.scheduleAt('a', inMs(DAY + (i % 7) * SECOND));
    scheduler.scheduleAt('a', inMs(2 * DAY));
    assert.equal(scheduler.size(), 1);
    await time.advance(3 * DAY);
    assert.deepEqual(firedSinceStart(), [`a@${2 * DAY}`]);
  });

  it('tells what is scheduled, and forgets a key once it fired or was cancelled', async () => {
    const { time, scheduler, inMs } = setup();
    scheduler.scheduleAt('a', inMs(SECOND));
    scheduler.scheduleAt('b', inMs(2 * SECOND));
    scheduler.scheduleAt('c', inMs(3 * SECOND));
    assert.equal(scheduler.size(), 3);
    assert.deepEqual(scheduler.nextFor('b'), inMs(2 * SECOND));
    scheduler.cancel('c');
    await time.advance(SECOND);
    assert.deepEqual(
      ['a', 'b', 'c'].map((k) => scheduler.nextFor(k)),
      [undefined, inMs(2 * SECOND), undefined],
    );
    assert.equal(scheduler.size(), 1);
  });

  it('stop cancels every key, leaves no timer behind, and ignores later schedules', async () => {
    const { time, scheduler, inMs, firedSinceStart } = setup();
    scheduler.scheduleAt('a', inMs(SECOND));
    scheduler.stop();
    scheduler.scheduleAt('b', inMs(SECOND));
    assert.deepEqual(time.pendingDelays(), []);
    await time.advance(2 * SECOND);
    assert.deepEqual(firedSinceStart(), []);
    assert.equal(scheduler.size(), 0);
  });

  it("with Node's own timers, a due time 60 days away does not fire at once", async () => {
    const fired: string[] = [];
    const scheduler = createScheduler({ clock: systemClock, onDue: (k) => fired.push(k) });
    scheduler.scheduleAt('far', new Date(Date.now() + 60 * DAY));
    scheduler.scheduleAt('near', new Date(Date.now() + 5));
    await sleep(50); // an overflowing setTimeout would have fired within 1 ms
    scheduler.stop();
    assert.deepEqual(fired, ['near']);
  });
});
