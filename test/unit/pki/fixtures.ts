// Small builders shared by the pki tests; not a test file itself.
import type { KeyObject } from 'node:crypto';
import { generatePrivateKey } from '../../../src/pki/keys.ts';
import { signCertificate, type SignRequest } from '../../../src/pki/certificate.ts';

export const HOUR = 3_600_000;

/** A whole-second instant: X.509 times carry no milliseconds. */
export function wholeSecond(ms: number): Date {
  return new Date(Math.floor(ms / 1000) * 1000);
}

export function noNames(): Pick<SignRequest, 'dnsNames' | 'ipAddresses' | 'uris' | 'emailAddresses'> {
  return { dnsNames: [], ipAddresses: [], uris: [], emailAddresses: [] };
}

export async function selfSignedCertificate(commonName: string, key?: KeyObject): Promise<Uint8Array> {
  const privateKey = key ?? (await generatePrivateKey({ algorithm: 'ECDSA', size: 256 }));
  const now = wholeSecond(Date.now());
  return signCertificate({
    publicKey: privateKey,
    subject: { commonName },
    ...noNames(),
    usages: [],
    isCA: true,
    notBefore: now,
    notAfter: new Date(now.getTime() + HOUR),
    signer: { privateKey },
  });
}
