// Status building blocks for Certificates. Pure.
import { isDeepStrictEqual } from 'node:util';
import { ConditionType, setCondition, toRfc3339 } from '../../api/conditions.ts';
import type { CertificateStatus } from '../../api/certificate.ts';
import type { Condition } from '../../api/meta.ts';

export function readyCondition(status: 'True' | 'False', reason: string, message: string, generation: number | undefined): Condition {
  return {
    type: ConditionType.Ready,
    status,
    reason,
    message,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
}

export function withReady(prev: CertificateStatus | undefined, cond: Condition, now: Date): CertificateStatus {
  return { ...(prev ?? {}), conditions: setCondition(prev?.conditions, cond, now) };
}

export interface Validity {
  notBefore: Date;
  notAfter: Date;
  renewalTime: Date;
  revision: number;
}

/** Status for a certificate that is in its Secret and valid. Clears failure bookkeeping. */
export function issuedStatus(prev: CertificateStatus | undefined, v: Validity, cond: Condition, now: Date): CertificateStatus {
  const { lastFailureTime: _l, failedIssuanceAttempts: _f, nextRetryTime: _n, ...rest } = prev ?? {};
  return {
    ...rest,
    conditions: setCondition(prev?.conditions, cond, now),
    notBefore: toRfc3339(v.notBefore),
    notAfter: toRfc3339(v.notAfter),
    renewalTime: toRfc3339(v.renewalTime),
    revision: v.revision,
  };
}

export function failedStatus(
  prev: CertificateStatus | undefined,
  cond: Condition,
  attempts: number,
  nextRetry: Date,
  now: Date,
): CertificateStatus {
  return {
    ...(prev ?? {}),
    conditions: setCondition(prev?.conditions, cond, now),
    lastFailureTime: toRfc3339(now),
    failedIssuanceAttempts: attempts,
    nextRetryTime: toRfc3339(nextRetry),
  };
}

export function statusEqual(a: CertificateStatus | undefined, b: CertificateStatus | undefined): boolean {
  return isDeepStrictEqual(normalize(a), normalize(b));
}

function normalize(s: CertificateStatus | undefined): unknown {
  if (!s) return {};
  const entries = Object.entries(s).filter(([, v]) => v !== undefined);
  return Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)));
}
