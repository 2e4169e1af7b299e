export { parseCertificatesPem, splitPem, encodePem, type PemBlock } from './pem.ts';
export {
  validateKeySpec,
  normalizeKeySpec,
  generatePrivateKey,
  encodePrivateKeyPem,
  encodePrivateKeyDer,
  parsePrivateKeyPem,
  keySpecOf,
  publicKeyMatches,
} from './keys.ts';
export { signCertificate, type SignRequest } from './certificate.ts';
export { describeCertificate, isSignedBy, canonicalIp } from './inspect.ts';
export { createCsr } from './csr.ts';
export { canonicalUsages } from './usages.ts';
export type * from './types.ts';
