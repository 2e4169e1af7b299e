// Real certificates and keys for the PEM and bundle properties to start from: mutating a valid input reaches deeper
// into a parser than random text does. Made once per test file; not a test file itself.
import type { KeyObject } from 'node:crypto';
import { signCertificate } from '../../../src/pki/certificate.ts';
import { encodePrivateKeyPem, generatePrivateKey } from '../../../src/pki/keys.ts';
import { encodePem } from '../../../src/pki/pem.ts';
import { HOUR, noNames, wholeSecond } from '../pki/fixtures.ts';

/** The instant the bundle properties build at; the certificates' windows are placed around it. */
export const NOW = wholeSecond(Date.parse('2030-01-01T00:00:00Z'));

export interface Sample {
  der: Uint8Array;
  pem: string;
  isCA: boolean;
  expired: boolean;
}

async function sample(commonName: string, key: KeyObject, o: { isCA: boolean; expired: boolean; dnsNames?: string[] }): Promise<Sample> {
  const notAfter = new Date(NOW.getTime() + (o.expired ? -HOUR : 24 * HOUR));
  const der = await signCertificate({
    publicKey: key,
    subject: { commonName },
    ...noNames(),
    dnsNames: o.dnsNames ?? [],
    usages: o.isCA ? [] : ['digital signature', 'server auth'],
    isCA: o.isCA,
    notBefore: new Date(notAfter.getTime() - 48 * HOUR),
    notAfter,
    signer: { privateKey: key },
  });
  return { der, pem: encodePem('CERTIFICATE', der), isCA: o.isCA, expired: o.expired };
}

/** Five certificates: three CAs (ECDSA, RSA, Ed25519), a leaf with names, and an expired CA. */
export async function certificates(): Promise<Sample[]> {
  const [ec, rsa, ed] = await Promise.all([
    generatePrivateKey({ algorithm: 'ECDSA', size: 256 }),
    generatePrivateKey({ algorithm: 'RSA', size: 2048 }),
    generatePrivateKey({ algorithm: 'Ed25519' }),
  ]);
  return Promise.all([
    sample('root ecdsa', ec, { isCA: true, expired: false }),
    sample('root rsa', rsa, { isCA: true, expired: false }),
    sample('root ed25519', ed, { isCA: true, expired: false }),
    sample('leaf', ec, { isCA: false, expired: false, dnsNames: ['leaf.example', '*.leaf.example'] }),
    sample('old root', ec, { isCA: true, expired: true }),
  ]);
}

/** Private keys as PEM: PKCS8 and the traditional PKCS1/SEC1 forms, of each supported type. */
export async function privateKeys(): Promise<string[]> {
  const [ec, rsa, ed] = await Promise.all([
    generatePrivateKey({ algorithm: 'ECDSA', size: 384 }),
    generatePrivateKey({ algorithm: 'RSA', size: 2048 }),
    generatePrivateKey({ algorithm: 'Ed25519' }),
  ]);
  return [
    encodePrivateKeyPem(ec, 'PKCS8'),
    encodePrivateKeyPem(ec, 'PKCS1'),
    encodePrivateKeyPem(rsa, 'PKCS8'),
    encodePrivateKeyPem(rsa, 'PKCS1'),
    encodePrivateKeyPem(ed, 'PKCS8'),
  ];
}
