// Strict PEM handling: blocks are parsed exactly, and only CERTIFICATE blocks pass where certificates are
// expected, so a private key pasted into a bundle is refused instead of copied along.
import { X509Certificate } from 'node:crypto';
import { CertsmithError } from '../errors.ts';

export interface PemBlock {
  label: string;
  der: Uint8Array;
  /** RFC 1421 headers (legacy encrypted keys: Proc-Type, DEK-Info), present only when the block has some. */
  headers?: Record<string, string>;
}

const BEGIN = /^-----BEGIN ([A-Z0-9 ]+)-----$/;
const END = /^-----END ([A-Z0-9 ]+)-----$/;
const HEADER = /^([A-Za-z0-9-]+):\s*(.*)$/;
const BASE64_LINE = /^[A-Za-z0-9+/]+={0,2}$/;

/** Splits PEM text into blocks. Text outside blocks is ignored; a malformed block throws InvalidPEM. */
export function splitPem(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  let open: { label: string; line: number; body: string[]; headers: Record<string, string>; padded: boolean } | undefined;
  const lines = text.split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = raw.trim();
    const where = `line ${i + 1}`;
    if (open === undefined) {
      const begin = BEGIN.exec(line);
      if (begin) open = { label: begin[1]!, line: i + 1, body: [], headers: {}, padded: false };
      continue;
    }
    const { label } = open;
    const end = END.exec(line);
    if (end) {
      if (end[1] !== label) throw new CertsmithError('InvalidPEM', `PEM block "${label}" ends with "END ${end[1]}" (${where})`);
      const b64 = open.body.join('');
      if (b64.length === 0) throw new CertsmithError('InvalidPEM', `PEM block "${label}" is empty (${where})`);
      if (b64.length % 4 !== 0) throw new CertsmithError('InvalidPEM', `PEM block "${label}" has a truncated base64 body (${where})`);
      const block: PemBlock = { label, der: new Uint8Array(Buffer.from(b64, 'base64')) };
      if (Object.keys(open.headers).length > 0) block.headers = open.headers;
      blocks.push(block);
      open = undefined;
      continue;
    }
    if (BEGIN.test(line)) {
      throw new CertsmithError('InvalidPEM', `PEM block "${label}" from line ${open.line} is not terminated before the next BEGIN (${where})`);
    }
    if (line === '') continue;
    // Headers may only come before the body (RFC 1421); a colon later means the body is damaged.
    const header = open.body.length === 0 ? HEADER.exec(line) : null;
    if (header) {
      open.headers[header[1]!] = header[2]!;
      continue;
    }
    if (open.padded) throw new CertsmithError('InvalidPEM', `PEM block "${label}" continues after base64 padding (${where})`);
    if (!BASE64_LINE.test(line)) throw new CertsmithError('InvalidPEM', `PEM block "${label}" has a line that is not base64 (${where})`);
    open.padded = line.endsWith('=');
    open.body.push(line);
  }
  if (open !== undefined) throw new CertsmithError('InvalidPEM', `PEM block "${open.label}" from line ${open.line} has no END line`);
  return blocks;
}

/** DER of every certificate in the text, in order. Anything that is not a CERTIFICATE block is refused. */
export function parseCertificatesPem(text: string): Uint8Array[] {
  const blocks = splitPem(text);
  if (blocks.length === 0) throw new CertsmithError('InvalidPEM', 'no PEM CERTIFICATE block found');
  const other = blocks.find((b) => b.label !== 'CERTIFICATE');
  if (other) {
    const hint = other.label.includes('PRIVATE KEY') ? ': a private key must never be placed among certificates' : '';
    throw new CertsmithError('InvalidPEM', `expected only CERTIFICATE blocks, found a "${other.label}" block${hint}`);
  }
  // Well-formed base64 can still hold anything: each block must decode as a certificate. OpenSSL's parser (node:crypto)
  // checks that in ~20 µs, a tenth of the ASN.1 schema walk, and every reconcile reads a Secret's chain and ca.crt.
  for (const [i, b] of blocks.entries()) {
    try {
      new X509Certificate(b.der);
    } catch (err) {
      throw new CertsmithError('InvalidPEM', `CERTIFICATE block ${i + 1} of ${blocks.length} is not a valid X.509 certificate`, {
        cause: err,
      });
    }
  }
  return blocks.map((b) => b.der);
}

/** PEM with 64-character lines and a trailing newline, as OpenSSL writes it. */
export function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
