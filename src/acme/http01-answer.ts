// Which answer the HTTP-01 server gives to which request, decided without sockets: the token in the challenge path,
// the name the request is for (its Host), and whether a challenge with that token was issued for that name. A CA
// validating a name sends that name in Host (RFC 8555 8.3; an IP address as RFC 8738 3 writes it), so a token is
// answered only to a request for its own identifier: a route that reaches this server for another name (a shared
// ingress, a catch-all) never validates that name with a token issued for a different one.
import { isIP } from 'node:net';
import { ipAddressText } from '../pki/ip-address.ts';

const PREFIX = '/.well-known/acme-challenge/';
// base64url, as RFC 8555 8.1 makes tokens.
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

/** A key authorization and the identifier (DNS name or IP address) of the challenge it answers. */
export interface ChallengeAnswer {
  identifier: string;
  keyAuthorization: string;
}

export type Http01Decision =
  | { kind: 'answer'; keyAuthorization: string }
  | { kind: 'not-found' }
  /** No challenge for this token and name, in a process whose challenges are still loading: decide again once they are. */
  | { kind: 'wait-for-load' };

export interface Http01Request {
  method: string;
  /** The request target as sent. */
  url: string;
  /** The Host header; absent in an HTTP/1.0 request that sent none. */
  host: string | undefined;
}

export function decideHttp01(request: Http01Request, lookup: (token: string) => readonly ChallengeAnswer[], loaded: boolean): Http01Decision {
  const token = challengeToken(request);
  const name = requestName(request.host);
  if (token === undefined || name === undefined) return { kind: 'not-found' };
  const match = lookup(token).find((a) => identifierName(a.identifier) === name);
  if (match) return { kind: 'answer', keyAuthorization: match.keyAuthorization };
  return loaded ? { kind: 'not-found' } : { kind: 'wait-for-load' };
}

/** The token a GET or HEAD asks for under /.well-known/acme-challenge/; undefined for anything else. */
function challengeToken({ method, url }: Http01Request): string | undefined {
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  const path = url.split('?')[0] ?? '';
  if (!path.startsWith(PREFIX)) return undefined;
  const token = path.slice(PREFIX.length);
  return TOKEN.test(token) ? token : undefined;
}

/**
 * The name a request is for, from its Host (RFC 9110 7.2: uri-host, then an optional port, which is ignored: the CA
 * asks on port 80, Pebble on its configured port, an ingress controller passes the client's), spelt as
 * identifierName spells an identifier. Undefined for a missing Host or one that names no host: an IPv6 address
 * without brackets, an IPv4 address in them, a port that is not a number.
 */
export function requestName(host: string | undefined): string | undefined {
  const m = host === undefined ? null : /^(?:\[([^\]]*)\]|([^:[\]]+))(?::\d*)?$/.exec(host);
  if (!m) return undefined;
  if (m[1] !== undefined) return isIP(m[1]) === 6 ? ipAddressText(m[1]) : undefined;
  return identifierName(m[2]!);
}

/**
 * One spelling per name, so a Host and an identifier compare equal: a DNS name lowercase without a trailing dot, an
 * IP address as a certificate holds it (IPv6 in RFC 5952 form). Undefined for a wildcard, which CAs validate over
 * DNS-01 only (Let's Encrypt and Pebble offer no other challenge for one), and for an empty name.
 */
export function identifierName(identifier: string): string | undefined {
  if (identifier.startsWith('*.')) return undefined;
  const name = ipAddressText(identifier) ?? identifier.toLowerCase().replace(/\.$/, '');
  return name === '' ? undefined : name;
}
