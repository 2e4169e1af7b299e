// DNS message codec (RFC 1035; RFC 2136 UPDATE; RFC 8945 TSIG rdata), only as much as DNS-01 needs.
// Pure: bytes in, bytes out. We encode names uncompressed (always allowed, and what TSIG wants anyway) and
// decode compression pointers, which servers use freely in answers.
import { CertsmithError } from '../../errors.ts';

export const RRType = { A: 1, NS: 2, CNAME: 5, SOA: 6, TXT: 16, AAAA: 28, OPT: 41, TSIG: 250, ANY: 255 } as const;
export const RRClass = { IN: 1, NONE: 254, ANY: 255 } as const;
export const Opcode = { QUERY: 0, UPDATE: 5 } as const;
export const Rcode = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  YXDOMAIN: 6,
  YXRRSET: 7,
  NXRRSET: 8,
  NOTAUTH: 9,
  NOTZONE: 10,
} as const;

const RCODE_NAMES = new Map<number, string>(Object.entries(Rcode).map(([k, v]) => [v, k]));

/** "REFUSED", or "RCODE 12" for one we have no name for. */
export function rcodeName(rcode: number): string {
  return RCODE_NAMES.get(rcode) ?? `RCODE ${rcode}`;
}

export interface Header {
  id: number;
  /** true in responses. */
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  rcode: number;
}

export interface Question {
  name: string;
  type: number;
  class: number;
}

export interface SoaData {
  kind: 'SOA';
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

export interface TsigData {
  kind: 'TSIG';
  algorithm: string;
  /** Seconds since the epoch (a 48-bit field). */
  timeSigned: number;
  fudge: number;
  mac: Uint8Array;
  originalId: number;
  error: number;
  otherData: Uint8Array;
}

export type RData =
  /** Character-strings as sent; a TXT value is their concatenation (see txtValue). */
  | { kind: 'TXT'; strings: Uint8Array[] }
  | SoaData
  | { kind: 'NS'; host: string }
  | { kind: 'CNAME'; target: string }
  | { kind: 'A'; address: string }
  | TsigData
  /** Any type we do not interpret, and empty rdata (RFC 2136 deletions of whole RRsets). */
  | { kind: 'raw'; bytes: Uint8Array };

export interface ResourceRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data: RData;
}

/**
 * A message. In an UPDATE (RFC 2136 §2) the sections are renamed: questions = zone, answers = prerequisites,
 * authority = updates; the layout on the wire is the same.
 */
export interface Message {
  header: Header;
  questions: Question[];
  answers: ResourceRecord[];
  authority: ResourceRecord[];
  additional: ResourceRecord[];
}

export interface DecodedRecord extends ResourceRecord {
  /** Byte offset where the record starts: TSIG verification needs the message without its last record. */
  start: number;
}

export interface DecodedMessage extends Message {
  answers: DecodedRecord[];
  authority: DecodedRecord[];
  additional: DecodedRecord[];
}

// ---------------------------------------------------------------------------------------------------------------
// Names

/** Whether a name ends with an unescaped dot: a. and a\\. (a label ending in a backslash) do, a\. (one ending in a dot) does not. */
function endsWithDot(name: string): boolean {
  if (!name.endsWith('.')) return false;
  let backslashes = 0;
  for (let i = name.length - 2; i >= 0 && name[i] === '\\'; i--) backslashes++;
  return backslashes % 2 === 0;
}

/** The form names are compared in: lower case, no trailing dot; the root is "". */
export function canonicalName(name: string): string {
  const trimmed = endsWithDot(name) ? name.slice(0, -1) : name;
  return trimmed.toLowerCase();
}

/** DNS names compare case-insensitively, with or without the trailing dot. */
export function sameName(a: string, b: string): boolean {
  return canonicalName(a) === canonicalName(b);
}

/** true when `name` is `zone` or below it. */
export function isInZone(name: string, zone: string): boolean {
  const n = canonicalName(name);
  const z = canonicalName(zone);
  return z === '' || n === z || n.endsWith(`.${z}`);
}

/** The name one label up, or undefined above the root. */
export function parentName(name: string): string | undefined {
  const labels = nameLabels(name);
  if (labels.length === 0) return undefined;
  return labels.slice(1).map(presentLabel).join('.');
}

const MAX_LABEL = 63;
const MAX_NAME = 255;
// A name of 255 bytes has at most 127 labels, and a compressor needs at most one pointer per label. Unbounded, the
// owner names of a 64 KiB answer all pointing at the end of one 8000-pointer chain took 160 ms to decode.
const MAX_POINTERS = 127;

/** Labels as bytes; understands presentation escapes (\. and \DDD) so a decoded name encodes back unchanged. */
export function nameLabels(name: string): Uint8Array[] {
  const text = endsWithDot(name) ? name.slice(0, -1) : name;
  if (text === '') return [];
  const labels: Uint8Array[] = [];
  let current: number[] = [];
  const chars = Array.from(text); // code points, so a character outside the BMP stays whole
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    if (ch === '.') {
      labels.push(finishLabel(current, name));
      current = [];
    } else if (ch === '\\') {
      const digits = /^\d{3}/.exec(chars.slice(i + 1, i + 4).join(''));
      if (digits) {
        const value = Number(digits[0]);
        if (value > 255) throw invalidName(name, `escape \\${digits[0]} is not a byte`);
        current.push(value);
        i += 3;
      } else if (i + 1 < chars.length) {
        current.push(...Buffer.from(chars[i + 1]!, 'utf8'));
        i += 1;
      } else {
        throw invalidName(name, 'it ends with a lone backslash');
      }
    } else {
      current.push(...Buffer.from(ch, 'utf8'));
    }
  }
  labels.push(finishLabel(current, name));
  const wireLength = labels.reduce((n, l) => n + 1 + l.length, 1);
  if (wireLength > MAX_NAME) throw invalidName(name, `it is ${wireLength} bytes on the wire, over the limit of ${MAX_NAME}`);
  return labels;
}

function finishLabel(bytes: number[], name: string): Uint8Array {
  if (bytes.length === 0) throw invalidName(name, 'it has an empty label');
  if (bytes.length > MAX_LABEL) throw invalidName(name, `a label is ${bytes.length} bytes, over the limit of ${MAX_LABEL}`);
  return Uint8Array.from(bytes);
}

function invalidName(name: string, why: string): CertsmithError {
  return new CertsmithError('InvalidSpec', `"${name}" is not a valid DNS name: ${why}`);
}

/** A label in presentation form: dots, backslashes and unprintable bytes escaped. */
function presentLabel(label: Uint8Array): string {
  let out = '';
  for (const b of label) {
    if (b === 0x2e || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b > 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\${String(b).padStart(3, '0')}`;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// TXT values

const MAX_CHARACTER_STRING = 255;

/** TXT rdata for a value: its UTF-8 bytes cut into character-strings of at most 255 bytes (RFC 1035 §3.3.14). */
export function txtData(value: string): { kind: 'TXT'; strings: Uint8Array[] } {
  const bytes = Buffer.from(value, 'utf8');
  const strings: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += MAX_CHARACTER_STRING) {
    strings.push(new Uint8Array(bytes.subarray(i, i + MAX_CHARACTER_STRING)));
  }
  // An empty value is still one (empty) character-string: TXT rdata may not be empty.
  if (strings.length === 0) strings.push(new Uint8Array(0));
  return { kind: 'TXT', strings };
}

/** The value a TXT record carries: its character-strings joined, as ACME validators read it. */
export function txtValue(data: { strings: Uint8Array[] }): string {
  return Buffer.concat(data.strings).toString('utf8');
}

// ---------------------------------------------------------------------------------------------------------------
// Encoding

class Writer {
  private readonly parts: Uint8Array[] = [];
  length = 0;

  bytes(b: Uint8Array): void {
    this.parts.push(b);
    this.length += b.length;
  }
  u8(v: number): void {
    this.bytes(Uint8Array.of(v & 0xff));
  }
  u16(v: number): void {
    this.bytes(Uint8Array.of((v >>> 8) & 0xff, v & 0xff));
  }
  u32(v: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(v >>> 0);
    this.bytes(b);
  }
  u48(v: number): void {
    const b = Buffer.alloc(6);
    b.writeUIntBE(v, 0, 6);
    this.bytes(b);
  }
  name(name: string): void {
    for (const label of nameLabels(name)) {
      this.u8(label.length);
      this.bytes(label);
    }
    this.u8(0);
  }
  finish(): Uint8Array {
    return new Uint8Array(Buffer.concat(this.parts));
  }
}

/** A name in wire form, uncompressed (TSIG's MAC input uses it, lower-cased). */
export function encodeName(name: string): Uint8Array {
  const w = new Writer();
  w.name(name);
  return w.finish();
}

export function encodeMessage(m: Message): Uint8Array {
  const h = m.header;
  const w = new Writer();
  w.u16(h.id);
  w.u8((h.qr ? 0x80 : 0) | ((h.opcode & 0xf) << 3) | (h.aa ? 0x04 : 0) | (h.tc ? 0x02 : 0) | (h.rd ? 0x01 : 0));
  w.u8((h.ra ? 0x80 : 0) | (h.rcode & 0xf));
  w.u16(m.questions.length);
  w.u16(m.answers.length);
  w.u16(m.authority.length);
  w.u16(m.additional.length);
  for (const q of m.questions) {
    w.name(q.name);
    w.u16(q.type);
    w.u16(q.class);
  }
  for (const rr of [...m.answers, ...m.authority, ...m.additional]) writeRecord(w, rr);
  return w.finish();
}

/** One resource record in wire form (TSIG signing appends one to a finished message). */
export function encodeRecord(rr: ResourceRecord): Uint8Array {
  const w = new Writer();
  writeRecord(w, rr);
  return w.finish();
}

function writeRecord(w: Writer, rr: ResourceRecord): void {
  w.name(rr.name);
  w.u16(rr.type);
  w.u16(rr.class);
  w.u32(rr.ttl);
  const rdata = encodeRData(rr.data);
  if (rdata.length > 0xffff) throw new CertsmithError('InvalidSpec', `record data for ${rr.name} is ${rdata.length} bytes, over 65535`);
  w.u16(rdata.length);
  w.bytes(rdata);
}

function encodeRData(d: RData): Uint8Array {
  const w = new Writer();
  switch (d.kind) {
    case 'TXT':
      for (const s of d.strings) {
        if (s.length > MAX_CHARACTER_STRING) throw new CertsmithError('InvalidSpec', `a TXT character-string is ${s.length} bytes, over 255`);
        w.u8(s.length);
        w.bytes(s);
      }
      break;
    case 'SOA':
      w.name(d.mname);
      w.name(d.rname);
      for (const v of [d.serial, d.refresh, d.retry, d.expire, d.minimum]) w.u32(v);
      break;
    case 'NS':
      w.name(d.host);
      break;
    case 'CNAME':
      w.name(d.target);
      break;
    case 'A': {
      const octets = d.address.split('.').map(Number);
      if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255)) {
        throw new CertsmithError('InvalidSpec', `"${d.address}" is not an IPv4 address`);
      }
      w.bytes(Uint8Array.from(octets));
      break;
    }
    case 'TSIG':
      w.name(d.algorithm);
      w.u48(d.timeSigned);
      w.u16(d.fudge);
      w.u16(d.mac.length);
      w.bytes(d.mac);
      w.u16(d.originalId);
      w.u16(d.error);
      w.u16(d.otherData.length);
      w.bytes(d.otherData);
      break;
    case 'raw':
      w.bytes(d.bytes);
      break;
  }
  return w.finish();
}

/** A standard query for one name and type. Recursion is off unless asked: we mostly ask authoritative servers. */
export function encodeQuery(q: { id: number; name: string; type: number; recursionDesired?: boolean }): Uint8Array {
  return encodeMessage({
    header: { id: q.id, qr: false, opcode: Opcode.QUERY, aa: false, tc: false, rd: q.recursionDesired ?? false, ra: false, rcode: 0 },
    questions: [{ name: q.name, type: q.type, class: RRClass.IN }],
    answers: [],
    authority: [],
    additional: [],
  });
}

export interface TxtChange {
  /** add: one TXT RR (class IN); delete: exactly that RR and no other value on the name (class NONE, RFC 2136 §2.5.4). */
  op: 'add' | 'delete';
  name: string;
  value: string;
  /** TTL of an added record in seconds (default 60); deletions always carry 0. */
  ttl?: number;
}

export const DEFAULT_TXT_TTL = 60;

/** An RFC 2136 UPDATE of TXT records in `zone`, with no prerequisites. */
export function encodeUpdate(u: { id: number; zone: string; changes: TxtChange[] }): Uint8Array {
  return encodeMessage({
    header: { id: u.id, qr: false, opcode: Opcode.UPDATE, aa: false, tc: false, rd: false, ra: false, rcode: 0 },
    questions: [{ name: u.zone, type: RRType.SOA, class: RRClass.IN }],
    answers: [],
    authority: u.changes.map((c) => ({
      name: c.name,
      type: RRType.TXT,
      class: c.op === 'add' ? RRClass.IN : RRClass.NONE,
      ttl: c.op === 'add' ? (c.ttl ?? DEFAULT_TXT_TTL) : 0,
      data: txtData(c.value),
    })),
    additional: [],
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Decoding

function malformed(why: string): CertsmithError {
  return new CertsmithError('Dns01BadResponse', `malformed DNS message: ${why}`);
}

class Reader {
  offset = 0;
  readonly buf: Uint8Array;
  constructor(buf: Uint8Array) {
    this.buf = buf;
  }

  need(n: number, what: string): void {
    if (this.offset + n > this.buf.length) throw malformed(`${what} runs past the end of the ${this.buf.length}-byte message`);
  }
  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.offset++]!;
  }
  u16(what: string): number {
    this.need(2, what);
    const v = (this.buf[this.offset]! << 8) | this.buf[this.offset + 1]!;
    this.offset += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.offset, 4).readUInt32BE(0);
    this.offset += 4;
    return v;
  }
  u48(what: string): number {
    this.need(6, what);
    const v = Buffer.from(this.buf.buffer, this.buf.byteOffset + this.offset, 6).readUIntBE(0, 6);
    this.offset += 6;
    return v;
  }
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const b = this.buf.slice(this.offset, this.offset + n);
    this.offset += n;
    return b;
  }
  /**
   * A possibly compressed name. Pointers may only point backwards, so a loop cannot hang us; and a name follows at
   * most MAX_POINTERS of them, so names that all point into one long chain of pointers cannot make decoding quadratic.
   */
  name(what: string): string {
    const labels: string[] = [];
    let wireLength = 1;
    let pos = this.offset;
    let resumeAt: number | undefined;
    let pointers = 0;
    for (;;) {
      if (pos >= this.buf.length) throw malformed(`${what} runs past the end of the message`);
      const len = this.buf[pos]!;
      if (len === 0) {
        pos += 1;
        break;
      }
      const kind = len & 0xc0;
      if (kind === 0xc0) {
        if (pos + 1 >= this.buf.length) throw malformed(`${what} has a truncated compression pointer`);
        const target = ((len & 0x3f) << 8) | this.buf[pos + 1]!;
        if (target >= pos) throw malformed(`${what} has a compression pointer that does not point backwards (${pos} → ${target})`);
        if (++pointers > MAX_POINTERS) throw malformed(`${what} follows more than ${MAX_POINTERS} compression pointers`);
        resumeAt ??= pos + 2;
        pos = target;
        continue;
      }
      if (kind !== 0) throw malformed(`${what} uses an unsupported label type 0x${kind.toString(16)}`);
      if (pos + 1 + len > this.buf.length) throw malformed(`${what} has a label that runs past the end of the message`);
      wireLength += 1 + len;
      if (wireLength > MAX_NAME) throw malformed(`${what} is longer than ${MAX_NAME} bytes`);
      labels.push(presentLabel(this.buf.subarray(pos + 1, pos + 1 + len)));
      pos += 1 + len;
    }
    this.offset = resumeAt ?? pos;
    return labels.join('.');
  }
}

export function decodeMessage(bytes: Uint8Array): DecodedMessage {
  const r = new Reader(bytes);
  const id = r.u16('the header');
  const flags1 = r.u8('the header');
  const flags2 = r.u8('the header');
  const header: Header = {
    id,
    qr: (flags1 & 0x80) !== 0,
    opcode: (flags1 >> 3) & 0xf,
    aa: (flags1 & 0x04) !== 0,
    tc: (flags1 & 0x02) !== 0,
    rd: (flags1 & 0x01) !== 0,
    ra: (flags2 & 0x80) !== 0,
    rcode: flags2 & 0xf,
  };
  const qd = r.u16('the header');
  const an = r.u16('the header');
  const ns = r.u16('the header');
  const ar = r.u16('the header');
  const questions: Question[] = [];
  for (let i = 0; i < qd; i++) {
    const what = `question ${i + 1}`;
    questions.push({ name: r.name(what), type: r.u16(what), class: r.u16(what) });
  }
  const section = (count: number, label: string) => {
    const out: DecodedRecord[] = [];
    for (let i = 0; i < count; i++) out.push(readRecord(r, `${label} record ${i + 1}`));
    return out;
  };
  const answers = section(an, 'answer');
  const authority = section(ns, 'authority');
  const additional = section(ar, 'additional');
  if (r.offset !== bytes.length) throw malformed(`${bytes.length - r.offset} bytes follow the last record`);
  return { header, questions, answers, authority, additional };
}

function readRecord(r: Reader, what: string): DecodedRecord {
  const start = r.offset;
  const name = r.name(what);
  const type = r.u16(what);
  const cls = r.u16(what);
  const ttl = r.u32(what);
  const rdlength = r.u16(what);
  r.need(rdlength, `${what} data`);
  const end = r.offset + rdlength;
  const data = readRData(r, type, rdlength, `${what} (type ${type})`);
  if (r.offset !== end) throw malformed(`${what} (type ${type}) data is ${rdlength} bytes but its fields use ${r.offset - (end - rdlength)}`);
  return { name, type, class: cls, ttl, data, start };
}

function readRData(r: Reader, type: number, length: number, what: string): RData {
  if (length === 0) return { kind: 'raw', bytes: new Uint8Array(0) };
  const end = r.offset + length;
  switch (type) {
    case RRType.TXT: {
      const strings: Uint8Array[] = [];
      while (r.offset < end) {
        const n = r.u8(what);
        if (r.offset + n > end) throw malformed(`${what} has a character-string that runs past its data`);
        strings.push(r.bytes(n, what));
      }
      return { kind: 'TXT', strings };
    }
    case RRType.SOA:
      return {
        kind: 'SOA',
        mname: r.name(what),
        rname: r.name(what),
        serial: r.u32(what),
        refresh: r.u32(what),
        retry: r.u32(what),
        expire: r.u32(what),
        minimum: r.u32(what),
      };
    case RRType.NS:
      return { kind: 'NS', host: r.name(what) };
    case RRType.CNAME:
      return { kind: 'CNAME', target: r.name(what) };
    case RRType.A:
      if (length !== 4) throw malformed(`${what} is ${length} bytes, an A record is 4`);
      return { kind: 'A', address: Array.from(r.bytes(4, what)).join('.') };
    case RRType.TSIG: {
      const algorithm = r.name(what);
      const timeSigned = r.u48(what);
      const fudge = r.u16(what);
      const mac = r.bytes(r.u16(what), what);
      const originalId = r.u16(what);
      const error = r.u16(what);
      const otherData = r.bytes(r.u16(what), what);
      return { kind: 'TSIG', algorithm, timeSigned, fudge, mac, originalId, error, otherData };
    }
    default:
      return { kind: 'raw', bytes: r.bytes(length, what) };
  }
}
