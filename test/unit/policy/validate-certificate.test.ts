import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type CertificateSpecInput, validateCertificateSpec } from '../../../src/policy/validate-certificate.ts';

const base: CertificateSpecInput = {
  secretName: 'web-tls',
  dnsNames: ['www.example.com'],
  issuerRef: { name: 'private-ca' },
};
const spec = (patch: Partial<CertificateSpecInput>): CertificateSpecInput => ({ ...base, ...patch });
const names = (n: number) => Array.from({ length: n }, (_, i) => `host${i}.example.com`);

describe('validateCertificateSpec', () => {
  const valid: { name: string; spec: CertificateSpecInput }[] = [
    { name: 'a minimal spec with one DNS name', spec: base },
    { name: 'a spec with only a commonName', spec: spec({ dnsNames: [], commonName: 'internal service' }) },
    { name: 'a spec with only an IP address', spec: spec({ dnsNames: undefined, ipAddresses: ['10.0.0.1'] }) },
    { name: 'a spec with only a URI', spec: spec({ dnsNames: undefined, uris: ['spiffe://cluster.local/ns/a/sa/b'] }) },
    { name: 'a spec with only an email address', spec: spec({ dnsNames: undefined, emailAddresses: ['ops@example.com'] }) },
    { name: 'a wildcard DNS name', spec: spec({ dnsNames: ['*.example.com', 'example.com'] }) },
    { name: 'a one-minute duration, for tests', spec: spec({ duration: '1m', renewBefore: '30s' }) },
    { name: 'renewBefore shorter than the default duration', spec: spec({ renewBefore: '720h' }) },
    { name: 'a renewBeforePercentage', spec: spec({ duration: '24h', renewBeforePercentage: 50 }) },
    { name: 'an RSA 4096 key in PKCS8', spec: spec({ privateKey: { algorithm: 'RSA', size: 4096, encoding: 'PKCS8' } }) },
    { name: 'an ECDSA P-384 key', spec: spec({ privateKey: { algorithm: 'ECDSA', size: 384 } }) },
    { name: 'a size alone, meant for the default ECDSA', spec: spec({ privateKey: { size: 521 } }) },
    { name: 'an Ed25519 key without a size', spec: spec({ privateKey: { algorithm: 'Ed25519', rotationPolicy: 'Never' } }) },
    { name: 'known usages, aliases included', spec: spec({ usages: ['signing', 's/mime', 'client auth'] }) },
    { name: 'a CA for a ClusterIssuer', spec: spec({ isCA: true, issuerRef: { name: 'root', kind: 'ClusterIssuer' } }) },
    {
      name: 'exactly 100 subject alternative names',
      spec: spec({ dnsNames: names(97), ipAddresses: ['10.0.0.1'], uris: ['urn:a'], emailAddresses: ['a@example.com'] }),
    },
    { name: 'a 64-character commonName', spec: spec({ commonName: 'c'.repeat(64) }) },
  ];
  for (const c of valid) {
    it(`accepts ${c.name}`, () => assert.deepEqual(validateCertificateSpec(c.spec), []));
  }

  const invalid: { name: string; spec: CertificateSpecInput; messages: string[] }[] = [
    {
      name: 'a spec with no identity at all',
      spec: spec({ dnsNames: [] }),
      messages: ['no identity: set at least one of commonName, dnsNames, ipAddresses, uris or emailAddresses'],
    },
    {
      name: 'a duration in days',
      spec: spec({ duration: '90d' }),
      messages: ['duration: "90d" is not a valid duration: use Go syntax such as "2160h" or "90m" (units h, m, s, ms; no days)'],
    },
    {
      name: 'an unparseable renewBefore',
      spec: spec({ renewBefore: '1 week' }),
      messages: ['renewBefore: "1 week" is not a valid duration: use Go syntax such as "2160h" or "90m" (units h, m, s, ms; no days)'],
    },
    {
      name: 'a duration under a minute',
      spec: spec({ duration: '30s' }),
      messages: ['duration "30s" is shorter than the minimum of 1m'],
    },
    {
      name: 'renewBefore as long as the duration',
      spec: spec({ duration: '24h', renewBefore: '1440m' }),
      messages: ['renewBefore "1440m" must be shorter than the duration (24h), or every certificate would be due for renewal as soon as it is issued'],
    },
    {
      name: 'renewBefore longer than the default duration',
      spec: spec({ renewBefore: '2400h' }),
      messages: [
        'renewBefore "2400h" must be shorter than the duration (2160h, the default), or every certificate would be due for renewal as soon as it is issued',
      ],
    },
    { name: 'a zero renewBefore', spec: spec({ renewBefore: '0s' }), messages: ['renewBefore "0s" must be longer than 0'] },
    {
      name: 'both renewBefore and renewBeforePercentage',
      spec: spec({ renewBefore: '1h', renewBeforePercentage: 10 }),
      messages: ['renewBefore and renewBeforePercentage are both set: keep only one'],
    },
    {
      name: 'a renewBeforePercentage of 100',
      spec: spec({ renewBeforePercentage: 100 }),
      messages: ['renewBeforePercentage 100 is out of range: use a number greater than 0 and less than 100'],
    },
    {
      name: 'a renewBeforePercentage of 0',
      spec: spec({ renewBeforePercentage: 0 }),
      messages: ['renewBeforePercentage 0 is out of range: use a number greater than 0 and less than 100'],
    },
    {
      name: 'an RSA key of 1024 bits',
      spec: spec({ privateKey: { algorithm: 'RSA', size: 1024 } }),
      messages: ['privateKey.size 1024 is not valid for RSA: use 2048, 3072, 4096, 8192'],
    },
    {
      name: 'an RSA size without an algorithm, which means ECDSA',
      spec: spec({ privateKey: { size: 2048 } }),
      messages: ['privateKey.size 2048 is not valid for ECDSA (the default algorithm): use 256, 384, 521'],
    },
    {
      name: 'an Ed25519 key with a size',
      spec: spec({ privateKey: { algorithm: 'Ed25519', size: 256 } }),
      messages: ['privateKey.size 256 cannot be used with Ed25519: leave size out'],
    },
    {
      name: 'an Ed25519 key in PKCS1',
      spec: spec({ privateKey: { algorithm: 'Ed25519', encoding: 'PKCS1' } }),
      messages: ['privateKey.encoding PKCS1 cannot hold an Ed25519 key: use PKCS8 or leave encoding out'],
    },
    {
      name: 'an unknown key algorithm',
      spec: spec({ privateKey: { algorithm: 'DSA' } }),
      messages: ['privateKey.algorithm "DSA" is not supported: use RSA, ECDSA or Ed25519'],
    },
    // Found by test/unit/fuzz/names.test.ts: the size table was a plain object, so "constructor" found a function
    // there and a size then threw "sizes.includes is not a function"; without a size the algorithm passed.
    {
      name: 'a key algorithm named like an inherited property, with a size',
      spec: spec({ privateKey: { algorithm: 'constructor', size: 256 } }),
      messages: ['privateKey.algorithm "constructor" is not supported: use RSA, ECDSA or Ed25519'],
    },
    {
      name: 'a key algorithm named like an inherited property, without a size',
      spec: spec({ privateKey: { algorithm: 'toString' } }),
      messages: ['privateKey.algorithm "toString" is not supported: use RSA, ECDSA or Ed25519'],
    },
    {
      name: 'an unknown key encoding and rotation policy',
      spec: spec({ privateKey: { encoding: 'DER', rotationPolicy: 'Sometimes' } }),
      messages: [
        'privateKey.encoding "DER" is not supported: use PKCS1 or PKCS8',
        'privateKey.rotationPolicy "Sometimes" is not supported: use Always or Never',
      ],
    },
    {
      name: '101 subject alternative names',
      spec: spec({ dnsNames: names(100), ipAddresses: ['10.0.0.1'] }),
      messages: [
        '101 subject alternative names (dnsNames, ipAddresses, uris and emailAddresses together) is more than the limit of 100: split them across several Certificates',
      ],
    },
    {
      name: 'a 65-character commonName',
      spec: spec({ commonName: 'c'.repeat(65) }),
      messages: [`commonName "${'c'.repeat(65)}" is 65 characters long; the limit is 64: put long names in dnsNames`],
    },
    {
      name: 'malformed names of every kind',
      spec: spec({
        dnsNames: ['*', 'a*.example.com', '*.*.example.com', 'foo.*.com', 'ok.example.com'],
        ipAddresses: ['300.1.1.1'],
        uris: ['example.com/path'],
        emailAddresses: ['not-an-email'],
      }),
      messages: [
        'dnsNames entry "*" is a bare wildcard: write it as *.example.com',
        'dnsNames entry "a*.example.com" has a wildcard that is not the whole leftmost label: only *.example.com is allowed',
        'dnsNames entry "*.*.example.com" has a wildcard outside the leftmost label: only *.example.com is allowed',
        'dnsNames entry "foo.*.com" has a wildcard outside the leftmost label: only *.example.com is allowed',
        'ipAddresses entry "300.1.1.1" is not an IPv4 or IPv6 address',
        'uris entry "example.com/path" has no scheme: write an absolute URI such as spiffe://cluster.local/ns/app',
        'emailAddresses entry "not-an-email" is not of the form local@domain',
      ],
    },
    {
      name: 'an unknown usage',
      spec: spec({ usages: ['server auth', 'serverAuth'] }),
      messages: [
        'usages entry "serverAuth" is not a known usage: use one of "signing", "digital signature", "content commitment", "key encipherment", "key agreement", "data encipherment", "cert sign", "crl sign", "encipher only", "decipher only", "any", "server auth", "client auth", "code signing", "email protection", "s/mime", "ipsec end system", "ipsec tunnel", "ipsec user", "timestamping", "ocsp signing", "microsoft sgc", "netscape sgc"',
      ],
    },
    {
      name: 'an upper-case secretName',
      spec: spec({ secretName: 'Web_TLS' }),
      messages: ['secretName "Web_TLS" is not a valid Secret name: use lowercase letters, digits, "-" and ".", at most 253 characters'],
    },
    {
      name: 'an empty issuerRef name and an unknown kind',
      spec: spec({ issuerRef: { name: '', kind: 'Vault' } }),
      messages: [
        'issuerRef.name must be set: name the Issuer or ClusterIssuer to sign with',
        'issuerRef.kind "Vault" is not supported: use Issuer or ClusterIssuer',
      ],
    },
  ];
  for (const c of invalid) {
    it(`refuses ${c.name}, saying what to do`, () => assert.deepEqual(validateCertificateSpec(c.spec), c.messages));
  }

  it('reports every problem at once rather than stopping at the first', () => {
    const problems = validateCertificateSpec(
      spec({ dnsNames: ['bad..name'], duration: '5d', renewBeforePercentage: 150, privateKey: { algorithm: 'RSA', size: 1 } }),
    );
    assert.equal(problems.length, 4);
  });

  it('skips the renewBefore-versus-duration check when the duration itself is invalid', () => {
    assert.deepEqual(validateCertificateSpec(spec({ duration: 'soon', renewBefore: '1h' })).length, 1);
  });
});
