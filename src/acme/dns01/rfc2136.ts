// DNS-01 through RFC 2136 dynamic updates signed with TSIG: BIND, Knot, PowerDNS and Windows DNS all speak it.
// Updates go over TCP: answers to signed updates can outgrow a UDP datagram, and TCP cannot be spoofed blindly.
import { randomInt } from 'node:crypto';
import { CertsmithError } from '../../errors.ts';
import type { Clock } from '../../time/clock.ts';
import { formatServerAddress, parseServerAddress } from './address.ts';
import { DEFAULT_DNS_TIMEOUT_MS, exchangeTcp } from './transport.ts';
import { signMessage, verifyResponse, type TsigAlgorithm, type TsigKey } from './tsig.ts';
import type { Dns01Provider, TxtRecord } from './types.ts';
import {
  canonicalName,
  decodeMessage,
  DEFAULT_TXT_TTL,
  encodeQuery,
  encodeUpdate,
  isInZone,
  nameLabels,
  Rcode,
  rcodeName,
  RRType,
  type TxtChange,
} from './wire.ts';
import { findZoneBySoa } from './zone.ts';

export interface Rfc2136Config {
  /** Primary nameserver: host, host:port or [IPv6]:port; port 53 when absent. */
  nameserver: string;
  tsigKeyName: string;
  /** HMACSHA256 (the default) or HMACSHA512, cert-manager's spelling; BIND's hmac-sha256 / hmac-sha512 too. */
  tsigAlgorithm?: string;
  /** Base64, as in BIND's `secret "...";`. */
  tsigSecret: string;
}

export interface Rfc2136Options {
  clock: Clock;
  /** Per exchange with the nameserver (default 10 s). */
  timeoutMs?: number;
  /** TTL of the records we add, in seconds (default 60). */
  ttl?: number;
  /** Message IDs; random by default so stray answers to other messages are not taken for ours. */
  newId?: () => number;
}

/** Validates the configuration at once (InvalidSpec), so a bad issuer fails before any order is placed. */
export function createRfc2136Provider(config: Rfc2136Config, opts: Rfc2136Options): Dns01Provider {
  const server = parseServerAddress(config.nameserver);
  const where = `nameserver ${formatServerAddress(server)}`;
  const key = parseTsigKey(config);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_DNS_TIMEOUT_MS;
  const newId = opts.newId ?? (() => randomInt(0x10000));

  const askSoa = async (name: string) => decodeMessage(await exchangeTcp(server, encodeQuery({ id: newId(), name, type: RRType.SOA }), timeoutMs));

  const zoneOf = async (r: TxtRecord): Promise<string> => {
    if (r.zone === undefined || r.zone === '') return findZoneBySoa(r.fqdn, askSoa, where);
    if (!isInZone(r.fqdn, r.zone)) throw new CertsmithError('InvalidSpec', `record "${r.fqdn}" is not inside zone "${r.zone}"`);
    return canonicalName(r.zone);
  };

  const update = async (zone: string, change: TxtChange): Promise<void> => {
    const request = signMessage(encodeUpdate({ id: newId(), zone, changes: [change] }), key, { clock: opts.clock });
    const answer = await exchangeTcp(server, request.message, timeoutMs);
    const context = `${where} (zone "${zone}")`;
    const msg = verifyResponse(answer, { key, requestMac: request.mac, clock: opts.clock, server: context });
    const rcode = msg.header.rcode;
    if (rcode === Rcode.NOERROR) return;
    throw updateError(rcode, context, zone, key.name, change);
  };

  return {
    async present(r) {
      await update(await zoneOf(r), { op: 'add', name: r.fqdn, value: r.value, ttl: opts.ttl ?? DEFAULT_TXT_TTL });
    },
    async cleanup(r) {
      // Deleting a record that is not there is a no-op in RFC 2136, so cleanup repeats safely.
      await update(await zoneOf(r), { op: 'delete', name: r.fqdn, value: r.value });
    },
  };
}

function updateError(rcode: number, context: string, zone: string, keyName: string, change: TxtChange): CertsmithError {
  const what = `${change.op === 'add' ? 'adding' : 'deleting'} TXT "${change.name}"`;
  switch (rcode) {
    case Rcode.REFUSED:
      return new CertsmithError(
        'Dns01UpdateRefused',
        `${context} refused ${what} (REFUSED): check that the zone's update-policy grants key "${keyName}" TXT updates ` +
          `for this name (BIND: update-policy { grant ${keyName} zonesub TXT; };) and that the key name is the one configured there`,
      );
    case Rcode.NOTAUTH:
      return new CertsmithError(
        'Dns01UpdateRefused',
        `${context} is not authoritative for zone "${zone}" (NOTAUTH): check the zone name and that the nameserver is the zone's primary, not a secondary`,
      );
    case Rcode.NOTZONE:
      return new CertsmithError('Dns01UpdateRefused', `${context} says "${change.name}" is outside zone "${zone}" (NOTZONE): check the zone name`);
    case Rcode.YXDOMAIN:
    case Rcode.YXRRSET:
    case Rcode.NXDOMAIN:
    case Rcode.NXRRSET:
      return new CertsmithError('Dns01UpdateRefused', `${context} refused ${what} (${rcodeName(rcode)})`);
    default:
      // SERVFAIL and friends: the server could not do it (e.g. a journal it cannot write); its log says why.
      return new CertsmithError('Dns01BadResponse', `${context} failed ${what} (${rcodeName(rcode)}): the nameserver's log says why`);
  }
}

/** A TSIG key from the issuer's fields, or InvalidSpec naming the field that is wrong. */
export function parseTsigKey(config: Pick<Rfc2136Config, 'tsigKeyName' | 'tsigAlgorithm' | 'tsigSecret'>): TsigKey {
  const name = config.tsigKeyName?.trim() ?? '';
  if (name === '') throw new CertsmithError('InvalidSpec', 'tsigKeyName is empty: RFC 2136 updates are signed with a TSIG key');
  nameLabels(name); // a key name is a DNS name; throws InvalidSpec when it is not
  return { name, algorithm: parseTsigAlgorithm(config.tsigAlgorithm ?? 'HMACSHA256'), secret: parseTsigSecret(config.tsigSecret, name) };
}

const ALGORITHMS: Record<string, TsigAlgorithm> = { hmacsha256: 'hmac-sha256', hmacsha512: 'hmac-sha512' };

export function parseTsigAlgorithm(text: string): TsigAlgorithm {
  const normalized = (text ?? '').trim().toLowerCase().replace(/\.$/, '').replaceAll('-', '');
  // Own keys only: "constructor" would otherwise find the object's inherited function.
  const algorithm = Object.hasOwn(ALGORITHMS, normalized) ? ALGORITHMS[normalized] : undefined;
  if (algorithm === undefined) {
    throw new CertsmithError('InvalidSpec', `tsigAlgorithm "${text}" is not supported: use HMACSHA256 or HMACSHA512 (hmac-sha256 / hmac-sha512)`);
  }
  return algorithm;
}

function parseTsigSecret(text: string, keyName: string): Uint8Array {
  const b64 = (text ?? '').replace(/\s+/g, '');
  if (b64 === '') throw new CertsmithError('InvalidSpec', `tsigSecret of key "${keyName}" is empty`);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    throw new CertsmithError('InvalidSpec', `tsigSecret of key "${keyName}" is not base64 (copy the secret "..." value from the key file as is)`);
  }
  return new Uint8Array(Buffer.from(b64, 'base64'));
}
