// Signs X.509 certificates: self-signed, or by a CA key pair.
import { createPublicKey, type KeyObject } from 'node:crypto';
import * as x509 from './x509.ts';
import { CertsmithError } from '../errors.ts';
import { algorithmsFor, crypto, toCryptoKey } from './algorithms.ts';
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

export function subjectName(s: SubjectFields): x509.JsonName {
  const name: x509.JsonName = [];
  const add = (type: string, values: readonly string[] | undefined) => {
    for (const v of values ?? []) name.push({ [type]: [v] });
  };
  add('C', s.countries);
  add('ST', s.provinces);
  add('L', s.localities);
  add('O', s.organizations);
  add('OU', s.organizationalUnits);
  if (s.commonName) add('CN', [s.commonName]);
  return name;
}

export async function signCertificate(req: SignRequest): Promise<Uint8Array> {
  try {
    const subjectPublic = req.publicKey.type === 'public' ? req.publicKey : createPublicKey(req.publicKey);
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
    const sans: x509.JsonGeneralName[] = [
      ...req.dnsNames.map((value) => ({ type: 'dns' as const, value })),
      ...req.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
      ...req.uris.map((value) => ({ type: 'url' as const, value })),
      ...req.emailAddresses.map((value) => ({ type: 'email' as const, value })),
    ];
    // RFC 5280 4.2.1.6: with an empty subject, the SAN extension must be critical.
    if (sans.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(sans, name.length === 0));
    const ski = await x509.SubjectKeyIdentifierExtension.create(publicKey, false, crypto);
    extensions.push(ski);
    const issuerKeyId = issuerCert?.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId ?? (issuerCert ? undefined : ski.keyId);
    if (issuerKeyId) extensions.push(new x509.AuthorityKeyIdentifierExtension(issuerKeyId, false));

    const cert = await x509.X509CertificateGenerator.create(
      {
        serialNumber: req.serialNumber ?? randomSerial(),
        subject: name,
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

function randomSerial(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  bytes[0]! &= 0x7f;
  return Buffer.from(bytes).toString('hex');
}
