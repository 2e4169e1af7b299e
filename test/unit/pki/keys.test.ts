import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { isCertsmithError, type ErrorCode } from '../../../src/errors.ts';
import {
  encodePrivateKeyDer,
  encodePrivateKeyPem,
  generatePrivateKey,
  keyMismatch,
  keySpecOf,
  normalizeKeySpec,
  parsePrivateKeyPem,
  publicKeyMatches,
  validateKeySpec,
} from '../../../src/pki/keys.ts';
import { encodePem } from '../../../src/pki/pem.ts';
import type { KeySpec } from '../../../src/pki/types.ts';
import { selfSignedCertificate } from './fixtures.ts';

function certsmithError(code: ErrorCode, message: RegExp) {
  return (err: unknown) => {
    assert.ok(isCertsmithError(err, code), `expected a ${code} CertsmithError, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  };
}

const pkcs8Der = (key: KeyObject) => key.export({ format: 'der', type: 'pkcs8' });

describe('validateKeySpec', () => {
  const supported: { algorithm?: string; size?: number }[] = [
    {},
    { algorithm: 'RSA' },
    { algorithm: 'RSA', size: 2048 },
    { algorithm: 'RSA', size: 3072 },
    { algorithm: 'RSA', size: 4096 },
    { algorithm: 'RSA', size: 8192 },
    { algorithm: 'ECDSA' },
    { algorithm: 'ECDSA', size: 256 },
    { algorithm: 'ECDSA', size: 384 },
    { algorithm: 'ECDSA', size: 521 },
    { algorithm: 'Ed25519' },
    { size: 384 },
  ];
  for (const spec of supported) {
    it(`accepts ${JSON.stringify(spec)}`, () => {
      assert.equal(validateKeySpec(spec), undefined);
    });
  }
  const unsupported: { name: string; spec: { algorithm?: string; size?: number }; message: RegExp }[] = [
    {
      name: 'RSA 1024, naming the sizes to use',
      spec: { algorithm: 'RSA', size: 1024 },
      message: /size 1024 is not supported for RSA: use 2048, 3072, 4096, 8192/,
    },
    { name: 'ECDSA 512 (the curve is 521)', spec: { algorithm: 'ECDSA', size: 512 }, message: /size 512 is not supported for ECDSA: use 256, 384, 521/ },
    { name: 'an ECDSA RSA-sized key', spec: { algorithm: 'ECDSA', size: 2048 }, message: /not supported for ECDSA/ },
    { name: 'Ed25519 with a size', spec: { algorithm: 'Ed25519', size: 256 }, message: /must not be set for Ed25519/ },
    { name: 'an unknown algorithm', spec: { algorithm: 'DSA' }, message: /"DSA" is not supported: use RSA, ECDSA or Ed25519/ },
    { name: 'an algorithm spelled in lower case', spec: { algorithm: 'rsa' }, message: /"rsa" is not supported/ },
  ];
  for (const c of unsupported) {
    it(`refuses ${c.name}`, () => {
      assert.match(validateKeySpec(c.spec) ?? '', c.message);
    });
  }
});

describe('normalizeKeySpec', () => {
  const cases: { name: string; spec: { algorithm?: string; size?: number }; expected: KeySpec }[] = [
    { name: 'an empty spec becomes ECDSA P-256', spec: {}, expected: { algorithm: 'ECDSA', size: 256 } },
    { name: 'RSA without a size becomes RSA 2048', spec: { algorithm: 'RSA' }, expected: { algorithm: 'RSA', size: 2048 } },
    { name: 'ECDSA keeps its size', spec: { algorithm: 'ECDSA', size: 521 }, expected: { algorithm: 'ECDSA', size: 521 } },
    { name: 'Ed25519 has no size', spec: { algorithm: 'Ed25519' }, expected: { algorithm: 'Ed25519' } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(normalizeKeySpec(c.spec), c.expected);
    });
  }
  it('throws UnsupportedKey with the validation message', () => {
    assert.throws(() => normalizeKeySpec({ algorithm: 'RSA', size: 1000 }), certsmithError('UnsupportedKey', /size 1000 is not supported for RSA/));
  });
});

describe('key generation and encoding', () => {
  // RSA 8192 takes tens of seconds to generate: its spec is checked by validateKeySpec above.
  const cases: { spec: KeySpec; pkcs1Label?: string }[] = [
    { spec: { algorithm: 'RSA', size: 2048 }, pkcs1Label: 'RSA PRIVATE KEY' },
    { spec: { algorithm: 'RSA', size: 3072 }, pkcs1Label: 'RSA PRIVATE KEY' },
    { spec: { algorithm: 'RSA', size: 4096 }, pkcs1Label: 'RSA PRIVATE KEY' },
    { spec: { algorithm: 'ECDSA', size: 256 }, pkcs1Label: 'EC PRIVATE KEY' },
    { spec: { algorithm: 'ECDSA', size: 384 }, pkcs1Label: 'EC PRIVATE KEY' },
    { spec: { algorithm: 'ECDSA', size: 521 }, pkcs1Label: 'EC PRIVATE KEY' },
    { spec: { algorithm: 'Ed25519' } },
  ];
  for (const c of cases) {
    const title = `${c.spec.algorithm}${c.spec.size ? ` ${c.spec.size}` : ''}`;
    describe(title, () => {
      let key: KeyObject;
      before(async () => {
        key = await generatePrivateKey(c.spec);
      });
      it('generates a private key of the requested algorithm and size', () => {
        assert.equal(key.type, 'private');
        assert.deepEqual(keySpecOf(key), c.spec);
      });
      it('writes PKCS8 as a "PRIVATE KEY" block that parses back to the same key', () => {
        const pem = encodePrivateKeyPem(key, 'PKCS8');
        assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/);
        assert.deepEqual(pkcs8Der(parsePrivateKeyPem(pem)), pkcs8Der(key));
      });
      if (c.pkcs1Label) {
        it(`writes PKCS1 as an "${c.pkcs1Label}" block that parses back to the same key`, () => {
          const pem = encodePrivateKeyPem(key, 'PKCS1');
          assert.match(pem, new RegExp(`^-----BEGIN ${c.pkcs1Label}-----\\n`));
          assert.deepEqual(pkcs8Der(parsePrivateKeyPem(pem)), pkcs8Der(key));
        });
      } else {
        it('refuses PKCS1, which Ed25519 keys do not have, saying to use PKCS8', () => {
          assert.throws(
            () => encodePrivateKeyPem(key, 'PKCS1'),
            certsmithError('UnsupportedKey', /Ed25519 keys have no PKCS1 encoding: set privateKey.encoding to PKCS8/),
          );
        });
      }
      it('writes PKCS8 DER for key.der', () => {
        const der = encodePrivateKeyDer(key);
        assert.deepEqual(keySpecOf(createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' })), c.spec);
        assert.deepEqual(Buffer.from(der), pkcs8Der(key));
      });
    });
  }
});

describe('parsePrivateKeyPem', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const ecPkcs8 = ec.export({ format: 'pem', type: 'pkcs8' }) as string;
  // DER of the named-curve OID 1.2.840.10045.3.1.7 (P-256), as `openssl ecparam -genkey` writes it first.
  const p256Parameters = encodePem('EC PARAMETERS', new Uint8Array([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]));

  it('accepts a SEC1 key preceded by EC PARAMETERS, as openssl ecparam -genkey writes it', () => {
    const key = parsePrivateKeyPem(p256Parameters + (ec.export({ format: 'pem', type: 'sec1' }) as string));
    assert.deepEqual(pkcs8Der(key), pkcs8Der(ec));
  });

  const refused: { name: string; pem: () => string; code: ErrorCode; message: RegExp }[] = [
    { name: 'empty text', pem: () => '', code: 'InvalidPEM', message: /no PEM private key block found/ },
    {
      name: 'two keys, naming both blocks',
      pem: () => ecPkcs8 + (rsa.export({ format: 'pem', type: 'pkcs1' }) as string),
      code: 'InvalidPEM',
      message: /exactly one private key PEM block, found 2 \(PRIVATE KEY, RSA PRIVATE KEY\)/,
    },
    {
      name: 'a certificate where the key belongs',
      pem: () => encodePem('CERTIFICATE', new Uint8Array([48, 0])),
      code: 'InvalidPEM',
      message: /expected a PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block, found "CERTIFICATE"/,
    },
    {
      name: 'a passphrase-encrypted PKCS8 key, saying to store it unencrypted',
      pem: () => ec.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'secret' }) as string,
      code: 'InvalidPEM',
      message: /encrypted with a passphrase: store it unencrypted/,
    },
    {
      name: 'a legacy encrypted PKCS1 key (Proc-Type header)',
      pem: () => rsa.export({ format: 'pem', type: 'pkcs1', cipher: 'aes-128-cbc', passphrase: 'secret' }) as string,
      code: 'InvalidPEM',
      message: /encrypted with a passphrase/,
    },
    {
      name: 'an RSA key labelled EC PRIVATE KEY',
      pem: () => (rsa.export({ format: 'pem', type: 'pkcs1' }) as string).replaceAll('RSA PRIVATE KEY', 'EC PRIVATE KEY'),
      code: 'InvalidPEM',
      message: /the EC PRIVATE KEY block holds an RSA 2048 key: the label does not match the key/,
    },
    {
      name: 'a PRIVATE KEY block holding garbage',
      pem: () => encodePem('PRIVATE KEY', new Uint8Array([1, 2, 3, 4])),
      code: 'InvalidPEM',
      message: /the PRIVATE KEY block does not hold a readable key/,
    },
    {
      name: 'an Ed448 key, naming the supported algorithms',
      pem: () => generateKeyPairSync('ed448').privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
      code: 'UnsupportedKey',
      message: /ed448 keys are not supported: use RSA, ECDSA or Ed25519/,
    },
    {
      name: 'an EC key on an unsupported curve, naming the supported curves',
      pem: () => generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
      code: 'UnsupportedKey',
      message: /EC curve secp256k1 is not supported: use P-256, P-384 or P-521/,
    },
  ];
  for (const c of refused) {
    it(`refuses ${c.name}`, () => {
      assert.throws(() => parsePrivateKeyPem(c.pem()), certsmithError(c.code, c.message));
    });
  }
});

describe('keySpecOf', () => {
  it('reads the spec of a public key as well as a private key', () => {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
    assert.deepEqual(keySpecOf(publicKey), { algorithm: 'ECDSA', size: 384 });
  });
});

describe('matching a private key with a certificate', () => {
  let ecKey: KeyObject;
  let otherEcKey: KeyObject;
  let rsaKey: KeyObject;
  let ecCert: Uint8Array;
  before(async () => {
    ecKey = await generatePrivateKey({ algorithm: 'ECDSA', size: 256 });
    otherEcKey = await generatePrivateKey({ algorithm: 'ECDSA', size: 256 });
    rsaKey = await generatePrivateKey({ algorithm: 'RSA', size: 2048 });
    ecCert = await selfSignedCertificate('match.example', ecKey);
  });

  it('finds the certificate made for the key', () => {
    assert.equal(publicKeyMatches(ecKey, ecCert), true);
    assert.equal(keyMismatch(ecKey, ecCert), undefined);
  });
  it('detects another key of the same type, saying they are not a pair', () => {
    assert.equal(publicKeyMatches(otherEcKey, ecCert), false);
    assert.equal(
      keyMismatch(otherEcKey, ecCert, { privateKey: 'tls.key', publicKey: 'tls.crt' }),
      'tls.key and tls.crt hold different ECDSA P-256 keys: they are not a pair',
    );
  });
  it('detects a key of another type, naming both types', () => {
    assert.equal(publicKeyMatches(rsaKey, ecCert), false);
    assert.equal(
      keyMismatch(rsaKey, ecCert, { privateKey: 'tls.key', publicKey: 'tls.crt' }),
      'tls.key holds an RSA 2048 key but tls.crt holds an ECDSA P-256 public key',
    );
  });
  it('compares with a bare public key too', () => {
    assert.equal(keyMismatch(ecKey, createPublicKey(ecKey)), undefined);
    assert.match(
      keyMismatch(ecKey, createPublicKey(rsaKey)) ?? '',
      /the private key holds an ECDSA P-256 key but the certificate holds an RSA 2048 public key/,
    );
  });
  it('refuses DER that is not a certificate with InvalidPEM', () => {
    assert.throws(() => publicKeyMatches(ecKey, new Uint8Array([1, 2, 3])), certsmithError('InvalidPEM', /not a valid X\.509 certificate/));
  });
});
