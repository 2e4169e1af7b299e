// ACME Renewal Information (RFC 9773), the pure parts: the certificate identifier, the renewal moment inside the
// CA's window, and when to ask again.
import { createHash } from 'node:crypto';
import { CertsmithError } from '../errors.ts';

/**
 * RFC 9773 4.1: base64url(AKI keyIdentifier) "." base64url(DER serial number, without tag and length, with its
 * leading zero byte if it has one). Throws InvalidPEM when the certificate has no authority key identifier.
 */
export function certIdOf(certDer: Uint8Array, authorityKeyIdHex: string | undefined): string {
  if (!authorityKeyIdHex) {
    throw new CertsmithError('InvalidPEM', 'the certificate has no authority key identifier, so it has no ARI certID');
  }
  const aki = Buffer.from(authorityKeyIdHex, 'hex').toString('base64url');
  return `${aki}.${Buffer.from(serialNumberBytes(certDer)).toString('base64url')}`;
}

/** The serial number's content octets: Certificate → tbsCertificate → [0] version? → serialNumber INTEGER. */
export function serialNumberBytes(der: Uint8Array): Uint8Array {
  const cert = readTlv(der, 0, 0x30);
  const tbs = readTlv(der, cert.contentStart, 0x30);
  let pos = tbs.contentStart;
  if (der[pos] === 0xa0) pos = readTlv(der, pos, 0xa0).end; // explicit version
  const serial = readTlv(der, pos, 0x02);
  return der.subarray(serial.contentStart, serial.end);
}

function readTlv(der: Uint8Array, pos: number, tag: number): { contentStart: number; end: number } {
  if (der[pos] !== tag) throw new CertsmithError('InvalidPEM', `unexpected DER tag 0x${(der[pos] ?? 0).toString(16)} at ${pos}`);
  let len = der[pos + 1] ?? 0;
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4) throw new CertsmithError('InvalidPEM', `unsupported DER length at ${pos}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + (der[start + i] ?? 0);
    start += n;
  }
  if (start + len > der.length) throw new CertsmithError('InvalidPEM', `truncated DER at ${pos}`);
  return { contentStart: start, end: start + len };
}

export interface RenewalWindow {
  start: Date;
  end: Date;
}

/**
 * A moment in the window, uniformly spread across certificates (RFC 9773 4.2 asks for a random one) but stable
 * for one certificate: it is drawn from a hash of the certID, so a restart or a resync picks the same moment.
 */
export function momentInWindow(window: RenewalWindow, certID: string): Date {
  const span = window.end.getTime() - window.start.getTime();
  if (span <= 0) return window.start;
  const fraction = createHash('sha256').update(certID).digest().readUInt32BE(0) / 2 ** 32;
  return new Date(window.start.getTime() + Math.floor(fraction * span));
}

/**
 * When to renew: the earlier of the operator's own renewal time (renewBefore, or 2/3 of the lifetime) and the
 * CA's moment. The CA can move a renewal earlier — a revocation, an incident — but never past what the spec asks.
 */
export function renewalTimeWithAri(localRenewalTime: Date, window: RenewalWindow | undefined, certID: string | undefined): Date {
  if (!window || !certID) return localRenewalTime;
  const ca = momentInWindow(window, certID);
  return ca < localRenewalTime ? ca : localRenewalTime;
}

export const ARI_MIN_CHECK_MS = 60_000;
export const ARI_DEFAULT_CHECK_MS = 6 * 3_600_000;

/**
 * When to ask the CA again: its Retry-After, kept within [1 minute, maxMs] as RFC 9773 4.3.3 suggests clients
 * do; 6 hours when it sent none. maxMs (a flag) defaults to a day.
 */
export function nextAriCheck(now: Date, retryAfterMs: number | undefined, maxMs = 24 * 3_600_000): Date {
  const wait = Math.min(Math.max(retryAfterMs ?? ARI_DEFAULT_CHECK_MS, ARI_MIN_CHECK_MS), Math.max(maxMs, 1000));
  return new Date(now.getTime() + wait);
}
