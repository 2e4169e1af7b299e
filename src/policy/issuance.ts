// Whether a Certificate must be (re)issued: an ordered chain of small pure checks; the first that fires names
// the reason. Undefined means the Secret holds what the spec asks for and nothing is due.
import { canonicalUsages } from '../pki/usages.ts';
import type { CertInfo, KeySpec, KeyUsageName, SubjectFields } from '../pki/types.ts';
import { canonicalIp } from '../pki/inspect.ts';
import { computeRenewalTime } from './renewal.ts';

export const IssuanceReason = {
  SecretMissing: 'SecretMissing',
  MissingData: 'MissingData',
  InvalidCertificate: 'InvalidCertificate',
  InvalidKey: 'InvalidKey',
  KeyMismatch: 'KeyMismatch',
  IssuerChanged: 'IssuerChanged',
  SpecChanged: 'SpecChanged',
  Expired: 'Expired',
  Renewing: 'Renewing',
} as const;
export type IssuanceReason = (typeof IssuanceReason)[keyof typeof IssuanceReason];

export interface IssuanceInputs {
  now: Date;
  /** undefined: the Secret does not exist. */
  secret:
    | undefined
    | {
        certificatePem?: string;
        privateKeyPem?: string;
        cert?: CertInfo;
        keyMatchesCert: boolean;
        keySpec?: KeySpec;
        issuerAnnotation?: { name: string; kind: string };
      };
  desired: {
    commonName?: string;
    subject?: SubjectFields;
    dnsNames: string[];
    ipAddresses: string[];
    uris: string[];
    emailAddresses: string[];
    usages: KeyUsageName[];
    isCA: boolean;
    key: KeySpec;
    durationMs: number;
    issuer: { name: string; kind: string };
  };
  renewBeforeMs?: number;
  renewBeforePercentage?: number;
}

export interface IssuanceDecision {
  reason: IssuanceReason;
  message: string;
}

type Check = (i: IssuanceInputs) => IssuanceDecision | undefined;

const secretMissing: Check = (i) =>
  i.secret ? undefined : { reason: IssuanceReason.SecretMissing, message: 'the Secret does not exist' };

const missingData: Check = (i) => {
  const missing = [!i.secret?.certificatePem && 'tls.crt', !i.secret?.privateKeyPem && 'tls.key'].filter(Boolean);
  return missing.length > 0 ? { reason: IssuanceReason.MissingData, message: `the Secret has no ${missing.join(' and no ')}` } : undefined;
};

const invalidCertificate: Check = (i) =>
  i.secret?.cert ? undefined : { reason: IssuanceReason.InvalidCertificate, message: 'tls.crt does not hold a readable certificate' };

const invalidKey: Check = (i) =>
  i.secret?.keySpec ? undefined : { reason: IssuanceReason.InvalidKey, message: 'tls.key does not hold a readable private key' };

const keyMismatch: Check = (i) =>
  i.secret?.keyMatchesCert ? undefined : { reason: IssuanceReason.KeyMismatch, message: 'tls.key does not match the certificate in tls.crt' };

const issuerChanged: Check = (i) => {
  const a = i.secret?.issuerAnnotation;
  const d = i.desired.issuer;
  if (!a || (a.name === d.name && a.kind === d.kind)) return undefined;
  return { reason: IssuanceReason.IssuerChanged, message: `issuer changed from ${a.kind} ${a.name} to ${d.kind} ${d.name}` };
};

const specChanged: Check = (i) => {
  const cert = i.secret!.cert!;
  const d = i.desired;
  const diffs: string[] = [];
  const setDiff = (field: string, want: string[], have: string[], fold: (s: string) => string = (s) => s) => {
    const w = new Set(want.map(fold));
    const h = new Set(have.map(fold));
    const added = [...w].filter((x) => !h.has(x)).sort();
    const removed = [...h].filter((x) => !w.has(x)).sort();
    if (added.length || removed.length) {
      const parts = [added.length && `added ${added.join(', ')}`, removed.length && `removed ${removed.join(', ')}`].filter(Boolean);
      diffs.push(`${field} changed: ${parts.join('; ')}`);
    }
  };
  setDiff('dnsNames', d.dnsNames, cert.dnsNames, (s) => s.toLowerCase());
  setDiff('ipAddresses', d.ipAddresses.map(canonicalIp), cert.ipAddresses);
  setDiff('uris', d.uris, cert.uris);
  setDiff('emailAddresses', d.emailAddresses, cert.emailAddresses);
  if ((d.commonName ?? '') !== (cert.commonName ?? '')) diffs.push(`commonName changed to "${d.commonName ?? ''}"`);
  const subjectKeys = ['organizations', 'organizationalUnits', 'countries', 'localities', 'provinces'] as const;
  for (const k of subjectKeys) {
    const want = [...(d.subject?.[k] ?? [])].sort().join(',');
    const have = [...(cert.subjectFields[k] ?? [])].sort().join(',');
    if (want !== have) diffs.push(`subject.${k} changed`);
  }
  if (d.isCA !== cert.isCA) diffs.push(`isCA changed to ${d.isCA}`);
  const wantUsages = canonicalUsages([...d.usages, ...(d.isCA ? (['cert sign', 'crl sign'] as const) : [])]);
  const haveUsages = canonicalUsages(cert.usages);
  if (wantUsages.join(',') !== haveUsages.join(',')) diffs.push(`usages changed to ${wantUsages.join(', ')}`);
  const k = i.secret!.keySpec!;
  if (k.algorithm !== d.key.algorithm || (k.size ?? 0) !== (d.key.size ?? 0)) {
    diffs.push(`private key changed from ${k.algorithm}${k.size ? ' ' + k.size : ''} to ${d.key.algorithm}${d.key.size ? ' ' + d.key.size : ''}`);
  }
  return diffs.length > 0 ? { reason: IssuanceReason.SpecChanged, message: diffs.join('; ') } : undefined;
};

const expired: Check = (i) => {
  const cert = i.secret!.cert!;
  return i.now >= cert.notAfter
    ? { reason: IssuanceReason.Expired, message: `the certificate expired at ${cert.notAfter.toISOString()}` }
    : undefined;
};

const renewing: Check = (i) => {
  const cert = i.secret!.cert!;
  const at = computeRenewalTime({
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    ...(i.renewBeforeMs !== undefined ? { renewBeforeMs: i.renewBeforeMs } : {}),
    ...(i.renewBeforePercentage !== undefined ? { renewBeforePercentage: i.renewBeforePercentage } : {}),
  });
  return i.now >= at ? { reason: IssuanceReason.Renewing, message: `renewal was due at ${at.toISOString()}` } : undefined;
};

/** The checks, in order. Later checks may assume earlier ones passed (the Secret, certificate and key exist). */
export const issuanceChecks: readonly Check[] = [
  secretMissing,
  missingData,
  invalidCertificate,
  invalidKey,
  keyMismatch,
  issuerChanged,
  specChanged,
  expired,
  renewing,
];

export function decideIssuance(inputs: IssuanceInputs): IssuanceDecision | undefined {
  for (const check of issuanceChecks) {
    const d = check(inputs);
    if (d) return d;
  }
  return undefined;
}
