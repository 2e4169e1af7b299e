// Web Crypto algorithm parameters for each key type, and the conversion from node:crypto KeyObjects.
import { webcrypto, type KeyObject } from 'node:crypto';
import { CertsmithError } from '../errors.ts';

type WebCrypto = typeof webcrypto;
type Algorithm = webcrypto.Algorithm;
type RsaHashedImportParams = webcrypto.RsaHashedImportParams;
type EcKeyImportParams = webcrypto.EcKeyImportParams;
type EcdsaParams = webcrypto.EcdsaParams;

export const crypto: WebCrypto = webcrypto;

interface Algorithms {
  importParams: Algorithm | RsaHashedImportParams | EcKeyImportParams;
  signing: Algorithm | EcdsaParams;
}

const CURVE_NAMES: Record<string, { webName: string; hash: string }> = {
  prime256v1: { webName: 'P-256', hash: 'SHA-256' },
  secp384r1: { webName: 'P-384', hash: 'SHA-384' },
  secp521r1: { webName: 'P-521', hash: 'SHA-512' },
};

export function algorithmsFor(key: KeyObject): Algorithms {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return {
        importParams: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as RsaHashedImportParams,
        signing: { name: 'RSASSA-PKCS1-v1_5' },
      };
    case 'ec': {
      const curve = CURVE_NAMES[key.asymmetricKeyDetails?.namedCurve ?? ''];
      if (!curve) throw new CertsmithError('UnsupportedKey', `unsupported EC curve ${key.asymmetricKeyDetails?.namedCurve}`);
      return {
        importParams: { name: 'ECDSA', namedCurve: curve.webName } as EcKeyImportParams,
        signing: { name: 'ECDSA', hash: curve.hash } as EcdsaParams,
      };
    }
    case 'ed25519':
      return { importParams: { name: 'Ed25519' }, signing: { name: 'Ed25519' } };
    default:
      throw new CertsmithError('UnsupportedKey', `unsupported key type ${key.asymmetricKeyType}`);
  }
}

export function toCryptoKey(key: KeyObject, usage: 'sign' | 'verify'): webcrypto.CryptoKey {
  return key.toCryptoKey(algorithmsFor(key).importParams, true, [usage]);
}
