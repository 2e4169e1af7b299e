// The stub PKCS#10 request of a PodCertificateRequest: the key it carries, and every way it is refused (not a request,
// too big, no proof of possession, a key certsmith cannot sign for).
import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { describe, it } from 'node:test';
import { CertsmithError } from '../../../src/errors.ts';
import { algorithmsFor, crypto, toCryptoKey } from '../../../src/pki/algorithms.ts';
import { createCsr } from '../../../src/pki/csr.ts';
import { generatePrivateKey } from '../../../src/pki/keys.ts';
import { MAX_STUB_CSR_BYTES, readStubCsr } from '../../../src/pki/stub-csr.ts';
import type { KeySpec } from '../../../src/pki/types.ts';
import * as x509 from '../../../src/pki/x509.ts';

/** What a kubelet sends: a request signed with the pod's new key, its only content the key. */
function stubCsr(privateKey: KeyObject): Promise<Uint8Array> {
  return createCsr({ privateKey, subject: { commonName: 'stub' }, dnsNames: [], ipAddresses: [], uris: [], emailAddresses: [] });
}

/** A request carrying `carried`'s public key, signed with `signer`: it parses, but proves nothing. */
async function mismatchedCsr(signer: KeyObject, carried: KeyObject): Promise<Uint8Array> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      name: 'CN=stub',
      keys: { privateKey: toCryptoKey(signer, 'sign'), publicKey: toCryptoKey(createPublicKey(carried), 'verify') },
      signingAlgorithm: algorithmsFor(signer).signing,
    },
    crypto,
  );
  return new Uint8Array(csr.rawData);
}

// A minimal DER writer, for a request Web Crypto cannot make (a P-224 key): the structure of RFC 2986 by hand.
function der(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(content);
  const n = body.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...len]), body]);
}
const OID_CN = Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03]); // 2.5.4.3
const OID_ECDSA_SHA256 = Buffer.from([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]); // 1.2.840.10045.4.3.2

function handMadeEcCsr(privateKey: KeyObject): Uint8Array {
  const name = der(0x30, der(0x31, der(0x30, OID_CN, der(0x0c, Buffer.from('stub')))));
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const info = der(0x30, Buffer.from([0x02, 0x01, 0x00]), name, spki, Buffer.from([0xa0, 0x00]));
  const signature = sign('sha256', info, privateKey); // DER-encoded (r, s), as X.509 carries it
  return der(0x30, info, der(0x30, OID_ECDSA_SHA256), der(0x03, Buffer.from([0x00]), signature));
}

const P224: KeyObject | undefined = (() => {
  try {
    return generateKeyPairSync('ec', { namedCurve: 'secp224r1' }).privateKey;
  } catch {
    return undefined;
  }
})();

async function refusal(input: Uint8Array | Promise<Uint8Array>): Promise<CertsmithError> {
  const bytes = await input;
  try {
    await readStubCsr(bytes);
  } catch (err) {
    assert.ok(err instanceof CertsmithError, `expected a CertsmithError, got ${err}`);
    return err;
  }
  assert.fail('the request was accepted');
}

describe('readStubCsr', () => {
  const accepted: KeySpec[] = [{ algorithm: 'ECDSA', size: 256 }, { algorithm: 'Ed25519' }];
  for (const spec of accepted) {
    it(`reads the ${spec.algorithm}${spec.size ? ` P-${spec.size}` : ''} key of a request signed with it`, async () => {
      const privateKey = await generatePrivateKey(spec);
      const got = await readStubCsr(await stubCsr(privateKey));
      assert.deepEqual(got.key, spec);
      assert.equal(got.publicKey.type, 'public');
      assert.deepEqual(got.publicKey.export({ format: 'der', type: 'spki' }), createPublicKey(privateKey).export({ format: 'der', type: 'spki' }));
    });
  }

  it('a hand-made request of a supported curve is read too (the DER writer below is sound)', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    assert.deepEqual((await readStubCsr(handMadeEcCsr(privateKey))).key, { algorithm: 'ECDSA', size: 256 });
  });

  const refused: { name: string; input: () => Uint8Array | Promise<Uint8Array>; code: string; message: RegExp; skip?: string | false }[] = [
    { name: 'empty input', input: () => new Uint8Array(0), code: 'InvalidCSR', message: /^stubPKCS10Request is empty$/ },
    {
      name: 'more than MAX_STUB_CSR_BYTES',
      input: () => new Uint8Array(MAX_STUB_CSR_BYTES + 1),
      code: 'InvalidCSR',
      message: new RegExp(`^stubPKCS10Request is ${MAX_STUB_CSR_BYTES + 1} bytes, over ${MAX_STUB_CSR_BYTES}$`),
    },
    { name: 'garbage bytes', input: () => new Uint8Array(Buffer.from('not a certificate request')), code: 'InvalidCSR', message: /is not a PKCS#10 request/ },
    { name: 'a lone DER SEQUENCE', input: () => new Uint8Array([0x30, 0x00]), code: 'InvalidCSR', message: /is not a PKCS#10 request/ },
    {
      name: 'a certificate, not a request',
      input: async () => {
        const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
        const cert = await x509.X509CertificateGenerator.createSelfSigned(
          {
            name: 'CN=ca',
            keys: { privateKey: toCryptoKey(privateKey, 'sign'), publicKey: toCryptoKey(createPublicKey(privateKey), 'verify') },
            signingAlgorithm: algorithmsFor(privateKey).signing,
          },
          crypto,
        );
        return new Uint8Array(cert.rawData);
      },
      code: 'InvalidCSR',
      message: /is not a PKCS#10 request/,
    },
    {
      name: 'a request carrying another key than the one that signed it (ECDSA)',
      input: async () =>
        mismatchedCsr(await generatePrivateKey({ algorithm: 'ECDSA', size: 256 }), await generatePrivateKey({ algorithm: 'ECDSA', size: 256 })),
      code: 'InvalidCSR',
      message: /does not verify: no proof the pod holds the key/,
    },
    {
      name: 'a request carrying another key than the one that signed it (Ed25519)',
      input: async () => mismatchedCsr(await generatePrivateKey({ algorithm: 'Ed25519' }), await generatePrivateKey({ algorithm: 'Ed25519' })),
      code: 'InvalidCSR',
      message: /does not verify: no proof the pod holds the key/,
    },
    {
      name: 'a request whose signature has a flipped byte (ECDSA)',
      input: async () => flipLastByte(await stubCsr(await generatePrivateKey({ algorithm: 'ECDSA', size: 256 }))),
      code: 'InvalidCSR',
      message: /no proof the pod holds the key/,
    },
    {
      name: 'a request whose signature has a flipped byte (Ed25519)',
      input: async () => flipLastByte(await stubCsr(await generatePrivateKey({ algorithm: 'Ed25519' }))),
      code: 'InvalidCSR',
      message: /no proof the pod holds the key/,
    },
    {
      // Node (OpenSSL) makes P-224 keys; Web Crypto does not, hence the hand-made request. The row is skipped only
      // when this Node cannot generate a P-224 key at all (an OpenSSL build without the curve).
      name: 'a key on a curve certsmith does not sign for (P-224)',
      input: () => handMadeEcCsr(P224!),
      code: 'UnsupportedKey',
      message: /EC curve secp224r1 is not supported/,
      skip: P224 ? false : 'this Node cannot generate a P-224 key',
    },
  ];
  for (const c of refused) {
    it(`refuses ${c.name}: ${c.code}`, { skip: c.skip ?? false }, async () => {
      const err = await refusal(c.input());
      assert.equal(err.code, c.code, err.message);
      assert.match(err.message, c.message);
    });
  }
});

/** The last byte of a request is the last byte of its signature. */
function flipLastByte(bytes: Uint8Array): Uint8Array {
  const copy = new Uint8Array(bytes);
  copy[copy.length - 1]! ^= 0x01;
  return copy;
}
