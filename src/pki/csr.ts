// PKCS#10 certificate signing requests, for CAs that sign remotely (ACME).
import { createPublicKey, type KeyObject } from 'node:crypto';
import * as x509 from './x509.ts';
import { algorithmsFor, crypto, toCryptoKey } from './algorithms.ts';
import { subjectName } from './certificate.ts';
import type { SubjectFields } from './types.ts';

export async function createCsr(req: {
  privateKey: KeyObject;
  subject: SubjectFields;
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
  emailAddresses: string[];
}): Promise<Uint8Array> {
  const sans: x509.JsonGeneralName[] = [
    ...req.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...req.ipAddresses.map((value) => ({ type: 'ip' as const, value })),
    ...req.uris.map((value) => ({ type: 'url' as const, value })),
    ...req.emailAddresses.map((value) => ({ type: 'email' as const, value })),
  ];
  const name = subjectName(req.subject);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      name,
      keys: { privateKey: toCryptoKey(req.privateKey, 'sign'), publicKey: toCryptoKey(createPublicKey(req.privateKey), 'verify') },
      signingAlgorithm: algorithmsFor(req.privateKey).signing,
      extensions: sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sans, name.length === 0)] : [],
    },
    crypto,
  );
  return new Uint8Array(csr.rawData);
}
