// Loads and checks a CA key pair from a Secret's data. Pure: the caller fetches the Secret.
import type { KeyObject } from 'node:crypto';
import { CertsmithError } from '../errors.ts';
import { describeCertificate, parseCertificatesPem, parsePrivateKeyPem, publicKeyMatches } from '../pki/index.ts';
import type { CertInfo } from '../pki/types.ts';
import { secretValue } from './secret-data.ts';

export interface CaSigner {
  kind: 'ca';
  /** The issuing CA certificate, then the rest of its chain as stored in tls.crt. */
  chain: Uint8Array[];
  caInfo: CertInfo;
  caKey: KeyObject;
}

export interface SecretData {
  data?: Record<string, string>;
}

/**
 * Checks the CA Secret the way a user would want it explained: which key is missing, whether the certificate
 * is a CA, whether the key belongs to it, whether it has expired. Throws CertsmithError with a stable code.
 */
export function loadCaSigner(secret: SecretData | undefined, where: string, now: Date): CaSigner {
  if (!secret) throw new CertsmithError('SecretNotFound', `CA Secret ${where} does not exist`);
  const certPem = secretValue(secret.data, 'tls.crt');
  const keyPem = secretValue(secret.data, 'tls.key');
  if (!certPem) throw new CertsmithError('SecretMissingKey', `CA Secret ${where} has no tls.crt`);
  if (!keyPem) throw new CertsmithError('SecretMissingKey', `CA Secret ${where} has no tls.key`);
  let chain: Uint8Array[];
  try {
    chain = parseCertificatesPem(certPem);
  } catch (err) {
    throw new CertsmithError('InvalidPEM', `tls.crt of CA Secret ${where} is not valid: ${(err as Error).message}`);
  }
  let caKey: KeyObject;
  try {
    caKey = parsePrivateKeyPem(keyPem);
  } catch (err) {
    throw new CertsmithError('InvalidPEM', `tls.key of CA Secret ${where} is not valid: ${(err as Error).message}`);
  }
  const caDer = chain[0]!;
  const caInfo = describeCertificate(caDer);
  if (!caInfo.isCA) {
    throw new CertsmithError('NotCA', `the certificate in CA Secret ${where} (${caInfo.subject}) is not a CA: basicConstraints CA is false`);
  }
  if (!publicKeyMatches(caKey, caDer)) {
    throw new CertsmithError('KeyMismatch', `tls.key of CA Secret ${where} does not match the certificate in tls.crt`);
  }
  if (caInfo.notAfter.getTime() <= now.getTime()) {
    throw new CertsmithError('CAExpired', `the CA certificate in Secret ${where} expired at ${caInfo.notAfter.toISOString()}`);
  }
  return { kind: 'ca', chain, caInfo, caKey };
}
