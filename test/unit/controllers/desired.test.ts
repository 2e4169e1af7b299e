import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { desiredCertificate } from '../../../src/controllers/certificates/desired.ts';
import { buildSecret } from '../../../src/controllers/certificates/secret-builder.ts';

const base = { secretName: 's', issuerRef: { name: 'ca' }, dnsNames: ['a.example.test'] };

describe('desiredCertificate fills in the documented defaults', () => {
  const cases = [
    {
      name: 'ECDSA P-256, PKCS1, rotate Always, 90 days',
      spec: base,
      check: { key: { algorithm: 'ECDSA', size: 256 }, keyEncoding: 'PKCS1', rotateKey: true, durationMs: 2160 * 3600_000 },
    },
    { name: 'RSA defaults to 2048 bits', spec: { ...base, privateKey: { algorithm: 'RSA' as const } }, check: { key: { algorithm: 'RSA', size: 2048 } } },
    {
      name: 'Ed25519 has no size and is always PKCS8',
      spec: { ...base, privateKey: { algorithm: 'Ed25519' as const, encoding: 'PKCS1' as const } },
      check: { key: { algorithm: 'Ed25519' }, keyEncoding: 'PKCS8' },
    },
    { name: 'issuerRef kind defaults to Issuer', spec: base, check: { issuer: { name: 'ca', kind: 'Issuer' } } },
    { name: 'usages default to server TLS', spec: base, check: { usages: ['digital signature', 'key encipherment', 'server auth'] } },
    {
      name: 'a CA gets cert sign and crl sign',
      spec: { ...base, isCA: true, usages: ['digital signature' as const] },
      check: { usages: ['cert sign', 'crl sign', 'digital signature'], isCA: true },
    },
    { name: 'rotationPolicy Never keeps the key', spec: { ...base, privateKey: { rotationPolicy: 'Never' as const } }, check: { rotateKey: false } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = desiredCertificate(c.spec) as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(c.check)) assert.deepEqual(d[k], v, k);
    });
  }
});

describe('buildSecret', () => {
  const contents = { certificatePem: 'CERT\n', caPem: 'CA\n', privateKeyPem: 'KEY\n', privateKeyDer: new Uint8Array([1, 2]) };
  it('writes a kubernetes.io/tls Secret labelled for the managed-Secret cache', () => {
    const s = buildSecret('ns', 'web', desiredCertificate(base), contents, 3);
    assert.equal(s.type, 'kubernetes.io/tls');
    assert.deepEqual(Object.keys(s.data!), ['ca.crt', 'tls.crt', 'tls.key']);
    assert.equal(s.metadata.labels?.['app.kubernetes.io/managed-by'], 'certsmith');
    assert.equal(s.metadata.annotations?.['certsmith.dev/certificate-name'], 'web');
    assert.equal(s.metadata.annotations?.['certsmith.dev/revision'], '3');
  });
  it('adds the extra formats when asked, and the template cannot override the operator labels', () => {
    const d = desiredCertificate({
      ...base,
      additionalOutputFormats: [{ type: 'CombinedPEM' }, { type: 'DER' }],
      secretTemplate: { labels: { 'app.kubernetes.io/managed-by': 'someone', team: 'x' } },
    });
    const s = buildSecret('ns', 'web', d, contents, 1);
    assert.equal(Buffer.from(s.data!['tls-combined.pem']!, 'base64').toString(), 'KEY\nCERT\n');
    assert.deepEqual([...Buffer.from(s.data!['key.der']!, 'base64')], [1, 2]);
    assert.equal(s.metadata.labels?.['app.kubernetes.io/managed-by'], 'certsmith');
    assert.equal(s.metadata.labels?.team, 'x');
  });
});
