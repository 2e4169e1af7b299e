// What the CRD schema cannot say about a Certificate spec: cross-field rules and the syntax of names and durations.
// Pure: returns one user-facing message per problem (empty when the spec is valid), so a user sees every mistake at
// once rather than one per apply.
import { parseDuration } from '../time/duration.ts';
import { dnsNameProblem, emailAddressProblem, ipAddressProblem, uriProblem } from './names.ts';
import { isKeyUsageName, KEY_USAGE_NAMES } from './usages.ts';

export interface CertificateSpecInput {
  secretName: string;
  commonName?: string;
  dnsNames?: string[];
  ipAddresses?: string[];
  uris?: string[];
  emailAddresses?: string[];
  duration?: string;
  renewBefore?: string;
  renewBeforePercentage?: number;
  privateKey?: { algorithm?: string; size?: number; encoding?: string; rotationPolicy?: string };
  usages?: string[];
  isCA?: boolean;
  issuerRef: { name: string; kind?: string };
}

/** The same limit as cert-manager; CAs commonly refuse more (Let's Encrypt: 100). */
export const MAX_SANS = 100;
/** RFC 5280's upper bound for a common name. */
export const MAX_COMMON_NAME = 64;
/**
 * Far below cert-manager's 1h minimum on purpose: tests and demos watch certificates renew within minutes.
 * Below a minute renewal would run almost continuously.
 */
export const MIN_DURATION_MS = 60_000;
/** What an unset duration means; must match the controller's default. */
export const DEFAULT_DURATION = '2160h';
/** What an unset privateKey.algorithm means; must match the controller's default. */
export const DEFAULT_KEY_ALGORITHM = 'ECDSA';

const KEY_SIZES: Record<string, readonly number[]> = {
  RSA: [2048, 3072, 4096, 8192],
  ECDSA: [256, 384, 521],
  Ed25519: [],
};
const KEY_ENCODINGS = ['PKCS1', 'PKCS8'];
const ROTATION_POLICIES = ['Always', 'Never'];
const ISSUER_KINDS = ['Issuer', 'ClusterIssuer'];
// A Secret's name is a DNS-1123 subdomain: lowercase.
const SECRET_NAME = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;

export function validateCertificateSpec(spec: CertificateSpecInput): string[] {
  return [
    ...secretNameProblems(spec),
    ...issuerRefProblems(spec),
    ...subjectProblems(spec),
    ...lifetimeProblems(spec),
    ...privateKeyProblems(spec),
    ...usageProblems(spec),
  ];
}

function secretNameProblems(spec: CertificateSpecInput): string[] {
  const name = spec.secretName;
  if (!name) return ['secretName must be set: name the Secret to write the certificate into'];
  if (name.length > 253 || !SECRET_NAME.test(name)) {
    return [`secretName "${name}" is not a valid Secret name: use lowercase letters, digits, "-" and ".", at most 253 characters`];
  }
  return [];
}

function issuerRefProblems(spec: CertificateSpecInput): string[] {
  const problems: string[] = [];
  if (!spec.issuerRef?.name) problems.push('issuerRef.name must be set: name the Issuer or ClusterIssuer to sign with');
  const kind = spec.issuerRef?.kind;
  if (kind !== undefined && !ISSUER_KINDS.includes(kind)) {
    problems.push(`issuerRef.kind "${kind}" is not supported: use Issuer or ClusterIssuer`);
  }
  return problems;
}

function subjectProblems(spec: CertificateSpecInput): string[] {
  const problems: string[] = [];
  const sans = {
    dnsNames: spec.dnsNames ?? [],
    ipAddresses: spec.ipAddresses ?? [],
    uris: spec.uris ?? [],
    emailAddresses: spec.emailAddresses ?? [],
  };
  const total = sans.dnsNames.length + sans.ipAddresses.length + sans.uris.length + sans.emailAddresses.length;
  if (!spec.commonName && total === 0) {
    problems.push('no identity: set at least one of commonName, dnsNames, ipAddresses, uris or emailAddresses');
  }
  if (spec.commonName !== undefined && spec.commonName.length > MAX_COMMON_NAME) {
    problems.push(`commonName "${spec.commonName}" is ${spec.commonName.length} characters long; the limit is ${MAX_COMMON_NAME}: put long names in dnsNames`);
  }
  if (total > MAX_SANS) {
    problems.push(
      `${total} subject alternative names (dnsNames, ipAddresses, uris and emailAddresses together) is more than the limit of ${MAX_SANS}: split them across several Certificates`,
    );
  }
  const check = (field: string, values: string[], problemOf: (v: string) => string | undefined) => {
    for (const value of values) {
      const problem = problemOf(value);
      if (problem) problems.push(`${field} entry "${value}" ${problem}`);
    }
  };
  check('dnsNames', sans.dnsNames, dnsNameProblem);
  check('ipAddresses', sans.ipAddresses, ipAddressProblem);
  check('uris', sans.uris, uriProblem);
  check('emailAddresses', sans.emailAddresses, emailAddressProblem);
  return problems;
}

function lifetimeProblems(spec: CertificateSpecInput): string[] {
  const problems: string[] = [];
  const parse = (field: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    try {
      return parseDuration(text);
    } catch (err) {
      problems.push(`${field}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const duration = parse('duration', spec.duration);
  const renewBefore = parse('renewBefore', spec.renewBefore);
  const pct = spec.renewBeforePercentage;

  if (duration !== undefined && duration < MIN_DURATION_MS) {
    problems.push(`duration "${spec.duration}" is shorter than the minimum of 1m`);
  }
  if (renewBefore !== undefined && pct !== undefined) {
    problems.push('renewBefore and renewBeforePercentage are both set: keep only one');
  }
  if (renewBefore !== undefined) {
    const lifetime = duration ?? (spec.duration === undefined ? parseDuration(DEFAULT_DURATION) : undefined);
    const lifetimeText = spec.duration ?? `${DEFAULT_DURATION}, the default`;
    if (renewBefore === 0) {
      problems.push(`renewBefore "${spec.renewBefore}" must be longer than 0`);
    } else if (lifetime !== undefined && renewBefore >= lifetime) {
      problems.push(
        `renewBefore "${spec.renewBefore}" must be shorter than the duration (${lifetimeText}), or every certificate would be due for renewal as soon as it is issued`,
      );
    }
  }
  if (pct !== undefined && !(Number.isFinite(pct) && pct > 0 && pct < 100)) {
    problems.push(`renewBeforePercentage ${pct} is out of range: use a number greater than 0 and less than 100`);
  }
  return problems;
}

function privateKeyProblems(spec: CertificateSpecInput): string[] {
  const problems: string[] = [];
  const key = spec.privateKey ?? {};
  const algorithm = key.algorithm ?? DEFAULT_KEY_ALGORITHM;
  // Own keys only: "constructor" or "toString" would otherwise find the object's inherited functions.
  const sizes = Object.hasOwn(KEY_SIZES, algorithm) ? KEY_SIZES[algorithm] : undefined;
  const which = key.algorithm === undefined ? `${algorithm} (the default algorithm)` : algorithm;
  if (!sizes) {
    problems.push(`privateKey.algorithm "${algorithm}" is not supported: use RSA, ECDSA or Ed25519`);
  } else if (key.size !== undefined) {
    if (sizes.length === 0) {
      problems.push(`privateKey.size ${key.size} cannot be used with ${which}: leave size out`);
    } else if (!sizes.includes(key.size)) {
      problems.push(`privateKey.size ${key.size} is not valid for ${which}: use ${sizes.join(', ')}`);
    }
  }
  if (key.encoding !== undefined && !KEY_ENCODINGS.includes(key.encoding)) {
    problems.push(`privateKey.encoding "${key.encoding}" is not supported: use PKCS1 or PKCS8`);
  } else if (key.encoding === 'PKCS1' && algorithm === 'Ed25519') {
    problems.push('privateKey.encoding PKCS1 cannot hold an Ed25519 key: use PKCS8 or leave encoding out');
  }
  if (key.rotationPolicy !== undefined && !ROTATION_POLICIES.includes(key.rotationPolicy)) {
    problems.push(`privateKey.rotationPolicy "${key.rotationPolicy}" is not supported: use Always or Never`);
  }
  return problems;
}

function usageProblems(spec: CertificateSpecInput): string[] {
  return (spec.usages ?? [])
    .filter((u) => !isKeyUsageName(u))
    .map((u) => `usages entry "${u}" is not a known usage: use one of ${KEY_USAGE_NAMES.map((n) => `"${n}"`).join(', ')}`);
}
