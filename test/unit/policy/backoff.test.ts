import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_BACKOFF_CAP_MS, issuanceBackoffMs, nextRetryTime } from '../../../src/policy/backoff.ts';

const H = 3_600_000;

describe('issuanceBackoffMs', () => {
  const cases: { name: string; attempts: number; opts?: { baseMs?: number; capMs?: number }; ms: number }[] = [
    { name: 'waits nothing before any failure', attempts: 0, ms: 0 },
    { name: 'waits nothing for a nonsensical negative count', attempts: -3, ms: 0 },
    { name: 'waits nothing for NaN', attempts: Number.NaN, ms: 0 },
    { name: 'waits 10 seconds after the first failure', attempts: 1, ms: 10_000 },
    { name: 'doubles after the second failure', attempts: 2, ms: 20_000 },
    { name: 'waits 1m20s after the fourth failure', attempts: 4, ms: 80_000 },
    { name: 'waits 22h45m20s after the fourteenth failure, the last step under the cap', attempts: 14, ms: 81_920_000 },
    { name: 'stops at 32 hours from the fifteenth failure on', attempts: 15, ms: 32 * H },
    { name: 'stays at the cap for a huge count', attempts: 10_000, ms: 32 * H },
    { name: 'uses a given base', attempts: 3, opts: { baseMs: H }, ms: 4 * H },
    { name: 'uses a given cap', attempts: 10, opts: { capMs: 60_000 }, ms: 60_000 },
    { name: 'treats a fractional count as the whole failures in it', attempts: 2.9, ms: 20_000 },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(issuanceBackoffMs(c.attempts, c.opts), c.ms));
  }

  it('caps at the same 32 hours as cert-manager', () => assert.equal(DEFAULT_BACKOFF_CAP_MS, 32 * H));

  it('never shrinks as failures accumulate', () => {
    let previous = 0;
    for (let n = 0; n <= 80; n++) {
      const ms = issuanceBackoffMs(n);
      assert.ok(ms >= previous, `attempt ${n}: ${ms} < ${previous}`);
      previous = ms;
    }
  });
});

describe('nextRetryTime', () => {
  const failedAt = new Date('2026-03-01T12:00:00Z');
  const cases: { name: string; attempts: number; opts?: { baseMs?: number }; expected: string }[] = [
    { name: 'adds the backoff to the last failure', attempts: 3, expected: '2026-03-01T12:00:40.000Z' },
    { name: 'is the failure time itself when nothing failed', attempts: 0, expected: '2026-03-01T12:00:00.000Z' },
    { name: 'passes options through', attempts: 1, opts: { baseMs: H }, expected: '2026-03-01T13:00:00.000Z' },
    { name: 'is at most 32 hours later', attempts: 40, expected: '2026-03-02T20:00:00.000Z' },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(nextRetryTime(failedAt, c.attempts, c.opts).toISOString(), c.expected));
  }
});
