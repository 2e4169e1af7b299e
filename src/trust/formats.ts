// Truststores for clients that do not read PEM (Java, mostly): JKS and PKCS#12 holding only trusted certificates.
// Pure and deterministic: the same certificates and password give the same bytes on every run — fixed timestamps
// (each certificate's notBefore), aliases from fingerprints, the PKCS#12 MAC salt derived from the content — so an
// unchanged bundle never rewrites its targets. The few DER structures are encoded here: the @peculiar/asn1-* classes
// are only transitive dependencies, and this keeps the byte layout in plain sight.
import { createHash, createHmac } from 'node:crypto';
import { X509Certificate } from 'node:crypto';

/** DER certificates in bundle order; the alias is the lowercase SHA-256 hex of each. */
export interface TruststoreInput {
  ders: readonly Uint8Array[];
  /** Empty when no password is set. */
  password: string;
}

const aliasOf = (der: Uint8Array) => createHash('sha256').update(der).digest('hex');

// ---------------------------------------------------------------------------------------------------- JKS
// Layout (sun.security.provider.JavaKeyStore): magic, version 2, count; per trusted-certificate entry tag 2,
// alias (modified UTF-8 with a u16 length), creation time in ms (u64), certificate type "X.509", u32 length, DER;
// then SHA-1 over password-as-UTF-16BE + "Mighty Aphrodite" + everything before.
const JKS_MAGIC = 0xfeedfeed;
const JKS_TRUSTED_CERT = 2;

export function encodeJks({ ders, password }: TruststoreInput): Buffer {
  const parts: Buffer[] = [u32(JKS_MAGIC), u32(2), u32(ders.length)];
  for (const der of ders) {
    // notBefore: a fixed time that means something to whoever lists the store.
    const created = BigInt(new X509Certificate(der).validFromDate.getTime());
    const time = Buffer.alloc(8);
    time.writeBigInt64BE(created);
    parts.push(u32(JKS_TRUSTED_CERT), utf(aliasOf(der)), time, utf('X.509'), u32(der.length), Buffer.from(der));
  }
  const body = Buffer.concat(parts);
  const digest = createHash('sha1').update(utf16be(password)).update('Mighty Aphrodite', 'utf8').update(body).digest();
  return Buffer.concat([body, digest]);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** Java's writeUTF for ASCII (aliases and "X.509" are hex and ASCII). */
function utf(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([bytes.length >> 8, bytes.length & 0xff]), bytes]);
}

function utf16be(s: string): Buffer {
  const b = Buffer.alloc(s.length * 2);
  for (let i = 0; i < s.length; i++) b.writeUInt16BE(s.charCodeAt(i), i * 2);
  return b;
}

// ---------------------------------------------------------------------------------------------------- PKCS#12
const OID = {
  data: '1.2.840.113549.1.7.1',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  friendlyName: '1.2.840.113549.1.9.20',
  // Oracle's "trusted key usage" bag attribute: Java's PKCS12 keystore loads a certificate bag as a trusted
  // certificate entry only when it carries this attribute.
  javaTrustedKeyUsage: '2.16.840.1.113894.746875.1.1',
  anyExtendedKeyUsage: '2.5.29.37.0',
  sha256: '2.16.840.1.101.3.4.2.1',
};
/** OpenSSL 3's default MAC iteration count. */
export const PKCS12_MAC_ITERATIONS = 2048;

/**
 * A PFX (RFC 7292) with one unencrypted SafeContents of certificate bags — public certificates need no
 * confidentiality — and an HMAC-SHA-256 MAC keyed by the PKCS#12 KDF, its salt the SHA-256 of the content.
 */
export function encodePkcs12({ ders, password }: TruststoreInput): Buffer {
  const bags = ders.map((der) =>
    seq(
      oid(OID.certBag),
      explicit0(seq(oid(OID.x509Certificate), explicit0(octets(der)))),
      set(seq(oid(OID.friendlyName), set(bmpString(aliasOf(der)))), seq(oid(OID.javaTrustedKeyUsage), set(oid(OID.anyExtendedKeyUsage)))),
    ),
  );
  const safeContents = seq(...bags);
  const authSafe = seq(seq(oid(OID.data), explicit0(octets(safeContents))));
  const salt = createHash('sha256').update('certsmith pkcs12 mac salt').update(authSafe).digest().subarray(0, 16);
  const key = pkcs12Kdf(password, salt, 3, PKCS12_MAC_ITERATIONS, 32);
  const mac = createHmac('sha256', key).update(authSafe).digest();
  return seq(
    integer(3),
    seq(oid(OID.data), explicit0(octets(authSafe))),
    seq(seq(seq(oid(OID.sha256), nullValue()), octets(mac)), octets(salt), integer(PKCS12_MAC_ITERATIONS)),
  );
}

/** RFC 7292 appendix B.2 with SHA-256 (u = 32, v = 64); the password as a NUL-terminated BMPString. */
export function pkcs12Kdf(password: string, salt: Uint8Array, id: number, iterations: number, length: number): Buffer {
  const u = 32;
  const v = 64;
  const pw = Buffer.concat([utf16be(password), Buffer.alloc(2)]);
  const fill = (src: Uint8Array) => {
    if (src.length === 0) return Buffer.alloc(0);
    const out = Buffer.alloc(v * Math.ceil(src.length / v));
    for (let i = 0; i < out.length; i++) out[i] = src[i % src.length]!;
    return out;
  };
  const D = Buffer.alloc(v, id);
  const I = Buffer.concat([fill(salt), fill(pw)]);
  const out: Buffer[] = [];
  for (let produced = 0; produced < length; produced += u) {
    let A = createHash('sha256').update(D).update(I).digest();
    for (let r = 1; r < iterations; r++) A = createHash('sha256').update(A).digest();
    out.push(A);
    const B = fill(A);
    // I_j = (I_j + B + 1) mod 2^(8v), for every v-byte block of I.
    for (let j = 0; j < I.length; j += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = I[j + k]! + B[k]! + carry;
        I[j + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(out).subarray(0, length);
}

// DER: definite lengths, minimal integers; SETs here hold one element or elements in a fixed order.
function tlv(tag: number, content: Uint8Array): Buffer {
  const n = content.length;
  let len: Buffer;
  if (n < 0x80) len = Buffer.from([n]);
  else {
    const bytes: number[] = [];
    for (let x = n; x > 0; x = Math.floor(x / 256)) bytes.unshift(x & 0xff);
    len = Buffer.from([0x80 | bytes.length, ...bytes]);
  }
  return Buffer.concat([Buffer.from([tag]), len, content]);
}
const seq = (...items: Uint8Array[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Uint8Array[]) => tlv(0x31, Buffer.concat(items));
const explicit0 = (inner: Uint8Array) => tlv(0xa0, inner);
const octets = (b: Uint8Array) => tlv(0x04, b);
const nullValue = () => Buffer.from([0x05, 0x00]);
const bmpString = (s: string) => tlv(0x1e, utf16be(s));

function integer(n: number): Buffer {
  const bytes: number[] = [];
  for (let x = n; x > 0; x = Math.floor(x / 256)) bytes.unshift(x & 0xff);
  if (bytes.length === 0 || bytes[0]! & 0x80) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out: number[] = [];
  for (const arc of [a! * 40 + b!, ...rest]) {
    const chunk: number[] = [arc & 0x7f];
    for (let x = Math.floor(arc / 128); x > 0; x = Math.floor(x / 128)) chunk.unshift((x & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}
