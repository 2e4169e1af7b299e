// Private keys: generation per the Certificate's privateKey spec, encoding, parsing and matching.
import { createPrivateKey, createPublicKey, generateKeyPair, X509Certificate, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { CertsmithError } from '../errors.ts';
import { splitPem } from './pem.ts';
import type { KeyEncoding, KeySpec } from './types.ts';

const generate = promisify(generateKeyPair);

export const RSA_SIZES = [2048, 3072, 4096, 8192] as const;
export const ECDSA_SIZES = [256, 384, 521] as const;
const CURVES: Record<number, string> = { 256: 'prime256v1', 384: 'secp384r1', 521: 'secp521r1' };
const CURVE_SIZES: Record<string, number> = { prime256v1: 256, secp384r1: 384, secp521r1: 521 };

/** A user-facing message when the algorithm/size pair is not supported; undefined when it is. */
export function validateKeySpec(spec: { algorithm?: string; size?: number }): string | undefined {
  const algorithm = spec.algorithm ?? 'ECDSA';
  if (algorithm === 'RSA') {
    if (spec.size !== undefined && !(RSA_SIZES as readonly number[]).includes(spec.size)) {
      return `privateKey.size ${spec.size} is not supported for RSA: use ${RSA_SIZES.join(', ')}`;
    }
    return undefined;
  }
  if (algorithm === 'ECDSA') {
    if (spec.size !== undefined && !(ECDSA_SIZES as readonly number[]).includes(spec.size)) {
      return `privateKey.size ${spec.size} is not supported for ECDSA: use ${ECDSA_SIZES.join(', ')}`;
    }
    return undefined;
  }
  if (algorithm === 'Ed25519') {
    return spec.size !== undefined ? `privateKey.size must not be set for Ed25519 (got ${spec.size})` : undefined;
  }
  return `privateKey.algorithm "${algorithm}" is not supported: use RSA, ECDSA or Ed25519`;
}

export function normalizeKeySpec(spec: { algorithm?: string; size?: number }): KeySpec {
  const problem = validateKeySpec(spec);
  if (problem) throw new CertsmithError('UnsupportedKey', problem);
  const algorithm = (spec.algorithm ?? 'ECDSA') as KeySpec['algorithm'];
  if (algorithm === 'Ed25519') return { algorithm };
  return { algorithm, size: spec.size ?? (algorithm === 'RSA' ? 2048 : 256) };
}

export async function generatePrivateKey(spec: KeySpec): Promise<KeyObject> {
  const s = normalizeKeySpec(spec);
  if (s.algorithm === 'RSA') return (await generate('rsa', { modulusLength: s.size! })).privateKey;
  if (s.algorithm === 'ECDSA') return (await generate('ec', { namedCurve: CURVES[s.size!]! })).privateKey;
  return (await generate('ed25519', {})).privateKey;
}

/** PKCS8 → "PRIVATE KEY"; PKCS1 → "RSA PRIVATE KEY" for RSA and SEC1 "EC PRIVATE KEY" for ECDSA. */
export function encodePrivateKeyPem(key: KeyObject, encoding: KeyEncoding): string {
  if (encoding === 'PKCS8') return key.export({ format: 'pem', type: 'pkcs8' }) as string;
  if (key.asymmetricKeyType === 'rsa') return key.export({ format: 'pem', type: 'pkcs1' }) as string;
  if (key.asymmetricKeyType === 'ec') return key.export({ format: 'pem', type: 'sec1' }) as string;
  throw new CertsmithError('UnsupportedKey', `a ${key.asymmetricKeyType} key has no PKCS1 encoding: use PKCS8`);
}

export function encodePrivateKeyDer(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ format: 'der', type: 'pkcs8' }));
}

const KEY_LABELS = new Set(['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY']);

export function parsePrivateKeyPem(pem: string): KeyObject {
  const blocks = splitPem(pem).filter((b) => b.label !== 'EC PARAMETERS');
  if (blocks.length !== 1) {
    throw new CertsmithError('InvalidPEM', `expected one private key PEM block, found ${blocks.length}`);
  }
  const block = blocks[0]!;
  if (!KEY_LABELS.has(block.label)) {
    throw new CertsmithError('InvalidPEM', `expected a PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block, found "${block.label}"`);
  }
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw new CertsmithError('InvalidPEM', `the ${block.label} block cannot be read: ${(err as Error).message}`);
  }
}

export function keySpecOf(key: KeyObject): KeySpec {
  const d = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { algorithm: 'RSA', size: d.modulusLength! };
    case 'ec':
      return { algorithm: 'ECDSA', size: CURVE_SIZES[d.namedCurve ?? ''] ?? 0 };
    case 'ed25519':
      return { algorithm: 'Ed25519' };
    default:
      throw new CertsmithError('UnsupportedKey', `unsupported key type ${key.asymmetricKeyType}`);
  }
}

/** True when the certificate carries the public half of this private key. */
export function publicKeyMatches(privateKey: KeyObject, certDer: Uint8Array): boolean {
  const mine = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const theirs = new X509Certificate(certDer).publicKey.export({ format: 'der', type: 'spki' });
  return Buffer.compare(mine, theirs) === 0;
}
