// Strict PEM splitting: a certificate file holds CERTIFICATE blocks and whitespace, nothing else, so a half-written
// or wrong file is rejected instead of silently trusted in part.
import { X509Certificate } from 'node:crypto';

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]*?)-----END \1-----/g;

export type CertificatesResult = { ok: true; certificates: X509Certificate[] } | { ok: false; reason: string };

export function parseCertificates(text: string): CertificatesResult {
  const certificates: X509Certificate[] = [];
  let rest = text;
  for (const match of text.matchAll(BLOCK)) {
    rest = rest.replace(match[0], '');
    if (match[1] !== 'CERTIFICATE') return { ok: false, reason: `unexpected PEM block ${match[1]}` };
    try {
      certificates.push(new X509Certificate(Buffer.from(match[2] ?? '', 'base64')));
    } catch {
      return { ok: false, reason: `certificate ${certificates.length + 1} does not parse` };
    }
  }
  if (rest.trim() !== '') return { ok: false, reason: 'text outside PEM blocks' };
  return { ok: true, certificates };
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
