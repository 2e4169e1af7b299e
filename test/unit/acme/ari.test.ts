// certIdOf is checked against certificates the openssl CLI makes, so the DER reading is not only checked against itself.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ARI_DEFAULT_CHECK_MS,
  ARI_MIN_CHECK_MS,
  certIdOf,
  momentInWindow,
  nextAriCheck,
  renewalTimeWithAri,
  serialNumberBytes,
} from '../../../src/acme/ari.ts';
import { isCertsmithError } from '../../../src/errors.ts';
import { describeCertificate } from '../../../src/pki/inspect.ts';

const MIN = 60_000;
const H = 60 * MIN;

function openssl(args: string[], cwd: string): string {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' });
  if (r.error) {
    assert.fail(`the openssl CLI is needed to make test certificates and could not run (${r.error.message}): install it, e.g. apt-get install -y openssl`);
  }
  assert.equal(r.status, 0, `openssl ${args.join(' ')} failed with exit ${r.status}:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** The certificate's DER and what openssl prints as its serial and authority key identifier (upper-case hex, no colons). */
interface Made {
  der: Uint8Array;
  opensslSerial: string;
  opensslAki: string | undefined;
}

describe('certIdOf, on certificates made by openssl', () => {
  let dir: string;
  // A CA whose subject key identifier is the one of RFC 9773's example, and leaves it signs.
  const rfcKeyId = '69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4';
  let rfcExample: Made;
  let highSerial: Made;
  let smallSerial: Made;
  let versionOne: Made;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'certsmith-ari-'));
    const run = (args: string[]) => openssl(args, dir);
    const newKey = (file: string) => run(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]);
    newKey('ca.key');
    newKey('ca2.key');
    newKey('leaf.key');
    run([
      'req',
      '-x509',
      '-new',
      '-key',
      'ca.key',
      '-subj',
      '/CN=ARI example CA',
      '-days',
      '1',
      '-addext',
      `subjectKeyIdentifier=${rfcKeyId}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-out',
      'ca.crt',
    ]);
    // This CA's key identifier is openssl's own (a SHA-1 of the key), which certsmith must read back the same.
    run([
      'req',
      '-x509',
      '-new',
      '-key',
      'ca2.key',
      '-subj',
      '/CN=ARI hashed-id CA',
      '-days',
      '1',
      '-addext',
      'subjectKeyIdentifier=hash',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-out',
      'ca2.crt',
    ]);
    run(['req', '-new', '-key', 'leaf.key', '-subj', '/CN=leaf.example.com', '-out', 'leaf.csr']);
    writeFileSync(join(dir, 'leaf.ext'), 'authorityKeyIdentifier=keyid:always\nbasicConstraints=CA:FALSE\n');
    const issue = (ca: string, serial: string, out: string, ext = true): Made => {
      run([
        'x509',
        '-req',
        '-in',
        'leaf.csr',
        '-CA',
        `${ca}.crt`,
        '-CAkey',
        `${ca}.key`,
        '-set_serial',
        serial,
        '-days',
        '1',
        ...(ext ? ['-extfile', 'leaf.ext'] : []),
        '-out',
        out,
      ]);
      const printedSerial = /^serial=([0-9A-F]+)$/m.exec(run(['x509', '-in', out, '-noout', '-serial']))?.[1];
      assert.ok(printedSerial, `openssl printed no serial for ${out}`);
      let aki: string | undefined;
      if (ext) {
        const printed = run(['x509', '-in', out, '-noout', '-ext', 'authorityKeyIdentifier']);
        aki = /((?:[0-9A-F]{2}:)+[0-9A-F]{2})/.exec(printed)?.[1]?.replaceAll(':', '');
        assert.ok(aki, `openssl printed no authority key identifier for ${out}:\n${printed}`);
      }
      return { der: new X509Certificate(readFileSync(join(dir, out))).raw, opensslSerial: printedSerial, opensslAki: aki };
    };
    rfcExample = issue('ca', '0x87654321', 'rfc.crt');
    highSerial = issue('ca2', '0xF00DCAFE0123456789ABCDEF0123456789ABCD', 'high.crt');
    smallSerial = issue('ca2', '0x05', 'small.crt');
    versionOne = issue('ca2', '0x8A', 'v1.crt', false);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('needs the openssl CLI on PATH', () => assert.match(openssl(['version'], tmpdir()), /^OpenSSL \d/));

  it('gives the certID of RFC 9773 section 4.1 for a certificate with that example AKI and serial', () => {
    const info = describeCertificate(rfcExample.der);
    assert.equal(certIdOf(rfcExample.der, info.authorityKeyId), 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
  });

  it('reads the same authority key identifier openssl prints', () => {
    for (const made of [rfcExample, highSerial]) {
      assert.equal(describeCertificate(made.der).authorityKeyId, made.opensslAki!.toLowerCase());
    }
  });

  it('keeps the leading zero byte of a serial whose first byte is 0x80 or more', () => {
    const info = describeCertificate(highSerial.der);
    const [aki, serial] = certIdOf(highSerial.der, info.authorityKeyId).split('.');
    assert.equal(Buffer.from(aki!, 'base64url').toString('hex').toUpperCase(), highSerial.opensslAki);
    assert.equal(Buffer.from(serial!, 'base64url').toString('hex').toUpperCase(), `00${highSerial.opensslSerial}`);
  });

  it('encodes a serial that needs no leading zero as its one byte', () => {
    assert.equal(smallSerial.opensslSerial, '05');
    assert.equal(certIdOf(smallSerial.der, describeCertificate(smallSerial.der).authorityKeyId).split('.')[1], 'BQ');
  });

  it('reads the serial of a version 1 certificate, which has no explicit version field', () => {
    assert.equal(Buffer.from(serialNumberBytes(versionOne.der)).toString('hex').toUpperCase(), `00${versionOne.opensslSerial}`);
  });

  it('uses base64url without padding for both parts', () => {
    // An AKI whose base64 would hold "+", "/" and "=": fb ff bf → "-_-_" in base64url, "+/+/" in base64.
    const id = certIdOf(smallSerial.der, 'fbffbffbff');
    assert.equal(id, '-_-_-_8.BQ');
  });
});

describe('certIdOf refuses what has no certID', () => {
  it('throws InvalidPEM when the certificate has no authority key identifier', () => {
    assert.throws(
      () => certIdOf(new Uint8Array([0x30, 0x00]), undefined),
      (err) => isCertsmithError(err, 'InvalidPEM') && /no authority key identifier/.test(err.message),
    );
  });

  const bad: { name: string; der: number[] }[] = [
    { name: 'throws InvalidPEM for bytes that are not a SEQUENCE', der: [0x04, 0x01, 0x00] },
    { name: 'throws InvalidPEM for a truncated certificate', der: [0x30, 0x82, 0x01, 0x00, 0x30, 0x03] },
    { name: 'throws InvalidPEM when the serial is not an INTEGER', der: [0x30, 0x05, 0x30, 0x03, 0x04, 0x01, 0x01] },
    { name: 'throws InvalidPEM for an empty input', der: [] },
    { name: 'throws InvalidPEM for a length of more than four bytes', der: [0x30, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00] },
  ];
  for (const c of bad) {
    it(c.name, () =>
      assert.throws(
        () => certIdOf(new Uint8Array(c.der), 'aabb'),
        (err) => isCertsmithError(err, 'InvalidPEM'),
      ),
    );
  }
});

describe('momentInWindow', () => {
  const window = { start: new Date('2026-05-01T00:00:00Z'), end: new Date('2026-05-03T00:00:00Z') };
  const ids = Array.from({ length: 400 }, (_, i) => `aYhba4dGQEHhs3uEe6CuLN4ByNQ.${Buffer.from([0, i >> 8, i & 255]).toString('base64url')}`);

  it('falls inside the window for every certificate', () => {
    for (const id of ids) {
      const t = momentInWindow(window, id).getTime();
      assert.ok(t >= window.start.getTime() && t < window.end.getTime(), `${id}: ${new Date(t).toISOString()}`);
    }
  });

  it('is the same moment every time for one certificate', () => {
    const copy = { start: new Date(window.start), end: new Date(window.end) };
    assert.equal(momentInWindow(window, ids[7]!).getTime(), momentInWindow(copy, ids[7]!).getTime());
  });

  it('spreads certificates over the whole window', () => {
    // Eight slots of six hours each: with 400 certificates every slot gets some, and none gets most.
    const span = window.end.getTime() - window.start.getTime();
    const slots = new Array<number>(8).fill(0);
    for (const id of ids) slots[Math.floor(((momentInWindow(window, id).getTime() - window.start.getTime()) / span) * 8)]!++;
    for (const n of slots) assert.ok(n >= 20 && n <= 100, `slots: ${slots.join(', ')}`);
    assert.ok(new Set(ids.map((id) => momentInWindow(window, id).getTime())).size > 390);
  });

  it('is the start of an empty window', () => {
    const at = new Date('2026-05-01T00:00:00Z');
    assert.equal(momentInWindow({ start: at, end: at }, ids[0]!).getTime(), at.getTime());
  });

  it('is the start of a window that ends before it starts', () => {
    assert.equal(momentInWindow({ start: window.end, end: window.start }, ids[0]!).getTime(), window.end.getTime());
  });
});

describe('renewalTimeWithAri', () => {
  const window = { start: new Date('2026-05-01T00:00:00Z'), end: new Date('2026-05-02T00:00:00Z') };
  const certID = 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE';
  const caMoment = momentInWindow(window, certID);
  const cases: { name: string; local: Date; window?: typeof window; certID?: string; expected: Date }[] = [
    { name: 'takes the CA moment when it is earlier than the local renewal time', local: new Date('2026-06-01T00:00:00Z'), window, certID, expected: caMoment },
    {
      name: 'keeps the local renewal time when the CA window is later',
      local: new Date('2026-04-01T00:00:00Z'),
      window,
      certID,
      expected: new Date('2026-04-01T00:00:00Z'),
    },
    { name: 'keeps the local renewal time without a window', local: new Date('2026-06-01T00:00:00Z'), certID, expected: new Date('2026-06-01T00:00:00Z') },
    { name: 'keeps the local renewal time without a certID', local: new Date('2026-06-01T00:00:00Z'), window, expected: new Date('2026-06-01T00:00:00Z') },
  ];
  for (const c of cases) it(c.name, () => assert.equal(renewalTimeWithAri(c.local, c.window, c.certID).getTime(), c.expected.getTime()));

  it('keeps the local renewal time when it falls inside the window before the CA moment', () => {
    const local = new Date(caMoment.getTime() - 1);
    assert.ok(local >= window.start);
    assert.equal(renewalTimeWithAri(local, window, certID).getTime(), local.getTime());
  });
});

describe('nextAriCheck', () => {
  const now = new Date('2026-05-01T12:00:00Z');
  const cases: { name: string; retryAfterMs: number | undefined; maxMs?: number; waitMs: number }[] = [
    { name: 'asks again after 6 hours when the CA sent no Retry-After', retryAfterMs: undefined, waitMs: 6 * H },
    { name: 'follows a Retry-After inside the bounds', retryAfterMs: 2 * H, waitMs: 2 * H },
    { name: 'waits at least a minute when the CA asks for less', retryAfterMs: 5_000, waitMs: MIN },
    { name: 'waits at least a minute for a Retry-After of zero', retryAfterMs: 0, waitMs: MIN },
    { name: 'waits at least a minute for a negative Retry-After', retryAfterMs: -H, waitMs: MIN },
    { name: 'waits exactly a minute when asked for a minute', retryAfterMs: MIN, waitMs: MIN },
    { name: 'waits at most a day by default', retryAfterMs: 7 * 24 * H, waitMs: 24 * H },
    { name: 'waits at most the given maximum', retryAfterMs: 10 * H, maxMs: 3 * H, waitMs: 3 * H },
    { name: 'uses 6 hours below a larger maximum', retryAfterMs: undefined, maxMs: 48 * H, waitMs: 6 * H },
    { name: 'caps even the 6-hour default at a smaller maximum', retryAfterMs: undefined, maxMs: 2 * H, waitMs: 2 * H },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(nextAriCheck(now, c.retryAfterMs, c.maxMs).getTime() - now.getTime(), c.waitMs));
  }

  it('has a one-minute floor and a six-hour default', () => {
    assert.equal(ARI_MIN_CHECK_MS, MIN);
    assert.equal(ARI_DEFAULT_CHECK_MS, 6 * H);
  });
});
