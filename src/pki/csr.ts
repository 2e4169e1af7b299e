// PKCS#10 certificate signing requests, for CAs that sign remotely (ACME).
import { createPublicKey, type KeyObject } from 'node:crypto';
import * as x509 from './x509.ts';
import { CertsmithError } from '../errors.ts';
import { algorithmsFor, crypto, toCryptoKey } from './algorithms.ts';
import { generalNames, subjectName } from './names.ts';
import type { SubjectFields } from './types.ts';

export interface CsrRequest {
  privateKey: KeyObject;
  subject: SubjectFields;
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
  emailAddresses: string[];
}

/** The CSR's DER, signed with the private key whose public half it carries. */
export async function createCsr(req: CsrRequest): Promise<Uint8Array> {
  const name = subjectName(req.subject);
  const sans = generalNames(req);
  if (name.length === 0 && sans.length === 0) {
    throw new CertsmithError('SigningFailed', 'a CSR needs a subject (commonName or another field) or at least one subject alternative name');
  }
  try {
    const csr = await x509.Pkcs10CertificateRequestGenerator.create(
      {
        name,
        keys: {
          privateKey: toCryptoKey(req.privateKey, 'sign'),
          publicKey: toCryptoKey(createPublicKey(req.privateKey), 'verify'),
        },
        signingAlgorithm: algorithmsFor(req.privateKey).signing,
        // RFC 5280 4.2.1.6: with an empty subject, the SAN extension must be critical.
        extensions: sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sans, name.length === 0)] : [],
      },
      crypto,
    );
    return new Uint8Array(csr.rawData);
  } catch (err) {
    if (err instanceof CertsmithError) throw err;
    throw new CertsmithError('SigningFailed', `creating the CSR failed: ${(err as Error).message}`, { cause: err });
  }
}
