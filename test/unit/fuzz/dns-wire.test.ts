// Properties of the DNS message codec (acme/dns01/wire.ts): what a nameserver sends is untrusted bytes.
import assert from 'node:assert/strict';
import {
  canonicalName,
  decodeMessage,
  encodeMessage,
  encodeName,
  isInZone,
  nameLabels,
  parentName,
  RRClass,
  RRType,
  sameName,
  type DecodedMessage,
  type Message,
  type RData,
  type ResourceRecord,
} from '../../../src/acme/dns01/wire.ts';
import { mutateBytes, property, refusesOnlyWith, shrinkBytes, type Random } from './harness.ts';

// ------------------------------------------------------------------------------------------------------ names

const LABEL_CHARACTERS = [...'abcdefghijklmnopqrstuvwxyz0123456789-_'].map((c) => c.charCodeAt(0));

/** Label bytes, mostly letters and digits, now and then the bytes that need escaping (".", "\", controls, 8-bit). */
function labelBytes(r: Random): number[] {
  const length = r.weighted<number>([
    [6, () => r.range(1, 12)],
    [1, () => r.range(50, 63)],
  ]);
  const out: number[] = [];
  for (let i = 0; i < length; i++) {
    const kind = r.int(15);
    out.push(kind < 12 ? LABEL_CHARACTERS[r.int(LABEL_CHARACTERS.length)]! : kind < 14 ? r.pick([0x2e, 0x5c]) : r.int(256));
  }
  return out;
}

/** Labels that fit the 255-byte limit together. */
function nameOf(r: Random, maxLabels = 5): number[][] {
  const labels: number[][] = [];
  let wire = 1;
  for (let n = r.range(0, maxLabels); n > 0; n--) {
    const label = labelBytes(r);
    if (wire + 1 + label.length > 255) break;
    labels.push(label);
    wire += 1 + label.length;
  }
  return labels;
}

/** The presentation form decodeMessage writes: "." and "\" escaped, bytes outside 0x21-0x7e as \DDD. */
const present = (labels: readonly number[][]) =>
  labels
    .map((l) =>
      l
        .map((b) =>
          b === 0x2e || b === 0x5c ? `\\${String.fromCharCode(b)}` : b > 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\${String(b).padStart(3, '0')}`,
        )
        .join(''),
    )
    .join('.');

/** Another way to write the same name: any byte as \DDD, a character escaped for no reason, a trailing dot. */
function spell(r: Random, labels: readonly number[][]): string {
  const text = labels
    .map((l) =>
      l
        .map((b, i) => {
          const ch = String.fromCharCode(b);
          const nextIsDigit = i + 1 < l.length && l[i + 1]! >= 0x30 && l[i + 1]! <= 0x39;
          if (b === 0x2e || b === 0x5c) return r.chance(0.7) ? `\\${ch}` : `\\${String(b).padStart(3, '0')}`;
          if (b <= 0x20 || b >= 0x7f || r.chance(0.1)) return `\\${String(b).padStart(3, '0')}`;
          // "\1" before two digits would read as \1DD, so only letters and punctuation get a one-character escape.
          return r.chance(0.1) && !/[0-9]/.test(ch) && !nextIsDigit ? `\\${ch}` : ch;
        })
        .join(''),
    )
    .join('.');
  return labels.length > 0 && r.chance(0.4) ? `${text}.` : text;
}

const wireOf = (labels: readonly number[][]) => Uint8Array.from([...labels.flatMap((l) => [l.length, ...l]), 0]);

property({
  name: 'any spelling of a name encodes to the same wire form, and the decoder writes it back in one spelling',
  iterations: 1500,
  generate: (r) => {
    const labels = nameOf(r, 8);
    return { labels, spelling: spell(r, labels) };
  },
  show: ({ spelling }) => JSON.stringify(spelling),
  check: ({ labels, spelling }) => {
    assert.deepEqual(encodeName(spelling), wireOf(labels));
    assert.deepEqual(encodeName(present(labels)), wireOf(labels));
  },
});

property({
  name: 'a name and the same name with a trailing dot or in other letter case are the same name',
  iterations: 1500,
  generate: (r) => present(nameOf(r, 6)),
  check: (name) => {
    assert.ok(sameName(name, `${name}.`), 'with a trailing dot');
    assert.ok(sameName(name, name.toUpperCase()), 'in upper case');
    assert.equal(canonicalName(canonicalName(name)), canonicalName(name), 'canonicalName is idempotent');
    assert.deepEqual(nameLabels(`${name}.`), nameLabels(name));
    const parent = parentName(name);
    if (name === '') assert.equal(parent, undefined);
    else {
      assert.ok(parent !== undefined && isInZone(name, parent), `${name} is in its parent's zone ${parent}`);
      assert.equal(nameLabels(parent).length, nameLabels(name).length - 1);
    }
  },
});

// ------------------------------------------------------------------------------------------------------ messages

const u16 = (v: number) => [(v >> 8) & 0xff, v & 0xff];

function rdata(r: Random, type: number): RData {
  switch (type) {
    case RRType.TXT:
      return {
        kind: 'TXT',
        strings: Array.from({ length: r.range(1, 3) }, () =>
          r.bytes(
            r.weighted([
              [5, () => r.range(0, 40)],
              [1, () => 255],
            ]),
          ),
        ),
      };
    case RRType.SOA:
      return {
        kind: 'SOA',
        mname: present(nameOf(r)),
        rname: present(nameOf(r)),
        serial: r.u32(),
        refresh: r.u32(),
        retry: r.u32(),
        expire: r.u32(),
        minimum: r.u32(),
      };
    case RRType.NS:
      return { kind: 'NS', host: present(nameOf(r)) };
    case RRType.CNAME:
      return { kind: 'CNAME', target: present(nameOf(r)) };
    case RRType.A:
      return { kind: 'A', address: Array.from(r.bytes(4)).join('.') };
    case RRType.TSIG:
      return {
        kind: 'TSIG',
        algorithm: r.chance(0.8) ? r.pick(['hmac-sha256', 'hmac-sha512']) : present(nameOf(r)),
        timeSigned: r.int(2 ** 32) * 2 ** 16 + r.int(2 ** 16),
        fudge: r.int(0x10000),
        mac: r.bytes(r.pick([0, 16, 32, 64])),
        originalId: r.int(0x10000),
        error: r.int(0x10000),
        otherData: r.bytes(r.pick([0, 6])),
      };
    default:
      return { kind: 'raw', bytes: r.bytes(r.range(1, 30)) };
  }
}

function record(r: Random): ResourceRecord {
  // Any type may carry empty rdata (RFC 2136 deletions), which decodes as raw.
  const type = r.pick([RRType.TXT, RRType.SOA, RRType.NS, RRType.CNAME, RRType.A, RRType.TSIG, RRType.AAAA, RRType.OPT, 99]);
  return {
    name: present(nameOf(r)),
    type,
    class: r.pick([RRClass.IN, RRClass.NONE, RRClass.ANY, r.int(0x10000)]),
    ttl: r.u32(),
    data: r.chance(0.1) ? { kind: 'raw', bytes: new Uint8Array(0) } : rdata(r, type),
  };
}

function message(r: Random): Message {
  const records = (n: number) => Array.from({ length: r.range(0, n) }, () => record(r));
  return {
    header: {
      id: r.int(0x10000),
      qr: r.chance(0.5),
      opcode: r.pick([0, 5, r.int(16)]),
      aa: r.chance(0.5),
      tc: r.chance(0.5),
      rd: r.chance(0.5),
      ra: r.chance(0.5),
      rcode: r.int(16),
    },
    questions: Array.from({ length: r.range(0, 2) }, () => ({ name: present(nameOf(r)), type: r.int(0x10000), class: r.int(0x10000) })),
    answers: records(3),
    authority: records(3),
    additional: records(2),
  };
}

/** The message without the decoder's byte offsets, to compare with what was encoded. */
const withoutOffsets = (m: DecodedMessage): Message => {
  const strip = (rrs: DecodedMessage['answers']) => rrs.map(({ start: _start, ...rr }) => rr);
  return { ...m, answers: strip(m.answers), authority: strip(m.authority), additional: strip(m.additional) };
};

/**
 * An encoded message with some name suffixes replaced by compression pointers to an earlier copy, as servers send
 * them. Works on the bytes: each name that repeats one seen before, from some label on, points back to it.
 */
function compressed(r: Random, m: Message): Uint8Array {
  const plain = encodeMessage(m);
  const names = [...m.questions.map((q) => q.name), ...[...m.answers, ...m.authority, ...m.additional].map((rr) => rr.name)];
  const out: number[] = [];
  const seen = new Map<string, number>(); // wire suffix (hex) → where it was written
  let i = 12;
  out.push(...plain.subarray(0, 12));
  // Owner names are the only names re-pointed: rdata names would change the rdlength.
  for (const [index, name] of names.entries()) {
    const wire = encodeName(name);
    assert.deepEqual(plain.subarray(i, i + wire.length), wire);
    let at = 0;
    for (; at < wire.length - 1; at += 1 + wire[at]!) {
      const target = seen.get(Buffer.from(wire.subarray(at)).toString('hex'));
      if (target !== undefined && target < 0x4000 && r.chance(0.8)) break;
    }
    const target = seen.get(Buffer.from(wire.subarray(at)).toString('hex'));
    const start = out.length;
    for (let l = 0; l < at; l += 1 + wire[l]!) {
      const suffix = Buffer.from(wire.subarray(l)).toString('hex');
      if (!seen.has(suffix)) seen.set(suffix, start + l);
    }
    if (target !== undefined && at < wire.length - 1) out.push(...wire.subarray(0, at), 0xc0 | (target >> 8), target & 0xff);
    else out.push(...wire);
    i += wire.length;
    // The rest of a question is 4 bytes; the rest of a record is its fixed fields and rdata.
    const restLength = index < m.questions.length ? 4 : 10 + ((plain[i + 8]! << 8) | plain[i + 9]!);
    out.push(...plain.subarray(i, i + restLength));
    i += restLength;
  }
  assert.equal(i, plain.length);
  return Uint8Array.from(out);
}

property({
  name: 'encodeMessage and decodeMessage round-trip any message, with or without compression pointers',
  iterations: 800,
  generate: (r) => {
    const m = message(r);
    return { m, bytes: r.chance(0.5) ? compressed(r, m) : encodeMessage(m) };
  },
  show: ({ bytes }) => `hex ${Buffer.from(bytes).toString('hex')}`,
  check: ({ m, bytes }) => {
    assert.deepEqual(withoutOffsets(decodeMessage(bytes)), m);
  },
});

/** Bytes a nameserver (or anyone on the path) may send: mutated messages, compressed or not, or noise. */
function untrustedMessage(r: Random, size: number): Uint8Array {
  return r.weighted<Uint8Array>([
    [5, () => mutateBytes(r, compressed(r, message(r)))],
    [3, () => mutateBytes(r, encodeMessage(message(r)), r.range(1, 8))],
    [1, () => Uint8Array.from([...u16(r.int(0x10000)), 0x81, 0x80, ...[0, 0, 0, 0].flatMap(() => u16(r.range(0, 3))), ...r.bytes(r.length(size))])],
    [1, () => r.bytes(r.length(size * 4))],
  ]);
}

property({
  name: 'decodeMessage throws nothing but Dns01BadResponse, and what it reads encodes back to a message that reads the same',
  iterations: 1500,
  generate: untrustedMessage,
  shrink: shrinkBytes,
  check: (bytes) => {
    const decoded = refusesOnlyWith(['Dns01BadResponse'], () => decodeMessage(bytes));
    if (!decoded.ok) return;
    const m = withoutOffsets(decoded.value);
    assert.deepEqual(withoutOffsets(decodeMessage(encodeMessage(m))), m);
    for (const rr of [...decoded.value.answers, ...decoded.value.authority, ...decoded.value.additional]) {
      assert.ok(rr.start >= 12 && rr.start < bytes.length, `a record starts inside the message (${rr.start})`);
    }
  },
});

/**
 * A 64 KiB answer whose names are compression pointers to pointers: `chain` bytes of pointers, each to the one before,
 * hidden in the rdata of a record of unknown type, and `records` records whose owner names point at the chain's end.
 */
function pointerChain(records: number, chain: number): Uint8Array {
  const b = [0, 1, 0x81, 0, 0, 0, 0, 1, 0, 0, ...u16(records)];
  b.push(0, 0, 99, 0, 1, 0, 0, 0, 0, ...u16(chain));
  const start = b.length;
  b.push(0, 0); // the chain ends in the root name
  for (let p = start + 2; p < start + chain; p += 2) b.push(...u16(0xc000 | (p - 2)));
  const end = b.length - 2;
  for (let i = 0; i < records; i++) b.push(...u16(0xc000 | end), 0, 99, 0, 1, 0, 0, 0, 0, 0, 0);
  return Uint8Array.from(b);
}

property({
  name: 'decodeMessage stays fast on answers of compression pointers to pointers',
  iterations: 30,
  maxInputMs: 40,
  generate: (r) => pointerChain(r.range(1000, 4000), 2 * r.range(2000, 8000)),
  show: (bytes) => `a ${bytes.length}-byte answer of pointer chains`,
  check: (bytes) => {
    refusesOnlyWith(['Dns01BadResponse'], () => decodeMessage(bytes));
  },
});
