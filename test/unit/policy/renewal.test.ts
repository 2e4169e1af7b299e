import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeRenewalTime } from '../../../src/policy/renewal.ts';

const H = 3_600_000;
const notBefore = new Date('2026-01-01T00:00:00Z');
const at = (ms: number) => new Date(notBefore.getTime() + ms).toISOString();

describe('computeRenewalTime', () => {
  const cases: {
    name: string;
    lifetimeMs: number;
    renewBeforeMs?: number;
    renewBeforePercentage?: number;
    expected: string;
  }[] = [
    { name: 'by default renews two thirds through a 90-day lifetime', lifetimeMs: 2160 * H, expected: at(1440 * H) },
    { name: 'by default uses the actual lifetime, not the requested one', lifetimeMs: 24 * H, expected: at(16 * H) },
    { name: 'counts renewBefore back from expiry', lifetimeMs: 2160 * H, renewBeforeMs: 360 * H, expected: at(1800 * H) },
    {
      name: 'falls back to the default when renewBefore equals the lifetime',
      lifetimeMs: 24 * H,
      renewBeforeMs: 24 * H,
      expected: at(16 * H),
    },
    {
      name: 'falls back to the default when renewBefore is longer than the lifetime (a CA shortened it)',
      lifetimeMs: 24 * H,
      renewBeforeMs: 720 * H,
      expected: at(16 * H),
    },
    { name: 'falls back to the default when renewBefore is zero', lifetimeMs: 24 * H, renewBeforeMs: 0, expected: at(16 * H) },
    {
      name: 'renews when the given percentage of the lifetime remains',
      lifetimeMs: 100 * H,
      renewBeforePercentage: 25,
      expected: at(75 * H),
    },
    {
      name: 'ignores a percentage of 100 or more and uses the default',
      lifetimeMs: 30 * H,
      renewBeforePercentage: 100,
      expected: at(20 * H),
    },
    { name: 'ignores a percentage of zero and uses the default', lifetimeMs: 30 * H, renewBeforePercentage: 0, expected: at(20 * H) },
    {
      name: 'rounds down to a whole second when the lifetime does not divide by three',
      lifetimeMs: 10_000,
      expected: at(6_000),
    },
    {
      name: 'rounds a percentage result down to a whole second',
      lifetimeMs: 10_000,
      renewBeforePercentage: 33,
      expected: at(6_000),
    },
    { name: 'returns notAfter for an empty lifetime', lifetimeMs: 0, expected: at(0) },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = computeRenewalTime({
        notBefore,
        notAfter: new Date(notBefore.getTime() + c.lifetimeMs),
        ...(c.renewBeforeMs !== undefined ? { renewBeforeMs: c.renewBeforeMs } : {}),
        ...(c.renewBeforePercentage !== undefined ? { renewBeforePercentage: c.renewBeforePercentage } : {}),
      });
      assert.equal(got.toISOString(), c.expected);
    });
  }

  it('never returns a time with milliseconds', () => {
    for (const lifetimeMs of [1, 999, 1_001, 7_777, 123_456_789]) {
      const got = computeRenewalTime({ notBefore: new Date(1_700_000_000_123), notAfter: new Date(1_700_000_000_123 + lifetimeMs) });
      assert.equal(got.getTime() % 1000, 0, `lifetime ${lifetimeMs}`);
    }
  });
});
