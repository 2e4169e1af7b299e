// Properties of subject alternative names: DNS names and wildcards, IP addresses, URIs and emails (policy/names.ts,
// pki/ip-address.ts), and validateCertificateSpec, which checks a whole spec with them.
import assert from 'node:assert/strict';
import { canonicalIpAddress, ipAddressBytes, ipAddressText, ipInRange } from '../../../src/pki/ip-address.ts';
import { dnsNameAllowed, globMatches } from '../../../src/policy/issuance-policy.ts';
import { canonicalEmailAddress, dnsNameProblem, emailAddressProblem, ipAddressProblem, uriProblem } from '../../../src/policy/names.ts';
import { KEY_USAGE_NAMES } from '../../../src/policy/usages.ts';
import { MAX_SANS, validateCertificateSpec, type CertificateSpecInput } from '../../../src/policy/validate-certificate.ts';
import { nameLabels } from '../../../src/acme/dns01/wire.ts';
import { wildcardFor } from '../../../src/reload/sni.ts';
import { AWKWARD_CHARACTERS, mutateString, property, PROTOTYPE_KEYS, shrinkJson, shrinkString, type Random } from './harness.ts';

const HOST_CHARACTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-';

function label(r: Random): string {
  const length = r.weighted<number>([
    [8, () => r.range(1, 12)],
    [1, () => r.range(60, 64)],
  ]);
  return r.string(HOST_CHARACTERS, length);
}

/** Host names as people write them, now and then a wildcard or a length near the 253 limit. */
function hostName(r: Random): string {
  const labels = Array.from({ length: r.range(1, 5) }, () => label(r));
  if (r.chance(0.05)) while (labels.join('.').length < 250) labels.push(label(r));
  if (r.chance(0.2)) labels.unshift('*');
  return labels.join('.');
}

function untrustedName(r: Random, size: number): string {
  return r.weighted<string>([
    [4, () => hostName(r)],
    [4, () => mutateString(r, hostName(r), '.-*_aZ09')],
    [1, () => r.string([...HOST_CHARACTERS, '.', '*', ...AWKWARD_CHARACTERS], r.length(size))],
  ]);
}

// RFC 1123 host names, letters case-insensitive, with a wildcard only as the whole leftmost label.
const RFC1123 = /^(?:\*\.)?(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

property({
  name: 'dnsNameProblem never throws, and accepts exactly the RFC 1123 names of at most 253 characters with a leftmost wildcard at most',
  iterations: 4000,
  generate: untrustedName,
  shrink: shrinkString,
  check: (name) => {
    const problem = dnsNameProblem(name);
    const valid = name.length <= 253 && RFC1123.test(name);
    assert.equal(problem === undefined, valid, `the problem was ${JSON.stringify(problem)}`);
    if (!valid) return;
    assert.equal(dnsNameProblem(name.toLowerCase()), undefined, 'the lower-case form is as good');
    // A valid name always fits the DNS wire format, where DNS-01 writes it.
    assert.ok(nameLabels(name).length > 0);
    // Reload's SNI lookup covers a name with a wildcard certificates may hold.
    const covering = name.startsWith('*.') ? undefined : wildcardFor(name.toLowerCase());
    if (covering !== undefined) assert.equal(dnsNameProblem(covering), undefined, `its covering wildcard ${covering}`);
  },
});

// ------------------------------------------------------------------------------------------------------ IPs

/** RFC 5952: lower-case hex, no leading zeros, the first longest run of two or more zero groups as "::". */
function rfc5952(bytes: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8; ) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > best.length) best = { at: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best.at < 0) return hex.join(':');
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.length).join(':')}`;
}

interface Address {
  bytes: Uint8Array;
  /** One of the many ways to write it. */
  text: string;
}

/** Sixteen bytes with runs of zeros, now and then an IPv4-mapped or IPv4-compatible address. */
function ipv6Bytes(r: Random): Uint8Array {
  const b = new Uint8Array(16);
  for (let g = 0; g < 8; g++) {
    if (r.chance(0.5)) continue;
    b[2 * g] = r.chance(0.5) ? 0 : r.int(256);
    b[2 * g + 1] = r.int(256);
  }
  const kind = r.int(10);
  if (kind === 0) b.fill(0, 0, 10).fill(0xff, 10, 12); // ::ffff:a.b.c.d
  if (kind === 1) b.fill(0, 0, 12); // ::a.b.c.d
  return b;
}

function spellIpv6(r: Random, bytes: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  let words = groups.map((g) => {
    const hex = g.toString(16);
    const padded = r.chance(0.3) ? hex.padStart(r.range(hex.length, 4), '0') : hex;
    return r.chance(0.3) ? padded.toUpperCase() : padded;
  });
  // The last 32 bits may be written as a dotted quad, for any address.
  if (r.chance(0.2)) words = [...words.slice(0, 6), Array.from(bytes.subarray(12)).join('.')];
  // "::" may stand for any one run of zero groups, even a single one.
  const zeros: [number, number][] = [];
  for (let i = 0; i < words.length; i++) {
    for (let j = i; j < words.length && groups[j] === 0 && !words[j]!.includes('.'); j++) zeros.push([i, j + 1]);
  }
  if (zeros.length === 0 || r.chance(0.3)) return words.join(':');
  const [from, to] = r.pick(zeros);
  return `${words.slice(0, from).join(':')}::${words.slice(to).join(':')}`;
}

function address(r: Random): Address {
  if (r.chance(0.3)) {
    const bytes = r.bytes(4);
    return { bytes, text: Array.from(bytes).join('.') };
  }
  const bytes = ipv6Bytes(r);
  return { bytes, text: spellIpv6(r, bytes) };
}

property({
  name: 'every spelling of an IP address has one text form (RFC 5952 for IPv6) and one canonical form (IPv4 for mapped)',
  iterations: 3000,
  generate: address,
  show: (a) => JSON.stringify(a.text),
  check: ({ bytes, text }) => {
    const v4 = (b: Uint8Array) => Array.from(b).join('.');
    const expected = bytes.length === 4 ? v4(bytes) : rfc5952(bytes);
    assert.equal(ipAddressText(text), expected);
    assert.equal(ipAddressProblem(text), undefined);
    const mapped = bytes.length === 16 && bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
    assert.equal(canonicalIpAddress(text), mapped ? v4(bytes.subarray(12)) : expected);
  },
});

property({
  name: 'ipAddressText and canonicalIpAddress never throw, agree with ipAddressProblem, and are idempotent',
  iterations: 3000,
  generate: (r, size) =>
    r.weighted<string>([
      [4, () => mutateString(r, address(r).text, '0123456789abcdefABCDEF:.%/')],
      [1, () => `${address(r).text}%${r.pick(['eth0', '1', ''])}`],
      [1, () => r.string('0123456789abcdef:.%[]/ ', r.length(size))],
    ]),
  shrink: shrinkString,
  check: (text) => {
    const written = ipAddressText(text);
    assert.equal(ipAddressProblem(text) === undefined, written !== undefined, `ipAddressText gave ${written}`);
    if (written !== undefined) assert.equal(ipAddressText(written), written);
    const canonical = canonicalIpAddress(text);
    assert.equal(canonicalIpAddress(canonical), canonical);
  },
});

/** The bytes an address stands for, IPv4-mapped IPv6 as IPv4 (as the policy compares them). */
function comparedBytes(bytes: Uint8Array): Uint8Array {
  const mapped = bytes.length === 16 && bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff;
  return mapped ? bytes.slice(12) : bytes;
}

function samePrefix(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  for (let i = 0; i < bits; i++) {
    const mask = 0x80 >> (i % 8);
    if ((a[i >> 3]! & mask) !== (b[i >> 3]! & mask)) return false;
  }
  return true;
}

property<{ ip: Address; base: Address; bits: number }>({
  name: 'ipInRange says whether the first bits of an address equal the range’s, whichever way both are written',
  iterations: 3000,
  generate: (r) => {
    const ip = address(r);
    // Half the ranges are made to contain the address, the rest are random.
    const base = r.chance(0.5) ? { bytes: ip.bytes, text: ip.bytes.length === 4 ? Array.from(ip.bytes).join('.') : spellIpv6(r, ip.bytes) } : address(r);
    return { ip, base, bits: r.range(0, 8 * base.bytes.length + 1) };
  },
  show: ({ ip, base, bits }) => JSON.stringify({ ip: ip.text, range: `${base.text}/${bits}` }),
  check: ({ ip, base, bits }) => {
    const a = comparedBytes(ip.bytes);
    const b = comparedBytes(base.bytes);
    assert.deepEqual(ipAddressBytes(ip.text), a);
    const got = ipInRange(ip.text, `${base.text}/${bits}`);
    if (bits > 8 * b.length) assert.equal(got, undefined, 'a prefix longer than the address is no range');
    else assert.equal(got, a.length === b.length && samePrefix(a, b, bits));
  },
});

/** A zone and names around it: itself, below it, beside it, in other case, with a trailing dot. */
function aroundZone(r: Random): { zone: string; name: string } {
  const zone = Array.from({ length: r.range(1, 3) }, () => label(r).toLowerCase()).join('.');
  const name = r.weighted<string>([
    [2, () => zone],
    [3, () => `${label(r)}.${zone}`],
    [2, () => `${label(r)}.${label(r)}.${zone}`],
    [2, () => `${label(r)}${zone}`],
    [1, () => `*.${zone}`],
    [1, () => `${zone}.${label(r)}`],
    [2, () => mutateString(r, `${label(r)}.${zone}`, '.*-')],
  ]);
  return { zone, name: (r.chance(0.2) ? name.toUpperCase() : name) + (r.chance(0.1) ? '.' : '') };
}

const labelsOf = (name: string) => name.toLowerCase().replace(/\.$/, '').split('.');
const endsWithLabels = (name: string[], zone: string[]) => name.length >= zone.length && zone.every((l, i) => name[name.length - zone.length + i] === l);

property<{ zone: string; name: string }>({
  name: 'dnsNameAllowed lets a zone allow only names at or below it, and a wildcard only names one label below',
  iterations: 3000,
  generate: aroundZone,
  show: (c) => JSON.stringify(c),
  check: ({ zone, name }) => {
    const n = labelsOf(name);
    const z = labelsOf(zone);
    assert.equal(dnsNameAllowed(name, { dnsZones: [zone] }), endsWithLabels(n, z), 'by zone');
    const oneBelow = n.length === z.length + 1 && endsWithLabels(n, z) && n[0] !== '';
    assert.equal(dnsNameAllowed(name, { dnsNames: [`*.${zone}`] }), oneBelow, 'by wildcard');
    assert.equal(dnsNameAllowed(name, { dnsNames: [zone.toUpperCase()] }), n.join('.') === z.join('.'), 'exactly');
  },
});

/** What "*" means in a policy pattern: any run of characters but `stop`; as a regular expression, for reference. */
function globReference(pattern: string, text: string, stop: string): boolean {
  const quote = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  return new RegExp(
    `^${pattern
      .split('*')
      .map(quote)
      .join(`[^${quote(stop)}]*`)}$`,
    's',
  ).test(text);
}

property<{ pattern: string; text: string; stop: string }>({
  name: 'globMatches agrees with a regular-expression reference: a star is any run of characters but the stop',
  iterations: 4000,
  generate: (r) => {
    const stop = r.pick(['/', '@']);
    return { pattern: r.string(['a', 'b', stop, '*', '*', 'ab'], r.range(0, 8)), text: r.string(['a', 'b', stop], r.range(0, 10)), stop };
  },
  shrink: shrinkJson(['pattern', 'text', 'stop']),
  check: ({ pattern, text, stop }) => assert.equal(globMatches(pattern, text, stop), globReference(pattern, text, stop)),
});

// ------------------------------------------------------------------------------------------------------ URIs, emails

const LOCAL_CHARACTERS = "abcdefghijklmnopqrstuvwxyzABC0123456789!#$%&'*+/=?^_`{|}~-.";

property({
  name: 'uriProblem and emailAddressProblem never throw, and an accepted email stays accepted in its canonical form',
  iterations: 3000,
  generate: (r) =>
    r.weighted<string>([
      [2, () => mutateString(r, `${r.pick(['spiffe', 'https', 'urn', 'x-a.b+c'])}://${hostName(r)}/${r.string('abc/%20?#', r.range(0, 20))}`)],
      [2, () => `${r.string(LOCAL_CHARACTERS, r.range(1, 70))}@${r.chance(0.9) ? hostName(r) : ''}`],
      [2, () => mutateString(r, `${r.string(LOCAL_CHARACTERS, r.range(1, 10))}@${hostName(r)}`, '@.."\\ ')],
    ]),
  shrink: shrinkString,
  check: (text) => {
    const uri = uriProblem(text);
    assert.ok(uri === undefined || typeof uri === 'string');
    if (emailAddressProblem(text) !== undefined) return;
    const canonical = canonicalEmailAddress(text);
    assert.equal(canonicalEmailAddress(canonical), canonical);
    assert.equal(emailAddressProblem(canonical), undefined);
    assert.equal(canonical.slice(0, canonical.lastIndexOf('@')), text.slice(0, text.lastIndexOf('@')), 'the local part keeps its case');
  },
});

// ------------------------------------------------------------------------------------------------------ specs

/** A string a field might hold: a valid value, a near miss, or something hostile. */
function oneOf(r: Random, valid: readonly string[]): string {
  return r.weighted<string>([
    [6, () => r.pick(valid)],
    [2, () => mutateString(r, r.pick(valid))],
    [1, () => r.pick(PROTOTYPE_KEYS)],
    [1, () => r.string(AWKWARD_CHARACTERS, r.range(0, 4))],
  ]);
}

const NUMBERS = [0, 1, -1, 256, 384, 521, 2048, 3072, 4096, 8192, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, 99, 100];
const DURATIONS = ['2160h', '1h', '90m', '30s', '0', '1.5h', '2562047h', '2562048h', '-1h', '', '1d'];

/** A spec whose fields each hold something plausible or not; what the CRD schema would let through, and more. */
function spec(r: Random): CertificateSpecInput {
  const list = (max: number, item: () => string) => Array.from({ length: r.chance(0.05) ? MAX_SANS + r.range(-1, 1) : r.range(0, max) }, item);
  const s: CertificateSpecInput = {
    secretName: oneOf(r, ['tls', 'web-tls', 'a.b', 'TLS', '-x', '']),
    issuerRef: { name: oneOf(r, ['ca', '']), ...(r.chance(0.5) ? { kind: oneOf(r, ['Issuer', 'ClusterIssuer']) } : {}) },
  };
  if (r.chance(0.5)) s.commonName = r.chance(0.9) ? hostName(r).slice(0, r.range(1, 80)) : r.pick(PROTOTYPE_KEYS);
  if (r.chance(0.7)) s.dnsNames = list(4, () => untrustedName(r, 20));
  if (r.chance(0.3)) s.ipAddresses = list(3, () => address(r).text);
  if (r.chance(0.2)) s.uris = list(2, () => oneOf(r, ['spiffe://cluster.local/ns/a', 'urn:x', 'a b']));
  if (r.chance(0.2)) s.emailAddresses = list(2, () => oneOf(r, ['a@example.com', 'a@@b', '@x']));
  if (r.chance(0.5)) s.duration = oneOf(r, DURATIONS);
  if (r.chance(0.3)) s.renewBefore = oneOf(r, DURATIONS);
  if (r.chance(0.3)) s.renewBeforePercentage = r.pick(NUMBERS);
  if (r.chance(0.6)) {
    s.privateKey = {};
    if (r.chance(0.7)) s.privateKey.algorithm = oneOf(r, ['RSA', 'ECDSA', 'Ed25519']);
    if (r.chance(0.5)) s.privateKey.size = r.pick(NUMBERS);
    if (r.chance(0.3)) s.privateKey.encoding = oneOf(r, ['PKCS1', 'PKCS8']);
    if (r.chance(0.3)) s.privateKey.rotationPolicy = oneOf(r, ['Always', 'Never']);
  }
  if (r.chance(0.4)) s.usages = list(4, () => oneOf(r, KEY_USAGE_NAMES));
  if (r.chance(0.3)) s.isCA = r.chance(0.5);
  return s;
}

property({
  name: 'validateCertificateSpec never throws, whatever the fields hold, and names each problem in one line',
  iterations: 1500,
  generate: spec,
  shrink: shrinkJson(['secretName', 'issuerRef', 'name']),
  check: (s) => {
    const problems = validateCertificateSpec(s);
    assert.ok(Array.isArray(problems));
    for (const p of problems) assert.ok(typeof p === 'string' && p.length > 0, `a problem is a sentence: ${JSON.stringify(p)}`);
    assert.deepEqual(validateCertificateSpec(structuredClone(s)), problems, 'the same spec gives the same problems');
  },
});

property({
  name: 'validateCertificateSpec accepts a key algorithm only if it is RSA, ECDSA or Ed25519',
  iterations: 1500,
  generate: (r): { algorithm: string; size?: number } => ({
    algorithm: oneOf(r, ['RSA', 'ECDSA', 'Ed25519']),
    ...(r.chance(0.5) ? {} : { size: r.pick(NUMBERS) }),
  }),
  shrink: shrinkJson(['algorithm']),
  check: ({ algorithm, size }) => {
    const problems = validateCertificateSpec({
      secretName: 'tls',
      issuerRef: { name: 'ca' },
      dnsNames: ['a.example'],
      privateKey: { algorithm, ...(size === undefined ? {} : { size }) },
    });
    if (!['RSA', 'ECDSA', 'Ed25519'].includes(algorithm))
      assert.ok(
        problems.some((p) => p.startsWith('privateKey.algorithm')),
        JSON.stringify(problems),
      );
  },
});
