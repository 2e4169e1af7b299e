// What the Certificate reconciler writes after acting: the status, event and requeue of each outcome.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Certificate, CertificateSpec, CertificateStatus } from '../../../../src/api/certificate.ts';
import { ConditionType, findCondition } from '../../../../src/api/conditions.ts';
import { desiredCertificate } from '../../../../src/controllers/certificates/desired.ts';
import {
  certificateIssued,
  issuanceFailed,
  orderInProgress,
  orderIntentStatus,
  upToDate,
  type DueIssuance,
} from '../../../../src/controllers/certificates/outcomes.ts';
import { statusEqual } from '../../../../src/controllers/certificates/status.ts';

const NOW = new Date('2030-01-01T00:00:00Z');
const HOUR = 3_600_000;
const SPEC: CertificateSpec = { secretName: 'web-tls', issuerRef: { name: 'le', kind: 'ClusterIssuer' }, dnsNames: ['web.apps.example'], duration: '90h' };
const DESIRED = desiredCertificate(SPEC);
const FIRST: DueIssuance = { decision: { reason: 'SecretMissing', message: 'Secret web-tls does not exist' }, renewalOnly: false };
const RENEWAL: DueIssuance = { decision: { reason: 'Renewing', message: 'renewal time reached' }, renewalOnly: true };

function certificate(status?: CertificateStatus): Certificate {
  return {
    apiVersion: 'certsmith.dev/v1alpha1',
    kind: 'Certificate',
    metadata: { name: 'web', namespace: 'apps', generation: 3 },
    spec: SPEC,
    ...(status ? { status } : {}),
  } as Certificate;
}

const ORDER = { state: 'pending', requestDigest: 'sha256:0', issuer: 'ClusterIssuer/le', orderURL: 'https://127.0.0.1:14000/order/7' };

const condition = (s: CertificateStatus, type: string) => findCondition(s.conditions, type);

describe('certificate outcomes', () => {
  it('counts failed attempts, backs off and keeps the ACME order for the next attempt', () => {
    const order = ORDER;
    const first = issuanceFailed(certificate(), NOW, FIRST, { code: 'AcmeProblem', message: 'the CA said no' }, order, undefined);
    assert.equal(first.status.failedIssuanceAttempts, 1);
    assert.deepEqual(first.status.acmeOrder, order);
    assert.equal(condition(first.status, ConditionType.Ready)?.reason, 'Failed');
    assert.equal(first.event?.reason, 'Failed');
    assert.equal(first.issuance, 'failure');
    assert.ok((first.requeueAfterMs ?? 0) > 0);
    assert.equal(Date.parse(first.status.nextRetryTime ?? ''), NOW.getTime() + (first.requeueAfterMs ?? 0));
    const second = issuanceFailed(certificate(first.status), NOW, FIRST, { code: 'AcmeProblem', message: 'the CA said no' }, undefined, undefined);
    assert.equal(second.status.failedIssuanceAttempts, 2);
    assert.ok((second.requeueAfterMs ?? 0) > (first.requeueAfterMs ?? 0), 'the backoff grows');
    assert.equal(second.status.acmeOrder, undefined, 'no order is kept when none is given');
  });

  it('honours a longer Retry-After from the CA', () => {
    const out = issuanceFailed(certificate(), NOW, FIRST, { code: 'AcmeRateLimited', message: 'slow down', retryAfterMs: 6 * HOUR }, undefined, undefined);
    assert.ok((out.requeueAfterMs ?? 0) >= 6 * HOUR);
  });

  it('keeps Ready=True when a renewal fails while the certificate is still good', () => {
    const out = issuanceFailed(certificate(), NOW, RENEWAL, { code: 'AcmeProblem', message: 'no' }, undefined, undefined);
    assert.equal(condition(out.status, ConditionType.Ready)?.status, 'True');
    assert.equal(condition(out.status, ConditionType.Issuing)?.status, 'False');
    assert.equal(out.notReady, undefined);
  });

  it('announces a newly placed order once, and a poll that changed nothing writes the same status', () => {
    const intent = orderIntentStatus(certificate(), NOW, FIRST, { state: 'intent', requestDigest: 'sha256:0', issuer: 'ClusterIssuer/le' });
    assert.match(condition(intent, ConditionType.Issuing)?.message ?? '', /placing an ACME order$/);
    const placed = orderInProgress(certificate(), NOW, FIRST, ORDER, 'order pending', 2_000);
    assert.equal(placed.event?.reason, 'OrderCreated');
    assert.equal(placed.status.acmeOrder?.nextPollTime, '2030-01-01T00:00:02Z');
    const later = new Date(NOW.getTime() + 2_000);
    const polled = orderInProgress(certificate(placed.status), later, FIRST, ORDER, 'order pending', 2_000);
    assert.equal(polled.event, undefined);
    assert.ok(statusEqual(placed.status, polled.status), 'nothing new: no status write');
  });

  it('clears failure bookkeeping and the order once issued; ACME comes back at once for renewal information', () => {
    const failed = issuanceFailed(certificate(), NOW, FIRST, { code: 'AcmeProblem', message: 'no' }, ORDER, undefined);
    const notAfter = new Date(NOW.getTime() + 90 * HOUR);
    const issued = { notBefore: NOW, notAfter, revision: 1, renewed: false, viaAcme: true };
    const out = certificateIssued(certificate(failed.status), NOW, FIRST, DESIRED, issued);
    assert.equal(out.status.failedIssuanceAttempts, undefined);
    assert.equal(out.status.acmeOrder, undefined);
    assert.equal(condition(out.status, ConditionType.Issuing), undefined);
    assert.equal(condition(out.status, ConditionType.Ready)?.status, 'True');
    assert.equal(out.status.renewalTime, '2030-01-03T12:00:00Z', 'two thirds of 90 h');
    assert.equal(out.requeueAfterMs, 0);
    assert.equal(out.event?.reason, 'Issued');
    const fromCa = certificateIssued(certificate(), NOW, FIRST, DESIRED, { ...issued, viaAcme: false, renewed: true });
    assert.equal(fromCa.requeueAfterMs, 60 * HOUR, 'a CA certificate is looked at again at its renewal time');
    assert.equal(fromCa.event?.reason, 'Renewed');
  });

  it('takes the earlier of the local renewal time and the CA suggested window', () => {
    const current = { notBefore: NOW, notAfter: new Date(NOW.getTime() + 90 * HOUR), revision: 2 };
    const plain = upToDate(certificate(), NOW, DESIRED, current);
    assert.equal(plain.status.renewalTime, '2030-01-03T12:00:00Z');
    const info = {
      certID: 'aaa.bbb',
      suggestedWindowStart: '2030-01-01T10:00:00Z',
      suggestedWindowEnd: '2030-01-01T11:00:00Z',
      nextCheckTime: '2030-01-01T06:00:00Z',
    };
    const withAri = upToDate(certificate(), NOW, DESIRED, current, { info, certID: 'aaa.bbb' });
    const renewal = Date.parse(withAri.status.renewalTime ?? '');
    assert.ok(renewal >= Date.parse(info.suggestedWindowStart) && renewal <= Date.parse(info.suggestedWindowEnd));
    assert.equal(withAri.requeueAfterMs, 6 * HOUR, 'looks at the renewal information again when the CA said');
    assert.deepEqual(withAri.status.renewalInfo, info);
  });
});
