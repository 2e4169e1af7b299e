import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { age, formatFields, formatTable, list, relativeTime, shortDuration, timeWithRelative, toJson } from '../../../src/cli/format.ts';

const now = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(now.getTime() + ms);
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

describe('shortDuration', () => {
  const cases: [string, number, string][] = [
    ['counts seconds below two minutes', 119 * S, '119s'],
    ['switches to minutes at two minutes', 2 * M, '2m'],
    ['counts minutes below two hours', 119 * M + 59 * S, '119m'],
    ['switches to hours at two hours', 2 * H, '2h'],
    ['counts hours below two days', 47 * H, '47h'],
    ['counts days from two days, rounding down', 59 * D + 23 * H, '59d'],
    ['ignores the sign', -3 * H, '3h'],
  ];
  for (const [name, ms, want] of cases) it(name, () => assert.equal(shortDuration(ms), want));
});

describe('relativeTime', () => {
  const cases: [string, Date, string][] = [
    ['says "in" for a moment ahead', at(59 * D + 12 * H), 'in 59d'],
    ['says "ago" for a moment behind', at(-90 * M), '90m ago'],
    ['says "now" within a second', at(400), 'now'],
  ];
  for (const [name, when, want] of cases) it(name, () => assert.equal(relativeTime(when, now), want));

  it('adds the relative form after an RFC 3339 time, and leaves an unparseable one alone', () => {
    assert.equal(timeWithRelative('2026-03-01T00:00:00Z', now), '2026-03-01T00:00:00Z (in 59d)');
    assert.equal(timeWithRelative('soon', now), 'soon');
    assert.equal(timeWithRelative(undefined, now), undefined);
  });

  it('gives ages of RFC 3339 times, "-" when there is none', () => {
    assert.equal(age('2025-12-31T23:55:00Z', now), '5m');
    assert.equal(age(undefined, now), '-');
    assert.equal(age('garbage', now), '-');
  });
});

describe('formatFields', () => {
  it('aligns the values and leaves out undefined ones', () => {
    assert.deepEqual(
      formatFields(
        [
          ['Ready', 'True'],
          ['Missing', undefined],
          ['Next renewal', 'in 59d'],
        ],
        '  ',
      ),
      ['  Ready:         True', '  Next renewal:  in 59d'],
    );
  });
});

describe('formatTable', () => {
  it('upper-cases headers, pads every column but the last, keeps rows in order', () => {
    assert.deepEqual(
      formatTable(
        ['Type', 'Reason', 'Message'],
        [
          ['Normal', 'Issued', 'Issued certificate'],
          ['Warning', 'Failed', 'no'],
        ],
      ),
      ['TYPE     REASON  MESSAGE', 'Normal   Issued  Issued certificate', 'Warning  Failed  no'],
    );
  });

  it('keeps a multi-line message on one line', () => {
    assert.deepEqual(formatTable(['A', 'B'], [['x', 'one\n  two']]), ['A  B', 'x  one two']);
  });

  it('fills missing cells with nothing', () => {
    assert.deepEqual(formatTable(['A', 'B', 'C'], [['x']]), ['A  B  C', 'x']);
  });
});

describe('list and toJson', () => {
  it('joins values, or says "-" for none', () => {
    assert.equal(list(['a', 'b']), 'a, b');
    assert.equal(list([]), '-');
  });

  it('prints JSON with a two-space indent and a final newline', () => {
    assert.equal(toJson({ a: [1] }), '{\n  "a": [\n    1\n  ]\n}\n');
  });
});
