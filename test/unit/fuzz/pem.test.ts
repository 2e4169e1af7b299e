// Properties of the PEM parsers (pki/pem.ts, pki/keys.ts, reload/pem.ts) over generated and mutated text.
import assert from 'node:assert/strict';
import { parsePrivateKeyPem, encodePrivateKeyPem, keySpecOf } from '../../../src/pki/keys.ts';
import { encodePem, parseCertificatesPem, splitPem, type PemBlock } from '../../../src/pki/pem.ts';
import { parseCertificates } from '../../../src/reload/pem.ts';
import { mutateBytes, mutateString, property, refusesOnlyWith, shrinkString, type Random } from './harness.ts';
import { certificates, privateKeys } from './material.ts';

const samples = await certificates();
const keys = await privateKeys();

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
// Pieces of PEM syntax, so random text forms lines a PEM parser has to think about.
const PEM_TOKENS = [
  '-----BEGIN CERTIFICATE-----',
  '-----END CERTIFICATE-----',
  '-----BEGIN PRIVATE KEY-----',
  '-----END PRIVATE KEY-----',
  '-----BEGIN ',
  '-----END ',
  '-----',
  'CERTIFICATE',
  'Proc-Type: 4,ENCRYPTED',
  'DEK-Info: AES-128-CBC,00',
  '\n',
  '\n',
  '\r\n',
  ' ',
  '\t',
  'MIIB',
  'AAAA',
  'A',
  '=',
  '==',
  ':',
  'x',
];

/** Certificates (and now and then a key) as PEM, with text, blank lines and CRLFs around them. */
function pemText(r: Random, pool: readonly string[]): string {
  const parts: string[] = [];
  for (let n = r.range(0, 3); n > 0; n--) {
    if (r.chance(0.3)) parts.push(r.pick(['# comment\n', '\n', '  \n', 'subject=CN=x\n', '\t\n']));
    parts.push(r.pick(pool));
  }
  const text = parts.join('');
  return r.chance(0.3) ? text.replaceAll('\n', '\r\n') : text;
}

/** Text a PEM parser may meet: token soup, mutated PEM, or PEM around a certificate whose DER bytes were changed. */
function untrustedPem(r: Random, size: number): string {
  const pool = [...samples.map((s) => s.pem), ...(r.chance(0.2) ? keys : [])];
  return r.weighted<string>([
    [2, () => r.string(PEM_TOKENS, r.length(size))],
    [5, () => mutateString(r, pemText(r, pool), r.chance(0.5) ? BASE64 : PEM_TOKENS)],
    [3, () => encodePem(r.pick(['CERTIFICATE', 'CERTIFICATE', 'PRIVATE KEY', 'X509 CRL']), mutateBytes(r, r.pick(samples).der, r.range(1, 3)))],
    [1, () => pemText(r, pool)],
  ]);
}

const withoutHeaders = (blocks: readonly PemBlock[]) => blocks.map((b) => ({ label: b.label, der: b.der }));

property({
  name: 'splitPem throws nothing but InvalidPEM, and its blocks re-encode to the same blocks',
  iterations: 3000,
  generate: untrustedPem,
  shrink: shrinkString,
  check: (text) => {
    const split = refusesOnlyWith(['InvalidPEM'], () => splitPem(text));
    if (!split.ok) return;
    for (const b of split.value) {
      assert.match(b.label, /^[A-Z0-9 ]+$/);
      assert.ok(b.der.length > 0, 'a block is never empty');
    }
    const again = splitPem(split.value.map((b) => encodePem(b.label, b.der)).join(''));
    assert.deepEqual(again, withoutHeaders(split.value));
  },
});

property({
  name: 'encodePem and splitPem round-trip any label and bytes, with CRLFs and text around the block',
  iterations: 1500,
  generate: (r, size) => ({
    label: r.string('ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ', r.range(1, 24)),
    der: r.bytes(r.range(1, size * 20)),
    crlf: r.chance(0.5),
    before: r.pick(['', 'Subject: CN=x\n', '\n\n', 'junk ----- text\n']),
    after: r.pick(['', '\n', 'trailing text', '\r\n\r\n']),
  }),
  check: ({ label, der, crlf, before, after }) => {
    const pem = encodePem(label, der);
    const text = before + (crlf ? pem.replaceAll('\n', '\r\n') : pem) + after;
    assert.deepEqual(splitPem(text), [{ label, der }]);
  },
});

property({
  name: 'parseCertificatesPem throws nothing but InvalidPEM, and what it accepts re-encodes to the same certificates',
  iterations: 1500,
  generate: untrustedPem,
  shrink: shrinkString,
  check: (text) => {
    const parsed = refusesOnlyWith(['InvalidPEM'], () => parseCertificatesPem(text));
    if (!parsed.ok) return;
    assert.ok(parsed.value.length > 0);
    assert.deepEqual(parseCertificatesPem(parsed.value.map((der) => encodePem('CERTIFICATE', der)).join('')), parsed.value);
  },
});

property({
  name: 'parsePrivateKeyPem throws nothing but InvalidPEM or UnsupportedKey, and a key it reads re-encodes to the same key',
  iterations: 600,
  generate: (r, size) =>
    r.weighted<string>([
      [3, () => mutateString(r, r.pick(keys), r.chance(0.5) ? BASE64 : PEM_TOKENS)],
      [
        4,
        () => {
          const [block] = splitPem(r.pick(keys));
          return encodePem(
            r.chance(0.8) ? block!.label : r.pick(['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY']),
            mutateBytes(r, block!.der, r.range(1, 2)),
          );
        },
      ],
      [1, () => r.string(PEM_TOKENS, r.length(size))],
      [1, () => r.pick(keys) + r.pick(keys)],
    ]),
  shrink: shrinkString,
  check: (text) => {
    const parsed = refusesOnlyWith(['InvalidPEM', 'UnsupportedKey'], () => parsePrivateKeyPem(text));
    if (!parsed.ok) return;
    const key = parsed.value;
    const again = parsePrivateKeyPem(encodePrivateKeyPem(key, 'PKCS8'));
    assert.deepEqual(keySpecOf(again), keySpecOf(key));
    assert.deepEqual(again.export({ format: 'der', type: 'pkcs8' }), key.export({ format: 'der', type: 'pkcs8' }));
  },
});

property({
  name: "reload's parseCertificates never throws, and reads a clean file as exactly its certificates",
  iterations: 1500,
  generate: (r, size) => {
    const chosen = Array.from({ length: r.range(1, 4) }, () => r.pick(samples));
    const gap = () => r.pick(['', '\n', '\r\n', ' \t\n', '\n\n']);
    const clean = gap() + chosen.map((s) => (r.chance(0.3) ? s.pem.replaceAll('\n', '\r\n') : s.pem)).join(gap()) + gap();
    const text = r.weighted<string>([
      [3, () => clean],
      [5, () => mutateString(r, clean, r.chance(0.5) ? BASE64 : PEM_TOKENS)],
      [2, () => untrustedPem(r, size)],
    ]);
    return { text, expected: text === clean ? chosen.map((s) => s.der) : undefined };
  },
  shrink: function* ({ text }) {
    for (const t of shrinkString(text)) yield { text: t, expected: undefined };
  },
  show: ({ text }) => JSON.stringify(text),
  check: ({ text, expected }) => {
    const result = parseCertificates(text);
    if (!result.ok) {
      assert.ok(expected === undefined, `refused a clean file: ${result.reason}`);
      assert.ok(result.reason.length > 0 && result.reason.length < 200 && !result.reason.includes('\n'), 'a reason is one short line');
      return;
    }
    if (expected !== undefined) {
      assert.deepEqual(
        result.certificates.map((c) => new Uint8Array(c.raw)),
        expected,
      );
    }
  },
});

property({
  name: 'the PEM parsers stay within their CPU bound on 128 KiB of PEM-like text, blocks left open included',
  iterations: 8,
  maxInputMs: 100,
  generate: (r) => {
    const line = () =>
      r.weighted<string>([
        [6, () => r.string(BASE64, 64)],
        [1, () => r.pick(PEM_TOKENS)],
        [1, () => r.pick(samples).pem],
      ]);
    let text = '';
    while (text.length < 128 * 1024) text += `${line()}${r.pick(['\n', '\r\n', ''])}`;
    return text;
  },
  show: (text) => `${text.length} characters starting ${JSON.stringify(text.slice(0, 200))}`,
  check: (text) => {
    refusesOnlyWith(['InvalidPEM'], () => splitPem(text));
    refusesOnlyWith(['InvalidPEM'], () => parseCertificatesPem(text));
    parseCertificates(text);
  },
});
