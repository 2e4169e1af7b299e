// Nameserver addresses as users write them: "host", "host:port", "[v6]:port", or a bare IPv6 address.
import { isIPv6 } from 'node:net';
import { CertsmithError } from '../../errors.ts';
import type { ServerAddress } from './types.ts';

export const DNS_PORT = 53;

export function parseServerAddress(text: string, defaultPort = DNS_PORT): ServerAddress {
  const s = text.trim();
  const bad = (why: string) =>
    new CertsmithError('InvalidSpec', `nameserver "${text}" is not a valid address: ${why} (expected host, host:port or [IPv6]:port)`);
  if (s === '') throw bad('it is empty');
  let host: string;
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(s);
  if (bracketed) {
    host = bracketed[1]!;
    port = bracketed[2];
    if (!isIPv6(host)) throw bad(`"${host}" in brackets is not an IPv6 address`);
  } else if (isIPv6(s)) {
    // More than one colon and no brackets: an IPv6 address without a port.
    host = s;
  } else {
    const parts = s.split(':');
    if (parts.length > 2) throw bad('an IPv6 address with a port needs brackets');
    host = parts[0]!;
    port = parts[1];
  }
  if (host === '') throw bad('the host is empty');
  if (port === undefined) return { host, port: defaultPort };
  if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) throw bad(`port "${port}" is not a number from 1 to 65535`);
  return { host, port: Number(port) };
}

/** "host:port", with brackets around an IPv6 host: the form messages and results use. */
export function formatServerAddress(a: ServerAddress): string {
  return isIPv6(a.host) ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}
