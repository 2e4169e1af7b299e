// Strict PEM handling: blocks are parsed exactly, and only CERTIFICATE blocks pass where certificates are
// expected, so a private key pasted into a bundle is refused instead of copied along.
import { CertsmithError } from '../errors.ts';

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

const BEGIN = /^-----BEGIN ([A-Z0-9 ]+)-----$/;
const END = /^-----END ([A-Z0-9 ]+)-----$/;
const BASE64_LINE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Splits PEM text into blocks. Text outside blocks is ignored; a malformed block throws InvalidPEM. */
export function splitPem(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  let label: string | undefined;
  let body: string[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (label === undefined) {
      const m = BEGIN.exec(line);
      if (m) {
        label = m[1]!;
        body = [];
      }
      return;
    }
    const end = END.exec(line);
    if (end) {
      if (end[1] !== label) throw new CertsmithError('InvalidPEM', `PEM block "${label}" ends with "END ${end[1]}" (line ${i + 1})`);
      const b64 = body.join('');
      if (b64.length === 0 || b64.length % 4 !== 0) throw new CertsmithError('InvalidPEM', `PEM block "${label}" has a truncated body`);
      blocks.push({ label, der: new Uint8Array(Buffer.from(b64, 'base64')) });
      label = undefined;
      return;
    }
    if (line.includes(':')) return; // RFC 1421 headers (Proc-Type, DEK-Info) are not part of the body
    if (!BASE64_LINE.test(line)) throw new CertsmithError('InvalidPEM', `PEM block "${label}" has a line that is not base64 (line ${i + 1})`);
    body.push(line);
  });
  if (label !== undefined) throw new CertsmithError('InvalidPEM', `PEM block "${label}" is not terminated`);
  return blocks;
}

/** DER of every certificate in the text, in order. Anything that is not a CERTIFICATE block is refused. */
export function parseCertificatesPem(text: string): Uint8Array[] {
  const blocks = splitPem(text);
  if (blocks.length === 0) throw new CertsmithError('InvalidPEM', 'no PEM CERTIFICATE block found');
  const other = blocks.find((b) => b.label !== 'CERTIFICATE');
  if (other) {
    const hint = other.label.includes('PRIVATE KEY') ? ' (a private key must never be placed among certificates)' : '';
    throw new CertsmithError('InvalidPEM', `expected only CERTIFICATE blocks, found "${other.label}"${hint}`);
  }
  return blocks.map((b) => b.der);
}

export function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
