import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ACME_TRANSIENT_BACKOFF_BASE_MS,
  ACME_VALIDATION_BACKOFF_BASE_MS,
  type BackoffOptions,
  backoffForCode,
  DEFAULT_BACKOFF_CAP_MS,
  retryTimeFor,
} from '../../../src/policy/backoff.ts';

const S = 1_000;
const MIN = 60 * S;
const H = 60 * MIN;

describe('backoffForCode', () => {
  const cases: { name: string; code: string | undefined; defaults?: BackoffOptions; expected: BackoffOptions }[] = [
    { name: 'starts ACME validation failures at 5 minutes', code: 'AcmeValidationFailed', expected: { baseMs: 5 * MIN } },
    { name: 'starts a rejected order at 5 minutes', code: 'AcmeOrderRejected', expected: { baseMs: 5 * MIN } },
    { name: 'starts an account problem at 5 minutes', code: 'AcmeAccountProblem', expected: { baseMs: 5 * MIN } },
    { name: 'starts a missing solver at 5 minutes', code: 'AcmeNoSolver', expected: { baseMs: 5 * MIN } },
    { name: 'starts a bad answer of the CA at 5 minutes', code: 'AcmeBadResponse', expected: { baseMs: 5 * MIN } },
    { name: 'starts any other ACME problem at 5 minutes', code: 'AcmeProblem', expected: { baseMs: 5 * MIN } },
    { name: 'starts an unreachable CA at 30 seconds', code: 'AcmeUnreachable', expected: { baseMs: 30 * S } },
    { name: 'starts an unavailable CA at 30 seconds', code: 'AcmeUnavailable', expected: { baseMs: 30 * S } },
    { name: 'starts a rate-limiting CA at 30 seconds (its Retry-After decides the rest)', code: 'AcmeRateLimited', expected: { baseMs: 30 * S } },
    { name: 'starts an unreachable DNS server at 30 seconds', code: 'Dns01Unreachable', expected: { baseMs: 30 * S } },
    { name: 'starts a refused DNS update at 30 seconds', code: 'Dns01UpdateRefused', expected: { baseMs: 30 * S } },
    { name: 'keeps the defaults for a failure outside ACME', code: 'SecretNotFound', expected: {} },
    { name: 'keeps the defaults without a code', code: undefined, expected: {} },
    {
      name: 'keeps a configured cap for ACME failures',
      code: 'AcmeValidationFailed',
      defaults: { capMs: 2 * H, baseMs: S },
      expected: { capMs: 2 * H, baseMs: 5 * MIN },
    },
    { name: 'keeps a configured cap for transient failures', code: 'AcmeUnreachable', defaults: { capMs: 2 * H }, expected: { capMs: 2 * H, baseMs: 30 * S } },
    {
      name: 'keeps configured defaults as they are outside ACME',
      code: 'IssuerNotReady',
      defaults: { baseMs: S, capMs: H },
      expected: { baseMs: S, capMs: H },
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(backoffForCode(c.code, c.defaults), c.expected));

  it('names its bases', () => {
    assert.equal(ACME_VALIDATION_BACKOFF_BASE_MS, 5 * MIN);
    assert.equal(ACME_TRANSIENT_BACKOFF_BASE_MS, 30 * S);
  });
});

/** When each of `codes.length` consecutive failures happens, the first at 0, each retry as soon as allowed. */
function failureTimes(codes: readonly string[]): number[] {
  const times: number[] = [];
  let t = 0;
  codes.forEach((code, i) => {
    times.push(t);
    t = retryTimeFor(new Date(t), i + 1, backoffForCode(code)).getTime();
  });
  return times;
}

/** The most of `times` that fall within any one hour. */
function mostInAnHour(times: readonly number[]): number {
  return Math.max(0, ...times.map((start) => times.filter((t) => t >= start && t < start + H).length));
}

describe('ACME validation failures keep within the CA failed-validation limit', () => {
  it('fail at 0, 5, 15, 35 and 75 minutes', () => {
    assert.deepEqual(
      failureTimes(Array(5).fill('AcmeValidationFailed')).map((t) => t / MIN),
      [0, 5, 15, 35, 75],
    );
  });

  it('fail at most 4 times in any hour, however long they go on', () => {
    const times = failureTimes(Array(40).fill('AcmeValidationFailed'));
    assert.equal(mostInAnHour(times), 4);
  });

  it('fail at most 4 times in any hour whichever failures in between were transient', () => {
    const n = 10;
    for (let mask = 0; mask < 1 << n; mask++) {
      const codes = Array.from({ length: n }, (_, i) => ((mask >> i) & 1 ? 'AcmeValidationFailed' : 'AcmeUnreachable'));
      const times = failureTimes(codes).filter((_, i) => codes[i] === 'AcmeValidationFailed');
      assert.ok(mostInAnHour(times) <= 4, `${codes.join(', ')}: validation failures at minutes ${times.map((t) => t / MIN).join(', ')}`);
    }
  });

  it('would exceed that limit with the default schedule, which is why ACME gets its own', () => {
    const times = failureTimes(Array(12).fill('SecretNotFound'));
    assert.ok(mostInAnHour(times) > 5);
  });
});

describe('retryTimeFor', () => {
  const failedAt = new Date('2026-03-01T12:00:00Z');
  const at = (ms: number) => new Date(failedAt.getTime() + ms).toISOString();
  const cases: { name: string; attempts: number; code: string; retryAfterMs?: number; expected: string }[] = [
    { name: 'waits 5 minutes after the first validation failure', attempts: 1, code: 'AcmeValidationFailed', expected: at(5 * MIN) },
    { name: 'waits 40 minutes after the fourth validation failure', attempts: 4, code: 'AcmeValidationFailed', expected: at(40 * MIN) },
    { name: 'waits 30 seconds after the first transient failure', attempts: 1, code: 'AcmeUnreachable', expected: at(30 * S) },
    { name: 'waits 2 minutes after the third transient failure', attempts: 3, code: 'AcmeUnavailable', expected: at(2 * MIN) },
    { name: 'stops at the default cap of 32 hours', attempts: 30, code: 'AcmeValidationFailed', expected: at(DEFAULT_BACKOFF_CAP_MS) },
    { name: 'follows a Retry-After longer than the backoff', attempts: 1, code: 'AcmeRateLimited', retryAfterMs: 3 * H, expected: at(3 * H) },
    { name: 'keeps the backoff when the Retry-After is shorter', attempts: 2, code: 'AcmeRateLimited', retryAfterMs: 10 * S, expected: at(60 * S) },
    { name: 'keeps the backoff for a Retry-After of zero', attempts: 1, code: 'AcmeRateLimited', retryAfterMs: 0, expected: at(30 * S) },
    { name: 'follows a Retry-After longer than the cap', attempts: 30, code: 'AcmeRateLimited', retryAfterMs: 48 * H, expected: at(48 * H) },
    { name: 'follows a Retry-After for any failure, not only rate limits', attempts: 1, code: 'AcmeValidationFailed', retryAfterMs: H, expected: at(H) },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(retryTimeFor(failedAt, c.attempts, backoffForCode(c.code), c.retryAfterMs).toISOString(), c.expected));
  }
});
