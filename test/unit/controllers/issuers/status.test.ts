import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Issuer, IssuerStatus } from '../../../../src/api/issuer.ts';
import {
  acmeAccountReady,
  caReady,
  failedCheck,
  planStatus,
  selfSignedReady,
  statusEqual,
  type IssuerCheck,
} from '../../../../src/controllers/issuers/status.ts';
import type { ErrorCode } from '../../../../src/errors.ts';

const MIN = 60_000;
const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T01:00:00Z');
const acme = { uri: 'https://acme.test/acct/1', server: 'https://acme.test/directory', accountKeyThumbprint: 'thumb' };
const ca: NonNullable<IssuerStatus['ca']> = {
  phase: 'Reissuing',
  generations: [
    { fingerprint: 'old', notBefore: '2025-01-01T00:00:00Z', notAfter: '2027-01-01T00:00:00Z', role: 'retiring', certificate: 'PEM old' },
    { fingerprint: 'new', notBefore: '2026-01-01T00:00:00Z', notAfter: '2028-01-01T00:00:00Z', role: 'signing' },
  ],
};
const issuer = (status?: IssuerStatus, generation = 1): Issuer => ({
  apiVersion: 'certsmith.dev/v1alpha1',
  kind: 'Issuer',
  metadata: { name: 'org', namespace: 'apps', generation },
  spec: { ca: { secretName: 'org-ca' } },
  ...(status ? { status } : {}),
});

describe('failedCheck', () => {
  const cases: { name: string; code: ErrorCode; retryAfterMs?: number; reason: string; requeueAfterMs: number }[] = [
    { name: 'a missing CA Secret is looked at again in five minutes', code: 'SecretNotFound', reason: 'SecretNotFound', requeueAfterMs: 5 * MIN },
    { name: 'a certificate that is not a CA says so', code: 'NotCA', reason: 'NotCA', requeueAfterMs: 5 * MIN },
    { name: 'a key that is not supported is reported as invalid PEM', code: 'UnsupportedKey', reason: 'InvalidPEM', requeueAfterMs: 5 * MIN },
    { name: 'a bad duration in the spec is an invalid spec', code: 'InvalidDuration', reason: 'InvalidSpec', requeueAfterMs: 5 * MIN },
    { name: 'a Secret the managed CA does not own is a conflict', code: 'SecretConflict', reason: 'SecretConflict', requeueAfterMs: 5 * MIN },
    { name: 'an unreachable ACME server is asked again in a minute', code: 'AcmeUnreachable', reason: 'ACMEServerUnreachable', requeueAfterMs: MIN },
    {
      name: 'an ACME server answering more than the transport reads is told as a server that cannot be used',
      code: 'AcmeResponseTooLarge',
      reason: 'ACMEServerUnreachable',
      requeueAfterMs: MIN,
    },
    {
      name: "an ACME server's Retry-After longer than a minute is honoured",
      code: 'AcmeUnavailable',
      retryAfterMs: 10 * MIN,
      reason: 'ACMEServerUnreachable',
      requeueAfterMs: 10 * MIN,
    },
    {
      name: 'a Retry-After shorter than a minute does not make the retry sooner',
      code: 'AcmeRateLimited',
      retryAfterMs: 5000,
      reason: 'ACMERegistrationFailed',
      requeueAfterMs: MIN,
    },
    { name: 'a deactivated or revoked account is rejected', code: 'AcmeAccountProblem', reason: 'ACMEAccountRejected', requeueAfterMs: MIN },
    { name: 'a code without a reason of its own is Failed', code: 'SigningFailed', reason: 'Failed', requeueAfterMs: 5 * MIN },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const check = failedCheck(undefined, c.code, 'what went wrong', c.retryAfterMs);
      assert.deepEqual(check, { status: 'False', reason: c.reason, message: 'what went wrong', fields: {}, requeueAfterMs: c.requeueAfterMs });
    });
  }

  it('keeps the registered account and the CA generations, and drops the signing CA it can no longer vouch for', () => {
    const prev: IssuerStatus = { acme, ca, caFingerprint: 'new', caNotAfter: '2028-01-01T00:00:00Z' };
    assert.deepEqual(failedCheck(prev, 'InvalidPEM', 'bad', undefined).fields, { acme, ca });
  });
});

describe('what a finding says', () => {
  const cases: { name: string; check: IssuerCheck; expected: IssuerCheck }[] = [
    {
      name: 'a self-signed issuer is ready and needs no second look',
      check: selfSignedReady(),
      expected: { status: 'True', reason: 'Ready', message: 'Signing each certificate with its own key' },
    },
    {
      name: 'a registered ACME account is looked at again in an hour',
      check: acmeAccountReady({ acme, message: 'ACME account registered', contacted: true }),
      expected: { status: 'True', reason: 'ACMEAccountRegistered', message: 'ACME account registered', fields: { acme }, requeueAfterMs: 60 * MIN },
    },
    {
      name: 'a CA that signs is ready with its status and its own requeue',
      check: caReady({ message: 'Signing with CA', status: { caFingerprint: 'new', ca }, requeueAfterMs: 1000 }),
      expected: { status: 'True', reason: 'Ready', message: 'Signing with CA', fields: { caFingerprint: 'new', ca }, requeueAfterMs: 1000 },
    },
    {
      name: 'a CA the user replaced is ready and marked replaced',
      check: caReady({ message: 'replaced', status: { caFingerprint: 'new', ca }, requeueAfterMs: 1000, switched: true }),
      expected: { status: 'True', reason: 'Ready', message: 'replaced', fields: { caFingerprint: 'new', ca }, requeueAfterMs: 1000, caReplaced: true },
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(c.check, c.expected));
});

describe('planStatus', () => {
  const ready: IssuerCheck = { status: 'True', reason: 'Ready', message: 'Signing with CA X', fields: { caFingerprint: 'new' } };
  const first = planStatus(issuer(), ready, t0).status;
  const cases: {
    name: string;
    prev?: IssuerStatus;
    generation?: number;
    check: IssuerCheck;
    write: boolean;
    readyChanged: boolean;
    transition: string;
    fields?: Partial<IssuerStatus>;
  }[] = [
    { name: 'a first look writes status and announces Ready', check: ready, write: true, readyChanged: true, transition: '2026-01-01T01:00:00Z' },
    {
      name: 'the same finding again writes nothing and announces nothing',
      prev: first,
      check: ready,
      write: false,
      readyChanged: false,
      transition: '2026-01-01T00:00:00Z',
    },
    {
      name: 'a new message with the same status and reason is written but not announced',
      prev: first,
      check: { ...ready, message: 'Signing with CA Y' },
      write: true,
      readyChanged: false,
      transition: '2026-01-01T00:00:00Z',
    },
    {
      name: 'a new spec generation is written as observedGeneration, quietly',
      prev: first,
      generation: 2,
      check: ready,
      write: true,
      readyChanged: false,
      transition: '2026-01-01T00:00:00Z',
    },
    {
      name: 'turning not ready is announced and moves the transition time',
      prev: first,
      check: failedCheck(first, 'SecretNotFound', 'CA Secret apps/org-ca does not exist'),
      write: true,
      readyChanged: true,
      transition: '2026-01-01T01:00:00Z',
      fields: { caFingerprint: undefined },
    },
    {
      name: 'another reason to be not ready is announced but keeps the transition time',
      prev: planStatus(issuer(), failedCheck(undefined, 'SecretNotFound', 'missing'), t0).status,
      check: failedCheck(undefined, 'NotCA', 'not a CA'),
      write: true,
      readyChanged: true,
      transition: '2026-01-01T00:00:00Z',
    },
    {
      name: 'status fields a finding no longer gives are dropped (a CA issuer turned self-signed)',
      prev: { ...first, caNotAfter: '2028-01-01T00:00:00Z', ca },
      check: selfSignedReady(),
      write: true,
      readyChanged: false,
      transition: '2026-01-01T00:00:00Z',
      fields: { caFingerprint: undefined, caNotAfter: undefined, ca: undefined },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planStatus(issuer(c.prev, c.generation), c.check, t1);
      assert.equal(plan.write, c.write);
      assert.equal(plan.readyChanged, c.readyChanged);
      assert.deepEqual(plan.ready, {
        type: 'Ready',
        status: c.check.status,
        reason: c.check.reason,
        message: c.check.message,
        observedGeneration: c.generation ?? 1,
      });
      assert.deepEqual(plan.status.conditions, [{ ...plan.ready, lastTransitionTime: c.transition }]);
      for (const [k, v] of Object.entries(c.fields ?? {})) assert.deepEqual(plan.status[k as keyof IssuerStatus], v, k);
    });
  }
});

describe('statusEqual', () => {
  const cases: { name: string; a: IssuerStatus | undefined; b: IssuerStatus | undefined; equal: boolean }[] = [
    { name: 'the order of keys does not matter', a: { caFingerprint: 'x', acme }, b: { acme, caFingerprint: 'x' }, equal: true },
    { name: 'a field set to undefined is no field', a: { caFingerprint: 'x', ca: undefined }, b: { caFingerprint: 'x' }, equal: true },
    { name: 'no status is an empty one', a: undefined, b: {}, equal: true },
    { name: 'a changed generation list differs', a: { ca }, b: { ca: { ...ca, generations: [] } }, equal: false },
  ];
  for (const c of cases) it(c.name, () => assert.equal(statusEqual(c.a, c.b), c.equal));
});
