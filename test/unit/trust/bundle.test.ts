import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { rootCertificates as tlsRoots } from 'node:tls';
import { errorCode } from '../../../src/errors.ts';
import { encodePem, parseCertificatesPem } from '../../../src/pki/pem.ts';
import { encodePrivateKeyPem, generatePrivateKey } from '../../../src/pki/keys.ts';
import { signCertificate } from '../../../src/pki/certificate.ts';
import { parseCAPool } from '../../../src/reload/parse.ts';
import { buildBundle, type BundleOptions, type SourceMaterial } from '../../../src/trust/bundle.ts';
import { HOUR, noNames, wholeSecond } from '../pki/fixtures.ts';
import { unloadableCertificate, type UnloadableCertificate } from './unloadable-certificate.ts';

const NOW = wholeSecond(Date.parse('2030-01-01T00:00:00Z'));

async function cert(commonName: string, o: { isCA?: boolean; expired?: boolean } = {}): Promise<string> {
  const privateKey = await generatePrivateKey({ algorithm: 'ECDSA', size: 256 });
  const notAfter = new Date(NOW.getTime() + (o.expired ? -HOUR : 24 * HOUR));
  const der = await signCertificate({
    publicKey: privateKey,
    subject: { commonName },
    ...noNames(),
    usages: [],
    isCA: o.isCA ?? true,
    notBefore: new Date(notAfter.getTime() - 48 * HOUR),
    notAfter,
    signer: { privateKey },
  });
  return encodePem('CERTIFICATE', der);
}

const fp = (pem: string) => createHash('sha256').update(parseCertificatesPem(pem)[0]!).digest('hex');
const src = (source: string, pem: string): SourceMaterial => ({ source, pem });

let caA: string, caB: string, caC: string, leaf: string, old: string, keyPem: string;
let mutant: UnloadableCertificate;
before(async () => {
  [caA, caB, caC, leaf, old] = await Promise.all([cert('a'), cert('b'), cert('c'), cert('leaf', { isCA: false }), cert('old', { expired: true })]);
  mutant = await unloadableCertificate('mutant', new Date(NOW.getTime() - HOUR));
  keyPem = encodePrivateKeyPem(await generatePrivateKey({ algorithm: 'ECDSA', size: 256 }), 'PKCS8');
});

describe('buildBundle', () => {
  const opts = (o: Partial<BundleOptions> = {}): BundleOptions => ({ now: NOW, ...o });

  it('merges the sources, sorted by fingerprint, one copy of each certificate', () => {
    const b = buildBundle([src('inline', caB + caA), src('configMap x/y', caA), src('issuer', caC + caB)], opts());
    assert.equal(b.certificates.length, 3);
    const expected = [caA, caB, caC].map(fp).sort();
    assert.deepEqual(
      b.certificates.map((c) => c.fingerprint),
      expected,
    );
    assert.deepEqual(
      parseCertificatesPem(b.pem).map((d) => createHash('sha256').update(d).digest('hex')),
      expected,
    );
    assert.equal(b.hash, createHash('sha256').update(b.pem).digest('hex'));
    assert.equal(b.certificates.find((c) => c.fingerprint === fp(caA))?.subject, 'CN=a');
  });

  it('gives byte-identical output whatever the order and formatting of the sources', () => {
    const one = buildBundle([src('a', caA), src('b', `junk before\r\n${caB}\n\ntrailing text`), src('c', caC)], opts());
    const two = buildBundle([src('c', caC + caA), src('b', caB)], opts());
    assert.equal(one.pem, two.pem);
    assert.equal(one.hash, two.hash);
  });

  it('reports the earliest expiry and counts expired certificates it kept', () => {
    const b = buildBundle([src('s', caA + old)], opts());
    assert.equal(b.certificates.length, 2);
    assert.equal(b.expired, 1);
    assert.equal(b.earliestExpiry.getTime(), NOW.getTime() - HOUR);
  });

  it('the filters drop expired and non-CA certificates', () => {
    const b = buildBundle([src('s', caA + old + leaf)], opts({ excludeExpired: true, excludeNonCA: true }));
    assert.deepEqual(
      b.certificates.map((c) => c.fingerprint),
      [fp(caA)],
    );
    assert.deepEqual(b.excluded, { expired: 1, nonCA: 1 });
    assert.equal(b.expired, 0);
  });

  it('gives a bundle that certsmith/reload loads whole, as OpenSSL does', () => {
    const b = buildBundle([src('s', caA + old + leaf), src('systemRoots', tlsRoots.join('\n'))], opts());
    const pool = parseCAPool(new Map([['ca.crt', Buffer.from(b.pem)]]));
    assert.ok(pool.ok, pool.ok ? '' : pool.reason);
    assert.equal(pool.value.certificates.length, b.certificates.length);
  });

  it('holds the public roots Node ships', () => {
    const b = buildBundle([src('systemRoots', tlsRoots.join('\n'))], opts({ now: new Date('2025-06-01T00:00:00Z') }));
    assert.ok(b.certificates.length > 100);
    assert.ok(b.certificates.every((c) => c.isCA));
  });

  const refusals: { name: string; materials: () => SourceMaterial[]; options?: Partial<BundleOptions>; code: string; message: RegExp }[] = [
    {
      name: 'a source holding a private key is refused, even next to certificates',
      materials: () => [src('inline', caA), src('secret ns/s key ca.crt', caB + keyPem)],
      code: 'PrivateKeyInSource',
      message: /secret ns\/s key ca\.crt holds a private key/,
    },
    {
      name: 'garbage is not PEM',
      materials: () => [src('configMap ns/c key ca.crt', 'hello, world')],
      code: 'InvalidPEM',
      message: /configMap ns\/c key ca\.crt: no PEM/,
    },
    {
      name: 'a damaged block is refused',
      materials: () => [src('inline', caA.replace(/\n[A-Za-z0-9+/]{10}/, '\n!!!!!!!!!!'))],
      code: 'InvalidPEM',
      message: /not base64/,
    },
    {
      name: 'a well-formed block that is not a certificate is refused',
      materials: () => [src('inline', encodePem('CERTIFICATE', new Uint8Array([1, 2, 3])))],
      code: 'InvalidPEM',
      message: /not a valid X\.509/,
    },
    {
      name: 'a certificate OpenSSL cannot load is refused, naming the source and the block, though @peculiar/x509 reads it',
      materials: () => [src('inline', caA), src('configMap ns/c key ca.crt', caB + mutant.pem)],
      code: 'InvalidPEM',
      message: /^configMap ns\/c key ca\.crt: CERTIFICATE block 2 of 2 \(SHA-256 [0-9a-f]{16}\) does not load in OpenSSL/,
    },
    {
      name: 'blocks other than CERTIFICATE are refused',
      materials: () => [src('inline', caA + encodePem('X509 CRL', new Uint8Array([1, 2, 3, 4])))],
      code: 'InvalidPEM',
      message: /"X509 CRL"/,
    },
    { name: 'a bundle of expired certificates only is refused', materials: () => [src('inline', old)], code: 'BundleExpired', message: /all 1 certificate/ },
    // Found by test/unit/fuzz/bundle.test.ts: the check looked at the sources, so a filter could leave expired ones only.
    {
      name: 'a bundle that the filters leave with expired certificates only is refused',
      materials: () => [src('inline', old + leaf)],
      options: { excludeNonCA: true },
      code: 'BundleExpired',
      message: /all 1 certificate\(s\) left after the filters have expired/,
    },
    { name: 'no sources give an empty bundle', materials: () => [], code: 'BundleEmpty', message: /hold no certificates/ },
    {
      name: 'filters that leave nothing give an empty bundle',
      materials: () => [src('inline', leaf)],
      options: { excludeNonCA: true },
      code: 'BundleEmpty',
      message: /filters left out all 1/,
    },
    {
      name: 'a bundle beyond the size limit is refused',
      materials: () => [src('inline', caA + caB)],
      options: { maxBytes: 1000 },
      code: 'BundleTooLarge',
      message: /more than the 1000/,
    },
  ];
  for (const c of refusals) {
    it(c.name, () => {
      assert.throws(
        () => buildBundle(c.materials(), opts(c.options)),
        (err: Error) => {
          assert.equal(errorCode(err), c.code);
          assert.match(err.message, c.message);
          assert.doesNotMatch(err.message, /BEGIN|MII/, 'no PEM in messages');
          return true;
        },
      );
    });
  }
});
