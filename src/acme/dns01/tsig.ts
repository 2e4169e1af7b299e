// TSIG (RFC 8945): HMAC signatures on DNS messages, which is how BIND and most primaries authenticate UPDATEs.
// Pure: the time comes from an injected clock, so signatures are reproducible in tests.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { CertsmithError } from '../../errors.ts';
import type { Clock } from '../../time/clock.ts';
import { canonicalName, decodeMessage, encodeName, encodeRecord, rcodeName, RRClass, RRType, sameName, type DecodedMessage, type TsigData } from './wire.ts';

export type TsigAlgorithm = 'hmac-sha256' | 'hmac-sha512';

export interface TsigKey {
  name: string;
  algorithm: TsigAlgorithm;
  secret: Uint8Array;
}

/** Seconds of clock difference either side accepts; 300 is what RFC 8945 recommends and BIND uses. */
export const TSIG_FUDGE_SECONDS = 300;

export const TsigError = { BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22 } as const;

const HASH: Record<TsigAlgorithm, { hash: string; size: number }> = {
  'hmac-sha256': { hash: 'sha256', size: 32 },
  'hmac-sha512': { hash: 'sha512', size: 64 },
};

export interface SignOptions {
  clock: Clock;
  /** For a response: the MAC of the request it answers (RFC 8945 §4.3.1). Absent for a request. */
  requestMac?: Uint8Array;
  /** TSIG error to report (a server's job; requests carry 0). */
  error?: number;
  otherData?: Uint8Array;
  fudge?: number;
}

/** Appends a TSIG record to a finished message. Returns the signed message and its MAC (needed to verify the answer). */
export function signMessage(message: Uint8Array, key: TsigKey, opts: SignOptions): { message: Uint8Array; mac: Uint8Array } {
  if (message.length < 12) throw new CertsmithError('InvalidSpec', 'cannot sign a DNS message shorter than its header');
  const tsig: TsigData = {
    kind: 'TSIG',
    algorithm: `${key.algorithm}.`,
    timeSigned: Math.floor(opts.clock.now().getTime() / 1000),
    fudge: opts.fudge ?? TSIG_FUDGE_SECONDS,
    mac: new Uint8Array(0),
    originalId: (message[0]! << 8) | message[1]!,
    error: opts.error ?? 0,
    otherData: opts.otherData ?? new Uint8Array(0),
  };
  tsig.mac = computeMac(key, opts.requestMac, message, tsig);
  const record = encodeRecord({ name: key.name, type: RRType.TSIG, class: RRClass.ANY, ttl: 0, data: tsig });
  const signed = new Uint8Array(message.length + record.length);
  signed.set(message);
  signed.set(record, message.length);
  const arcount = ((message[10]! << 8) | message[11]!) + 1;
  signed[10] = (arcount >> 8) & 0xff;
  signed[11] = arcount & 0xff;
  return { message: signed, mac: tsig.mac };
}

/**
 * MAC input (RFC 8945 §4.3.3): [request MAC size + MAC, for responses] + message as it was before the TSIG was
 * added (original ID, ARCOUNT without it) + the TSIG variables, names in canonical (lower-case) wire form.
 */
function computeMac(key: TsigKey, requestMac: Uint8Array | undefined, unsigned: Uint8Array, t: TsigData): Uint8Array {
  const hmac = createHmac(HASH[key.algorithm].hash, key.secret);
  if (requestMac !== undefined) {
    hmac.update(Uint8Array.of((requestMac.length >> 8) & 0xff, requestMac.length & 0xff));
    hmac.update(requestMac);
  }
  hmac.update(unsigned);
  hmac.update(encodeName(canonicalName(key.name)));
  const classAndTtl = Buffer.alloc(6);
  classAndTtl.writeUInt16BE(RRClass.ANY, 0); // TTL stays 0
  hmac.update(classAndTtl);
  hmac.update(encodeName(canonicalName(t.algorithm)));
  const tail = Buffer.alloc(12 + t.otherData.length);
  let o = tail.writeUIntBE(t.timeSigned, 0, 6);
  o = tail.writeUInt16BE(t.fudge, o);
  o = tail.writeUInt16BE(t.error, o);
  o = tail.writeUInt16BE(t.otherData.length, o);
  tail.set(t.otherData, o);
  hmac.update(tail);
  return new Uint8Array(hmac.digest());
}

export interface VerifyOptions {
  key: TsigKey;
  /** MAC of the request this answers. */
  requestMac: Uint8Array;
  clock: Clock;
  /** Named in error messages ("nameserver 10.0.0.53:53"). */
  server?: string;
}

/**
 * Checks the server's TSIG on a response and returns the decoded message. Throws Dns01TsigRejected when the server
 * refused our signature (BADSIG, BADKEY, BADTIME, ...) or its own signature does not hold; Dns01BadResponse for
 * bytes that are not a DNS message.
 */
export function verifyResponse(response: Uint8Array, opts: VerifyOptions): DecodedMessage {
  const msg = decodeMessage(response);
  const { key } = opts;
  const server = opts.server ?? 'the nameserver';
  const keyDesc = `TSIG key "${key.name}" (${key.algorithm})`;
  const rejected = (why: string) => new CertsmithError('Dns01TsigRejected', `${server} ${why}`);

  const last = msg.additional.at(-1);
  if (msg.additional.slice(0, -1).some((rr) => rr.type === RRType.TSIG)) {
    throw new CertsmithError('Dns01BadResponse', `${server} sent a TSIG record that is not the last record of its answer`);
  }
  if (last === undefined || last.data.kind !== 'TSIG') {
    throw rejected(`answered ${rcodeName(msg.header.rcode)} without a TSIG signature, so the answer cannot be trusted; check that it knows ${keyDesc}`);
  }
  // RFC 8945 §4.2 fixes CLASS ANY and TTL 0, and the MAC covers those constants, not the bytes sent: a record with
  // others would verify as if it had them, so it is refused.
  if (last.class !== RRClass.ANY || last.ttl !== 0) {
    throw new CertsmithError(
      'Dns01BadResponse',
      `${server} sent a TSIG record with CLASS ${last.class} and TTL ${last.ttl}; RFC 8945 requires CLASS ANY and TTL 0`,
    );
  }
  const t = last.data;
  if (!sameName(last.name, key.name)) throw rejected(`signed its answer with key "${last.name}", not with "${key.name}"`);

  if (t.error !== 0) throw rejected(describeTsigError(t, keyDesc, opts.clock));
  if (!sameName(t.algorithm, `${key.algorithm}.`)) throw rejected(`signed its answer with algorithm ${t.algorithm}, not ${key.algorithm}`);

  const full = HASH[key.algorithm].size;
  // RFC 8945 §5.2.2.1: a truncated MAC is acceptable down to half the digest and no less than 10 bytes.
  if (t.mac.length > full || t.mac.length < Math.max(10, full / 2)) {
    throw rejected(`signed its answer with a ${t.mac.length}-byte MAC, which ${key.algorithm} does not allow`);
  }
  const unsigned = new Uint8Array(response.subarray(0, last.start));
  unsigned[0] = (t.originalId >> 8) & 0xff;
  unsigned[1] = t.originalId & 0xff;
  const arcount = msg.additional.length - 1;
  unsigned[10] = (arcount >> 8) & 0xff;
  unsigned[11] = arcount & 0xff;
  const expected = computeMac(key, opts.requestMac, unsigned, t).subarray(0, t.mac.length);
  if (!timingSafeEqual(expected, t.mac)) {
    throw rejected(`sent an answer whose TSIG signature does not verify with ${keyDesc}: the answer was altered on the way or signed with another secret`);
  }

  const skew = t.timeSigned - Math.floor(opts.clock.now().getTime() / 1000);
  if (Math.abs(skew) > t.fudge) {
    throw rejected(
      `signed its answer at a time ${Math.abs(skew)} s ${skew > 0 ? 'ahead of' : 'behind'} our clock, beyond the ${t.fudge} s allowed: check NTP on both machines`,
    );
  }
  return msg;
}

function describeTsigError(t: TsigData, keyDesc: string, clock: Clock): string {
  switch (t.error) {
    case TsigError.BADSIG:
      return `rejected the signature made with ${keyDesc} (BADSIG): the secret differs from the one configured on the nameserver`;
    case TsigError.BADKEY:
      return `does not know ${keyDesc} (BADKEY): check that the key name and algorithm match a key in the nameserver's configuration`;
    case TsigError.BADTIME: {
      // BADTIME answers carry the server's clock in other data (RFC 8945 §5.2.3).
      const serverTime = t.otherData.length === 6 ? Buffer.from(t.otherData).readUIntBE(0, 6) : undefined;
      const ours = Math.floor(clock.now().getTime() / 1000);
      const skew = serverTime === undefined ? '' : `; its clock reads ${iso(serverTime)}, ours ${iso(ours)}`;
      return `rejected the time in our signature with ${keyDesc} (BADTIME): the clocks differ by more than ${t.fudge} s${skew}; check NTP on both machines`;
    }
    case TsigError.BADTRUNC:
      return `rejected the MAC length of ${keyDesc} (BADTRUNC)`;
    default:
      return `rejected the signature made with ${keyDesc} (TSIG error ${t.error})`;
  }
}

function iso(seconds: number): string {
  const date = new Date(seconds * 1000);
  // A 48-bit time can lie past the last instant a Date holds (year 275760), where toISOString throws.
  return Number.isNaN(date.getTime()) ? `${seconds} s after 1970` : date.toISOString().replace('.000Z', 'Z');
}
