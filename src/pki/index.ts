export { parseCertificatesPem, splitPem, encodePem, type PemBlock } from './pem.ts';
export {
  validateKeySpec,
  normalizeKeySpec,
  describeKeySpec,
  generatePrivateKey,
  encodePrivateKeyPem,
  encodePrivateKeyDer,
  parsePrivateKeyPem,
  keySpecOf,
  publicKeyMatches,
  keyMismatch,
  certificatePublicKey,
} from './keys.ts';
export { signCertificate, type SignRequest } from './certificate.ts';
export { describeCertificate, isSignedBy } from './inspect.ts';
export { createCsr, type CsrRequest } from './csr.ts';
export { canonicalUsages } from './usages.ts';
export type * from './types.ts';
