import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { isCertsmithError } from '../../../../src/errors.ts';
import { fixedClock } from '../../../../src/time/clock.ts';
import { signMessage, TsigError, verifyResponse, type TsigKey } from '../../../../src/acme/dns01/tsig.ts';
import {
  decodeMessage,
  encodeMessage,
  encodeUpdate,
  RRClass,
  RRType,
  txtData,
  type DecodedMessage,
  type Message,
  type TsigData,
} from '../../../../src/acme/dns01/wire.ts';

const at = new Date('2026-03-01T12:00:00Z');
const clock = fixedClock(at);
const seconds = at.getTime() / 1000;
const sha256Key: TsigKey = {
  name: 'certsmith-key.example.',
  algorithm: 'hmac-sha256',
  secret: Buffer.from('c2VjcmV0IHNlY3JldCBzZWNyZXQgc2VjcmV0IDEyMzQ=', 'base64'),
};
const sha512Key: TsigKey = { name: 'big-key', algorithm: 'hmac-sha512', secret: Buffer.alloc(64, 0x5a) };

function request(key = sha256Key, id = 0x1234) {
  const unsigned = encodeUpdate({ id, zone: 'example.com', changes: [{ op: 'add', name: '_acme-challenge.example.com', value: 'token-value' }] });
  return { unsigned, ...signMessage(unsigned, key, { clock }) };
}

/** What a server sends back: the update's header and zone section with QR set, plus a record to tamper with. */
function serverAnswer(id: number, rcode = 0): Message {
  return {
    header: { id, qr: true, opcode: 5, aa: false, tc: false, rd: false, ra: false, rcode },
    questions: [{ name: 'example.com', type: RRType.SOA, class: RRClass.IN }],
    answers: [],
    authority: [{ name: '_acme-challenge.example.com', type: RRType.TXT, class: RRClass.IN, ttl: 60, data: txtData('token-value') }],
    additional: [],
  };
}

function signedAnswer(requestMac: Uint8Array, opts: { key?: TsigKey; id?: number; rcode?: number; error?: number; otherData?: Uint8Array; at?: Date } = {}) {
  const unsigned = encodeMessage(serverAnswer(opts.id ?? 0x1234, opts.rcode));
  return signMessage(unsigned, opts.key ?? sha256Key, {
    clock: fixedClock(opts.at ?? at),
    requestMac,
    ...(opts.error !== undefined ? { error: opts.error } : {}),
    ...(opts.otherData ? { otherData: opts.otherData } : {}),
  }).message;
}

function tsigOf(msg: DecodedMessage): TsigData {
  const data = msg.additional.at(-1)?.data;
  assert.ok(data?.kind === 'TSIG', 'the last additional record is a TSIG');
  return data;
}

const rejected = (pattern: RegExp) => (err: unknown) => isCertsmithError(err, 'Dns01TsigRejected') && pattern.test(err.message);

describe('signing a request', () => {
  it('appends one TSIG record (key name, class ANY, TTL 0) and counts it in ARCOUNT', () => {
    const { message } = request();
    const msg = decodeMessage(message);
    assert.equal(msg.additional.length, 1);
    const rr = msg.additional[0]!;
    assert.deepEqual([rr.name, rr.type, rr.class, rr.ttl], ['certsmith-key.example', RRType.TSIG, RRClass.ANY, 0]);
    const t = tsigOf(msg);
    assert.deepEqual(
      {
        algorithm: t.algorithm,
        timeSigned: t.timeSigned,
        fudge: t.fudge,
        macLength: t.mac.length,
        originalId: t.originalId,
        error: t.error,
        other: t.otherData.length,
      },
      { algorithm: 'hmac-sha256', timeSigned: seconds, fudge: 300, macLength: 32, originalId: 0x1234, error: 0, other: 0 },
    );
  });

  it('computes the MAC over the message and the TSIG variables exactly as RFC 8945 §4.3.3 lists them', () => {
    const { unsigned, mac } = request();
    const vars = Buffer.concat([
      Buffer.from('0d63657274736d6974682d6b6579076578616d706c6500', 'hex'), // certsmith-key.example., lower case
      Buffer.from('00ff00000000', 'hex'), // class ANY, TTL 0
      Buffer.from('0b686d61632d73686132353600', 'hex'), // hmac-sha256.
      Buffer.from([0, 0, ...Buffer.from(Uint32Array.of(seconds).buffer).reverse()]), // time signed, 48 bits
      Buffer.from('012c00000000', 'hex'), // fudge 300, error 0, other length 0
    ]);
    const expected = createHmac('sha256', sha256Key.secret).update(unsigned).update(vars).digest();
    assert.equal(Buffer.from(mac).toString('hex'), expected.toString('hex'));
  });

  it('gives the same MAC for the same message and time, and a different one a second later', () => {
    assert.deepEqual(request().mac, request().mac);
    const later = signMessage(request().unsigned, sha256Key, { clock: fixedClock(new Date(at.getTime() + 1000)) });
    assert.notDeepEqual(later.mac, request().mac);
  });

  it('signs with hmac-sha512 and a 64-byte MAC', () => {
    const t = tsigOf(decodeMessage(request(sha512Key).message));
    assert.deepEqual([t.algorithm, t.mac.length], ['hmac-sha512', 64]);
  });
});

describe('verifying a response', () => {
  for (const key of [sha256Key, sha512Key]) {
    it(`accepts an answer the server signed with the same ${key.algorithm} key, chained to our request's MAC`, () => {
      const req = request(key);
      const msg = verifyResponse(signedAnswer(req.mac, { key }), { key, requestMac: req.mac, clock });
      assert.equal(msg.header.rcode, 0);
      assert.equal(msg.authority.length, 1);
    });
  }

  it('matches the key name case-insensitively, as the MAC uses the canonical name', () => {
    const req = request();
    const upper = { ...sha256Key, name: 'CertSmith-Key.Example' };
    assert.doesNotThrow(() => verifyResponse(signedAnswer(req.mac, { key: upper }), { key: sha256Key, requestMac: req.mac, clock }));
  });

  it('detects one flipped bit in any byte of the answer after the ID and before its TSIG record', () => {
    const req = request();
    const answer = signedAnswer(req.mac);
    const tsigStart = decodeMessage(answer).additional[0]!.start;
    // Not the ID (bytes 0-1): the MAC covers the original ID, so forwarders may rewrite it; the transport checks it.
    for (let i = 2; i < tsigStart; i++) {
      const tampered = Uint8Array.from(answer);
      tampered[i]! ^= 0x01;
      assert.throws(
        () => verifyResponse(tampered, { key: sha256Key, requestMac: req.mac, clock }),
        (err) => isCertsmithError(err, 'Dns01TsigRejected') || isCertsmithError(err, 'Dns01BadResponse'),
        `flipping byte ${i} went unnoticed`,
      );
    }
  });

  it('names a changed record value as an altered answer', () => {
    const req = request();
    const answer = signedAnswer(req.mac);
    const at = Buffer.from(answer).indexOf('token-value');
    answer[at]! ^= 0x01;
    assert.throws(
      () => verifyResponse(answer, { key: sha256Key, requestMac: req.mac, clock, server: 'nameserver 192.0.2.53:53' }),
      rejected(/^nameserver 192\.0\.2\.53:53 .*does not verify.*altered on the way or signed with another secret/),
    );
  });

  it('detects a flipped byte in the MAC itself', () => {
    const req = request();
    const answer = signedAnswer(req.mac);
    answer[answer.length - 10]! ^= 0x80; // inside the MAC: original ID, error and other length follow it
    assert.throws(() => verifyResponse(answer, { key: sha256Key, requestMac: req.mac, clock }), rejected(/does not verify/));
  });

  it('refuses an answer signed for another request', () => {
    const req = request();
    const other = request(sha256Key, 0x9999);
    assert.throws(() => verifyResponse(signedAnswer(other.mac), { key: sha256Key, requestMac: req.mac, clock }), rejected(/does not verify/));
  });

  it('refuses an answer signed with another secret', () => {
    const req = request();
    const impostor = { ...sha256Key, secret: Buffer.alloc(32, 1) };
    assert.throws(() => verifyResponse(signedAnswer(req.mac, { key: impostor }), { key: sha256Key, requestMac: req.mac, clock }), rejected(/does not verify/));
  });

  it('refuses an answer signed with another key name', () => {
    const req = request();
    const other = { ...sha256Key, name: 'other-key' };
    assert.throws(
      () => verifyResponse(signedAnswer(req.mac, { key: other }), { key: sha256Key, requestMac: req.mac, clock }),
      rejected(/signed its answer with key "other-key", not with "certsmith-key.example."/),
    );
  });

  it('refuses an unsigned answer to a signed request', () => {
    const req = request();
    assert.throws(
      () => verifyResponse(encodeMessage(serverAnswer(0x1234, 5)), { key: sha256Key, requestMac: req.mac, clock }),
      rejected(/answered REFUSED without a TSIG signature/),
    );
  });

  it('accepts a MAC truncated to half the digest, and refuses one shorter than 10 bytes', () => {
    const req = request();
    const truncate = (length: number) => {
      const msg = decodeMessage(signedAnswer(req.mac));
      const t = tsigOf(msg);
      t.mac = t.mac.subarray(0, length);
      return encodeMessage(msg);
    };
    assert.doesNotThrow(() => verifyResponse(truncate(16), { key: sha256Key, requestMac: req.mac, clock }));
    assert.throws(() => verifyResponse(truncate(8), { key: sha256Key, requestMac: req.mac, clock }), rejected(/8-byte MAC/));
  });

  const skews: { name: string; offsetS: number; ok: boolean; message?: RegExp }[] = [
    { name: 'accepts an answer signed 299 s ahead of our clock', offsetS: 299, ok: true },
    { name: 'accepts an answer signed 300 s behind our clock', offsetS: -300, ok: true },
    {
      name: 'refuses an answer signed 301 s ahead of our clock',
      offsetS: 301,
      ok: false,
      message: /301 s ahead of our clock, beyond the 300 s allowed: check NTP/,
    },
    { name: 'refuses an answer signed an hour behind our clock', offsetS: -3600, ok: false, message: /3600 s behind our clock/ },
  ];
  for (const c of skews) {
    it(c.name, () => {
      const req = request();
      const answer = signedAnswer(req.mac, { at: new Date(at.getTime() + c.offsetS * 1000) });
      const verify = () => verifyResponse(answer, { key: sha256Key, requestMac: req.mac, clock });
      if (c.ok) assert.doesNotThrow(verify);
      else assert.throws(verify, rejected(c.message!));
    });
  }

  // RFC 8945 §4.2 fixes the TSIG record's CLASS (ANY) and TTL (0); the MAC covers those constants, not the bytes
  // sent, so a record carrying others must be refused rather than verified as if it had them.
  const classAndTtl: { name: string; class: number; ttl: number }[] = [
    { name: 'CLASS IN', class: RRClass.IN, ttl: 0 },
    { name: 'CLASS NONE', class: RRClass.NONE, ttl: 0 },
    { name: 'a TTL of 1 s', class: RRClass.ANY, ttl: 1 },
    { name: 'a TTL of 2^32 - 1 s', class: RRClass.ANY, ttl: 0xffff_ffff },
  ];
  for (const c of classAndTtl) {
    it(`refuses a correctly signed answer whose TSIG record has ${c.name}, as RFC 8945 fixes CLASS ANY and TTL 0`, () => {
      const req = request();
      const msg = decodeMessage(signedAnswer(req.mac));
      const tsig = msg.additional.at(-1)!;
      tsig.class = c.class;
      tsig.ttl = c.ttl;
      assert.throws(
        () => verifyResponse(encodeMessage(msg), { key: sha256Key, requestMac: req.mac, clock }),
        (err) => isCertsmithError(err, 'Dns01BadResponse') && /CLASS ANY and TTL 0/.test(err.message),
      );
    });
  }

  it('refuses a TSIG record that is not the last record, as malformed', () => {
    const req = request();
    const msg = decodeMessage(signedAnswer(req.mac));
    msg.additional.push({ name: 'x', type: RRType.A, class: RRClass.IN, ttl: 0, data: { kind: 'A', address: '192.0.2.1' }, start: 0 });
    assert.throws(
      () => verifyResponse(encodeMessage(msg), { key: sha256Key, requestMac: req.mac, clock }),
      (err) => isCertsmithError(err, 'Dns01BadResponse'),
    );
  });
});

describe('TSIG errors the server reports', () => {
  // BIND answers BADSIG and BADKEY unsigned (empty MAC) with rcode NOTAUTH; BADTIME signed, with its clock in other data.
  const serverClock = Uint8Array.from([0x00, 0x00, ...Buffer.from(Uint32Array.of(seconds + 3600).buffer).reverse()]);
  const cases: { name: string; error: number; otherData?: Uint8Array; message: RegExp }[] = [
    { name: 'BADSIG says the secret differs', error: TsigError.BADSIG, message: /\(BADSIG\): the secret differs from the one configured on the nameserver/ },
    {
      name: 'BADKEY says to check key name and algorithm',
      error: TsigError.BADKEY,
      message: /does not know TSIG key "certsmith-key.example." \(hmac-sha256\) \(BADKEY\): check that the key name and algorithm/,
    },
    {
      name: "BADTIME gives the server's clock and ours",
      error: TsigError.BADTIME,
      otherData: serverClock,
      message: /\(BADTIME\): the clocks differ by more than 300 s; its clock reads 2026-03-01T13:00:00Z, ours 2026-03-01T12:00:00Z; check NTP/,
    },
    // Found by test/unit/fuzz/tsig.test.ts: a 48-bit time past year 275760 made toISOString throw a RangeError.
    {
      name: "BADTIME with a server clock no date can hold, giving the clock's seconds",
      error: TsigError.BADTIME,
      otherData: Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
      message: /\(BADTIME\): .*its clock reads 281474976710655 s after 1970, ours 2026-03-01T12:00:00Z/,
    },
    { name: 'BADTRUNC names the MAC length', error: TsigError.BADTRUNC, message: /MAC length .*\(BADTRUNC\)/ },
    { name: 'an unknown TSIG error is reported by number', error: 99, message: /\(TSIG error 99\)/ },
  ];
  for (const c of cases) {
    it(`maps ${c.name}, to Dns01TsigRejected naming the server`, () => {
      const req = request();
      const answer = signedAnswer(req.mac, { rcode: 9, error: c.error, ...(c.otherData ? { otherData: c.otherData } : {}) });
      assert.throws(
        () => verifyResponse(answer, { key: sha256Key, requestMac: req.mac, clock, server: 'nameserver ns1:53' }),
        rejected(new RegExp(`^nameserver ns1:53 .*${c.message.source}`)),
      );
    });
  }
});
