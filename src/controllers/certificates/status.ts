// Status building blocks for Certificates. Pure.
//
// Ready says whether the Secret holds a valid certificate for the current spec. Issuing says an issuance is due:
// True while it is pending (waiting on the issuer), False once it failed, absent when nothing is due. A renewal
// that is pending or failing therefore leaves Ready=True while the current certificate is still good, as
// cert-manager users expect: alerts on Ready fire for broken certificates, not for a renewal that is retrying.
import { isDeepStrictEqual } from 'node:util';
import { ConditionType, removeCondition, setCondition, toRfc3339 } from '../../api/conditions.ts';
import type { CertificateStatus } from '../../api/certificate.ts';
import type { Condition } from '../../api/meta.ts';
import { compareStrings } from '../../ordering.ts';

export function readyCondition(status: 'True' | 'False', reason: string, message: string, generation: number | undefined): Condition {
  return condition(ConditionType.Ready, status, reason, message, generation);
}

export function issuingCondition(status: 'True' | 'False', reason: string, message: string, generation: number | undefined): Condition {
  return condition(ConditionType.Issuing, status, reason, message, generation);
}

function condition(type: string, status: 'True' | 'False', reason: string, message: string, generation: number | undefined): Condition {
  return { type, status, reason, message, ...(generation !== undefined ? { observedGeneration: generation } : {}) };
}

/**
 * Status for a Certificate that cannot be issued at all (invalid spec, Secret taken): Ready=False, and no Issuing,
 * since nothing will be attempted until the user acts.
 */
export function blockedStatus(prev: CertificateStatus | undefined, ready: Condition, now: Date): CertificateStatus {
  return { ...(prev ?? {}), conditions: setCondition(removeCondition(prev?.conditions, ConditionType.Issuing), ready, now) };
}

/** Sets Ready (when given) and Issuing together, in one status write. */
export function withIssuing(prev: CertificateStatus | undefined, issuing: Condition, ready: Condition | undefined, now: Date): CertificateStatus {
  let conditions = setCondition(prev?.conditions, issuing, now);
  if (ready) conditions = setCondition(conditions, ready, now);
  return { ...(prev ?? {}), conditions };
}

export interface Validity {
  notBefore: Date;
  notAfter: Date;
  renewalTime: Date;
  revision: number;
}

/** Status for a certificate that is in its Secret and valid. Clears failure bookkeeping and the Issuing condition. */
export function issuedStatus(prev: CertificateStatus | undefined, v: Validity, cond: Condition, now: Date): CertificateStatus {
  const { lastFailureTime: _l, failedIssuanceAttempts: _f, nextRetryTime: _n, ...rest } = prev ?? {};
  return {
    ...rest,
    conditions: setCondition(removeCondition(prev?.conditions, ConditionType.Issuing), cond, now),
    notBefore: toRfc3339(v.notBefore),
    notAfter: toRfc3339(v.notAfter),
    renewalTime: toRfc3339(v.renewalTime),
    revision: v.revision,
  };
}

/** Status after a failed issuance: Issuing=False, and Ready too when given (it is left alone for a failed renewal). */
export function failedStatus(
  prev: CertificateStatus | undefined,
  issuing: Condition,
  ready: Condition | undefined,
  attempts: number,
  nextRetry: Date,
  now: Date,
): CertificateStatus {
  return {
    ...withIssuing(prev, issuing, ready, now),
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
  return Object.fromEntries(entries.sort(([a], [b]) => compareStrings(a, b)));
}
