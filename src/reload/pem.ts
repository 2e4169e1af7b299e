// Strict PEM splitting: a file holds PEM blocks and whitespace, nothing else, so a half-written or wrong file is
// rejected instead of silently trusted in part.
import { X509Certificate } from 'node:crypto';

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]*?)-----END \1-----/g;

export interface PemBlock {
  /** The type between BEGIN and END, e.g. `CERTIFICATE`. */
  readonly label: string;
  /** The body: base64 with its line ends. */
  readonly base64: string;
  /** The whole block as read, BEGIN to END line. */
  readonly pem: string;
}

export const TEXT_OUTSIDE_BLOCKS = 'text outside PEM blocks';

/**
 * The blocks of `text` in order. `undefined` stands for text outside the blocks (a comment, a block without its END
 * line) and ends the iteration: nothing after it can be trusted.
 *
 * Linear in the text: one pass of the regex, each gap between blocks checked once. (Cutting every block out of the
 * remaining text, as this once did, copied the whole text per block: 1 MiB of certificates took seconds.) A caller
 * that stops early reads no further.
 */
export function* pemBlocks(text: string): Generator<PemBlock | undefined, void, undefined> {
  let end = 0; // where the last block ended
  for (const match of text.matchAll(BLOCK)) {
    if (!isBlank(text, end, match.index)) {
      yield undefined;
      return;
    }
    end = match.index + match[0].length;
    yield { label: match[1] ?? '', base64: match[2] ?? '', pem: match[0] };
  }
  if (!isBlank(text, end, text.length)) yield undefined;
}

export type CertificatesResult = { ok: true; certificates: X509Certificate[] } | { ok: false; reason: string };

/** A file of CERTIFICATE blocks and whitespace. */
export function parseCertificates(text: string): CertificatesResult {
  return readCertificates(pemBlocks(text));
}

/**
 * The rest of `blocks` as certificates, refusing any other block: shared by whole-file bundles and the tail of a
 * credential bundle, whose caller has taken the key block off the front of the same iterator.
 */
export function readCertificates(blocks: Iterable<PemBlock | undefined>): CertificatesResult {
  const certificates: X509Certificate[] = [];
  for (const block of blocks) {
    if (block === undefined) return { ok: false, reason: TEXT_OUTSIDE_BLOCKS };
    if (block.label !== 'CERTIFICATE') return { ok: false, reason: `unexpected PEM block ${block.label}` };
    try {
      certificates.push(new X509Certificate(Buffer.from(block.base64, 'base64')));
    } catch {
      return { ok: false, reason: `certificate ${certificates.length + 1} does not parse` };
    }
  }
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
