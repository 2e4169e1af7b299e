// What a look at an issuer found, as its Ready condition, the status fields that go with it and when to look
// again; and the status that results. Pure: time is passed in, and nothing here reads or writes.
import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import { ConditionType, Reason, findCondition, setCondition } from '../../api/conditions.ts';
import type { Issuer, IssuerStatus } from '../../api/issuer.ts';
import type { Condition } from '../../api/meta.ts';
import { formatZodIssues } from '../../api/zod-issues.ts';
import type { ErrorCode } from '../../errors.ts';
import { compareStrings } from '../../ordering.ts';
import { ACCOUNT_RECHECK_MS } from './acme-account-plan.ts';
import type { AcmeAccountOutcome } from './acme-account.ts';

/** What one look at the issuer found. */
export interface IssuerCheck {
  status: 'True' | 'False';
  reason: string;
  message: string;
  /** Status fields besides the conditions; absent ones are dropped from status. */
  fields?: Pick<IssuerStatus, 'caNotAfter' | 'caFingerprint' | 'acme' | 'ca' | 'podCertificateSignerName'>;
  requeueAfterMs?: number;
  /** The user replaced the CA in the issuer's Secret since the last look (an event says so). */
  caReplaced?: boolean;
}

// CA Secrets a user manages are watched one by one (wiring.ts); this is the safety net.
export const RECHECK_MS = 5 * 60_000;
// An unreachable or failing ACME server is asked again sooner than a broken Secret is looked at.
export const ACME_RETRY_MS = 60_000;

const reasonForCode: Partial<Record<ErrorCode, string>> = {
  SecretNotFound: Reason.SecretNotFound,
  SecretMissingKey: Reason.SecretMissingKey,
  InvalidPEM: Reason.InvalidPEM,
  NotCA: Reason.NotCA,
  KeyMismatch: Reason.KeyMismatch,
  CAExpired: Reason.CAExpired,
  InvalidSpec: Reason.InvalidIssuerSpec,
  InvalidDuration: Reason.InvalidIssuerSpec,
  SecretConflict: Reason.SecretConflict,
  UnsupportedKey: Reason.InvalidPEM,
  AcmeUnreachable: Reason.AcmeServerUnreachable,
  AcmeBadResponse: Reason.AcmeServerUnreachable,
  AcmeResponseTooLarge: Reason.AcmeServerUnreachable,
  AcmeUnavailable: Reason.AcmeServerUnreachable,
  AcmeRateLimited: Reason.AcmeRegistrationFailed,
  AcmeAccountProblem: Reason.AcmeAccountRejected,
  AcmeProblem: Reason.AcmeRegistrationFailed,
  AcmeOrderRejected: Reason.AcmeRegistrationFailed,
};

export function invalidSpec(error: z.ZodError): IssuerCheck {
  return { status: 'False', reason: Reason.InvalidIssuerSpec, message: `Invalid spec: ${formatZodIssues(error)}` };
}

export function selfSignedReady(): IssuerCheck {
  return { status: 'True', reason: Reason.IssuerReady, message: 'Signing each certificate with its own key' };
}

export function acmeAccountReady(outcome: AcmeAccountOutcome): IssuerCheck {
  return {
    status: 'True',
    reason: Reason.AcmeAccountRegistered,
    message: outcome.message,
    fields: { acme: outcome.acme },
    requeueAfterMs: ACCOUNT_RECHECK_MS,
  };
}

/** What a step of a CA's rotation found: the managed one's (managed-ca.ts) or the user's (user-ca.ts). */
export interface CaOutcome {
  message: string;
  status: Pick<IssuerStatus, 'caNotAfter' | 'caFingerprint' | 'ca'>;
  requeueAfterMs: number;
  /** The user replaced the CA in the Secret since the last look. */
  switched?: boolean;
}

/** A CA signs, managed by the operator or by the user. */
export function caReady(outcome: CaOutcome): IssuerCheck {
  return {
    status: 'True',
    reason: Reason.IssuerReady,
    message: outcome.message,
    fields: outcome.status,
    requeueAfterMs: outcome.requeueAfterMs,
    ...(outcome.switched ? { caReplaced: true } : {}),
  };
}

/** The issuer cannot sign: a coded error says why. retryAfterMs: what the ACME server asked for, if anything. */
export function failedCheck(prev: IssuerStatus | undefined, code: ErrorCode, message: string, retryAfterMs = 0): IssuerCheck {
  return {
    status: 'False',
    reason: reasonForCode[code] ?? Reason.Failed,
    message,
    // Keep what was registered: a passing outage must not cost the account URL. Keep the CA generations: a
    // replaced CA Secret that is broken must not drop the old CA from the bundles while its leaves are in use.
    fields: { ...(prev?.acme ? { acme: prev.acme } : {}), ...(prev?.ca ? { ca: prev.ca } : {}) },
    requeueAfterMs: code.startsWith('Acme') ? Math.max(retryAfterMs, ACME_RETRY_MS) : RECHECK_MS,
  };
}

export interface StatusPlan {
  ready: Condition;
  status: IssuerStatus;
  /** The status differs from the one the issuer has: apply it. */
  write: boolean;
  /** Ready changed status or reason: an event and a log line say so. */
  readyChanged: boolean;
}

/** The status a check results in, and what changed. */
export function planStatus(issuer: Issuer, check: IssuerCheck, now: Date): StatusPlan {
  const ready: Condition = {
    type: ConditionType.Ready,
    status: check.status,
    reason: check.reason,
    message: check.message,
    observedGeneration: issuer.metadata.generation,
  };
  const prev = findCondition(issuer.status?.conditions, ConditionType.Ready);
  const status: IssuerStatus = { conditions: setCondition(issuer.status?.conditions, ready, now), ...check.fields };
  return {
    ready,
    status,
    write: !statusEqual(issuer.status, status),
    readyChanged: !prev || prev.status !== ready.status || prev.reason !== ready.reason,
  };
}

/** Equal but for fields set to undefined and the order of keys. */
export function statusEqual(a: IssuerStatus | undefined, b: IssuerStatus | undefined): boolean {
  const normalize = (s: IssuerStatus | undefined) =>
    Object.fromEntries(
      Object.entries(s ?? {})
        .filter(([, v]) => v !== undefined)
        .sort(([x], [y]) => compareStrings(x, y)),
    );
  return isDeepStrictEqual(normalize(a), normalize(b));
}
