// Whether a Certificate must be (re)issued, and why: an ordered chain of small pure checks, the first that fires
// wins. `undefined` means the Secret already holds what the spec asks for and renewal is not yet due.
import type { CertInfo, KeySpec, KeyUsageName, SubjectFields } from '../pki/types.ts';
import { canonicalIpAddress } from '../pki/ip-address.ts';
import { canonicalEmailAddress } from './names.ts';
import { computeRenewalTime } from './renewal.ts';
import { canonicalUsages } from './usages.ts';

export const IssuanceReason = {
  SecretMissing: 'SecretMissing',
  MissingData: 'MissingData',
  InvalidCertificate: 'InvalidCertificate',
  InvalidKey: 'InvalidKey',
  KeyMismatch: 'KeyMismatch',
  IssuerChanged: 'IssuerChanged',
  SpecChanged: 'SpecChanged',
  Expired: 'Expired',
  RenewalRequested: 'RenewalRequested',
  Renewing: 'Renewing',
  CAChanged: 'CAChanged',
} as const;
export type IssuanceReason = (typeof IssuanceReason)[keyof typeof IssuanceReason];

export interface StoredSecretState {
  /** Raw tls.crt; missing or blank counts as missing. */
  certificatePem?: string;
  /** Raw tls.key; missing or blank counts as missing. */
  privateKeyPem?: string;
  /** The parsed leaf; undefined when tls.crt is missing or unparseable. */
  cert?: CertInfo;
  keyMatchesCert: boolean;
  /** Of the stored private key, when it parsed. */
  keySpec?: KeySpec;
  /** The issuer the Secret's annotations say signed it; undefined when not annotated. */
  issuerAnnotation?: { name: string; kind: string };
  /** SHA-256 of the first certificate in ca.crt: the CA that signed the leaf. */
  caFingerprint?: string;
}

export interface DesiredCertificateState {
  commonName?: string;
  /** Subject fields beyond the common name; undefined means none. */
  subject?: SubjectFields;
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
  emailAddresses: string[];
  usages: KeyUsageName[];
  isCA: boolean;
  /** A size left out matches any size of that algorithm. */
  key: KeySpec;
  /** Not compared with the issued certificate: a CA may shorten the lifetime it is asked for. */
  durationMs: number;
  issuer: { name: string; kind: string };
}

export interface IssuanceInputs {
  now: Date;
  /** undefined: the Secret does not exist. */
  secret: undefined | StoredSecretState;
  desired: DesiredCertificateState;
  renewBeforeMs?: number;
  renewBeforePercentage?: number;
  /**
   * True when the issuer, not the spec, decides the usages and the subject fields beyond the common name, as ACME
   * CAs do (Let's Encrypt drops O/OU and picks the key usages itself). Those fields are then not compared, so the
   * CA's choice does not trigger re-issuance after re-issuance. Default false: compare everything.
   */
  issuerSetsProfile?: boolean;
  /** The CA's suggested renewal moment (ACME ARI): renewal is due at the earlier of this and the spec's time. */
  earliestRenewalTime?: Date;
  /** SHA-256 of the CA the issuer signs with now (its status), for CA issuers. */
  issuerCaFingerprint?: string;
  /**
   * A person asked for re-issuance now (`certsmith renew`), naming the revision to replace; `currentRevision` is
   * the revision the Secret holds. Naming a revision, not a time, makes the request done once that revision is
   * replaced: a time compared with notBefore would fire forever for CAs that backdate notBefore (Let's Encrypt).
   */
  renewalRequest?: { revision: number; currentRevision: number };
}

export interface IssuanceDecision {
  reason: IssuanceReason;
  message: string;
}

/** One link of the chain. Each may assume the links before it passed, and returns undefined when it cannot judge. */
export type IssuanceCheck = (inputs: IssuanceInputs) => IssuanceDecision | undefined;

const decision = (reason: IssuanceReason, message: string): IssuanceDecision => ({ reason, message });
const blank = (s: string | undefined) => s === undefined || s.trim() === '';

export function secretMissing(i: IssuanceInputs): IssuanceDecision | undefined {
  return i.secret ? undefined : decision(IssuanceReason.SecretMissing, 'the Secret does not exist');
}

export function missingData(i: IssuanceInputs): IssuanceDecision | undefined {
  if (!i.secret) return undefined;
  const noCert = blank(i.secret.certificatePem);
  const noKey = blank(i.secret.privateKeyPem);
  if (noCert && noKey) return decision(IssuanceReason.MissingData, 'the Secret has neither tls.crt nor tls.key');
  if (noCert) return decision(IssuanceReason.MissingData, 'the Secret has no tls.crt');
  if (noKey) return decision(IssuanceReason.MissingData, 'the Secret has no tls.key');
  return undefined;
}

export function invalidCertificate(i: IssuanceInputs): IssuanceDecision | undefined {
  if (!i.secret || i.secret.cert) return undefined;
  return decision(IssuanceReason.InvalidCertificate, 'tls.crt does not hold a readable PEM certificate');
}

export function invalidKey(i: IssuanceInputs): IssuanceDecision | undefined {
  if (!i.secret || i.secret.keySpec) return undefined;
  return decision(IssuanceReason.InvalidKey, 'tls.key does not hold a readable RSA, ECDSA or Ed25519 private key');
}

export function keyMismatch(i: IssuanceInputs): IssuanceDecision | undefined {
  if (!i.secret || i.secret.keyMatchesCert) return undefined;
  return decision(IssuanceReason.KeyMismatch, 'the private key in tls.key does not match the certificate in tls.crt');
}

export function issuerChanged(i: IssuanceInputs): IssuanceDecision | undefined {
  const was = i.secret?.issuerAnnotation;
  if (!was) return undefined; // not annotated (written by hand or by an older version): nothing to compare
  const now = i.desired.issuer;
  if (was.name === now.name && kindOf(was.kind) === kindOf(now.kind)) return undefined;
  return decision(
    IssuanceReason.IssuerChanged,
    `the certificate was issued by ${kindOf(was.kind)} "${was.name}"; the spec now names ${kindOf(now.kind)} "${now.name}"`,
  );
}

/** The issuer now signs with another CA (a rotation, or a replaced CA Secret): the leaf must follow it. */
export function caChanged(i: IssuanceInputs): IssuanceDecision | undefined {
  const was = i.secret?.caFingerprint;
  const now = i.issuerCaFingerprint;
  if (!was || !now || was === now) return undefined;
  return decision(IssuanceReason.CAChanged, `the certificate was signed by CA ${was.slice(0, 16)}; the issuer now signs with CA ${now.slice(0, 16)}`);
}

export function specChanged(i: IssuanceInputs): IssuanceDecision | undefined {
  const cert = i.secret?.cert;
  if (!cert) return undefined;
  const want = i.desired;
  const diffs: string[] = [];
  const push = (d: string | undefined) => d && diffs.push(d);

  push(setDiff('dnsNames', want.dnsNames, cert.dnsNames, (n) => n.toLowerCase()));
  push(setDiff('ipAddresses', want.ipAddresses, cert.ipAddresses, canonicalIpAddress));
  push(setDiff('uris', want.uris, cert.uris, (u) => u));
  push(setDiff('emailAddresses', want.emailAddresses, cert.emailAddresses, canonicalEmailAddress));
  push(commonNameDiff(want, cert));
  if (!i.issuerSetsProfile) {
    for (const field of SUBJECT_LIST_FIELDS) {
      push(setDiff(`subject.${field}`, want.subject?.[field] ?? [], cert.subjectFields[field] ?? [], (v) => v));
    }
  }
  if (want.isCA !== cert.isCA) diffs.push(`isCA changed from ${cert.isCA} to ${want.isCA}`);
  if (!i.issuerSetsProfile) {
    // A CA certificate must be able to sign certificates, whether or not the spec lists "cert sign".
    const wanted: KeyUsageName[] = want.isCA ? [...want.usages, 'cert sign'] : want.usages;
    push(setDiff('usages', canonicalUsages(wanted), canonicalUsages(cert.usages), (u) => u));
  }
  const key = i.secret?.keySpec ?? cert.publicKey;
  const sizeDiffers = want.key.size !== undefined && key.size !== want.key.size;
  if (key.algorithm !== want.key.algorithm || sizeDiffers) {
    diffs.push(`privateKey changed from ${describeKey(key)} to ${describeKey(want.key)}`);
  }
  return diffs.length > 0 ? decision(IssuanceReason.SpecChanged, diffs.join('; ')) : undefined;
}

export function expired(i: IssuanceInputs): IssuanceDecision | undefined {
  const cert = i.secret?.cert;
  if (!cert || i.now < cert.notAfter) return undefined;
  return decision(IssuanceReason.Expired, `the certificate expired at ${cert.notAfter.toISOString()}`);
}

export function renewalRequested(i: IssuanceInputs): IssuanceDecision | undefined {
  const r = i.renewalRequest;
  if (!i.secret?.cert || !r || r.revision !== r.currentRevision) return undefined;
  return decision(IssuanceReason.RenewalRequested, `a renewal of revision ${r.revision} was requested`);
}

export function renewing(i: IssuanceInputs): IssuanceDecision | undefined {
  const cert = i.secret?.cert;
  if (!cert) return undefined;
  const due = computeRenewalTime({
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    ...(i.renewBeforeMs !== undefined ? { renewBeforeMs: i.renewBeforeMs } : {}),
    ...(i.renewBeforePercentage !== undefined ? { renewBeforePercentage: i.renewBeforePercentage } : {}),
  });
  const byCa = i.earliestRenewalTime !== undefined && i.earliestRenewalTime < due;
  const at = byCa ? i.earliestRenewalTime! : due;
  if (i.now < at) return undefined;
  return decision(
    IssuanceReason.Renewing,
    `renewal was due at ${at.toISOString()}${byCa ? " (inside the CA's suggested renewal window)" : ''}; the certificate expires at ${cert.notAfter.toISOString()}`,
  );
}

/** The chain, in order: first the Secret's integrity, then whether it still fits the spec, then time. */
export const issuanceChecks: readonly IssuanceCheck[] = [
  secretMissing,
  missingData,
  invalidCertificate,
  invalidKey,
  keyMismatch,
  issuerChanged,
  specChanged,
  expired,
  renewalRequested,
  renewing,
  // Last: the other reasons issue at once, while this one is spread over a window (policy/ca-rotation.ts).
  caChanged,
];

export function decideIssuance(inputs: IssuanceInputs): IssuanceDecision | undefined {
  for (const check of issuanceChecks) {
    const d = check(inputs);
    if (d) return d;
  }
  return undefined;
}

const SUBJECT_LIST_FIELDS = ['organizations', 'organizationalUnits', 'countries', 'localities', 'provinces'] as const;

function kindOf(kind: string | undefined): string {
  return kind || 'Issuer';
}

/** "<field> changed: added x, y, removed z", comparing by `key`; undefined when the sets are equal. */
function setDiff(field: string, want: readonly string[], have: readonly string[], key: (v: string) => string) {
  const wantKeys = new Set(want.map(key));
  const haveKeys = new Set(have.map(key));
  const added = [...new Set(want.filter((v) => !haveKeys.has(key(v))))].sort();
  const removed = [...new Set(have.filter((v) => !wantKeys.has(key(v))))].sort();
  if (added.length === 0 && removed.length === 0) return undefined;
  const parts = [];
  if (added.length > 0) parts.push(`added ${added.join(', ')}`);
  if (removed.length > 0) parts.push(`removed ${removed.join(', ')}`);
  return `${field} changed: ${parts.join(', ')}`;
}

function commonNameDiff(want: DesiredCertificateState, cert: CertInfo): string | undefined {
  const wanted = want.commonName ?? want.subject?.commonName;
  const has = cert.commonName ?? cert.subjectFields.commonName;
  if (wanted !== undefined) {
    return wanted === has ? undefined : `commonName changed from ${quoteOrNone(has)} to "${wanted}"`;
  }
  if (has === undefined) return undefined;
  // With no commonName in the spec many CAs copy one of the SANs into the CN; that is not a change.
  const sans = [...cert.dnsNames.map((n) => n.toLowerCase()), ...cert.ipAddresses, ...cert.uris, ...cert.emailAddresses];
  if (sans.includes(has) || sans.includes(has.toLowerCase())) return undefined;
  return `commonName changed from "${has}" to none`;
}

function quoteOrNone(s: string | undefined): string {
  return s === undefined ? 'none' : `"${s}"`;
}

function describeKey(k: KeySpec): string {
  if (k.size === undefined) return k.algorithm;
  return k.algorithm === 'ECDSA' ? `ECDSA P-${k.size}` : `${k.algorithm} ${k.size}`;
}
