// What the CRD schema cannot check about a Certificate spec. Pure: returns user-facing messages, empty if valid.
import { validateKeySpec } from '../pki/keys.ts';
import { parseDuration } from './duration.ts';
import { dnsNameProblem, emailProblem, ipProblem, uriProblem } from './names.ts';

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

export const MAX_SANS = 100;
/** Short lifetimes are allowed (tests and demos use minutes); anything under a minute is a mistake. */
export const MIN_DURATION_MS = 60_000;

export function validateCertificateSpec(spec: CertificateSpecInput): string[] {
  const problems: string[] = [];
  const dns = spec.dnsNames ?? [];
  const ips = spec.ipAddresses ?? [];
  const uris = spec.uris ?? [];
  const emails = spec.emailAddresses ?? [];
  if (!spec.commonName && dns.length + ips.length + uris.length + emails.length === 0) {
    problems.push('set at least one of commonName, dnsNames, ipAddresses, uris or emailAddresses');
  }

  const duration = tryDuration(spec.duration, 'duration', problems);
  const renewBefore = tryDuration(spec.renewBefore, 'renewBefore', problems);
  if (duration !== undefined && duration < MIN_DURATION_MS) {
    problems.push(`duration "${spec.duration}" is shorter than the minimum of 1m`);
  }
  if (renewBefore !== undefined && spec.renewBeforePercentage !== undefined) {
    problems.push('set renewBefore or renewBeforePercentage, not both');
  }
  const effectiveDuration = duration ?? 2160 * 3_600_000;
  if (renewBefore !== undefined && renewBefore >= effectiveDuration) {
    problems.push(`renewBefore "${spec.renewBefore}" must be shorter than the duration (${spec.duration ?? '2160h'})`);
  }
  const pct = spec.renewBeforePercentage;
  if (pct !== undefined && !(pct > 0 && pct < 100)) {
    problems.push(`renewBeforePercentage ${pct} must be between 1 and 99`);
  }

  const keyProblem = validateKeySpec(spec.privateKey ?? {});
  if (keyProblem) problems.push(keyProblem);
  if (spec.privateKey?.algorithm === 'Ed25519' && spec.privateKey.encoding === 'PKCS1') {
    problems.push('privateKey.encoding PKCS1 is not possible for Ed25519 keys: use PKCS8');
  }

  const total = dns.length + ips.length + uris.length + emails.length;
  if (total > MAX_SANS) problems.push(`${total} subject alternative names is more than the ${MAX_SANS} allowed`);
  const check = (field: string, values: string[], problem: (v: string) => string | undefined) => {
    for (const v of values) {
      const p = problem(v);
      if (p) problems.push(`${field} "${v}" ${p}`);
    }
  };
  check('dnsNames', dns, dnsNameProblem);
  check('ipAddresses', ips, ipProblem);
  check('uris', uris, uriProblem);
  check('emailAddresses', emails, emailProblem);
  if (spec.commonName !== undefined && spec.commonName.length > 64) {
    problems.push(`commonName is ${spec.commonName.length} characters; the limit is 64`);
  }
  return problems;
}

function tryDuration(value: string | undefined, field: string, problems: string[]): number | undefined {
  if (value === undefined) return undefined;
  try {
    return parseDuration(value, field);
  } catch (err) {
    problems.push((err as Error).message);
    return undefined;
  }
}
