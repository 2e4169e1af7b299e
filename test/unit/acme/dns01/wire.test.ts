import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCertsmithError } from '../../../../src/errors.ts';
import {
  canonicalName,
  decodeMessage,
  encodeMessage,
  encodeName,
  encodeQuery,
  encodeUpdate,
  isInZone,
  nameLabels,
  parentName,
  rcodeName,
  RRClass,
  RRType,
  sameName,
  txtData,
  txtValue,
  type Message,
  type ResourceRecord,
} from '../../../../src/acme/dns01/wire.ts';

// Hand-built wire bytes, so decoding is checked against the RFC layout rather than against our own encoder.
const u16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];
const u32 = (v: number) => [...u16(Math.floor(v / 0x10000)), ...u16(v & 0xffff)];
const label = (s: string) => [s.length, ...Buffer.from(s, 'ascii')];
const wireName = (...labels: string[]) => [...labels.flatMap(label), 0];
const pointer = (offset: number) => [0xc0 | (offset >> 8), offset & 0xff];
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function withoutStart(records: (ResourceRecord & { start?: number })[]): ResourceRecord[] {
  return records.map(({ start: _start, ...rr }) => rr);
}

describe('DNS names', () => {
  const canonical: { name: string; input: string; expected: string }[] = [
    { name: 'lower-cases and drops the trailing dot', input: '_ACME-Challenge.Example.COM.', expected: '_acme-challenge.example.com' },
    { name: 'leaves a relative-looking name as it is', input: 'www.example.com', expected: 'www.example.com' },
    { name: 'turns the root into the empty string', input: '.', expected: '' },
    { name: 'keeps an escaped dot at the end', input: 'a\\.', expected: 'a\\.' },
    // Found by test/unit/fuzz/dns-wire.test.ts: the dot after an escaped backslash was taken for an escaped dot.
    { name: 'drops the trailing dot after an escaped backslash', input: 'A\\\\.', expected: 'a\\\\' },
  ];
  for (const c of canonical) it(`canonicalName ${c.name}`, () => assert.equal(canonicalName(c.input), c.expected));

  const inZone: { name: string; fqdn: string; zone: string; expected: boolean }[] = [
    { name: 'a name below the zone is in it, whatever the case and dots', fqdn: '_acme-challenge.WWW.example.com.', zone: 'Example.com', expected: true },
    { name: 'the apex is in its own zone', fqdn: 'example.com', zone: 'example.com.', expected: true },
    { name: 'a name that only ends with the same letters is not', fqdn: 'badexample.com', zone: 'example.com', expected: false },
    { name: 'a parent is not in its child zone', fqdn: 'com', zone: 'example.com', expected: false },
    { name: 'everything is in the root', fqdn: 'a.b.c', zone: '.', expected: true },
  ];
  for (const c of inZone) it(`isInZone: ${c.name}`, () => assert.equal(isInZone(c.fqdn, c.zone), c.expected));

  it('compares names case-insensitively with or without the trailing dot', () => {
    assert.equal(sameName('Example.COM.', 'example.com'), true);
    assert.equal(sameName('example.com', 'example.org'), false);
  });

  const parents: { input: string; expected: string | undefined }[] = [
    { input: '_acme-challenge.a.example.com.', expected: 'a.example.com' },
    { input: 'com', expected: '' },
    { input: '', expected: undefined },
  ];
  for (const c of parents) it(`the parent of "${c.input}" is ${JSON.stringify(c.expected)}`, () => assert.equal(parentName(c.input), c.expected));

  const invalid: { name: string; input: string; message: RegExp }[] = [
    { name: 'an empty label', input: 'a..example.com', message: /empty label/ },
    { name: 'a label over 63 bytes', input: `${'a'.repeat(64)}.example.com`, message: /64 bytes, over the limit of 63/ },
    { name: 'a name over 255 bytes', input: Array(5).fill('a'.repeat(63)).join('.'), message: /over the limit of 255/ },
    { name: 'a lone backslash at the end', input: 'example\\', message: /lone backslash/ },
    { name: 'a decimal escape above 255', input: 'a\\300b.example', message: /not a byte/ },
  ];
  for (const c of invalid) {
    it(`refuses ${c.name} with InvalidSpec`, () => {
      assert.throws(
        () => nameLabels(c.input),
        (err) => isCertsmithError(err, 'InvalidSpec') && c.message.test(err.message),
      );
    });
  }

  it('reads a dot after an escaped backslash as the end of the name, not as part of a label', () => {
    assert.equal(hex(encodeName('a\\\\.')), '02615c00');
    assert.equal(sameName('a\\\\.', 'a\\\\'), true);
  });

  it('encodes the root as a single zero byte and other names label by label', () => {
    assert.equal(hex(encodeName('.')), '00');
    assert.equal(hex(encodeName('Ab.c.')), '024162016300');
  });

  it('keeps an escaped dot inside its label and prints it escaped again after decoding', () => {
    assert.deepEqual(
      nameLabels('a\\.b.example').map((l) => Buffer.from(l).toString()),
      ['a.b', 'example'],
    );
    const query = encodeQuery({ id: 1, name: 'a\\.b.example', type: RRType.TXT });
    assert.equal(decodeMessage(query).questions[0]!.name, 'a\\.b.example');
  });

  it('prints unprintable label bytes as decimal escapes', () => {
    const query = encodeQuery({ id: 1, name: 'a\\000\\032b.example', type: RRType.TXT });
    assert.equal(decodeMessage(query).questions[0]!.name, 'a\\000\\032b.example');
  });
});

describe('TXT values', () => {
  const cases: { name: string; value: string; lengths: number[] }[] = [
    { name: 'an ACME digest fits one character-string', value: 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0', lengths: [43] },
    { name: 'an empty value is one empty character-string', value: '', lengths: [0] },
    { name: 'exactly 255 bytes stay one character-string', value: 'a'.repeat(255), lengths: [255] },
    { name: '256 bytes split into 255 and 1', value: 'a'.repeat(256), lengths: [255, 1] },
    { name: '600 bytes split into 255, 255 and 90', value: 'b'.repeat(600), lengths: [255, 255, 90] },
    { name: 'lengths count UTF-8 bytes, not characters', value: 'é'.repeat(200), lengths: [255, 145] },
  ];
  for (const c of cases) {
    it(`${c.name}, and the strings join back to the value`, () => {
      const data = txtData(c.value);
      assert.deepEqual(
        data.strings.map((s) => s.length),
        c.lengths,
      );
      assert.equal(txtValue(data), c.value);
    });
  }

  it('sends each character-string with its length byte', () => {
    const msg = encodeMessage({
      header: { id: 0, qr: true, opcode: 0, aa: false, tc: false, rd: false, ra: false, rcode: 0 },
      questions: [],
      answers: [{ name: 'x', type: RRType.TXT, class: RRClass.IN, ttl: 1, data: txtData('a'.repeat(256)) }],
      authority: [],
      additional: [],
    });
    const rdata = msg.subarray(msg.length - 258);
    assert.equal(msg[msg.length - 259], 2, 'rdlength low byte: 258 = 0x0102');
    assert.deepEqual([rdata[0], rdata[256], rdata[257]], [255, 1, 0x61]);
  });
});

describe('encoding queries and updates', () => {
  it('encodes an SOA query byte for byte as RFC 1035 lays it out', () => {
    const expected = [...u16(0x1234), 0x00, 0x00, ...u16(1), ...u16(0), ...u16(0), ...u16(0), ...wireName('example', 'com'), ...u16(6), ...u16(1)];
    assert.equal(hex(encodeQuery({ id: 0x1234, name: 'example.com.', type: RRType.SOA })), hex(Uint8Array.from(expected)));
  });

  it('sets only the RD flag when recursion is asked for', () => {
    const q = encodeQuery({ id: 7, name: 'example.com', type: RRType.TXT, recursionDesired: true });
    assert.deepEqual([q[2], q[3]], [0x01, 0x00]);
  });

  it('encodes an UPDATE with opcode 5, the zone as SOA IN, an added TXT and a deleted TXT with the same rdata', () => {
    const bytes = encodeUpdate({
      id: 99,
      zone: 'example.com',
      changes: [
        { op: 'add', name: '_acme-challenge.example.com', value: 'new', ttl: 120 },
        { op: 'delete', name: '_acme-challenge.example.com', value: 'old' },
      ],
    });
    assert.equal(bytes[2], 5 << 3, 'opcode 5 in the flags, nothing else');
    const msg = decodeMessage(bytes);
    assert.equal(msg.header.opcode, 5);
    assert.deepEqual(msg.questions, [{ name: 'example.com', type: RRType.SOA, class: RRClass.IN }]);
    assert.deepEqual(msg.answers, [], 'no prerequisites');
    assert.deepEqual(withoutStart(msg.authority), [
      { name: '_acme-challenge.example.com', type: RRType.TXT, class: RRClass.IN, ttl: 120, data: txtData('new') },
      { name: '_acme-challenge.example.com', type: RRType.TXT, class: RRClass.NONE, ttl: 0, data: txtData('old') },
    ]);
  });

  it('gives added records a 60 second TTL by default', () => {
    const msg = decodeMessage(encodeUpdate({ id: 1, zone: 'example.com', changes: [{ op: 'add', name: 'a.example.com', value: 'v' }] }));
    assert.equal(msg.authority[0]!.ttl, 60);
  });
});

describe('decoding messages', () => {
  it('reads back every record kind it encodes', () => {
    const message: Message = {
      header: { id: 0xbeef, qr: true, opcode: 0, aa: true, tc: false, rd: true, ra: true, rcode: 3 },
      questions: [{ name: 'example.com', type: RRType.ANY, class: RRClass.IN }],
      answers: [
        {
          name: 'example.com',
          type: RRType.SOA,
          class: RRClass.IN,
          ttl: 3600,
          data: {
            kind: 'SOA',
            mname: 'ns1.example.com',
            rname: 'hostmaster.example.com',
            serial: 2026010101,
            refresh: 3600,
            retry: 600,
            expire: 86400,
            minimum: 60,
          },
        },
        { name: 'example.com', type: RRType.NS, class: RRClass.IN, ttl: 3600, data: { kind: 'NS', host: 'ns1.example.com' } },
        { name: 'www.example.com', type: RRType.CNAME, class: RRClass.IN, ttl: 30, data: { kind: 'CNAME', target: 'example.com' } },
        { name: 'ns1.example.com', type: RRType.A, class: RRClass.IN, ttl: 30, data: { kind: 'A', address: '192.0.2.53' } },
        { name: 'example.com', type: RRType.TXT, class: RRClass.IN, ttl: 30, data: txtData('x'.repeat(300)) },
      ],
      authority: [{ name: 'example.com', type: RRType.AAAA, class: RRClass.IN, ttl: 30, data: { kind: 'raw', bytes: new Uint8Array(16).fill(1) } }],
      additional: [
        {
          name: 'key.example',
          type: RRType.TSIG,
          class: RRClass.ANY,
          ttl: 0,
          data: {
            kind: 'TSIG',
            algorithm: 'hmac-sha256',
            timeSigned: 0x0001_0203_0405,
            fudge: 300,
            mac: new Uint8Array(32).fill(7),
            originalId: 0xbeef,
            error: 18,
            otherData: Uint8Array.of(0, 0, 1, 2, 3, 4),
          },
        },
      ],
    };
    const decoded = decodeMessage(encodeMessage(message));
    assert.deepEqual(decoded.header, message.header);
    assert.deepEqual(decoded.questions, message.questions);
    assert.deepEqual(withoutStart(decoded.answers), message.answers);
    assert.deepEqual(withoutStart(decoded.authority), message.authority);
    assert.deepEqual(withoutStart(decoded.additional), message.additional);
  });

  it('expands compression pointers, including a pointer to a name that itself ends in a pointer', () => {
    // Header, question "example.com SOA IN" at offset 12; answer owner → 12; SOA mname "ns1" + → 12;
    // rname "hostmaster" + → the mname at its own offset (a chain of two pointers).
    const header = [...u16(0x4242), 0x84, 0x00, ...u16(1), ...u16(1), ...u16(0), ...u16(0)];
    const question = [...wireName('example', 'com'), ...u16(RRType.SOA), ...u16(1)];
    const ownerAt = header.length + question.length;
    const rdataStart = ownerAt + 2 + 10;
    const mname = [...label('ns1'), ...pointer(12)];
    const rname = [...label('hostmaster'), ...pointer(rdataStart)];
    const rdata = [...mname, ...rname, ...u32(7), ...u32(3600), ...u32(600), ...u32(86400), ...u32(60)];
    const answer = [...pointer(12), ...u16(RRType.SOA), ...u16(1), ...u32(60), ...u16(rdata.length), ...rdata];
    const msg = decodeMessage(Uint8Array.from([...header, ...question, ...answer]));
    assert.equal(msg.header.aa, true);
    assert.equal(msg.answers[0]!.name, 'example.com');
    assert.equal(msg.answers[0]!.start, ownerAt);
    assert.deepEqual(msg.answers[0]!.data, {
      kind: 'SOA',
      mname: 'ns1.example.com',
      rname: 'hostmaster.ns1.example.com',
      serial: 7,
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minimum: 60,
    });
  });

  it('reads the header flags of a REFUSED answer', () => {
    const msg = decodeMessage(Uint8Array.from([...u16(1), 0x80 | (5 << 3), 0x80 | 5, ...u16(0), ...u16(0), ...u16(0), ...u16(0)]));
    assert.deepEqual(msg.header, { id: 1, qr: true, opcode: 5, aa: false, tc: false, rd: false, ra: true, rcode: 5 });
    assert.equal(rcodeName(msg.header.rcode), 'REFUSED');
    assert.equal(rcodeName(23), 'RCODE 23');
  });

  const header = (an: number) => [...u16(1), 0x80, 0x00, ...u16(0), ...u16(an), ...u16(0), ...u16(0)];
  const rr = (name: number[], type: number, rdata: number[]) => [...name, ...u16(type), ...u16(1), ...u32(60), ...u16(rdata.length), ...rdata];
  const malformed: { name: string; bytes: number[]; message: RegExp }[] = [
    { name: 'a message shorter than the header', bytes: [0, 1, 0x80], message: /header runs past the end/ },
    { name: 'an answer count larger than the answers present', bytes: header(2).concat(rr(wireName('a'), RRType.A, [1, 2, 3, 4])), message: /answer record 2/ },
    { name: 'a pointer that points at itself', bytes: header(1).concat(pointer(12), u16(1), u16(1), u32(0), u16(0)), message: /does not point backwards/ },
    { name: 'a pointer that points forwards', bytes: header(1).concat(pointer(40), u16(1), u16(1), u32(0), u16(0)), message: /does not point backwards/ },
    { name: 'a label running past the end', bytes: header(1).concat([10, 0x61, 0x62]), message: /label that runs past the end/ },
    { name: 'a reserved label type', bytes: header(1).concat([0x40, 0]), message: /unsupported label type 0x40/ },
    { name: 'an A record of five bytes', bytes: header(1).concat(rr(wireName('a'), RRType.A, [1, 2, 3, 4, 5])), message: /an A record is 4/ },
    { name: 'a TXT character-string longer than its record', bytes: header(1).concat(rr(wireName('a'), RRType.TXT, [5, 0x61])), message: /runs past its data/ },
    {
      name: 'an NS record whose fields do not fill its length',
      bytes: header(1).concat(rr(wireName('a'), RRType.NS, [...wireName('b'), 0])),
      message: /data is 4 bytes but its fields use 3/,
    },
    { name: 'bytes after the last record', bytes: header(0).concat([0]), message: /1 bytes follow the last record/ },
  ];
  // Found while fuzzing (test/unit/fuzz/dns-wire.test.ts): every owner name of a 64 KiB answer pointing at the end of
  // an 8000-pointer chain took 160 ms to decode. No name has more than 127 labels, so it never needs more pointers.
  /** An answer whose second record's owner name reaches the root through `hops` compression pointers. */
  const pointerChain = (hops: number) => {
    const chainAt = 12 + 11;
    const chain = [0, 0, ...Array.from({ length: hops - 1 }, (_, i) => pointer(chainAt + 2 * i)).flat()];
    return header(2).concat(rr([0], 99, chain), rr(pointer(chainAt + chain.length - 2), 99, []));
  };
  it('follows a name through 127 compression pointers, as many as a name can have labels', () => {
    assert.equal(decodeMessage(Uint8Array.from(pointerChain(127))).answers[1]!.name, '');
  });
  malformed.push({ name: 'a name that follows 128 compression pointers', bytes: pointerChain(128), message: /more than 127 compression pointers/ });

  for (const c of malformed) {
    it(`refuses ${c.name} with Dns01BadResponse`, () => {
      assert.throws(
        () => decodeMessage(Uint8Array.from(c.bytes)),
        (err) => isCertsmithError(err, 'Dns01BadResponse') && c.message.test(err.message),
      );
    });
  }
});
