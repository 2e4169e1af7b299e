import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCertsmithError } from '../../../src/errors.ts';
import { createWorkQueue, type WorkQueue, type WorkQueueOptions } from '../../../src/runtime/workqueue.ts';
import { createFakeTime, settle, type FakeTime } from './fake-time.ts';

const SECOND = 1000;
const DAY = 24 * 3600 * SECOND;

function setup(opts: Partial<WorkQueueOptions> = {}) {
  const time = createFakeTime();
  const depths: number[] = [];
  const queue = createWorkQueue<string>({
    name: 'test',
    clock: time.clock,
    timers: time.timers,
    onDepthChange: (d) => depths.push(d),
    ...opts,
  });
  return { time, queue, depths };
}

/** Takes every key queued right now, without waiting, and marks each done. */
async function drain(queue: WorkQueue<string>): Promise<string[]> {
  const keys: string[] = [];
  while (queue.len() > 0) {
    const k = await queue.get();
    assert.ok(k !== undefined);
    keys.push(k);
    queue.done(k);
  }
  return keys;
}

/** Resolves to the key a pending get() received, or 'pending' if it has not received one yet. */
async function peek(p: Promise<string | undefined>): Promise<string | undefined> {
  await settle();
  return Promise.race([p, Promise.resolve('pending')]);
}

describe('work queue: dedupe and order', () => {
  const cases: { name: string; run: (q: WorkQueue<string>) => void; expected: string[] }[] = [
    { name: 'keys come out in the order they were added', run: (q) => ['a', 'b', 'c'].forEach((k) => q.add(k)), expected: ['a', 'b', 'c'] },
    { name: 'a key added twice is queued once', run: (q) => ['a', 'b', 'a', 'a'].forEach((k) => q.add(k)), expected: ['a', 'b'] },
    {
      name: 'a key keeps its first place when added again',
      run: (q) => ['b', 'a', 'c', 'b'].forEach((k) => q.add(k)),
      expected: ['b', 'a', 'c'],
    },
    {
      name: 'a zero or negative delay queues at once',
      run: (q) => {
        q.addAfter('a', 0);
        q.addAfter('b', -5);
      },
      expected: ['a', 'b'],
    },
    {
      name: 'low keys come out after every other key, in their own order',
      run: (q) => {
        q.add('l1', 'low');
        q.add('l2', 'low');
        q.add('n1');
        q.add('l3', 'low');
        q.add('n2');
      },
      expected: ['n1', 'n2', 'l1', 'l2', 'l3'],
    },
    {
      name: 'a low key added normally moves up, once',
      run: (q) => {
        ['l1', 'l2', 'l3'].forEach((k) => q.add(k, 'low'));
        q.add('l2');
        q.add('l2', 'low');
      },
      expected: ['l2', 'l1', 'l3'],
    },
    {
      name: 'a key queued normally stays there when added low',
      run: (q) => {
        q.add('a');
        q.add('b', 'low');
        q.add('a', 'low');
      },
      expected: ['a', 'b'],
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { queue } = setup();
      c.run(queue);
      assert.equal(queue.len(), c.expected.length);
      assert.deepEqual(await drain(queue), c.expected);
    });
  }

  it('reports the depth each time it changes', async () => {
    const { queue, depths } = setup();
    queue.add('a');
    queue.add('b');
    queue.add('a');
    await drain(queue);
    assert.deepEqual(depths, [1, 2, 1, 0]);
  });

  it('counts both lanes in the depth, and a key that moved up once', async () => {
    const { queue, depths } = setup();
    queue.add('l', 'low');
    queue.add('n');
    queue.add('l');
    assert.equal(queue.len(), 2);
    assert.deepEqual(await drain(queue), ['n', 'l']);
    assert.deepEqual(depths, [1, 2, 2, 1, 0]);
  });

  it('a waiting worker receives a low key at once', async () => {
    const { queue } = setup();
    const next = queue.get();
    queue.add('l', 'low');
    assert.equal(await peek(next), 'l');
    assert.equal(queue.len(), 0);
  });

  it('shutdown drops the low lane too', async () => {
    const { queue } = setup();
    queue.add('l', 'low');
    queue.shutdown();
    assert.equal(queue.len(), 0);
    assert.equal(await queue.get(), undefined);
  });
});

describe('work queue: a key being processed', () => {
  it('is not handed out again while processing; a re-add is queued once when done', async () => {
    const { queue } = setup();
    queue.add('a');
    assert.equal(await queue.get(), 'a');
    queue.add('a');
    queue.add('a');
    assert.equal(queue.len(), 0, 'the re-added key waits for done()');
    const second = queue.get();
    assert.equal(await peek(second), 'pending');
    queue.done('a');
    assert.equal(await peek(second), 'a');
    queue.done('a');
    assert.equal(queue.len(), 0, 'two re-adds while processing make one more run, not two');
  });

  it('is held by one of two waiting workers only', async () => {
    const { queue } = setup();
    const w1 = queue.get();
    const w2 = queue.get();
    queue.add('a');
    queue.add('a');
    assert.equal(await peek(w1), 'a');
    assert.equal(await peek(w2), 'pending');
    queue.done('a');
    assert.equal(await peek(w2), 'a');
  });

  it('a re-add goes back to the lane it was asked for: low only when every re-add was low', async () => {
    const { queue } = setup();
    for (const k of ['a', 'b', 'c']) queue.add(k);
    for (const k of ['a', 'b', 'c']) assert.equal(await queue.get(), k);
    queue.add('a', 'low');
    queue.add('b', 'low');
    queue.add('b');
    queue.add('c');
    queue.add('c', 'low');
    for (const k of ['a', 'b', 'c']) queue.done(k);
    queue.add('d');
    assert.deepEqual([await queue.get(), await queue.get(), await queue.get(), await queue.get()], ['b', 'c', 'd', 'a']);
  });

  it('is not re-queued on done when nobody re-added it', async () => {
    const { queue } = setup();
    queue.add('a');
    queue.done((await queue.get())!);
    assert.equal(queue.len(), 0);
  });

  it('a waiting worker receives a key added later', async () => {
    const { queue } = setup();
    const w = queue.get();
    assert.equal(await peek(w), 'pending');
    queue.add('b');
    assert.equal(await peek(w), 'b');
  });
});

describe('work queue: delays', () => {
  const cases: { name: string; run: (q: WorkQueue<string>) => void; checks: { afterMs: number; expected: string[] }[] }[] = [
    {
      name: 'a delayed key is queued when its delay has passed, not before',
      run: (q) => q.addAfter('a', 1000),
      checks: [
        { afterMs: 999, expected: [] },
        { afterMs: 1, expected: ['a'] },
      ],
    },
    {
      name: 'a shorter delay replaces a longer one, and the longer one does not fire later',
      run: (q) => {
        q.addAfter('a', 5000);
        q.addAfter('a', 1000);
      },
      checks: [
        { afterMs: 1000, expected: ['a'] },
        { afterMs: 10_000, expected: [] },
      ],
    },
    {
      name: 'a longer delay does not replace a shorter one',
      run: (q) => {
        q.addAfter('a', 1000);
        q.addAfter('a', 5000);
      },
      checks: [
        { afterMs: 1000, expected: ['a'] },
        { afterMs: 10_000, expected: [] },
      ],
    },
    {
      name: 'delayed keys come out in the order their delays end',
      run: (q) => {
        q.addAfter('late', 3000);
        q.addAfter('early', 1000);
        q.addAfter('middle', 2000);
      },
      checks: [{ afterMs: 3000, expected: ['early', 'middle', 'late'] }],
    },
    {
      name: 'a delay beyond the 2^31−1 ms timer limit is waited out in full',
      run: (q) => q.addAfter('a', 40 * DAY),
      checks: [
        { afterMs: 40 * DAY - 1, expected: [] },
        { afterMs: 1, expected: ['a'] },
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { queue, time } = setup();
      c.run(queue);
      for (const check of c.checks) {
        await time.advance(check.afterMs);
        assert.deepEqual(await drain(queue), check.expected, `after ${check.afterMs} ms more`);
      }
    });
  }
});

describe('work queue: rate limiting', () => {
  it('backs off per key, doubling from the base delay up to the maximum', async () => {
    const { queue, time } = setup({ baseDelayMs: 1000, maxDelayMs: 10_000 });
    const expected = [1000, 2000, 4000, 8000, 10_000, 10_000];
    const seen: number[] = [];
    for (let i = 0; i < expected.length; i++) {
      queue.addRateLimited('a');
      seen.push(time.pendingDelays()[0]!);
      await time.advance(seen.at(-1)!);
      assert.deepEqual(await drain(queue), ['a']);
    }
    assert.deepEqual(seen, expected);
    assert.equal(queue.failures('a'), expected.length);
  });

  it('keeps separate failure counts per key', () => {
    const { queue } = setup();
    queue.addRateLimited('a');
    queue.addRateLimited('a');
    queue.addRateLimited('b');
    assert.deepEqual([queue.failures('a'), queue.failures('b'), queue.failures('c')], [2, 1, 0]);
  });

  it('forget resets the backoff to the base delay', async () => {
    const { queue, time } = setup({ baseDelayMs: 100 });
    for (let i = 0; i < 3; i++) queue.addRateLimited('a');
    await time.advance(1000);
    await drain(queue);
    queue.forget('a');
    assert.equal(queue.failures('a'), 0);
    queue.addRateLimited('a');
    assert.deepEqual(time.pendingDelays(), [100]);
  });

  const bucketCases: {
    name: string;
    opts: Partial<WorkQueueOptions>;
    run: (q: WorkQueue<string>, t: FakeTime) => Promise<void>;
    expectedDelays: number[];
  }[] = [
    {
      name: 'once the burst is spent, retries wait for the bucket even when their own backoff is shorter',
      opts: { baseDelayMs: 1, bucket: { ratePerSecond: 1, burst: 2 } },
      run: async (q) => ['a', 'b', 'c', 'd'].forEach((k) => q.addRateLimited(k)),
      expectedDelays: [1, 1, 1000, 2000],
    },
    {
      name: 'the bucket refills with time',
      opts: { baseDelayMs: 1, bucket: { ratePerSecond: 1, burst: 2 } },
      run: async (q, t) => {
        ['a', 'b'].forEach((k) => q.addRateLimited(k));
        await t.advance(2000);
        await drain(q);
        ['c', 'd'].forEach((k) => q.addRateLimited(k));
      },
      expectedDelays: [1, 1],
    },
    {
      name: 'a per-key backoff longer than the bucket delay wins',
      opts: { baseDelayMs: 5000, bucket: { ratePerSecond: 1, burst: 1 } },
      run: async (q) => ['a', 'b'].forEach((k) => q.addRateLimited(k)), // b's bucket delay is 1000 ms
      expectedDelays: [5000, 5000],
    },
  ];
  for (const c of bucketCases) {
    it(c.name, async () => {
      const { queue, time } = setup(c.opts);
      await c.run(queue, time);
      assert.deepEqual(time.pendingDelays(), c.expectedDelays);
    });
  }

  it('rejects a bucket that could never hand out a token', () => {
    for (const bucket of [
      { ratePerSecond: 0, burst: 10 },
      { ratePerSecond: 5, burst: 0 },
    ]) {
      assert.throws(
        () => createWorkQueue({ name: 'bad', bucket }),
        (err) => isCertsmithError(err, 'ConfigInvalid'),
      );
    }
  });
});

describe('work queue: shutdown', () => {
  it('releases waiting workers with undefined', async () => {
    const { queue } = setup();
    const w1 = queue.get();
    const w2 = queue.get();
    queue.shutdown();
    assert.deepEqual(await Promise.all([w1, w2]), [undefined, undefined]);
  });

  it('hands out nothing more, drops queued and delayed keys, and ignores later adds', async () => {
    const { queue, time, depths } = setup();
    queue.add('a');
    queue.addAfter('b', 1000);
    queue.addRateLimited('c');
    queue.shutdown();
    queue.add('d');
    queue.addAfter('e', 10);
    assert.equal(await queue.get(), undefined);
    assert.equal(queue.len(), 0);
    assert.deepEqual(time.pendingDelays(), [], 'no timer is left behind');
    assert.equal(depths.at(-1), 0);
  });

  it('does not re-queue a key that was re-added while processing', async () => {
    const { queue } = setup();
    queue.add('a');
    await queue.get();
    queue.add('a');
    queue.shutdown();
    queue.done('a');
    assert.equal(queue.len(), 0);
    assert.equal(await queue.get(), undefined);
  });
});
