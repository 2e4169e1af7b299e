// The fuzz harness itself: a failure must name its seed and a small input, or nobody can act on it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CertsmithError } from '../../../src/errors.ts';
import {
  hexSeed,
  mutateBytes,
  mutateString,
  Random,
  refusesOnlyWith,
  runProperty,
  shrinkArray,
  shrinkBytes,
  shrinkJson,
  shrinkString,
  type Property,
} from './harness.ts';

const sequence = (seed: number, n = 8) => {
  const r = new Random(seed);
  return Array.from({ length: n }, () => r.u32());
};

describe('the seeded generator', () => {
  it('gives the same sequence for the same seed, and another for another seed', () => {
    assert.deepEqual(sequence(42), sequence(42));
    assert.notDeepEqual(sequence(42), sequence(43));
  });

  it('gives every value of a small range, and none outside it', () => {
    const r = new Random(7);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(r.range(-3, 3));
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      [-3, -2, -1, 0, 1, 2, 3],
    );
  });

  it('spreads 32-bit values over the whole range', () => {
    const r = new Random(1);
    const buckets = new Array<number>(16).fill(0);
    for (let i = 0; i < 16_000; i++) buckets[r.u32() >>> 28]!++;
    assert.ok(
      buckets.every((n) => n > 800 && n < 1200),
      `uneven: ${buckets.join(' ')}`,
    );
  });

  it('mutates strings and bytes deterministically for a seed', () => {
    const once = (seed: number) => {
      const r = new Random(seed);
      return [mutateString(r, 'hello world'), Buffer.from(mutateBytes(r, Uint8Array.of(1, 2, 3, 4))).toString('hex')];
    };
    assert.deepEqual(once(9), once(9));
  });
});

describe('running a property', () => {
  const noX: Property<string> = {
    name: 'no string holds an x',
    iterations: 500,
    generate: (r, size) => r.string('abcx', r.range(0, size)),
    check: (s) => assert.ok(!s.includes('x')),
    shrink: shrinkString,
  };

  it('reports the seed and shrinks a failing input to the smallest one', () => {
    const outcome = runProperty(noX, 0x1234);
    assert.ok(outcome.failure, 'the property fails');
    assert.match(outcome.failure, /seed 0x00001234/);
    assert.match(outcome.failure, /smallest failing input \(\d+ shrinking steps\): "x"/);
    assert.match(outcome.failure, /FUZZ_SEED=0x00001234 .*--test-name-pattern="no string holds an x"/);
  });

  it('finds the same failure again from the same seed', () => {
    assert.equal(runProperty(noX, 99).failure, runProperty(noX, 99).failure);
  });

  it('passes a property that holds, counting its inputs', () => {
    const outcome = runProperty({ ...noX, generate: (r) => r.string('ab', 5) }, 5, 500);
    assert.equal(outcome.failure, undefined);
    assert.equal(outcome.iterations, 500);
  });

  it('shrinks arrays and bytes element by element', () => {
    const outcome = runProperty<Uint8Array[]>(
      {
        name: 'no array holds a byte string with a 7',
        iterations: 300,
        generate: (r) => Array.from({ length: r.range(0, 6) }, () => r.bytes(r.range(0, 6)).map((b) => b % 8)),
        check: (arrays) => assert.ok(!arrays.some((a) => a.includes(7))),
        shrink: shrinkArray(shrinkBytes),
      },
      3,
    );
    assert.match(outcome.failure ?? '', /smallest failing input .*: \["hex:07"\]/);
  });

  it('shrinks plain data by dropping keys and shortening values, keeping the keys it is told to keep', () => {
    const outcome = runProperty<Record<string, unknown>>(
      {
        name: 'no object has a list holding "bad"',
        iterations: 300,
        generate: (r) => ({
          id: r.string('ab', 3),
          list: Array.from({ length: r.range(0, 5) }, () => r.pick(['ok', 'bad', 'fine'])),
          other: r.string('xyz', 8),
        }),
        check: (o) => assert.ok(!(o.list as string[]).includes('bad')),
        shrink: shrinkJson(['id', 'list']),
      },
      21,
    );
    assert.match(outcome.failure ?? '', /smallest failing input .*: \{"id":"","list":\["bad"\]\}/);
  });

  it('fails an input that takes more CPU time than the property allows, and names it', () => {
    const outcome = runProperty(
      {
        name: 'spins on a z',
        iterations: 50,
        maxInputMs: 2,
        generate: (r) => r.string('az', 3),
        check: (s) => {
          const until = process.cpuUsage().user + (s.includes('z') ? 10_000 : 0);
          while (process.cpuUsage().user < until);
        },
      },
      11,
    );
    assert.match(outcome.failure ?? '', /took [\d.]+ ms of CPU for one input, more than 2 ms/);
    assert.match(outcome.failure ?? '', /input: ".*z.*"/);
  });

  it('quotes the property name as a regular expression in the command that replays a failure', () => {
    const outcome = runProperty({ ...noX, name: 'no string (of a, b, c or x) holds an x' }, 1);
    assert.match(outcome.failure ?? '', /--test-name-pattern="no string \\\\\(of a, b, c or x\\\\\) holds an x"/);
  });

  it('writes seeds as eight hex digits', () => {
    assert.equal(hexSeed(0x5eed), '0x00005eed');
    assert.equal(hexSeed(0xffff_ffff), '0xffffffff');
  });
});

describe('refusesOnlyWith', () => {
  it("returns the value, or the module's own error when it has one of the codes", () => {
    assert.deepEqual(
      refusesOnlyWith(['InvalidPEM'], () => 1),
      { ok: true, value: 1 },
    );
    const refused = refusesOnlyWith(['InvalidPEM'], () => {
      throw new CertsmithError('InvalidPEM', 'no');
    });
    assert.equal(refused.ok, false);
  });

  it('fails on any other error: a TypeError, or a CertsmithError with another code', () => {
    assert.throws(
      () =>
        refusesOnlyWith(['InvalidPEM'], () => {
          throw new TypeError('boom');
        }),
      /threw TypeError: boom/,
    );
    assert.throws(
      () =>
        refusesOnlyWith(['InvalidPEM'], () => {
          throw new CertsmithError('InvalidSpec', 'no');
        }),
      /code InvalidSpec/,
    );
  });
});
