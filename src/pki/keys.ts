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

/** The spec with defaults filled in (ECDSA, P-256 for ECDSA, 2048 bits for RSA); throws UnsupportedKey. */
export function normalizeKeySpec(spec: { algorithm?: string; size?: number }): KeySpec {
  const problem = validateKeySpec(spec);
  if (problem) throw new CertsmithError('UnsupportedKey', problem);
  const algorithm = (spec.algorithm ?? 'ECDSA') as KeySpec['algorithm'];
  if (algorithm === 'Ed25519') return { algorithm };
  return { algorithm, size: spec.size ?? (algorithm === 'RSA' ? 2048 : 256) };
}

/** Human form of a key spec, for messages: "RSA 2048", "ECDSA P-256", "Ed25519". */
export function describeKeySpec(spec: KeySpec): string {
  if (spec.algorithm === 'ECDSA') return `ECDSA P-${spec.size}`;
  return spec.size === undefined ? spec.algorithm : `${spec.algorithm} ${spec.size}`;
}

// Async: an RSA 4096 key takes seconds and must not block the event loop.
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
  throw new CertsmithError('UnsupportedKey', `${describeKeySpec(keySpecOf(key))} keys have no PKCS1 encoding: set privateKey.encoding to PKCS8`);
}

/** PKCS8 DER, for the key.der output format. */
export function encodePrivateKeyDer(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ format: 'der', type: 'pkcs8' }));
}

const KEY_TYPES: Record<string, 'pkcs8' | 'pkcs1' | 'sec1'> = {
  'PRIVATE KEY': 'pkcs8',
  'RSA PRIVATE KEY': 'pkcs1',
  'EC PRIVATE KEY': 'sec1',
};

const LABEL_KEY_TYPES: Record<string, string> = { 'RSA PRIVATE KEY': 'rsa', 'EC PRIVATE KEY': 'ec' };

/** One unencrypted private key in PKCS8, PKCS1 (RSA) or SEC1 (EC) PEM, of a supported type. */
export function parsePrivateKeyPem(pem: string): KeyObject {
  // `openssl ecparam -genkey` writes the curve parameters before the key; they repeat what the key says.
  const blocks = splitPem(pem).filter((b) => b.label !== 'EC PARAMETERS');
  if (blocks.length === 0) throw new CertsmithError('InvalidPEM', 'no PEM private key block found');
  if (blocks.length > 1) {
    const labels = blocks.map((b) => b.label).join(', ');
    throw new CertsmithError('InvalidPEM', `expected exactly one private key PEM block, found ${blocks.length} (${labels})`);
  }
  const block = blocks[0]!;
  if (block.label === 'ENCRYPTED PRIVATE KEY' || block.headers?.['Proc-Type']?.includes('ENCRYPTED')) {
    throw new CertsmithError('InvalidPEM', 'the private key is encrypted with a passphrase: store it unencrypted');
  }
  const type = KEY_TYPES[block.label];
  if (!type) {
    throw new CertsmithError('InvalidPEM', `expected a PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block, found "${block.label}"`);
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(block.der), format: 'der', type });
  } catch (err) {
    throw new CertsmithError('InvalidPEM', `the ${block.label} block does not hold a readable key: ${(err as Error).message}`, {
      cause: err,
    });
  }
  // OpenSSL's DER decoder tries every format, so the label is checked against what was actually read.
  const labelled = LABEL_KEY_TYPES[block.label];
  if (labelled && key.asymmetricKeyType !== labelled) {
    throw new CertsmithError('InvalidPEM', `the ${block.label} block holds an ${describeKeyTypeLoosely(key)} key: the label does not match the key`);
  }
  keySpecOf(key); // refuses key types certsmith cannot sign with (DSA, Ed448, other curves) up front
  return key;
}

/** The algorithm and size of a private or public key; throws UnsupportedKey for other key types. */
export function keySpecOf(key: KeyObject): KeySpec {
  const d = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { algorithm: 'RSA', size: d.modulusLength! };
    case 'ec': {
      const size = CURVE_SIZES[d.namedCurve ?? ''];
      if (size === undefined) {
        throw new CertsmithError('UnsupportedKey', `EC curve ${d.namedCurve} is not supported: use P-256, P-384 or P-521`);
      }
      return { algorithm: 'ECDSA', size };
    }
    case 'ed25519':
      return { algorithm: 'Ed25519' };
    default:
      throw new CertsmithError('UnsupportedKey', `${key.asymmetricKeyType} keys are not supported: use RSA, ECDSA or Ed25519`);
  }
}

/** True when the certificate carries the public half of this private key. */
export function publicKeyMatches(privateKey: KeyObject, certDer: Uint8Array): boolean {
  return keyMismatch(privateKey, certDer) === undefined;
}

/**
 * Why the public key (or the key a certificate's DER carries) is not the public half of `privateKey`, in words a
 * user can act on: "tls.key holds an ECDSA P-256 key but tls.crt holds an RSA 2048 public key"; undefined when
 * they match. `names` say where each key came from.
 */
export function keyMismatch(
  privateKey: KeyObject,
  publicKeyOrCertDer: KeyObject | Uint8Array,
  names: { privateKey: string; publicKey: string } = { privateKey: 'the private key', publicKey: 'the certificate' },
): string | undefined {
  const theirs = publicKeyOrCertDer instanceof Uint8Array ? certificatePublicKey(publicKeyOrCertDer) : publicKeyOrCertDer;
  const mine = createPublicKey(privateKey);
  if (Buffer.compare(spki(mine), spki(theirs)) === 0) return undefined;
  const a = describeKeyTypeLoosely(mine);
  const b = describeKeyTypeLoosely(theirs);
  return a === b
    ? `${names.privateKey} and ${names.publicKey} hold different ${a} keys: they are not a pair`
    : `${names.privateKey} holds an ${a} key but ${names.publicKey} holds an ${b} public key`;
}

/** The public key a certificate carries; throws InvalidPEM when the DER is not a certificate. */
export function certificatePublicKey(certDer: Uint8Array): KeyObject {
  // OpenSSL's parser (node:crypto): a tenth of the ASN.1 schema walk, on the path of every reconcile's key check.
  try {
    return new X509Certificate(certDer).publicKey;
  } catch (err) {
    throw new CertsmithError('InvalidPEM', `not a valid X.509 certificate: ${(err as Error).message}`, { cause: err });
  }
}

function spki(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'spki' });
}

// Mismatch messages must not throw on a key type certsmith does not support: they explain a problem.
function describeKeyTypeLoosely(key: KeyObject): string {
  try {
    return describeKeySpec(keySpecOf(key));
  } catch {
    return `${key.asymmetricKeyType ?? 'unknown'}`;
  }
}
