// JKS and PKCS#12 truststores: byte-identical on every run, and read back by real tools (openssl, and keytool —
// test/env/system-packages.sh installs a headless JRE for it) and by a small JKS parser that also checks the integrity digest. openssl accepting the MAC is
// what checks the PKCS#12 KDF.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodePem } from '../../../src/pki/index.ts';
import { createGeneration } from '../../../src/signers/managed-ca.ts';
import { encodeJks, encodePkcs12 } from '../../../src/trust/formats.ts';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/** A missing tool fails the run with a message saying how to get it; it is never a skip. */
function requireTool(cmd: string): void {
  const r = spawnSync(cmd, ['-help'], { stdio: 'ignore' });
  assert.equal(r.error, undefined, `${cmd} is not on PATH: run test/env/system-packages.sh (npm test does) to install it`);
}

async function caDer(commonName: string, notBefore: Date): Promise<Uint8Array> {
  return (await createGeneration({ commonName, durationMs: 90 * 86_400_000, key: { algorithm: 'ECDSA', size: 256 } }, notBefore)).der;
}

/** Reads a JKS truststore back and checks its digest; throws on anything it does not expect. */
function parseJks(buf: Buffer, password: string) {
  let at = 0;
  const u16 = () => ((at += 2), buf.readUInt16BE(at - 2));
  const u32 = () => ((at += 4), buf.readUInt32BE(at - 4));
  const str = () => {
    const n = u16();
    return ((at += n), buf.subarray(at - n, at).toString('utf8'));
  };
  assert.equal(u32(), 0xfeedfeed);
  assert.equal(u32(), 2);
  const entries = [];
  for (let i = u32(); i > 0; i--) {
    assert.equal(u32(), 2, 'trusted certificate entry');
    const alias = str();
    const time = Number(buf.readBigInt64BE(at));
    at += 8;
    assert.equal(str(), 'X.509');
    const n = u32();
    entries.push({ alias, time, der: buf.subarray(at, (at += n)) });
  }
  const pw = Buffer.from(password, 'utf16le').swap16();
  const expected = createHash('sha1').update(pw).update('Mighty Aphrodite').update(buf.subarray(0, at)).digest();
  assert.deepEqual(buf.subarray(at), expected, 'digest');
  return entries;
}

describe('truststore formats', () => {
  let ders: Uint8Array[];
  let dir: string;
  before(async () => {
    ders = [await caDer('format root A', new Date('2026-01-01T00:00:00Z')), await caDer('format root B', new Date('2026-02-01T00:00:00Z'))];
    ders.sort((a, b) => sha256(a).localeCompare(sha256(b)));
    dir = mkdtempSync(join(tmpdir(), 'certsmith-formats-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const password of ['', 'changeit']) {
    const label = password ? `password "${password}"` : 'an empty password';
    it(`JKS with ${label}: same bytes every run, aliases from fingerprints, notBefore as time, valid digest`, () => {
      const a = encodeJks({ ders, password });
      assert.deepEqual(encodeJks({ ders, password }), a);
      const entries = parseJks(a, password);
      assert.deepEqual(
        entries.map((e) => e.alias),
        ders.map(sha256),
      );
      assert.deepEqual(
        entries.map((e) => Buffer.from(e.der)),
        ders.map((d) => Buffer.from(d)),
      );
      assert.deepEqual(
        entries.map((e) => e.time),
        ders.map((d) => new X509Certificate(d).validFromDate.getTime()),
      );
      assert.throws(() => parseJks(a, password + 'wrong'), /digest/);
    });

    it(`PKCS#12 with ${label}: same bytes every run; openssl verifies the MAC and lists the certificates`, () => {
      requireTool('openssl');
      const p12 = encodePkcs12({ ders, password });
      assert.deepEqual(encodePkcs12({ ders, password }), p12);
      const file = join(dir, `t${password.length}.p12`);
      writeFileSync(file, p12);
      const out = execFileSync('openssl', ['pkcs12', '-in', file, '-nokeys', '-passin', `pass:${password}`], { encoding: 'utf8' });
      const pems = out.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n/g) ?? [];
      assert.deepEqual(
        pems,
        ders.map((d) => encodePem('CERTIFICATE', d)),
      );
      const info = spawnSync('openssl', ['pkcs12', '-in', file, '-info', '-nokeys', '-passin', `pass:${password}`], { encoding: 'utf8' });
      assert.match(info.stderr, /MAC: sha256, Iteration 2048/);
      const bad = spawnSync('openssl', ['pkcs12', '-in', file, '-nokeys', '-passin', `pass:${password}wrong`]);
      assert.notEqual(bad.status, 0, 'a wrong password fails the MAC');
    });

    for (const [type, encode] of [
      ['JKS', encodeJks],
      ['PKCS12', encodePkcs12],
    ] as const) {
      it(`keytool lists the ${type} store (${label}) as trusted certificate entries`, () => {
        requireTool('keytool');
        const file = join(dir, `k${password.length}.${type}`);
        writeFileSync(file, encode({ ders, password }));
        // keytool breaks base64 lines with CRLF.
        const out = execFileSync('keytool', ['-list', '-keystore', file, '-storetype', type, '-storepass', password, '-rfc'], {
          encoding: 'utf8',
        }).replaceAll('\r', '');
        for (const d of ders) {
          assert.match(out, new RegExp(`Alias name: ${sha256(d)}`));
          assert.ok(out.includes(encodePem('CERTIFICATE', d).trim()), 'certificate listed');
        }
        assert.equal((out.match(/Entry type: trustedCertEntry/g) ?? []).length, ders.length);
      });
    }
  }
});
