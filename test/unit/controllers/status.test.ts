import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CertificateStatus } from '../../../src/api/certificate.ts';
import {
  blockedStatus,
  failedStatus,
  issuedStatus,
  issuingCondition,
  readyCondition,
  statusEqual,
  withIssuing,
} from '../../../src/controllers/certificates/status.ts';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-02T00:00:00Z');
const ready = readyCondition('True', 'Ready', 'Certificate is up to date and has not expired', 1);
const validity = { notBefore: t0, notAfter: new Date('2026-04-01T00:00:00Z'), renewalTime: new Date('2026-03-01T00:00:00Z'), revision: 1 };
const types = (s: CertificateStatus) => (s.conditions ?? []).map((c) => `${c.type}=${c.status}`);

describe('certificate status', () => {
  it('an issued certificate is Ready with its validity, and carries no Issuing condition or failure bookkeeping', () => {
    const failing = failedStatus(undefined, issuingCondition('False', 'Failed', 'boom', 1), readyCondition('False', 'Failed', 'boom', 1), 2, t1, t0);
    const s = issuedStatus(failing, validity, ready, t1);
    assert.deepEqual(types(s), ['Ready=True']);
    assert.equal(s.failedIssuanceAttempts, undefined);
    assert.equal(s.nextRetryTime, undefined);
    assert.equal(s.lastFailureTime, undefined);
    assert.equal(s.notAfter, '2026-04-01T00:00:00Z');
    assert.equal(s.renewalTime, '2026-03-01T00:00:00Z');
  });

  it('a renewal waiting on its issuer keeps Ready=True and says why on Issuing', () => {
    const issued = issuedStatus(undefined, validity, ready, t0);
    const s = withIssuing(issued, issuingCondition('True', 'Renewing', 'renewal was due; waiting: Issuer ca is not ready', 1), ready, t1);
    assert.deepEqual(types(s), ['Issuing=True', 'Ready=True']);
    // Ready did not change, so neither did its transition time.
    assert.equal(s.conditions!.find((c) => c.type === 'Ready')!.lastTransitionTime, '2026-01-01T00:00:00Z');
    assert.equal(s.notAfter, issued.notAfter);
  });

  it('a failed first issuance sets Issuing=False and Ready=False with the same message, and counts the attempt', () => {
    const s = failedStatus(
      undefined,
      issuingCondition('False', 'Failed', 'signer refused', 1),
      readyCondition('False', 'Failed', 'signer refused', 1),
      1,
      t1,
      t0,
    );
    assert.deepEqual(types(s), ['Issuing=False', 'Ready=False']);
    assert.equal(s.failedIssuanceAttempts, 1);
    assert.equal(s.lastFailureTime, '2026-01-01T00:00:00Z');
    assert.equal(s.nextRetryTime, '2026-01-02T00:00:00Z');
  });

  it('an invalid spec is Ready=False and drops a pending Issuing condition, since nothing will be tried', () => {
    const pending = withIssuing(undefined, issuingCondition('True', 'SecretMissing', 'waiting', 1), readyCondition('False', 'IssuerNotReady', 'x', 1), t0);
    const s = blockedStatus(pending, readyCondition('False', 'InvalidSpec', 'Invalid spec: duration', 2), t1);
    assert.deepEqual(types(s), ['Ready=False']);
    assert.equal(s.conditions![0]!.reason, 'InvalidSpec');
  });

  it('rewriting the same conditions at a later time is equal, so it costs no API write', () => {
    const a = issuedStatus(undefined, validity, ready, t0);
    const b = issuedStatus(a, validity, ready, t1);
    assert.ok(statusEqual(a, b));
  });
});
