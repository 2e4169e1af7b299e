import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CertInfo } from '../../../src/pki/types.ts';
import {
  decideIssuance,
  type DesiredCertificateState,
  issuanceChecks,
  type IssuanceInputs,
  IssuanceReason,
  type StoredSecretState,
} from '../../../src/policy/issuance.ts';

const H = 3_600_000;
const notBefore = new Date('2026-01-01T00:00:00Z');
const notAfter = new Date(notBefore.getTime() + 2160 * H); // 90 days; default renewal after 60 days
const hoursIn = (h: number) => new Date(notBefore.getTime() + h * H);

const cert: CertInfo = {
  subject: 'CN=www.example.com, O=Acme',
  issuer: 'CN=Acme CA',
  commonName: 'www.example.com',
  subjectFields: { commonName: 'www.example.com', organizations: ['Acme'] },
  serialNumber: '01',
  notBefore,
  notAfter,
  dnsNames: ['www.example.com', 'example.com'],
  ipAddresses: ['192.0.2.1', '2001:db8::1'],
  uris: ['spiffe://cluster.local/ns/web/sa/web'],
  emailAddresses: ['ops@example.com'],
  isCA: false,
  usages: ['digital signature', 'key encipherment', 'server auth'],
  publicKey: { algorithm: 'ECDSA', size: 256 },
  fingerprintSha256: 'ab',
  selfSigned: false,
};

const secret: StoredSecretState = {
  certificatePem: '-----BEGIN CERTIFICATE-----\n…',
  privateKeyPem: '-----BEGIN EC PRIVATE KEY-----\n…',
  cert,
  keyMatchesCert: true,
  keySpec: { algorithm: 'ECDSA', size: 256 },
  issuerAnnotation: { name: 'private-ca', kind: 'Issuer' },
};

const desired: DesiredCertificateState = {
  commonName: 'www.example.com',
  subject: { commonName: 'www.example.com', organizations: ['Acme'] },
  dnsNames: ['www.example.com', 'example.com'],
  ipAddresses: ['192.0.2.1', '2001:db8::1'],
  uris: ['spiffe://cluster.local/ns/web/sa/web'],
  emailAddresses: ['ops@example.com'],
  usages: ['digital signature', 'key encipherment', 'server auth'],
  isCA: false,
  key: { algorithm: 'ECDSA', size: 256 },
  durationMs: 2160 * H,
  issuer: { name: 'private-ca', kind: 'Issuer' },
};

const upToDate: IssuanceInputs = { now: hoursIn(24), secret, desired };

type Patch = {
  now?: Date;
  secret?: Partial<StoredSecretState> | 'missing';
  cert?: Partial<CertInfo>;
  desired?: Partial<DesiredCertificateState>;
  extra?: Partial<Pick<IssuanceInputs, 'renewBeforeMs' | 'renewBeforePercentage' | 'issuerSetsProfile' | 'renewalRequest'>>;
};
function inputs(p: Patch): IssuanceInputs {
  const s: StoredSecretState | undefined = p.secret === 'missing' ? undefined : { ...secret, ...p.secret, ...(p.cert ? { cert: { ...cert, ...p.cert } } : {}) };
  return { ...upToDate, ...p.extra, now: p.now ?? upToDate.now, secret: s, desired: { ...desired, ...p.desired } };
}

describe('decideIssuance', () => {
  const cases: { name: string; patch: Patch; reason?: string; message?: string }[] = [
    { name: 'does nothing when the Secret fits the spec and renewal is not due', patch: {} },
    {
      name: 'issues when the Secret does not exist',
      patch: { secret: 'missing' },
      reason: IssuanceReason.SecretMissing,
      message: 'the Secret does not exist',
    },
    {
      name: 'issues when tls.crt is empty',
      patch: { secret: { certificatePem: '' } },
      reason: IssuanceReason.MissingData,
      message: 'the Secret has no tls.crt',
    },
    {
      name: 'issues when tls.key is only white space',
      patch: { secret: { privateKeyPem: '\n ' } },
      reason: IssuanceReason.MissingData,
      message: 'the Secret has no tls.key',
    },
    {
      name: 'issues when both keys are missing, saying so once',
      patch: { secret: { certificatePem: undefined, privateKeyPem: undefined, cert: undefined, keySpec: undefined } },
      reason: IssuanceReason.MissingData,
      message: 'the Secret has neither tls.crt nor tls.key',
    },
    {
      name: 'issues when tls.crt does not parse',
      patch: { secret: { cert: undefined } },
      reason: IssuanceReason.InvalidCertificate,
      message: 'tls.crt does not hold a readable PEM certificate',
    },
    {
      name: 'issues when tls.key does not parse',
      patch: { secret: { keySpec: undefined, keyMatchesCert: false } },
      reason: IssuanceReason.InvalidKey,
      message: 'tls.key does not hold a readable RSA, ECDSA or Ed25519 private key',
    },
    {
      name: 'issues when the key does not match the certificate',
      patch: { secret: { keyMatchesCert: false } },
      reason: IssuanceReason.KeyMismatch,
      message: 'the private key in tls.key does not match the certificate in tls.crt',
    },
    {
      name: 'issues when the spec names another issuer',
      patch: { desired: { issuer: { name: 'other-ca', kind: 'Issuer' } } },
      reason: IssuanceReason.IssuerChanged,
      message: 'the certificate was issued by Issuer "private-ca"; the spec now names Issuer "other-ca"',
    },
    {
      name: 'issues when only the issuer kind changed',
      patch: { desired: { issuer: { name: 'private-ca', kind: 'ClusterIssuer' } } },
      reason: IssuanceReason.IssuerChanged,
      message: 'the certificate was issued by Issuer "private-ca"; the spec now names ClusterIssuer "private-ca"',
    },
    {
      name: 'reads an empty issuer kind as Issuer',
      patch: { secret: { issuerAnnotation: { name: 'private-ca', kind: '' } } },
    },
    {
      name: 'does not compare issuers when the Secret is not annotated',
      patch: { secret: { issuerAnnotation: undefined }, desired: { issuer: { name: 'other-ca', kind: 'Issuer' } } },
    },
    {
      name: 'names DNS names added and removed',
      patch: { desired: { dnsNames: ['www.example.com', 'b.example.com'] } },
      reason: IssuanceReason.SpecChanged,
      message: 'dnsNames changed: added b.example.com, removed example.com',
    },
    {
      name: 'compares DNS names without regard to case or order',
      patch: { desired: { dnsNames: ['EXAMPLE.com', 'www.Example.com'] } },
    },
    {
      name: 'ignores duplicate DNS names in the spec',
      patch: { desired: { dnsNames: ['example.com', 'www.example.com', 'example.com'] } },
    },
    {
      name: 'compares IP addresses in canonical form',
      patch: { desired: { ipAddresses: ['2001:DB8:0:0:0:0:0:1', '::ffff:192.0.2.1'] } },
    },
    {
      name: 'names an IP address added',
      patch: { desired: { ipAddresses: ['192.0.2.1', '2001:db8::1', '192.0.2.2'] } },
      reason: IssuanceReason.SpecChanged,
      message: 'ipAddresses changed: added 192.0.2.2',
    },
    {
      name: 'names a URI removed',
      patch: { desired: { uris: [] } },
      reason: IssuanceReason.SpecChanged,
      message: 'uris changed: removed spiffe://cluster.local/ns/web/sa/web',
    },
    {
      name: 'compares the domain of email addresses without regard to case',
      patch: { desired: { emailAddresses: ['ops@EXAMPLE.com'] } },
    },
    {
      name: 'treats a different local part of an email address as a change',
      patch: { desired: { emailAddresses: ['Ops@example.com'] } },
      reason: IssuanceReason.SpecChanged,
      message: 'emailAddresses changed: added Ops@example.com, removed ops@example.com',
    },
    {
      name: 'names a changed commonName',
      patch: { desired: { commonName: 'example.com', subject: { commonName: 'example.com', organizations: ['Acme'] } } },
      reason: IssuanceReason.SpecChanged,
      message: 'commonName changed from "www.example.com" to "example.com"',
    },
    {
      name: 'accepts a CN the CA copied from a SAN when the spec sets none',
      patch: { desired: { commonName: undefined, subject: { organizations: ['Acme'] } } },
    },
    {
      name: 'treats a CN that is no SAN as a change when the spec sets none',
      patch: { desired: { commonName: undefined, subject: { organizations: ['Acme'] } }, cert: { commonName: 'legacy' } },
      reason: IssuanceReason.SpecChanged,
      message: 'commonName changed from "legacy" to none',
    },
    {
      name: 'names a changed organization',
      patch: { desired: { subject: { commonName: 'www.example.com', organizations: ['Acme Corp'] } } },
      reason: IssuanceReason.SpecChanged,
      message: 'subject.organizations changed: added Acme Corp, removed Acme',
    },
    {
      name: 'treats an undefined subject as no subject fields',
      patch: { desired: { subject: undefined } },
      reason: IssuanceReason.SpecChanged,
      message: 'subject.organizations changed: removed Acme',
    },
    {
      name: 'names a change of isCA',
      patch: { desired: { isCA: true, usages: [...desired.usages, 'cert sign'] }, cert: { usages: [...cert.usages, 'cert sign'] } },
      reason: IssuanceReason.SpecChanged,
      message: 'isCA changed from false to true',
    },
    {
      name: 'expects "cert sign" on a CA even when the spec does not list it',
      patch: { desired: { isCA: true }, cert: { isCA: true } },
      reason: IssuanceReason.SpecChanged,
      message: 'usages changed: added cert sign',
    },
    {
      name: 'names usages added and removed',
      patch: { desired: { usages: ['digital signature', 'server auth', 'client auth'] } },
      reason: IssuanceReason.SpecChanged,
      message: 'usages changed: added client auth, removed key encipherment',
    },
    {
      name: 'compares usages as a set with aliases folded',
      patch: { desired: { usages: ['server auth', 'key encipherment', 'signing', 'server auth'] } },
    },
    {
      name: 'names a changed key algorithm',
      patch: { desired: { key: { algorithm: 'RSA', size: 2048 } } },
      reason: IssuanceReason.SpecChanged,
      message: 'privateKey changed from ECDSA P-256 to RSA 2048',
    },
    {
      name: 'names a changed key size',
      patch: { desired: { key: { algorithm: 'ECDSA', size: 384 } } },
      reason: IssuanceReason.SpecChanged,
      message: 'privateKey changed from ECDSA P-256 to ECDSA P-384',
    },
    {
      name: 'accepts any size when the spec gives none',
      patch: { desired: { key: { algorithm: 'ECDSA' } } },
    },
    {
      name: 'lists every difference, one after another',
      patch: { desired: { dnsNames: ['www.example.com'], isCA: true, usages: [...desired.usages, 'cert sign'] } },
      reason: IssuanceReason.SpecChanged,
      message: 'dnsNames changed: removed example.com; isCA changed from false to true; usages changed: added cert sign',
    },
    {
      name: 'does not compare the requested duration with the issued lifetime, which a CA may shorten',
      patch: { desired: { durationMs: 8760 * H } },
    },
    {
      name: 'ignores usages and subject fields chosen by an issuer that sets its own profile',
      patch: {
        desired: { usages: ['digital signature', 'key encipherment', 'server auth', 'client auth'] },
        cert: { subjectFields: { commonName: 'www.example.com' }, usages: ['digital signature', 'server auth'] },
        extra: { issuerSetsProfile: true },
      },
    },
    {
      name: 'still compares names for an issuer that sets its own profile',
      patch: { desired: { dnsNames: ['www.example.com'] }, extra: { issuerSetsProfile: true } },
      reason: IssuanceReason.SpecChanged,
      message: 'dnsNames changed: removed example.com',
    },
    {
      name: 'issues when the certificate has expired',
      patch: { now: notAfter },
      reason: IssuanceReason.Expired,
      message: 'the certificate expired at 2026-04-01T00:00:00.000Z',
    },
    {
      name: 'renews once two thirds of the lifetime have passed',
      patch: { now: hoursIn(1440) },
      reason: IssuanceReason.Renewing,
      message: 'renewal was due at 2026-03-02T00:00:00.000Z; the certificate expires at 2026-04-01T00:00:00.000Z',
    },
    { name: 'does not renew a second before it is due', patch: { now: new Date(hoursIn(1440).getTime() - 1000) } },
    {
      name: 'renews renewBefore ahead of expiry',
      patch: { now: hoursIn(2160 - 360), extra: { renewBeforeMs: 360 * H } },
      reason: IssuanceReason.Renewing,
      message: 'renewal was due at 2026-03-17T00:00:00.000Z; the certificate expires at 2026-04-01T00:00:00.000Z',
    },
    { name: 'waits for renewBefore rather than the default', patch: { now: hoursIn(1500), extra: { renewBeforeMs: 24 * H } } },
    {
      name: 'renews at the given percentage of lifetime left',
      patch: { now: hoursIn(1080), extra: { renewBeforePercentage: 50 } },
      reason: IssuanceReason.Renewing,
      message: 'renewal was due at 2026-02-15T00:00:00.000Z; the certificate expires at 2026-04-01T00:00:00.000Z',
    },
    {
      name: 'reports a changed spec before expiry, since both need a new certificate and the spec says more',
      patch: { now: hoursIn(9999), desired: { dnsNames: ['www.example.com'] } },
      reason: IssuanceReason.SpecChanged,
      message: 'dnsNames changed: removed example.com',
    },
    {
      name: 'reports a key mismatch before a changed spec',
      patch: { secret: { keyMatchesCert: false }, desired: { dnsNames: [] } },
      reason: IssuanceReason.KeyMismatch,
      message: 'the private key in tls.key does not match the certificate in tls.crt',
    },
    {
      name: 'renews at once when a renewal of the revision the Secret holds was requested',
      patch: { extra: { renewalRequest: { revision: 3, currentRevision: 3 } } },
      reason: IssuanceReason.RenewalRequested,
      message: 'a renewal of revision 3 was requested',
    },
    {
      name: 'does nothing once the requested revision has been replaced',
      patch: { extra: { renewalRequest: { revision: 3, currentRevision: 4 } } },
    },
    {
      name: 'ignores a request naming a revision the Secret never held, so a typo cannot re-issue forever',
      patch: { extra: { renewalRequest: { revision: 99, currentRevision: 4 } } },
    },
    {
      name: 'reports a changed spec before a requested renewal',
      patch: { desired: { dnsNames: ['www.example.com'] }, extra: { renewalRequest: { revision: 3, currentRevision: 3 } } },
      reason: IssuanceReason.SpecChanged,
      message: 'dnsNames changed: removed example.com',
    },
    {
      name: 'reports expiry before a requested renewal',
      patch: { now: hoursIn(9999), extra: { renewalRequest: { revision: 3, currentRevision: 3 } } },
      reason: IssuanceReason.Expired,
      message: 'the certificate expired at 2026-04-01T00:00:00.000Z',
    },
    {
      name: 'reports a requested renewal before a due renewal',
      patch: { now: hoursIn(1500), extra: { renewalRequest: { revision: 3, currentRevision: 3 } } },
      reason: IssuanceReason.RenewalRequested,
      message: 'a renewal of revision 3 was requested',
    },
  ];

  for (const c of cases) {
    it(c.name, () => {
      const got = decideIssuance(inputs(c.patch));
      if (c.reason === undefined) assert.equal(got, undefined, got && `${got.reason}: ${got.message}`);
      else assert.deepEqual(got, { reason: c.reason, message: c.message });
    });
  }
});

describe('caChanged', () => {
  const signedBy = (fp: string | undefined): IssuanceInputs => ({ ...upToDate, secret: { ...secret, ...(fp ? { caFingerprint: fp } : {}) } });
  const cases: { name: string; inputs: IssuanceInputs; want?: IssuanceReason }[] = [
    { name: 'the issuer signs with the CA that signed the leaf', inputs: { ...signedBy('aa'), issuerCaFingerprint: 'aa' } },
    { name: 'the issuer switched to another CA', inputs: { ...signedBy('aa'), issuerCaFingerprint: 'bb' }, want: IssuanceReason.CAChanged },
    { name: 'no ca.crt in the Secret: nothing to compare', inputs: { ...signedBy(undefined), issuerCaFingerprint: 'bb' } },
    { name: 'the issuer names no CA (not Ready, selfSigned, ACME)', inputs: signedBy('aa') },
    {
      name: 'a renewal that is due wins: it issues at once, with the new CA anyway',
      inputs: { ...signedBy('aa'), issuerCaFingerprint: 'bb', now: hoursIn(1500) },
      want: IssuanceReason.Renewing,
    },
    {
      name: 'a spec change wins: it is not spread over the rotation window',
      inputs: { ...signedBy('aa'), issuerCaFingerprint: 'bb', desired: { ...desired, dnsNames: ['other.example.com'] } },
      want: IssuanceReason.SpecChanged,
    },
  ];
  for (const c of cases) it(c.name, () => assert.equal(decideIssuance(c.inputs)?.reason, c.want));
});

describe('issuanceChecks', () => {
  it('run in the documented order', () => {
    assert.deepEqual(
      issuanceChecks.map((c) => c.name),
      [
        'secretMissing',
        'missingData',
        'invalidCertificate',
        'invalidKey',
        'keyMismatch',
        'issuerChanged',
        'specChanged',
        'expired',
        'renewalRequested',
        'renewing',
        'caChanged',
      ],
    );
  });

  it('each pass on a Secret that fits the spec', () => {
    for (const check of issuanceChecks) assert.equal(check(upToDate), undefined, check.name);
  });

  it('each return undefined rather than throw when the Secret is missing, except the first', () => {
    const none: IssuanceInputs = { ...upToDate, secret: undefined };
    const fired = issuanceChecks.filter((c) => c(none) !== undefined).map((c) => c.name);
    assert.deepEqual(fired, ['secretMissing']);
  });

  it('name every reason the chain can give', () => {
    assert.deepEqual(Object.values(IssuanceReason), [
      'SecretMissing',
      'MissingData',
      'InvalidCertificate',
      'InvalidKey',
      'KeyMismatch',
      'IssuerChanged',
      'SpecChanged',
      'Expired',
      'RenewalRequested',
      'Renewing',
      'CAChanged',
    ]);
  });
});
