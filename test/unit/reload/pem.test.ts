// Strict PEM splitting in certsmith/reload: what is accepted and refused, and a parse time linear in the text, since
// a mounted bundle can be as large as a Secret or ConfigMap (1 MiB).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseCertificates } from '../../../src/reload/pem.ts';
import { assertLinear } from '../timing.ts';
import { makeCA, tempDir } from './fixtures.ts';

const MiB = 1024 * 1024;

let work: Awaited<ReturnType<typeof tempDir>>;
let root: string;
let other: string;

before(async () => {
  work = await tempDir();
  root = (await makeCA(work.path, 'PEM Test CA')).certPem;
  other = (await makeCA(work.path, 'Other PEM Test CA')).certPem;
});
after(() => work.remove());

/** `pem` repeated to about `bytes` bytes. */
const repeatedTo = (pem: string, bytes: number) => pem.repeat(Math.max(1, Math.round(bytes / pem.length)));

describe('parseCertificates', () => {
  const accepted: { name: string; text: () => string; count: number }[] = [
    { name: 'one certificate', text: () => root, count: 1 },
    { name: 'two certificates back to back', text: () => root + other, count: 2 },
    { name: 'blank lines and spaces around and between blocks', text: () => `\n  ${root}\n\n${other}  \n`, count: 2 },
    { name: 'CRLF line ends', text: () => (root + other).replaceAll('\n', '\r\n'), count: 2 },
    { name: 'the same certificate twice', text: () => root + root, count: 2 },
    { name: 'nothing but white space', text: () => ' \n\t\n', count: 0 },
  ];
  for (const c of accepted) {
    it(`accepts ${c.name}`, () => {
      const result = parseCertificates(c.text());
      assert.ok(result.ok, result.ok ? '' : result.reason);
      assert.equal(result.certificates.length, c.count);
    });
  }

  const refused: { name: string; text: () => string; reason: string }[] = [
    { name: 'a comment before the first block', text: () => `CA bundle\n${root}`, reason: 'text outside PEM blocks' },
    { name: 'text between two blocks', text: () => `${root}# next\n${other}`, reason: 'text outside PEM blocks' },
    { name: 'text after the last block', text: () => `${root}trailing`, reason: 'text outside PEM blocks' },
    { name: 'a block without its END line', text: () => `${root}${other.slice(0, -30)}`, reason: 'text outside PEM blocks' },
    {
      name: 'a private key block',
      text: () => `${root}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n`,
      reason: 'unexpected PEM block PRIVATE KEY',
    },
    {
      name: 'a block that is no certificate',
      text: () => `${root}-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n`,
      reason: 'certificate 2 does not parse',
    },
  ];
  for (const c of refused) {
    it(`refuses ${c.name}`, () => assert.deepEqual(parseCertificates(c.text()), { ok: false, reason: c.reason }));
  }

  // Cutting each block out of the rest of the text made this quadratic: 1 MiB of certificates took about a second
  // here (2.4 s on the reviewer's machine). Linear, it takes tens of milliseconds, almost all in X509Certificate.
  const inputs: { name: string; input: (bytes: number) => string }[] = [
    { name: 'a bundle of certificates', input: (bytes) => repeatedTo(root, bytes) },
    { name: 'a bundle of certificates with blank lines between them', input: (bytes) => repeatedTo(`${root}\n\n`, bytes) },
    { name: 'BEGIN lines with no END', input: (bytes) => repeatedTo('-----BEGIN CERTIFICATE-----\nAAAA\n', bytes) },
    { name: 'one BEGIN line and a body with no END', input: (bytes) => `-----BEGIN CERTIFICATE-----\n${'A'.repeat(bytes)}` },
    { name: 'white space with a character at the end', input: (bytes) => `${' '.repeat(bytes)}x` },
  ];
  for (const c of inputs) {
    it(`parses 1 MiB of ${c.name} in linear time, well under half a second`, (t) => {
      t.diagnostic(assertLinear({ input: c.input, run: parseCertificates, size: MiB, ceilingMs: 500 }));
    });
  }
});
