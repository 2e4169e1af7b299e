// Reads what the operator needs to know from a certificate's DER.
import { createHash, X509Certificate as NodeX509 } from 'node:crypto';
import * as x509 from './x509.ts';
import { CertsmithError } from '../errors.ts';
import { keySpecOf } from './keys.ts';
import { ipAddressText } from './ip-address.ts';
import type { CertInfo, SubjectFields } from './types.ts';
import { usageNamesFromBits, usageNamesFromOids } from './usages.ts';

/** Throws InvalidPEM when the DER is not a certificate, UnsupportedKey when its key is not RSA, ECDSA or Ed25519. */
export function describeCertificate(der: Uint8Array): CertInfo {
  let cert: x509.X509Certificate;
  let node: NodeX509;
  try {
    cert = new x509.X509Certificate(der);
    node = new NodeX509(der);
  } catch (err) {
    throw new CertsmithError('InvalidPEM', `not a valid X.509 certificate: ${(err as Error).message}`, { cause: err });
  }
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const names = san?.names.items ?? [];
  const pick = (type: string) => names.filter((n) => n.type === type).map((n) => n.value);
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  const field = (f: string) => cert.subjectName.getField(f);
  const subjectFields: SubjectFields = {};
  const cn = field('CN')[0];
  if (cn !== undefined) subjectFields.commonName = cn;
  const setList = (key: keyof Omit<SubjectFields, 'commonName'>, f: string) => {
    const v = field(f);
    if (v.length > 0) subjectFields[key] = v;
  };
  setList('organizations', 'O');
  setList('organizationalUnits', 'OU');
  setList('countries', 'C');
  setList('localities', 'L');
  setList('provinces', 'ST');
  const ski = cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const aki = cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
  const selfSigned = cert.subject === cert.issuer && safeVerify(node, node);
  return {
    subject: cert.subject,
    issuer: cert.issuer,
    ...(cn !== undefined ? { commonName: cn } : {}),
    subjectFields,
    serialNumber: cert.serialNumber.toLowerCase(),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    dnsNames: pick('dns'),
    ipAddresses: pick('ip').map((ip) => ipAddressText(ip) ?? ip),
    uris: pick('url'),
    emailAddresses: pick('email'),
    isCA: bc?.ca ?? false,
    usages: [...usageNamesFromBits(ku?.usages ?? 0), ...usageNamesFromOids((eku?.usages ?? []).map(String))].sort(),
    publicKey: keySpecOf(node.publicKey),
    fingerprintSha256: createHash('sha256').update(der).digest('hex'),
    ...(ski ? { subjectKeyId: ski.toLowerCase() } : {}),
    ...(aki ? { authorityKeyId: aki.toLowerCase() } : {}),
    selfSigned,
  };
}

/** True when `issuerDer`'s key signed `childDer` and its subject is the child's issuer. */
export async function isSignedBy(childDer: Uint8Array, issuerDer: Uint8Array): Promise<boolean> {
  const child = parseNode(childDer, 'the child certificate');
  const issuer = parseNode(issuerDer, 'the issuer certificate');
  return child.checkIssued(issuer) && safeVerify(child, issuer);
}

// Node's parser falls back to PEM on bad input and reports "no start line": check the DER with @peculiar first.
function parseNode(der: Uint8Array, what: string): NodeX509 {
  try {
    new x509.X509Certificate(der);
    return new NodeX509(der);
  } catch (err) {
    throw new CertsmithError('InvalidPEM', `${what} is not a valid X.509 certificate: ${(err as Error).message}`, { cause: err });
  }
}

function safeVerify(child: NodeX509, issuer: NodeX509): boolean {
  try {
    return child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}
