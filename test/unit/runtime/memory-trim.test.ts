import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { decideTrim, DEFAULT_TRIM_POLICY, startMemoryTrimmer, type TrimState } from '../../../src/runtime/memory-trim.ts';
import { createFakeTime, settle } from './fake-time.ts';

const MiB = 2 ** 20;
const policy = { idleMs: 10_000, minGrowthBytes: 16 * MiB, minIntervalMs: 60_000 };

describe('memory trim decision', () => {
  const cases: { name: string; state: TrimState; sample: { now: number; idle: boolean; rssMiB: number }; trim: boolean; idleSince?: number }[] = [
    {
      name: 'busy: never, and the idle stretch restarts',
      state: { baselineRssBytes: 100 * MiB, idleSince: 0 },
      sample: { now: 20_000, idle: false, rssMiB: 300 },
      trim: false,
    },
    {
      name: 'first idle sample starts the stretch',
      state: { baselineRssBytes: 100 * MiB },
      sample: { now: 5000, idle: true, rssMiB: 300 },
      trim: false,
      idleSince: 5000,
    },
    {
      name: 'idle, but not long enough',
      state: { baselineRssBytes: 100 * MiB, idleSince: 0 },
      sample: { now: 9999, idle: true, rssMiB: 300 },
      trim: false,
      idleSince: 0,
    },
    {
      name: 'idle long enough and grown: trim',
      state: { baselineRssBytes: 100 * MiB, idleSince: 0 },
      sample: { now: 10_000, idle: true, rssMiB: 116 },
      trim: true,
      idleSince: 0,
    },
    {
      name: 'idle long enough, grown too little',
      state: { baselineRssBytes: 100 * MiB, idleSince: 0 },
      sample: { now: 10_000, idle: true, rssMiB: 115 },
      trim: false,
      idleSince: 0,
    },
    {
      name: 'no trim yet (after start): idle long enough is enough',
      state: { idleSince: 0 },
      sample: { now: 10_000, idle: true, rssMiB: 50 },
      trim: true,
      idleSince: 0,
    },
    { name: 'no trim yet, but not idle long enough', state: { idleSince: 0 }, sample: { now: 9999, idle: true, rssMiB: 300 }, trim: false, idleSince: 0 },
    {
      name: 'shrunk below the baseline',
      state: { baselineRssBytes: 100 * MiB, idleSince: 0 },
      sample: { now: 50_000, idle: true, rssMiB: 90 },
      trim: false,
      idleSince: 0,
    },
    {
      name: 'grown, but the last trim was under a minute ago',
      state: { baselineRssBytes: 100 * MiB, idleSince: 0, lastTrimAt: 1000 },
      sample: { now: 60_999, idle: true, rssMiB: 200 },
      trim: false,
      idleSince: 0,
    },
    {
      name: 'grown, the last trim a minute ago',
      state: { baselineRssBytes: 100 * MiB, idleSince: 0, lastTrimAt: 1000 },
      sample: { now: 61_000, idle: true, rssMiB: 200 },
      trim: true,
      idleSince: 0,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = decideTrim(c.state, { now: c.sample.now, idle: c.sample.idle, rssBytes: c.sample.rssMiB * MiB }, policy);
      assert.equal(d.trim, c.trim);
      assert.equal(d.state.idleSince, c.idleSince);
      assert.equal(d.state.baselineRssBytes, c.state.baselineRssBytes);
    });
  }
  it('the default waits 10 s of idle for 16 MiB of growth, at most once a minute', () => {
    assert.deepEqual(DEFAULT_TRIM_POLICY, policy);
  });
});

describe('memory trimmer', () => {
  it('collects once after a burst, when the queues have been empty for 10 s, and not again for live memory', async () => {
    const time = createFakeTime();
    let rss = 100 * MiB;
    let idle = false;
    const collections: number[] = [];
    const trimmer = startMemoryTrimmer({
      clock: time.clock,
      timers: time.timers,
      isIdle: () => idle,
      rssBytes: () => rss,
      collect: () => {
        collections.push(time.clock.now().getTime());
        rss -= 80 * MiB; // the pooled pages go back
      },
      log: pino({ level: 'silent' }),
    });
    const start = time.clock.now().getTime();
    rss = 300 * MiB; // the burst
    await time.advance(60_000);
    assert.deepEqual(collections, []);
    idle = true;
    await time.advance(30_000);
    await settle();
    assert.equal(collections.length, 1);
    const at = collections[0]! - start;
    assert.ok(at >= 70_000 && at <= 75_000, `collected ${at} ms after start`);
    assert.equal(rss, 220 * MiB);
    // What is left is live: no more collections while idle.
    await time.advance(10 * 60_000);
    assert.equal(collections.length, 1);
    trimmer.stop();
    assert.deepEqual(time.pendingDelays(), []);
  });

  it('collects once in the first idle stretch after start, grown or not (the initial lists are a burst too)', async () => {
    const time = createFakeTime();
    const collections: number[] = [];
    const trimmer = startMemoryTrimmer({
      clock: time.clock,
      timers: time.timers,
      isIdle: () => true,
      rssBytes: () => 160 * MiB,
      collect: () => collections.push(time.clock.now().getTime()),
      log: pino({ level: 'silent' }),
    });
    const start = time.clock.now().getTime();
    await time.advance(20_000);
    await settle();
    assert.equal(collections.length, 1);
    assert.ok(collections[0]! - start <= 15_000, `collected ${collections[0]! - start} ms after start`);
    await time.advance(10 * 60_000);
    assert.equal(collections.length, 1, 'RSS did not grow after it: no second collection');
    trimmer.stop();
  });

  it('without a collector (node without --expose-gc) does nothing and arms no timer', () => {
    const time = createFakeTime();
    const trimmer = startMemoryTrimmer({
      clock: time.clock,
      timers: time.timers,
      isIdle: () => true,
      rssBytes: () => 0,
      collect: undefined,
      log: pino({ level: 'silent' }),
    });
    assert.deepEqual(time.pendingDelays(), []);
    trimmer.stop();
  });
});
