import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { Certificate } from '../../../src/api/certificate.ts';
import { buildInspectView, formatInspect } from '../../../src/cli/inspect-view.ts';
import type { SecretObject } from '../../../src/api/secret.ts';
import { buildStatusView, formatStatus, summarizeSecret, type EventLike } from '../../../src/cli/status-view.ts';
import { encodePem, encodePrivateKeyPem, generatePrivateKey, signCertificate } from '../../../src/pki/index.ts';

const now = new Date('2026-01-11T00:00:00Z');
const notBefore = new Date('2026-01-01T00:00:00Z');
const D = 86_400_000;
const b64 = (s: string) => Buffer.from(s).toString('base64');

let caPem: string;
let leafPem: string;
let leafKeyPem: string;
let otherKeyPem: string;

before(async () => {
  const caKey = await generatePrivateKey({ algorithm: 'ECDSA', size: 256 });
  const base = { dnsNames: [], ipAddresses: [], uris: [], emailAddresses: [], notBefore, serialNumber: '01' };
  const caDer = await signCertificate({
    ...base,
    publicKey: caKey,
    subject: { commonName: 'Test Root' },
    usages: [],
    isCA: true,
    notAfter: new Date(notBefore.getTime() + 365 * D),
    signer: { privateKey: caKey },
  });
  const leafKey = await generatePrivateKey({ algorithm: 'RSA', size: 2048 });
  const leafDer = await signCertificate({
    ...base,
    serialNumber: '0a',
    publicKey: leafKey,
    subject: { commonName: 'web.example.test' },
    dnsNames: ['web.example.test', 'www.example.test'],
    ipAddresses: ['10.0.0.1'],
    usages: ['digital signature', 'server auth'],
    isCA: false,
    notAfter: new Date(notBefore.getTime() + 90 * D),
    signer: { privateKey: caKey, certificateDer: caDer },
  });
  caPem = encodePem('CERTIFICATE', caDer);
  leafPem = encodePem('CERTIFICATE', leafDer);
  leafKeyPem = encodePrivateKeyPem(leafKey, 'PKCS1');
  otherKeyPem = encodePrivateKeyPem(await generatePrivateKey({ algorithm: 'ECDSA', size: 256 }), 'PKCS8');
});

function secret(data: Record<string, string>, annotations: Record<string, string> = {}): SecretObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'web-tls', namespace: 'shop', annotations },
    type: 'kubernetes.io/tls',
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])),
  };
}

const managed = {
  'certsmith.dev/revision': '2',
  'certsmith.dev/issuer-name': 'private-ca',
  'certsmith.dev/issuer-kind': 'ClusterIssuer',
  'certsmith.dev/certificate-name': 'web',
};

describe('inspect view', () => {
  it('names the CA in ca.crt whose signature verifies, the key type, the SANs and the issuer', async () => {
    const v = await buildInspectView(secret({ 'tls.crt': leafPem, 'tls.key': leafKeyPem, 'ca.crt': caPem }, managed));
    assert.deepEqual(v.signedBy.kind, 'ca.crt');
    assert.equal((v.signedBy as { subject: string }).subject, 'CN=Test Root');
    assert.deepEqual(v.privateKey, { type: 'RSA 2048', matchesCertificate: true });
    assert.deepEqual(v.chain[0]!.dnsNames, ['web.example.test', 'www.example.test']);
    assert.deepEqual(v.issuerRef, { kind: 'ClusterIssuer', name: 'private-ca' });
    assert.equal(v.revision, 2);
    const text = formatInspect(v, now);
    assert.match(text, /^Signed by:\s+CN=Test Root \(ca\.crt; signature verified\)$/m);
    assert.match(text, /^Key:\s+RSA 2048 \(tls\.key matches the certificate\)$/m);
    assert.match(text, /^Names:\s+web\.example\.test, www\.example\.test, 10\.0\.0\.1$/m);
    assert.match(text, /^Expires:\s+2026-04-01T00:00:00\.000Z \(in 80d\)$/m);
    assert.match(text, /^tls\.crt \[0\] \(leaf\):$/m);
    assert.match(text, /^ca\.crt \[0\]:$/m);
    assert.doesNotMatch(text, /PRIVATE KEY/);
  });

  it('finds the signer next in tls.crt, and says so', async () => {
    const v = await buildInspectView(secret({ 'tls.crt': leafPem + caPem }));
    assert.equal(v.signedBy.kind, 'chain');
  });

  it('says when the signer is not in the Secret', async () => {
    const v = await buildInspectView(secret({ 'tls.crt': leafPem }));
    assert.deepEqual(v.signedBy, { kind: 'unknown', issuer: 'CN=Test Root' });
    assert.match(formatInspect(v, now), /^Key:\s+RSA 2048 \(no tls\.key\)$/m);
  });

  it('recognizes a self-signed certificate', async () => {
    const v = await buildInspectView(secret({ 'tls.crt': caPem }));
    assert.deepEqual(v.signedBy, { kind: 'self', subject: 'CN=Test Root' });
  });

  it('flags a tls.key that does not match', async () => {
    const v = await buildInspectView(secret({ 'tls.crt': leafPem, 'tls.key': otherKeyPem }));
    assert.deepEqual(v.privateKey, { type: 'ECDSA P-256', matchesCertificate: false });
    assert.match(formatInspect(v, now), /does NOT match the certificate, which has RSA 2048/);
  });

  it('refuses a Secret without tls.crt with InvalidPEM', async () => {
    await assert.rejects(buildInspectView(secret({ 'tls.key': leafKeyPem })), { code: 'InvalidPEM', message: 'Secret shop/web-tls has no tls.crt' });
  });
});

describe('status view', () => {
  const cert: Certificate = {
    apiVersion: 'certsmith.dev/v1alpha1',
    kind: 'Certificate',
    metadata: { name: 'web', namespace: 'shop', uid: 'u1', annotations: { 'certsmith.dev/renew-revision': '2' } },
    spec: {
      secretName: 'web-tls',
      issuerRef: { kind: 'ClusterIssuer', name: 'private-ca' },
      dnsNames: ['web.example.test', 'www.example.test'],
      ipAddresses: ['10.0.0.1'],
    },
    status: {
      conditions: [
        {
          type: 'Issuing',
          status: 'True',
          reason: 'RenewalRequested',
          message: 'a renewal of revision 2 was requested; waiting: issuer not ready',
          lastTransitionTime: '2026-01-10T23:59:00Z',
        },
        {
          type: 'Ready',
          status: 'True',
          reason: 'Ready',
          message: 'Certificate is up to date and has not expired',
          lastTransitionTime: '2026-01-01T00:00:00Z',
        },
      ],
      notBefore: '2026-01-01T00:00:00Z',
      notAfter: '2026-04-01T00:00:00Z',
      renewalTime: '2026-03-02T00:00:00Z',
      revision: 2,
      acmeOrder: {
        orderURL: 'https://acme.test/order/1',
        state: 'pending',
        requestDigest: 'x',
        issuer: 'ClusterIssuer/private-ca',
        challenges: [
          {
            identifier: 'web.example.test',
            type: 'http-01',
            url: 'u',
            authorizationURL: 'a',
            token: 't',
            keyAuthorization: 'k',
            solver: 0,
            state: 'presented',
          },
        ],
      },
    },
  };
  const events: EventLike[] = [
    {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'b' },
      type: 'Normal',
      reason: 'Renewed',
      message: 'Renewed certificate (revision 2)',
      count: 1,
      lastTimestamp: '2026-01-05T00:00:00Z',
    },
    {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: 'a' },
      type: 'Normal',
      reason: 'Issued',
      message: 'Issued certificate (revision 1)',
      count: 1,
      lastTimestamp: '2026-01-01T00:00:00Z',
    },
  ];

  it('gathers conditions, renewal, the open renew request, ACME progress, the Secret and events (oldest first)', () => {
    const v = buildStatusView(cert, secret({ 'tls.crt': leafPem, 'tls.key': leafKeyPem, 'ca.crt': caPem }, managed), events);
    assert.equal(v.ready?.status, 'True');
    assert.equal(v.issuing?.reason, 'RenewalRequested');
    assert.equal(v.renewalRequestedForRevision, 2);
    assert.deepEqual(v.acmeOrder?.challenges, [{ identifier: 'web.example.test', type: 'http-01', state: 'presented' }]);
    assert.deepEqual(
      v.secret.keys?.map((k) => k.name),
      ['ca.crt', 'tls.crt', 'tls.key'],
    );
    assert.equal(v.secret.certificate?.publicKey, 'RSA 2048');
    assert.deepEqual(
      v.events.map((e) => e.reason),
      ['Issued', 'Renewed'],
    );

    const text = formatStatus(v, now);
    assert.match(text, /^Ready:\s+True \(Ready\): Certificate is up to date and has not expired$/m);
    assert.match(text, /^Next renewal:\s+2026-03-02T00:00:00Z \(in 50d\)$/m);
    assert.match(text, /^Renewal requested:\s+yes, replacing revision 2$/m);
    assert.match(text, /^ACME order:\n\s+URL:\s+https:\/\/acme\.test\/order\/1\n\s+State:\s+pending$/m);
    assert.match(text, /^\s+web\.example\.test\s+http-01\s+presented$/m);
    assert.match(text, /^\s+Signed for:\s+ClusterIssuer\/private-ca$/m);
    assert.match(text, /^\s+Normal\s+Issued\s+10d\s+Issued certificate \(revision 1\)$/m);
    assert.doesNotMatch(text, /PRIVATE KEY|BEGIN/);
  });

  it('shows an order that is being placed: no URL yet, since when', () => {
    const placing = {
      ...cert,
      status: { ...cert.status, acmeOrder: { state: 'ordering', requestDigest: 'x', issuer: 'ClusterIssuer/private-ca', requestedAt: '2026-01-10T23:59:00Z' } },
    };
    const v = buildStatusView(placing, undefined, []);
    assert.equal(v.acmeOrder?.orderURL, undefined);
    assert.match(formatStatus(v, now), /^ACME order:\n\s+URL:\s+\(being placed since 2026-01-10T23:59:00Z \(\S+ ago\)\)\n\s+State:\s+ordering$/m);
  });

  it('drops a renew request whose revision has been replaced', () => {
    const v = buildStatusView({ ...cert, status: { ...cert.status, revision: 3 } }, undefined, []);
    assert.equal(v.renewalRequestedForRevision, undefined);
  });

  it('says what is missing: no Secret, no report from the operator, no events', () => {
    const v = buildStatusView({ ...cert, metadata: { name: 'web', namespace: 'shop' }, status: undefined }, undefined, []);
    const text = formatStatus(v, now);
    assert.match(text, /^Ready:\s+Unknown: the operator has not reported on this Certificate yet$/m);
    assert.match(text, /^Secret web-tls:\n {2}does not exist$/m);
    assert.match(text, /^Events:\n {2}none$/m);
  });

  it('summarizes an unreadable tls.crt without failing', () => {
    const s = summarizeSecret('web-tls', secret({ 'tls.crt': 'not pem' }));
    assert.equal(s.certificateError, 'no PEM CERTIFICATE block found');
  });
});
