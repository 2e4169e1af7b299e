// What a reconcile comes to, as data: the whole status to apply, the event to record, the metrics and log line,
// and when to look again. Pure: every function here builds an outcome from the Certificate as read and what the
// act step found; the reconciler applies it (one status write, only when the status changed).
import type { AcmeOrderStatus, Certificate, CertificateStatus, RenewalInfoStatus } from '../../api/certificate.ts';
import { ConditionType, Reason, findCondition, toRfc3339 } from '../../api/conditions.ts';
import type { Condition } from '../../api/meta.ts';
import { renewalTimeWithAri } from '../../acme/ari.ts';
import { backoffForCode, retryTimeFor, type BackoffOptions } from '../../policy/backoff.ts';
import type { IssuanceDecision } from '../../policy/issuance.ts';
import { computeRenewalTime } from '../../policy/renewal.ts';
import type { DesiredCertificate } from './desired.ts';
import type { SecretOwnership } from './secret-ownership.ts';
import { blockedStatus, failedStatus, issuedStatus, issuingCondition, readyCondition, withIssuing } from './status.ts';

export interface CertificateOutcome {
  /** The whole status this reconcile arrives at. */
  status: CertificateStatus;
  event?: { type: 'Normal' | 'Warning'; reason: string; message: string };
  log?: { level: 'info' | 'warn'; fields: Record<string, unknown>; message: string };
  /** Ready=False as a metric; left out when the current certificate is still good. */
  notReady?: true;
  /** The certificate in the Secret and its renewal time, for the validity metrics (Ready=True). */
  validity?: { notAfter: Date; renewalTime: Date };
  /** An issuance attempt ended, for the issuance metrics. */
  issuance?: 'success' | 'failure';
  requeueAfterMs?: number;
}

/** The Secret a Certificate names is not one it may write: why, and when to look again (foreign ones are not cached). */
export function secretRefused(
  cert: Certificate,
  now: Date,
  secretName: string,
  ownership: SecretOwnership,
  recheckForeignMs: number,
): CertificateOutcome | undefined {
  switch (ownership.kind) {
    case 'inUse':
      return notReady(
        cert,
        now,
        Reason.SecretInUse,
        `Secret ${secretName} is written by Certificate ${ownership.by}: give this Certificate its own secretName`,
        {
          event: 'Conflict',
        },
      );
    case 'foreign':
      return secretConflict(cert, now, secretName, recheckForeignMs);
    case 'notClaimable':
      return notReady(
        cert,
        now,
        Reason.SecretConflict,
        `Secret ${secretName} is one of certsmith's own (it holds ${ownership.holds}) and is never a Certificate's Secret; it is left untouched: choose another secretName`,
        { event: 'Conflict' },
      );
    default:
      return undefined;
  }
}

/** An issuance that is due, as the plan decided it. */
export interface DueIssuance {
  decision: IssuanceDecision;
  /** Only a renewal of a certificate that is still good: Ready stays True while it is pending or failing. */
  renewalOnly: boolean;
}

export const UP_TO_DATE = 'Certificate is up to date and has not expired';

export function upToDateCondition(cert: Certificate): Condition {
  return readyCondition('True', Reason.Ready, UP_TO_DATE, cert.metadata.generation);
}

/** Nothing will be attempted until the user acts (invalid spec, Secret taken): Ready=False, no Issuing. */
export function notReady(
  cert: Certificate,
  now: Date,
  reason: string,
  message: string,
  opts: { event?: string; requeueAfterMs?: number } = {},
): CertificateOutcome {
  const prev = findCondition(cert.status?.conditions, ConditionType.Ready);
  const changed = !prev || prev.reason !== reason || prev.message !== message;
  return {
    status: blockedStatus(cert.status, readyCondition('False', reason, message, cert.metadata.generation), now),
    ...(changed
      ? {
          event: { type: 'Warning', reason: opts.event ?? reason, message },
          log: { level: 'info', fields: { reason }, message: 'certificate not ready' },
        }
      : {}),
    notReady: true,
    ...(opts.requeueAfterMs === undefined ? {} : { requeueAfterMs: opts.requeueAfterMs }),
  };
}

function secretConflict(cert: Certificate, now: Date, secretName: string, recheckMs: number): CertificateOutcome {
  return notReady(
    cert,
    now,
    Reason.SecretConflict,
    `Secret ${secretName} exists and is not managed by certsmith; it is left untouched: delete it or choose another secretName`,
    { event: 'Conflict', requeueAfterMs: recheckMs },
  );
}

/** An issuance is due but waits on something else (the issuer, a solver): Issuing=True says what. */
export function waitingToIssue(cert: Certificate, now: Date, due: DueIssuance, reason: string, message: string, requeueAfterMs?: number): CertificateOutcome {
  const generation = cert.metadata.generation;
  const issuing = issuingCondition('True', due.decision.reason, `${due.decision.message}; waiting: ${message}`, generation);
  const ready = due.renewalOnly ? upToDateCondition(cert) : readyCondition('False', reason, message, generation);
  const changed = findCondition(cert.status?.conditions, ConditionType.Issuing)?.message !== issuing.message;
  return {
    status: withIssuing(cert.status, issuing, ready, now),
    ...(changed ? { event: { type: 'Warning', reason, message }, log: { level: 'info', fields: { reason }, message: 'issuance waiting' } } : {}),
    ...(due.renewalOnly ? {} : { notReady: true }),
    ...(requeueAfterMs === undefined ? {} : { requeueAfterMs }),
  };
}

/** Issuing=True with where the ACME order stands; Ready=False unless only a renewal is under way. */
function orderConditions(cert: Certificate, due: DueIssuance, message: string): { issuing: Condition; ready: Condition } {
  const generation = cert.metadata.generation;
  return {
    issuing: issuingCondition('True', due.decision.reason, `${due.decision.message}; ${message}`, generation),
    ready: due.renewalOnly ? upToDateCondition(cert) : readyCondition('False', Reason.Issuing, `Issuing: ${due.decision.message}`, generation),
  };
}

/** The status written before an ACME order is placed, so a restart finds the intent and takes it up again. */
export function orderIntentStatus(cert: Certificate, now: Date, due: DueIssuance, intent: AcmeOrderStatus): CertificateStatus {
  const { issuing, ready } = orderConditions(cert, due, 'placing an ACME order');
  return { ...withIssuing(cert.status, issuing, ready, now), acmeOrder: intent };
}

export function orderInProgress(
  cert: Certificate,
  now: Date,
  due: DueIssuance,
  next: AcmeOrderStatus,
  message: string,
  requeueAfterMs: number,
): CertificateOutcome {
  const { issuing, ready } = orderConditions(cert, due, message);
  const current = cert.status?.acmeOrder;
  const placed = next.orderURL !== undefined && next.orderURL !== current?.orderURL;
  // A new poll time only with news: a poll that changed nothing must stay a status no-op.
  const news = !current || !sameOrder(next, current) || findCondition(cert.status?.conditions, ConditionType.Issuing)?.message !== issuing.message;
  const nextPollTime = news ? toRfc3339(new Date(now.getTime() + requeueAfterMs)) : current.nextPollTime;
  return {
    status: { ...withIssuing(cert.status, issuing, ready, now), acmeOrder: { ...next, ...(nextPollTime ? { nextPollTime } : {}) } },
    ...(placed
      ? {
          event: { type: 'Normal', reason: 'OrderCreated', message: `Created ACME order ${next.orderURL} (${due.decision.reason}: ${due.decision.message})` },
          log: { level: 'info', fields: { order: next.orderURL }, message: 'created ACME order' },
        }
      : {}),
    ...(due.renewalOnly ? {} : { notReady: true }),
    requeueAfterMs,
  };
}

/** An attempt failed: back off (the CA's Retry-After when longer), keep an ACME order in progress for the next one. */
export function issuanceFailed(
  cert: Certificate,
  now: Date,
  due: DueIssuance,
  error: { code: string; message: string; retryAfterMs?: number | undefined },
  keptOrder: AcmeOrderStatus | undefined,
  backoff: BackoffOptions | undefined,
): CertificateOutcome {
  const generation = cert.metadata.generation;
  const failures = (cert.status?.failedIssuanceAttempts ?? 0) + 1;
  const retry = retryTimeFor(now, failures, backoffForCode(error.code, backoff), error.retryAfterMs);
  const message = `Issuance failed (attempt ${failures}, next retry at ${retry.toISOString()}): ${error.message}`;
  const issuing = issuingCondition('False', Reason.Failed, message, generation);
  const ready = due.renewalOnly ? upToDateCondition(cert) : readyCondition('False', Reason.Failed, message, generation);
  const { acmeOrder: _dropped, ...rest } = cert.status ?? {};
  return {
    status: failedStatus(keptOrder ? { ...rest, acmeOrder: keptOrder } : rest, issuing, ready, failures, retry, now),
    event: { type: 'Warning', reason: 'Failed', message },
    log: { level: 'warn', fields: { code: error.code, failures }, message: 'issuance failed' },
    ...(due.renewalOnly ? {} : { notReady: true }),
    issuance: 'failure',
    requeueAfterMs: retry.getTime() - now.getTime(),
  };
}

/** The new certificate is in the Secret. */
export function certificateIssued(
  cert: Certificate,
  now: Date,
  due: DueIssuance,
  desired: DesiredCertificate,
  issued: { notBefore: Date; notAfter: Date; revision: number; renewed: boolean; viaAcme: boolean },
): CertificateOutcome {
  const renewalTime = localRenewalTime(desired, issued.notBefore, issued.notAfter);
  const { acmeOrder: _done, renewalInfo: _old, ...rest } = cert.status ?? {};
  const verb = issued.renewed ? 'Renewed' : 'Issued';
  return {
    status: issuedStatus(
      rest,
      { notBefore: issued.notBefore, notAfter: issued.notAfter, renewalTime, revision: issued.revision },
      upToDateCondition(cert),
      now,
    ),
    event: {
      type: 'Normal',
      reason: verb,
      message: `${verb} certificate (revision ${issued.revision}, ${due.decision.reason}: ${due.decision.message}); expires ${issued.notAfter.toISOString()}`,
    },
    log: {
      level: 'info',
      fields: { revision: issued.revision, reason: due.decision.reason },
      message: issued.renewed ? 'renewed certificate' : 'issued certificate',
    },
    validity: { notAfter: issued.notAfter, renewalTime },
    issuance: 'success',
    // ACME: come back at once to fetch the new certificate's renewal information.
    requeueAfterMs: issued.viaAcme ? 0 : Math.max(renewalTime.getTime() - now.getTime(), 0),
  };
}

/** Nothing to issue: status from the certificate in the Secret; with ACME renewal information, the CA's window too. */
export function upToDate(
  cert: Certificate,
  now: Date,
  desired: DesiredCertificate,
  current: { notBefore: Date; notAfter: Date; revision: number },
  ari?: { info: RenewalInfoStatus; certID: string },
): CertificateOutcome {
  let renewalTime = localRenewalTime(desired, current.notBefore, current.notAfter);
  let nextLook = renewalTime;
  if (ari) {
    renewalTime = renewalTimeWithAri(renewalTime, ariWindow(ari.info), ari.certID);
    const check = new Date(ari.info.nextCheckTime);
    nextLook = check < renewalTime ? check : renewalTime;
  }
  const { renewalInfo: _prev, ...rest } = cert.status ?? {};
  const base = issuedStatus(
    rest,
    { notBefore: current.notBefore, notAfter: current.notAfter, renewalTime, revision: current.revision },
    upToDateCondition(cert),
    now,
  );
  return {
    status: ari ? { ...base, renewalInfo: ari.info } : base,
    validity: { notAfter: current.notAfter, renewalTime },
    requeueAfterMs: Math.max(nextLook.getTime() - now.getTime(), 0),
  };
}

export function ariWindow(info: RenewalInfoStatus) {
  return { start: new Date(info.suggestedWindowStart), end: new Date(info.suggestedWindowEnd) };
}

function localRenewalTime(desired: DesiredCertificate, notBefore: Date, notAfter: Date): Date {
  return computeRenewalTime({
    notBefore,
    notAfter,
    ...(desired.renewBeforeMs !== undefined ? { renewBeforeMs: desired.renewBeforeMs } : {}),
    ...(desired.renewBeforePercentage !== undefined ? { renewBeforePercentage: desired.renewBeforePercentage } : {}),
  });
}

/** The same order in the same state, whenever it was last polled. */
function sameOrder(a: AcmeOrderStatus, b: AcmeOrderStatus): boolean {
  const { nextPollTime: _a, ...restA } = a;
  const { nextPollTime: _b, ...restB } = b;
  return JSON.stringify(restA) === JSON.stringify(restB);
}
