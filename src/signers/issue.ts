// Signs one certificate, self-signed or from a CA, and returns the PEM a Secret stores.
import { randomBytes, type KeyObject } from 'node:crypto';
import { describeCertificate, encodePem, signCertificate } from '../pki/index.ts';
import type { KeyUsageName, SubjectFields } from '../pki/types.ts';
import type { CaSigner } from './ca-signer.ts';

export type Signer = { kind: 'selfSigned' } | CaSigner;

export interface LeafRequest {
  subject: SubjectFields;
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
  emailAddresses: string[];
  usages: KeyUsageName[];
  isCA: boolean;
  durationMs: number;
}

export interface IssuedCertificate {
  /** Leaf, then the chain up to (not including) a self-signed root. */
  certificatePem: string;
  /** The issuing CA (the certificate itself when self-signed). */
  caPem: string;
  notBefore: Date;
  notAfter: Date;
}

export async function issueCertificate(
  signer: Signer,
  req: LeafRequest,
  keys: { privateKey: KeyObject; publicKey: KeyObject },
  now: Date,
): Promise<IssuedCertificate> {
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000);
  let notAfter = new Date(notBefore.getTime() + req.durationMs);
  // A leaf never outlives its CA: clients would reject the chain after the CA expires anyway.
  if (signer.kind === 'ca' && notAfter > signer.caInfo.notAfter) notAfter = signer.caInfo.notAfter;
  const common = {
    publicKey: keys.publicKey,
    subject: req.subject,
    dnsNames: req.dnsNames,
    ipAddresses: req.ipAddresses,
    uris: req.uris,
    emailAddresses: req.emailAddresses,
    usages: req.usages,
    isCA: req.isCA,
    notBefore,
    notAfter,
    serialNumber: serialNumber(),
  };
  if (signer.kind === 'selfSigned') {
    const der = await signCertificate({ ...common, signer: { privateKey: keys.privateKey } });
    const pem = encodePem('CERTIFICATE', der);
    return { certificatePem: pem, caPem: pem, notBefore, notAfter };
  }
  const der = await signCertificate({
    ...common,
    signer: { privateKey: signer.caKey, certificateDer: signer.chain[0]! },
  });
  const certificatePem = [der, ...chainWithoutRoot(signer)].map((d) => encodePem('CERTIFICATE', d)).join('');
  return { certificatePem, caPem: encodePem('CERTIFICATE', signer.chain[0]!), notBefore, notAfter };
}

// A self-signed root at the end of the CA chain is left out of tls.crt: clients must already trust it (ca.crt).
export function chainWithoutRoot(signer: CaSigner): Uint8Array[] {
  const last = signer.chain.length - 1;
  const lastInfo = last === 0 ? signer.caInfo : describeCertificate(signer.chain[last]!);
  return lastInfo.selfSigned ? signer.chain.slice(0, last) : signer.chain;
}

export function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0]! &= 0x7f; // positive
  return bytes.toString('hex');
}
