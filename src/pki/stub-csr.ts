// The stub PKCS#10 request of a PodCertificateRequest: the kubelet signs it with the pod's new key, and the signer reads
// only the public key from it. kube-apiserver checked its signature at admission; it is checked again here, because
// the proof of possession is what keeps one pod from asking for a certificate over another's key.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { CertsmithError } from '../errors.ts';
import { crypto } from './algorithms.ts';
import { keySpecOf } from './keys.ts';
import type { KeySpec } from './types.ts';
import * as x509 from './x509.ts';

/** Far above any real one (an RSA 4096 request is under 1 KiB): a bound on what is parsed. */
export const MAX_STUB_CSR_BYTES = 16 * 1024;

export interface StubCsr {
  publicKey: KeyObject;
  key: KeySpec;
}

/** Parses and verifies the request; InvalidCSR for anything that is not a self-consistent PKCS#10 request. */
export async function readStubCsr(der: Uint8Array): Promise<StubCsr> {
  if (der.length === 0) throw new CertsmithError('InvalidCSR', 'stubPKCS10Request is empty');
  if (der.length > MAX_STUB_CSR_BYTES) throw new CertsmithError('InvalidCSR', `stubPKCS10Request is ${der.length} bytes, over ${MAX_STUB_CSR_BYTES}`);
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(der);
  } catch (err) {
    throw new CertsmithError('InvalidCSR', `stubPKCS10Request is not a PKCS#10 request: ${(err as Error).message}`);
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
  } catch (err) {
    throw new CertsmithError('InvalidCSR', `the public key of stubPKCS10Request is unreadable: ${(err as Error).message}`);
  }
  const key = keySpecOf(publicKey);
  let valid: boolean;
  try {
    valid = await csr.verify(crypto);
  } catch (err) {
    throw new CertsmithError('InvalidCSR', `the signature of stubPKCS10Request cannot be checked: ${(err as Error).message}`);
  }
  if (!valid) throw new CertsmithError('InvalidCSR', 'the signature of stubPKCS10Request does not verify: no proof the pod holds the key');
  return { publicKey, key };
}
