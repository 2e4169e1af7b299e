import assert from 'node:assert/strict';
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { isCertsmithError, type ErrorCode } from '../../../src/errors.ts';
import { signCertificate, type SignRequest } from '../../../src/pki/certificate.ts';
import { describeCertificate, isSignedBy } from '../../../src/pki/inspect.ts';
import { generatePrivateKey } from '../../../src/pki/keys.ts';
import type { CertInfo, KeySpec } from '../../../src/pki/types.ts';
import * as x509 from '../../../src/pki/x509.ts';
import { HOUR, noNames, wholeSecond } from './fixtures.ts';

const notBefore = wholeSecond(Date.now() - 60_000);
const caNotAfter = new Date(notBefore.getTime() + 24 * HOUR);
const leafNotAfter = new Date(notBefore.getTime() + 2 * HOUR);

const leafNames = {
  dnsNames: ['app.example.com', '*.app.example.com'],
  ipAddresses: ['192.0.2.10', '2001:DB8:0:0::1'],
  uris: ['spiffe://cluster.local/ns/default/sa/app'],
  emailAddresses: ['ops@example.com'],
};

function certsmithError(code: ErrorCode, message: RegExp) {
  return (err: unknown) => {
    assert.ok(isCertsmithError(err, code), `expected a ${code} CertsmithError, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  };
}

async function issueCa(key: KeyObject, commonName = 'Example Root CA'): Promise<Uint8Array> {
  return signCertificate({
    publicKey: createPublicKey(key),
    subject: { commonName, organizations: ['Example'] },
    ...noNames(),
    usages: ['digital signature'],
    isCA: true,
    notBefore,
    notAfter: caNotAfter,
    signer: { privateKey: key },
  });
}

const cases: { spec: KeySpec; signature: { name: string; hash?: string } }[] = [
  { spec: { algorithm: 'ECDSA', size: 256 }, signature: { name: 'ECDSA', hash: 'SHA-256' } },
  { spec: { algorithm: 'RSA', size: 2048 }, signature: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } },
  { spec: { algorithm: 'Ed25519' }, signature: { name: 'Ed25519' } },
];

for (const c of cases) {
  const title = `${c.spec.algorithm}${c.spec.size ? ` ${c.spec.size}` : ''}`;
  describe(`a ${title} CA and a leaf it signs`, () => {
    let caKey: KeyObject;
    let leafKey: KeyObject;
    let caDer: Uint8Array;
    let leafDer: Uint8Array;
    let ca: CertInfo;
    let leaf: CertInfo;
    before(async () => {
      caKey = await generatePrivateKey(c.spec);
      leafKey = await generatePrivateKey(c.spec);
      caDer = await issueCa(caKey);
      leafDer = await signCertificate({
        publicKey: createPublicKey(leafKey),
        subject: { commonName: 'app.example.com', organizations: ['Example'], organizationalUnits: ['Platform'], countries: ['NL'] },
        ...leafNames,
        usages: ['digital signature', 'key encipherment', 'server auth', 'client auth'],
        isCA: false,
        notBefore,
        notAfter: leafNotAfter,
        serialNumber: '0123456789abcdef',
        signer: { privateKey: caKey, certificateDer: caDer },
      });
      ca = describeCertificate(caDer);
      leaf = describeCertificate(leafDer);
    });

    it('the CA is a self-signed CA that may sign certificates and CRLs', () => {
      assert.equal(ca.isCA, true);
      assert.equal(ca.selfSigned, true);
      assert.equal(ca.subject, ca.issuer);
      assert.equal(ca.commonName, 'Example Root CA');
      assert.deepEqual(ca.usages, ['cert sign', 'crl sign', 'digital signature']);
      assert.deepEqual(ca.publicKey, c.spec);
      assert.ok(ca.subjectKeyId, 'the CA has a subject key identifier');
      assert.equal(ca.authorityKeyId, ca.subjectKeyId, 'a self-signed CA names itself as authority');
      assert.deepEqual([ca.dnsNames, ca.ipAddresses, ca.uris, ca.emailAddresses], [[], [], [], []]);
    });
    it('the leaf carries every SAN, IPv6 in canonical form', () => {
      assert.deepEqual(leaf.dnsNames, ['app.example.com', '*.app.example.com']);
      assert.deepEqual(leaf.ipAddresses, ['192.0.2.10', '2001:db8::1']);
      assert.deepEqual(leaf.uris, ['spiffe://cluster.local/ns/default/sa/app']);
      assert.deepEqual(leaf.emailAddresses, ['ops@example.com']);
    });
    it('the leaf carries its subject, usages, validity, serial and key', () => {
      assert.equal(leaf.commonName, 'app.example.com');
      assert.deepEqual(leaf.subjectFields, {
        commonName: 'app.example.com',
        organizations: ['Example'],
        organizationalUnits: ['Platform'],
        countries: ['NL'],
      });
      assert.deepEqual(leaf.usages, ['client auth', 'digital signature', 'key encipherment', 'server auth']);
      assert.equal(leaf.isCA, false);
      assert.equal(leaf.notBefore.getTime(), notBefore.getTime());
      assert.equal(leaf.notAfter.getTime(), leafNotAfter.getTime());
      assert.equal(leaf.serialNumber, '0123456789abcdef');
      assert.deepEqual(leaf.publicKey, c.spec);
      assert.equal(leaf.fingerprintSha256, createHash('sha256').update(leafDer).digest('hex'));
    });
    it('the leaf names the CA as issuer and authority, and is not self-signed', () => {
      assert.equal(leaf.issuer, ca.subject);
      assert.equal(leaf.authorityKeyId, ca.subjectKeyId);
      assert.notEqual(leaf.subjectKeyId, ca.subjectKeyId);
      assert.equal(leaf.selfSigned, false);
    });
    it(`the signature is ${c.signature.name}${c.signature.hash ? ` with ${c.signature.hash}` : ''}`, () => {
      const alg = new x509.X509Certificate(leafDer).signatureAlgorithm as { name: string; hash?: { name: string } };
      assert.equal(alg.name, c.signature.name);
      assert.equal(alg.hash?.name, c.signature.hash);
    });
    it('basicConstraints and keyUsage are critical, SAN and extendedKeyUsage are not when there is a subject', () => {
      const cert = new x509.X509Certificate(leafDer);
      assert.equal(cert.getExtension(x509.BasicConstraintsExtension)?.critical, true);
      assert.equal(cert.getExtension(x509.KeyUsagesExtension)?.critical, true);
      assert.equal(cert.getExtension(x509.SubjectAlternativeNameExtension)?.critical, false);
      assert.equal(cert.getExtension(x509.ExtendedKeyUsageExtension)?.critical, false);
    });
    it('isSignedBy: the leaf by the CA and the CA by itself, but not the CA by the leaf', async () => {
      assert.equal(await isSignedBy(leafDer, caDer), true);
      assert.equal(await isSignedBy(caDer, caDer), true);
      assert.equal(await isSignedBy(caDer, leafDer), false);
    });
    it('isSignedBy: not by another CA with the same name but another key', async () => {
      const impostor = await issueCa(await generatePrivateKey(c.spec));
      assert.equal(describeCertificate(impostor).subject, ca.subject);
      assert.equal(await isSignedBy(leafDer, impostor), false);
    });
  });
}

describe('signCertificate', () => {
  let key: KeyObject;
  let otherKey: KeyObject;
  let caDer: Uint8Array;
  const base = (): SignRequest => ({
    publicKey: key,
    subject: { commonName: 'example.com' },
    ...noNames(),
    usages: [],
    isCA: false,
    notBefore,
    notAfter: leafNotAfter,
    signer: { privateKey: key },
  });
  before(async () => {
    key = await generatePrivateKey({ algorithm: 'ECDSA', size: 256 });
    otherKey = await generatePrivateKey({ algorithm: 'RSA', size: 2048 });
    caDer = await issueCa(key);
  });

  it('makes the SAN extension critical and the subject empty when no subject field is set', async () => {
    const der = await signCertificate({ ...base(), subject: {}, dnsNames: ['only-san.example'] });
    const cert = new x509.X509Certificate(der);
    assert.equal(cert.subject, '');
    assert.equal(cert.getExtension(x509.SubjectAlternativeNameExtension)?.critical, true);
    assert.deepEqual(describeCertificate(der).dnsNames, ['only-san.example']);
  });
  it('omits the SAN extension when there are no names', async () => {
    const cert = new x509.X509Certificate(await signCertificate(base()));
    assert.equal(cert.getExtension(x509.SubjectAlternativeNameExtension), null);
  });
  it('adds cert sign and crl sign to a CA even when usages leave them out', async () => {
    const info = describeCertificate(await signCertificate({ ...base(), isCA: true, usages: ['server auth'] }));
    assert.deepEqual(info.usages, ['cert sign', 'crl sign', 'server auth']);
    assert.equal(info.isCA, true);
  });
  it('writes usage aliases as the bits and OIDs they stand for', async () => {
    const info = describeCertificate(await signCertificate({ ...base(), usages: ['signing', 's/mime', 'ocsp signing'] }));
    assert.deepEqual(info.usages, ['digital signature', 'email protection', 'ocsp signing']);
  });
  it('picks a different positive 16-byte serial each time when none is given', async () => {
    const serials = await Promise.all([1, 2, 3].map(async () => describeCertificate(await signCertificate(base())).serialNumber));
    assert.equal(new Set(serials).size, 3);
    for (const s of serials) assert.match(s, /^[4-7][0-9a-f]{31}$/);
  });
  it('keeps a serial with the top bit set positive', async () => {
    assert.equal(describeCertificate(await signCertificate({ ...base(), serialNumber: 'ff01' })).serialNumber, 'ff01');
  });
  it('encodes an IPv4-mapped IPv6 address as that address', async () => {
    const info = describeCertificate(await signCertificate({ ...base(), ipAddresses: ['::ffff:192.0.2.1'] }));
    assert.deepEqual(info.ipAddresses, ['::ffff:c000:201']);
  });
  it('a self-signed non-CA certificate is still self-signed and its own authority', async () => {
    const info = describeCertificate(await signCertificate(base()));
    assert.equal(info.selfSigned, true);
    assert.equal(info.authorityKeyId, info.subjectKeyId);
  });

  const refused: { name: string; req: () => SignRequest; code: ErrorCode; message: RegExp }[] = [
    {
      name: 'a CA certificate whose key is not the signing key',
      req: () => ({ ...base(), signer: { privateKey: otherKey, certificateDer: caDer } }),
      code: 'KeyMismatch',
      message: /the signer's private key holds an RSA 2048 key but the signer's certificate holds an ECDSA P-256 public key/,
    },
    {
      name: 'a self-signed certificate for a key other than the signing key',
      req: () => ({ ...base(), publicKey: createPublicKey(otherKey) }),
      code: 'KeyMismatch',
      message: /a self-signed certificate must carry its own signing key/,
    },
    {
      name: 'a public key as signer',
      req: () => ({ ...base(), signer: { privateKey: createPublicKey(key) } }),
      code: 'SigningFailed',
      message: /the signer needs a private key/,
    },
    {
      name: 'a certificate without subject or SAN',
      req: () => ({ ...base(), subject: {} }),
      code: 'SigningFailed',
      message: /needs a subject \(commonName or another field\) or at least one subject alternative name/,
    },
    {
      name: 'a validity that ends before it starts',
      req: () => ({ ...base(), notAfter: new Date(notBefore.getTime() - 1000) }),
      code: 'SigningFailed',
      message: /notAfter .* must be later than notBefore/,
    },
    {
      name: 'a serial that is not hex',
      req: () => ({ ...base(), serialNumber: 'xyz' }),
      code: 'SigningFailed',
      message: /"xyz" must be a positive hexadecimal number/,
    },
    { name: 'a zero serial', req: () => ({ ...base(), serialNumber: '00' }), code: 'SigningFailed', message: /"00" must be a positive/ },
    { name: 'a serial over 20 bytes', req: () => ({ ...base(), serialNumber: '1'.repeat(42) }), code: 'SigningFailed', message: /longer than the 20 bytes/ },
    {
      name: 'an IP address that is not one',
      req: () => ({ ...base(), ipAddresses: ['10.0.0.256'] }),
      code: 'SigningFailed',
      message: /"10\.0\.0\.256" is not an IPv4 or IPv6 address/,
    },
  ];
  for (const c of refused) {
    it(`refuses ${c.name} with ${c.code}`, async () => {
      await assert.rejects(signCertificate(c.req()), certsmithError(c.code, c.message));
    });
  }
});

describe('describeCertificate and isSignedBy on bad input', () => {
  it('describeCertificate refuses DER that is not a certificate with InvalidPEM', () => {
    assert.throws(() => describeCertificate(new Uint8Array([48, 3, 2, 1, 1])), certsmithError('InvalidPEM', /not a valid X\.509 certificate/));
  });
  it('isSignedBy refuses DER that is not a certificate with InvalidPEM, naming which one', async () => {
    const key = await generatePrivateKey({ algorithm: 'ECDSA', size: 256 });
    const ca = await issueCa(key);
    await assert.rejects(isSignedBy(new Uint8Array([1, 2]), ca), certsmithError('InvalidPEM', /the child certificate is not a valid X\.509 certificate/));
    await assert.rejects(isSignedBy(ca, new Uint8Array([1, 2])), certsmithError('InvalidPEM', /the issuer certificate is not a valid X\.509 certificate/));
  });
});
