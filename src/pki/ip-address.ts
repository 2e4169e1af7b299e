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

/** The address's bytes (4 for IPv4, IPv4-mapped IPv6 included; 16 for IPv6), or undefined for anything else. */
export function ipAddressBytes(ip: string): Uint8Array | undefined {
  if (ipAddressText(ip) === undefined) return undefined;
  const canonical = canonicalIpAddress(ip);
  if (isIP(canonical) === 4) return Uint8Array.from(canonical.split('.').map(Number));
  const [head = '', tail] = canonical.split('::') as [string, string | undefined];
  const groups = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const all = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  return Uint8Array.from(all.flatMap((g) => [g >> 8, g & 255]));
}

/**
 * Whether an address lies in a CIDR range ("10.0.0.0/8", "fd00::/8"); undefined when the range is not one. An
 * IPv4-mapped IPv6 address counts as its IPv4 address.
 */
export function ipInRange(ip: string, cidr: string): boolean | undefined {
  const slash = cidr.indexOf('/');
  if (slash < 0) return undefined;
  const base = ipAddressBytes(cidr.slice(0, slash));
  const bitsText = cidr.slice(slash + 1);
  const bits = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : Number.NaN;
  if (!base || !(bits >= 0 && bits <= base.length * 8)) return undefined;
  const addr = ipAddressBytes(ip);
  if (!addr || addr.length !== base.length) return false;
  for (let i = 0; i < bits; i++) {
    const mask = 0x80 >> (i % 8);
    if ((addr[i >> 3]! & mask) !== (base[i >> 3]! & mask)) return false;
  }
  return true;
}
