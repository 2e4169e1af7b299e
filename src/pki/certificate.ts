// Signs X.509 certificates: self-signed, or by a CA key pair.
import { createPublicKey, type KeyObject } from 'node:crypto';
import * as x509 from './x509.ts';
import { CertsmithError } from '../errors.ts';
import { algorithmsFor, crypto, toCryptoKey } from './algorithms.ts';
import { certificatePublicKey, keyMismatch } from './keys.ts';
import { generalNames, subjectName } from './names.ts';
import type { KeyUsageName, SubjectFields } from './types.ts';
import { EXT_KEY_USAGE_OIDS, KEY_USAGE_BITS } from './usages.ts';

export interface SignRequest {
  /** The subject's public key (a private key works too: its public half is used). */
  publicKey: KeyObject;
  subject: SubjectFields;
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
  emailAddresses: string[];
  usages: KeyUsageName[];
  isCA: boolean;
  notBefore: Date;
  notAfter: Date;
  /** Hex; default 16 random bytes, positive. */
  serialNumber?: string;
  /** Without certificateDer the certificate is self-signed: issuer = subject, signed by privateKey. */
  signer: { privateKey: KeyObject; certificateDer?: Uint8Array };
}

/**
 * The certificate's DER. Throws KeyMismatch when the signer's key does not fit its certificate (or, self-signed,
 * the subject key), SigningFailed for anything else that stops signing.
 */
export async function signCertificate(req: SignRequest): Promise<Uint8Array> {
  try {
    const subjectPublic = req.publicKey.type === 'public' ? req.publicKey : createPublicKey(req.publicKey);
    checkRequest(req, subjectPublic);
    const publicKey = toCryptoKey(subjectPublic, 'verify');
    const signingKey = toCryptoKey(req.signer.privateKey, 'sign');
    const name = subjectName(req.subject);
    const issuerCert = req.signer.certificateDer ? new x509.X509Certificate(req.signer.certificateDer) : undefined;

    const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(req.isCA, undefined, true)];
    let bits = 0;
    for (const u of req.usages) bits |= KEY_USAGE_BITS[u] ?? 0;
    if (req.isCA) bits |= x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;
    if (bits !== 0) extensions.push(new x509.KeyUsagesExtension(bits, true));
    const ekus = [...new Set(req.usages.map((u) => EXT_KEY_USAGE_OIDS[u]).filter((o): o is string => !!o))];
    if (ekus.length > 0) extensions.push(new x509.ExtendedKeyUsageExtension(ekus, false));
    const sans = generalNames(req);
    // RFC 5280 4.2.1.6: with an empty subject, the SAN extension must be critical.
    if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans, name.length === 0));
    const ski = await x509.SubjectKeyIdentifierExtension.create(publicKey, false, crypto);
    extensions.push(ski);
    // Self-signed: the authority is the certificate itself. A CA certificate without an SKI gives no AKI.
    const issuerKeyId = issuerCert ? issuerCert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId : ski.keyId;
    if (issuerKeyId) extensions.push(new x509.AuthorityKeyIdentifierExtension(issuerKeyId, false));

    const cert = await x509.X509CertificateGenerator.create(
      {
        serialNumber: evenHex(req.serialNumber ?? randomSerial()),
        subject: name,
        // The issuer's Name object re-encodes its original bytes, so chain building matches byte for byte.
        issuer: issuerCert ? issuerCert.subjectName : name,
        notBefore: req.notBefore,
        notAfter: req.notAfter,
        publicKey,
        signingKey,
        signingAlgorithm: algorithmsFor(req.signer.privateKey).signing,
        extensions,
      },
      crypto,
    );
    return new Uint8Array(cert.rawData);
  } catch (err) {
    if (err instanceof CertsmithError) throw err;
    throw new CertsmithError('SigningFailed', `signing the certificate failed: ${(err as Error).message}`, { cause: err });
  }
}

// Checks that would otherwise produce a certificate nobody can use, or fail deep inside the library.
function checkRequest(req: SignRequest, subjectPublic: KeyObject): void {
  if (req.signer.privateKey.type !== 'private') {
    throw new CertsmithError('SigningFailed', 'the signer needs a private key, got a public key');
  }
  const mismatch = req.signer.certificateDer
    ? keyMismatch(req.signer.privateKey, certificatePublicKey(req.signer.certificateDer), {
        privateKey: "the signer's private key",
        publicKey: "the signer's certificate",
      })
    : keyMismatch(req.signer.privateKey, subjectPublic, {
        privateKey: 'the signing key',
        publicKey: 'the subject (a self-signed certificate must carry its own signing key)',
      });
  if (mismatch) throw new CertsmithError('KeyMismatch', mismatch);
  const nameCount = req.dnsNames.length + req.ipAddresses.length + req.uris.length + req.emailAddresses.length;
  if (subjectName(req.subject).length === 0 && nameCount === 0) {
    throw new CertsmithError('SigningFailed', 'a certificate needs a subject (commonName or another field) or at least one subject alternative name');
  }
  if (!(req.notAfter.getTime() > req.notBefore.getTime())) {
    throw new CertsmithError('SigningFailed', `notAfter (${req.notAfter.toISOString()}) must be later than notBefore (${req.notBefore.toISOString()})`);
  }
  const serial = req.serialNumber;
  // The library would silently replace an empty or all-zero serial with a random one.
  if (serial !== undefined && (!/^[0-9a-fA-F]+$/.test(serial) || /^0+$/.test(serial))) {
    throw new CertsmithError('SigningFailed', `serial number "${serial}" must be a positive hexadecimal number`);
  }
  if (serial !== undefined && serial.length > 40) {
    throw new CertsmithError('SigningFailed', `serial number "${serial}" is longer than the 20 bytes RFC 5280 allows`);
  }
}

// Hex decoding works on whole bytes.
function evenHex(hex: string): string {
  return hex.length % 2 === 0 ? hex : `0${hex}`;
}

function randomSerial(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  // Top bit clear keeps it positive; the next bit set keeps it exactly 16 bytes (no leading zero byte to drop).
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return Buffer.from(bytes).toString('hex');
}
