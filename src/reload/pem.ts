// Strict PEM splitting: a certificate file holds CERTIFICATE blocks and whitespace, nothing else, so a half-written
// or wrong file is rejected instead of silently trusted in part.
import { X509Certificate } from 'node:crypto';

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]*?)-----END \1-----/g;

export type CertificatesResult = { ok: true; certificates: X509Certificate[] } | { ok: false; reason: string };

// Linear in the text: one pass of the regex, each gap between blocks checked once. (Cutting every block out of the
// remaining text, as this once did, copied the whole text per block: 1 MiB of certificates took seconds.)
export function parseCertificates(text: string): CertificatesResult {
  const certificates: X509Certificate[] = [];
  let end = 0; // where the last block ended
  for (const match of text.matchAll(BLOCK)) {
    if (!isBlank(text, end, match.index)) return { ok: false, reason: 'text outside PEM blocks' };
    end = match.index + match[0].length;
    if (match[1] !== 'CERTIFICATE') return { ok: false, reason: `unexpected PEM block ${match[1]}` };
    try {
      certificates.push(new X509Certificate(Buffer.from(match[2] ?? '', 'base64')));
    } catch {
      return { ok: false, reason: `certificate ${certificates.length + 1} does not parse` };
    }
  }
  if (!isBlank(text, end, text.length)) return { ok: false, reason: 'text outside PEM blocks' };
  return { ok: true, certificates };
}

const NOT_BLANK = /\S/g;

/** Whether text[from, to) is whitespace only (what String.prototype.trim removes), without copying it. */
function isBlank(text: string, from: number, to: number): boolean {
  NOT_BLANK.lastIndex = from;
  const found = NOT_BLANK.exec(text);
  return found === null || found.index >= to;
}

/** DNS names of a certificate's subjectAltName, lower case. The common name is not a name (RFC 6125 §6.4.4). */
export function dnsNames(cert: X509Certificate): string[] {
  const names: string[] = [];
  for (const entry of (cert.subjectAltName ?? '').split(', ')) {
    // Node quotes entries holding unusual characters; those are no valid DNS names anyway.
    if (entry.startsWith('DNS:') && !entry.startsWith('DNS:"')) names.push(entry.slice(4).toLowerCase());
  }
  return names;
}
