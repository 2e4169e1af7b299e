// IP addresses as text: how a certificate holds one, and the one spelling used to compare them. Pure: node:net's
// isIP and the URL parser do no I/O.
import { isIP } from 'node:net';

/**
 * An address as a certificate holds it: IPv4 as the dotted quad (isIP takes no leading zeros, so "010.0.0.1" is
 * never read as octal), IPv6 in RFC 5952 form — lowercase, leading zeros dropped, the first longest run of zero
 * groups as "::" — written all in hex, so an IPv4-mapped address stays IPv6 ("::ffff:192.0.2.1" → "::ffff:c000:201").
 * Undefined for anything else, a zone index included: a certificate cannot hold one.
 */
export function ipAddressText(ip: string): string | undefined {
  const version = isIP(ip);
  if (version === 4) return ip;
  if (version !== 6 || ip.includes('%')) return undefined;
  // The URL standard's IPv6 serializer is RFC 5952's, except that it never writes a dotted IPv4 tail.
  return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
}

/**
 * One spelling per address, so a spec, an ACME order and a certificate compare equal: ipAddressText, with an
 * IPv4-mapped IPv6 address as plain IPv4 (Go and some encoders store those as four bytes). Anything that is not an
 * address is lowercased, unchanged otherwise.
 */
export function canonicalIpAddress(ip: string): string {
  const text = ipAddressText(ip);
  if (text === undefined) return ip.toLowerCase();
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(text);
  if (!mapped) return text;
  const hi = parseInt(mapped[1]!, 16);
  const lo = parseInt(mapped[2]!, 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}
