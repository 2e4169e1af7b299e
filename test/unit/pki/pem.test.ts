import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { before, describe, it } from 'node:test';
import { isCertsmithError } from '../../../src/errors.ts';
import { encodePem, parseCertificatesPem, splitPem } from '../../../src/pki/pem.ts';
import { selfSignedCertificate } from './fixtures.ts';

let certA: Uint8Array;
let certB: Uint8Array;
let pemA: string;
let pemB: string;
const privateKeyPem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;

before(async () => {
  certA = await selfSignedCertificate('a.example');
  certB = await selfSignedCertificate('b.example');
  pemA = encodePem('CERTIFICATE', certA);
  pemB = encodePem('CERTIFICATE', certB);
});

function invalidPem(message: RegExp) {
  return (err: unknown) => {
    assert.ok(isCertsmithError(err, 'InvalidPEM'), `expected an InvalidPEM CertsmithError, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  };
}

describe('parseCertificatesPem', () => {
  const accepted: { name: string; text: () => string; expected: () => Uint8Array[] }[] = [
    { name: 'one certificate gives its DER', text: () => pemA, expected: () => [certA] },
    { name: 'two certificates give both DERs in order', text: () => pemA + pemB, expected: () => [certA, certB] },
    {
      name: 'text between and around blocks (as openssl prints it) is ignored',
      text: () => `subject=CN=a.example\n${pemA}\nissuer=CN=b.example\n${pemB}trailing words\n`,
      expected: () => [certA, certB],
    },
    { name: 'CRLF line endings are read like LF', text: () => pemA.replaceAll('\n', '\r\n'), expected: () => [certA] },
    { name: 'a body without line breaks is read', text: () => unwrapped(pemA), expected: () => [certA] },
  ];
  for (const c of accepted) {
    it(c.name, () => {
      assert.deepEqual(parseCertificatesPem(c.text()), c.expected());
    });
  }

  const refused: { name: string; text: () => string; message: RegExp }[] = [
    { name: 'empty text is refused: there is no certificate', text: () => '', message: /no PEM CERTIFICATE block found/ },
    { name: 'text without any PEM block is refused', text: () => 'this is not PEM\n', message: /no PEM CERTIFICATE block found/ },
    {
      name: 'a private key among certificates is refused, naming the block',
      text: () => pemA + privateKeyPem,
      message: /found a "PRIVATE KEY" block: a private key must never be placed among certificates/,
    },
    { name: 'a private key alone is refused', text: () => privateKeyPem, message: /"PRIVATE KEY"/ },
    {
      name: 'another block type is refused, naming its label',
      text: () => encodePem('X509 CRL', new Uint8Array([1, 2, 3])),
      message: /found a "X509 CRL" block/,
    },
    {
      name: 'a body line with characters outside base64 is refused with its line number',
      text: () => pemA.replace(/\n(.{10})/, '\n$1!*'),
      message: /"CERTIFICATE" has a line that is not base64 \(line 2\)/,
    },
    { name: 'a block without END is refused', text: () => pemA.replace('-----END CERTIFICATE-----\n', ''), message: /has no END line/ },
    {
      name: 'a block whose END label differs is refused',
      text: () => pemA.replace('END CERTIFICATE', 'END PRIVATE KEY'),
      message: /"CERTIFICATE" ends with "END PRIVATE KEY"/,
    },
    {
      name: 'a BEGIN inside an open block is refused',
      text: () => pemA.replace('-----END CERTIFICATE-----\n', '') + pemB,
      message: /not terminated before the next BEGIN/,
    },
    {
      name: 'a base64 body cut short is refused',
      text: () => pemA.replace(/\n(.{63}).\n/, '\n$1\n'),
      message: /truncated base64 body/,
    },
    {
      name: 'base64 padding in the middle of the body is refused',
      text: () => '-----BEGIN CERTIFICATE-----\nAA==\nAAAA\n-----END CERTIFICATE-----\n',
      message: /continues after base64 padding/,
    },
    {
      name: 'an empty block is refused',
      text: () => '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n',
      message: /"CERTIFICATE" is empty/,
    },
    {
      name: 'a CERTIFICATE block that does not hold a certificate is refused',
      text: () => pemA + encodePem('CERTIFICATE', new TextEncoder().encode('definitely not DER')),
      message: /CERTIFICATE block 2 of 2 is not a valid X\.509 certificate/,
    },
  ];
  for (const c of refused) {
    it(c.name, () => {
      assert.throws(() => parseCertificatesPem(c.text()), invalidPem(c.message));
    });
  }
});

describe('splitPem', () => {
  it('returns every block with its label, whatever the label', () => {
    const blocks = splitPem(pemA + privateKeyPem);
    assert.deepEqual(
      blocks.map((b) => b.label),
      ['CERTIFICATE', 'PRIVATE KEY'],
    );
    assert.deepEqual(blocks[0]!.der, certA);
  });
  it('reads RFC 1421 headers before the body and reports them', () => {
    const text = '-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00FF\n\nAAAA\n-----END RSA PRIVATE KEY-----\n';
    const [block] = splitPem(text);
    assert.deepEqual(block!.headers, { 'Proc-Type': '4,ENCRYPTED', 'DEK-Info': 'AES-128-CBC,00FF' });
    assert.deepEqual(block!.der, new Uint8Array([0, 0, 0]));
  });
  it('refuses a header-like line in the middle of the body', () => {
    const text = '-----BEGIN CERTIFICATE-----\nAAAA\nKey: value\nAAAA\n-----END CERTIFICATE-----\n';
    assert.throws(() => splitPem(text), invalidPem(/not base64 \(line 3\)/));
  });
  it('returns no blocks for text without PEM', () => {
    assert.deepEqual(splitPem('hello\nworld\n'), []);
  });
});

describe('encodePem', () => {
  it('writes 64-character lines and ends with a newline', () => {
    const pem = encodePem('CERTIFICATE', new Uint8Array(150).fill(7)); // 200 base64 characters
    assert.deepEqual(
      pem.split('\n').map((l) => (l.startsWith('-----') || l === '' ? l : l.length)),
      ['-----BEGIN CERTIFICATE-----', 64, 64, 64, 8, '-----END CERTIFICATE-----', ''],
    );
  });
  it('round-trips through parseCertificatesPem', () => {
    assert.deepEqual(parseCertificatesPem(encodePem('CERTIFICATE', certB)), [certB]);
  });
});

function unwrapped(pem: string): string {
  const lines = pem.trim().split('\n');
  return `${lines[0]}\n${lines.slice(1, -1).join('')}\n${lines.at(-1)}\n`;
}
