// Properties of TSIG (acme/dns01/tsig.ts): a signed answer verifies, and no change the MAC covers goes unnoticed.
import assert from 'node:assert/strict';
import { parseTsigKey } from '../../../src/acme/dns01/rfc2136.ts';
import { signMessage, TsigError, TSIG_FUDGE_SECONDS, verifyResponse, type TsigAlgorithm, type TsigKey } from '../../../src/acme/dns01/tsig.ts';
import { decodeMessage, encodeMessage, encodeName, encodeUpdate, RRClass, RRType, txtData, type Message } from '../../../src/acme/dns01/wire.ts';
import { isCertsmithError } from '../../../src/errors.ts';
import { fixedClock } from '../../../src/time/clock.ts';
import { mutateBytes, mutateString, property, PROTOTYPE_KEYS, refusesOnlyWith, shrinkBytes, shrinkJson, type Random } from './harness.ts';

const NOW_S = Date.parse('2026-03-01T12:00:00Z') / 1000;
const clock = fixedClock(new Date(NOW_S * 1000));
const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-';

function keyOf(r: Random): TsigKey {
  const labels = Array.from({ length: r.range(1, 3) }, () => r.string(LETTERS, r.range(1, 20)));
  const algorithm: TsigAlgorithm = r.pick(['hmac-sha256', 'hmac-sha512']);
  return { name: labels.join('.') + (r.chance(0.5) ? '.' : ''), algorithm, secret: r.bytes(r.range(16, 64)) };
}

/** An UPDATE answer as a server sends it: the zone, an echo of the change, maybe a few additional records. */
function answerOf(r: Random, id: number): Message {
  const zone = `${r.string(LETTERS, r.range(1, 10))}.example`;
  return {
    header: { id, qr: true, opcode: 5, aa: r.chance(0.5), tc: false, rd: false, ra: r.chance(0.5), rcode: r.pick([0, 0, 0, 5, 9]) },
    questions: [{ name: zone, type: RRType.SOA, class: RRClass.IN }],
    answers: [],
    authority: Array.from({ length: r.range(0, 2) }, () => ({
      name: `_acme-challenge.${zone}`,
      type: RRType.TXT,
      class: RRClass.IN,
      ttl: 60,
      data: txtData(r.string(LETTERS, r.range(0, 43))),
    })),
    additional: Array.from({ length: r.range(0, 1) }, () => ({
      name: zone,
      type: RRType.A,
      class: RRClass.IN,
      ttl: 60,
      data: { kind: 'A', address: '192.0.2.1' },
    })),
  };
}

interface Exchange {
  key: TsigKey;
  requestMac: Uint8Array;
  /** The answer as the server signed it. */
  signed: Uint8Array;
}

/** A request signed with a random key, and the server's answer signed with the same key a little off our clock. */
function exchange(r: Random, opts: { error?: number; otherData?: Uint8Array } = {}): Exchange {
  const key = keyOf(r);
  const id = r.int(0x10000);
  const update = encodeUpdate({ id, zone: 'example', changes: [{ op: 'add', name: '_acme-challenge.example', value: 'v' }] });
  const request = signMessage(update, key, { clock });
  const skew = r.range(-TSIG_FUDGE_SECONDS, TSIG_FUDGE_SECONDS);
  const signed = signMessage(encodeMessage(answerOf(r, id)), key, {
    clock: fixedClock(new Date((NOW_S + skew) * 1000)),
    requestMac: request.mac,
    ...opts,
  }).message;
  return { key, requestMac: request.mac, signed };
}

const verify = (e: Exchange, bytes = e.signed) => verifyResponse(bytes, { key: e.key, requestMac: e.requestMac, clock, server: 'ns' });

property({
  name: 'an answer signed with the key, chained to the request and within the fudge, verifies and reads as sent',
  iterations: 300,
  generate: (r) => exchange(r),
  show: (e) => `key ${JSON.stringify(e.key.name)} (${e.key.algorithm}), answer hex ${Buffer.from(e.signed).toString('hex')}`,
  check: (e) => {
    assert.deepEqual(verify(e), decodeMessage(e.signed));
  },
});

/** Byte offsets in a signed answer where a change leaves the MAC valid, as RFC 8945 means it to. */
function macFreeChanges(e: Exchange): { id: [number, number]; names: [number, number][] } {
  const tsig = decodeMessage(e.signed).additional.at(-1)!;
  const owner = encodeName(e.key.name).length;
  const algorithmAt = tsig.start + owner + 10;
  return {
    // The ID: forwarders may rewrite it; the MAC covers the original ID in the TSIG record.
    id: [0, 2],
    // The owner (key) and algorithm names compare case-insensitively, and the MAC covers their lower-case form.
    names: [
      [tsig.start, tsig.start + owner],
      [algorithmAt, algorithmAt + encodeName(`${e.key.algorithm}.`).length],
    ],
  };
}

const isLetter = (b: number) => (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);

property({
  name: 'an answer with any one byte changed is refused, unless the byte is the ID or the letter case of a TSIG name',
  iterations: 1000,
  generate: (r) => {
    const e = exchange(r);
    const tsigStart = decodeMessage(e.signed).additional.at(-1)!.start;
    // Half the changes land in the TSIG record, which the flipped-bit unit test does not walk.
    const at = r.chance(0.5) ? r.range(tsigStart, e.signed.length - 1) : r.int(e.signed.length);
    const value = (e.signed[at]! + r.range(1, 255)) & 0xff;
    return { e, at, value };
  },
  show: ({ e, at, value }) =>
    `byte ${at} of ${e.signed.length} from 0x${e.signed[at]!.toString(16)} to 0x${value.toString(16)}; answer hex ${Buffer.from(e.signed).toString('hex')}`,
  check: ({ e, at, value }) => {
    const changed = Uint8Array.from(e.signed);
    const before = changed[at]!;
    changed[at] = value;
    const free = macFreeChanges(e);
    const caseOnly = isLetter(before) && (before ^ value) === 0x20 && free.names.some(([from, to]) => at >= from && at < to);
    if ((at >= free.id[0] && at < free.id[1]) || caseOnly) {
      assert.doesNotThrow(() => verify(e, changed));
      return;
    }
    assert.throws(
      () => verify(e, changed),
      (err) => isCertsmithError(err, 'Dns01TsigRejected') || isCertsmithError(err, 'Dns01BadResponse'),
    );
  },
});

property({
  name: 'a TSIG record whose CLASS is not ANY or whose TTL is not 0 is refused (RFC 8945 §4.2)',
  iterations: 200,
  generate: (r) => {
    const e = exchange(r);
    const wrongClass = r.chance(0.5);
    return {
      e,
      class: wrongClass || r.chance(0.3) ? r.pick([RRClass.IN, RRClass.NONE, 0, 3, 4, 0xfe00 + r.int(0x200)].filter((c) => c !== RRClass.ANY)) : RRClass.ANY,
      ttl: wrongClass && r.chance(0.7) ? 0 : r.pick([1, 60, 0x7fff_ffff, 0xffff_ffff, r.range(1, 0xffff_ffff)]),
    };
  },
  show: ({ e, ...rr }) => `${JSON.stringify(rr)}; answer hex ${Buffer.from(e.signed).toString('hex')}`,
  check: ({ e, class: cls, ttl }) => {
    const msg = decodeMessage(e.signed);
    const tsig = msg.additional.at(-1)!;
    tsig.class = cls;
    tsig.ttl = ttl;
    assert.throws(
      () => verify(e, encodeMessage(msg)),
      (err) => isCertsmithError(err, 'Dns01BadResponse') || isCertsmithError(err, 'Dns01TsigRejected'),
    );
  },
});

property({
  name: 'verifyResponse throws nothing but Dns01TsigRejected or Dns01BadResponse, whatever comes back',
  iterations: 1000,
  generate: (r) => {
    const errors = [TsigError.BADSIG, TsigError.BADKEY, TsigError.BADTIME, TsigError.BADTRUNC, r.int(0x10000)];
    const error = r.chance(0.4) ? r.pick(errors) : undefined;
    const otherData = r.chance(0.5) ? r.bytes(r.pick([0, 6, 6, 6, r.range(1, 12)])) : undefined;
    const e = exchange(r, { ...(error === undefined ? {} : { error }), ...(otherData ? { otherData } : {}) });
    return { e, bytes: r.chance(0.3) ? e.signed : mutateBytes(r, e.signed) };
  },
  shrink: function* ({ e, bytes }) {
    for (const b of shrinkBytes(bytes)) yield { e, bytes: b };
  },
  show: ({ e, bytes }) => `key ${JSON.stringify(e.key.name)} (${e.key.algorithm}), answer hex ${Buffer.from(bytes).toString('hex')}`,
  check: ({ e, bytes }) => {
    refusesOnlyWith(['Dns01TsigRejected', 'Dns01BadResponse'], () => verify(e, bytes));
  },
});

type TsigConfig = { tsigKeyName: string; tsigAlgorithm: string; tsigSecret: string };

property<TsigConfig>({
  name: 'parseTsigKey throws nothing but InvalidSpec, and a key it returns signs a request',
  iterations: 800,
  generate: (r) => {
    const pick = (valid: readonly string[]) =>
      r.weighted<string>([
        [5, () => r.pick(valid)],
        [3, () => mutateString(r, r.pick(valid))],
        [1, () => r.pick(PROTOTYPE_KEYS)],
      ]);
    return {
      tsigKeyName: pick(['acme-key', 'Acme.Key.', keyOf(r).name, '  k  ', 'a\\.b', '']),
      tsigAlgorithm: pick(['HMACSHA256', 'HMACSHA512', 'hmac-sha256', 'hmac-sha512.', 'HMAC-SHA512']),
      tsigSecret: pick([Buffer.from(r.bytes(r.range(1, 64))).toString('base64'), 'AAAA', 'AAEC/w==', 'c2Vj cmV0']),
    };
  },
  shrink: shrinkJson(['tsigKeyName', 'tsigAlgorithm', 'tsigSecret']),
  check: (config) => {
    const parsed = refusesOnlyWith(['InvalidSpec'], () => parseTsigKey(config));
    if (!parsed.ok) return;
    assert.ok(['hmac-sha256', 'hmac-sha512'].includes(parsed.value.algorithm), `algorithm ${String(parsed.value.algorithm)}`);
    const update = encodeUpdate({ id: 1, zone: 'example', changes: [{ op: 'add', name: '_acme-challenge.example', value: 'v' }] });
    assert.equal(decodeMessage(signMessage(update, parsed.value, { clock }).message).additional.at(-1)?.type, RRType.TSIG);
  },
});
