// What to do for a Certificate, decided from the gathered facts alone. Pure: time is passed in.
//
// The checks run in order, the first that applies wins: an invalid spec or a Secret this Certificate may not write
// is reported; a Secret that holds what the spec asks for is up to date; otherwise an issuance is due, and waits
// while the issuer is missing or not ready, while a CA switch spreads re-issuance over its window, while a failure
// backs off, or until the ACME server said to poll again.
import type { Certificate, RenewalInfoStatus } from '../../api/certificate.ts';
import { ConditionType, Reason, findCondition } from '../../api/conditions.ts';
import type { Issuer } from '../../api/issuer.ts';
import { RENEW_REVISION_ANNOTATION } from '../../api/labels.ts';
import { certIdOf, momentInWindow } from '../../acme/ari.ts';
import { DEFAULT_REISSUE_WINDOW_MS, reissueTime } from '../../policy/ca-rotation.ts';
import { decideIssuance, IssuanceReason } from '../../policy/issuance.ts';
import { evaluateIssuancePolicy, type PolicyRequest } from '../../policy/issuance-policy.ts';
import { parseDuration } from '../../time/duration.ts';
import type { DesiredCertificate } from './desired.ts';
import type { CertificateFacts, ValidFacts } from './gather.ts';
import { ariWindow, notReady, secretRefused, waitingToIssue, type CertificateOutcome, type DueIssuance } from './outcomes.ts';
import { issuanceInputs, issuedBy, type StoredSecret } from './stored-secret.ts';

// Foreign Secrets are not cached (only managed ones are): look again now and then.
export const RECHECK_FOREIGN_SECRET_MS = 5 * 60_000;

export type CertificatePlan =
  /** Nothing to act on: write the outcome (a blocked spec or Secret, an issuance waiting on its issuer). */
  | { kind: 'report'; outcome: CertificateOutcome }
  /** Nothing to write now: look again later. */
  | { kind: 'requeue'; afterMs: number }
  /** The Secret holds what the spec asks for; with an ACME issuer, look at the CA's renewal information first. */
  | {
      kind: 'upToDate';
      facts: ValidFacts;
      current: { notBefore: Date; notAfter: Date; revision: number };
      ari?: { issuer: Issuer; certID: string; prev: RenewalInfoStatus | undefined };
    }
  /** Sign now (CA, SelfSigned), or advance the ACME order by one step. */
  | {
      kind: 'issue';
      facts: ValidFacts;
      due: DueIssuance;
      issuer: Issuer;
      acme: boolean;
      /** The revision the new certificate gets. */
      revision: number;
      /** ARI certID of the certificate this renewal replaces (RFC 9773), when the CA suggested a window for it. */
      replaces?: string;
    };

export function planCertificate(cert: Certificate, facts: CertificateFacts, now: Date): CertificatePlan {
  if (facts.kind === 'invalidSpec') return report(notReady(cert, now, Reason.InvalidSpec, `Invalid spec: ${facts.problems.join('; ')}`));
  const { desired, ownership, issuer, stored } = facts;
  const refused = secretRefused(cert, now, desired.secretName, ownership, RECHECK_FOREIGN_SECRET_MS);
  if (refused) return report(refused);
  // Before any key, order or signature: may this namespace get this certificate from this issuer?
  const policy = evaluateIssuancePolicy(policyRequest(cert, desired), facts.policy.policies, facts.policy.namespaceLabels, facts.policy.default);
  if (!policy.allowed) return report(notReady(cert, now, Reason.PolicyDenied, `Denied by issuance policy: ${policy.message}`));

  // For an ACME issuer the CA sets usages and subject fields itself, and may ask (ARI) for an earlier renewal.
  const acmeIssuer = issuer?.spec?.acme ? issuer : undefined;
  const certID = acmeIssuer && issuedBy(stored, desired.issuer) ? ariCertId(stored) : undefined;
  const renewalInfo = certID && cert.status?.renewalInfo?.certID === certID ? cert.status.renewalInfo : undefined;
  const renewRevision = Number(cert.metadata.annotations?.[RENEW_REVISION_ANNOTATION]);
  const storedRevision = Math.max(cert.status?.revision ?? 0, stored?.revision ?? 0);
  const decision = decideIssuance({
    ...issuanceInputs(now, stored, desired, {
      issuerSetsProfile: !!acmeIssuer,
      earliestRenewalTime: renewalInfo && certID ? momentInWindow(ariWindow(renewalInfo), certID) : undefined,
      // Only a CA issuer's status names its signing CA; a not-Ready issuer names none.
      issuerCaFingerprint: issuer?.spec?.ca ? issuer.status?.caFingerprint : undefined,
    }),
    // The revision an issuance counts on from: a request is done once that revision is replaced.
    ...(Number.isInteger(renewRevision) ? { renewalRequest: { revision: renewRevision, currentRevision: storedRevision } } : {}),
  });
  if (!decision) {
    const info = stored!.cert!;
    const current = { notBefore: info.notBefore, notAfter: info.notAfter, revision: stored?.revision ?? cert.status?.revision ?? 1 };
    return { kind: 'upToDate', facts, current, ...(acmeIssuer && certID ? { ari: { issuer: acmeIssuer, certID, prev: cert.status?.renewalInfo } } : {}) };
  }
  // The issuer switched CAs: every Certificate follows, each at its own offset in the window after the switch.
  if (decision.reason === IssuanceReason.CAChanged && issuer?.status?.ca?.signingSince) {
    const key = cert.metadata.namespace ? `${cert.metadata.namespace}/${cert.metadata.name}` : cert.metadata.name;
    const at = reissueTime(key, new Date(issuer.status.ca.signingSince), reissueWindowMs(issuer));
    if (at > now) return { kind: 'requeue', afterMs: at.getTime() - now.getTime() };
  }

  // While the current certificate is still good (only its renewal is due), Ready stays True and the Issuing
  // condition carries the problem.
  const renewalOnly =
    decision.reason === IssuanceReason.Renewing || decision.reason === IssuanceReason.RenewalRequested || decision.reason === IssuanceReason.CAChanged;
  const due: DueIssuance = { decision, renewalOnly };
  if (!issuer) return report(waitingToIssue(cert, now, due, Reason.IssuerNotFound, `${desired.issuer.kind} ${desired.issuer.name} does not exist`));
  const issuerReady = findCondition(issuer.status?.conditions, ConditionType.Ready);
  if (issuerReady?.status !== 'True' || issuerReady.observedGeneration !== issuer.metadata.generation) {
    const why = issuerReady?.status === 'False' ? `: ${issuerReady.message ?? issuerReady.reason}` : ': not checked yet';
    return report(waitingToIssue(cert, now, due, Reason.IssuerNotReady, `${desired.issuer.kind} ${desired.issuer.name} is not ready${why}`));
  }
  // A changed spec is retried at once; the same spec waits out its backoff. Issuing is written on every failure,
  // so its observedGeneration says which spec failed.
  const sameSpec = findCondition(cert.status?.conditions, ConditionType.Issuing)?.observedGeneration === cert.metadata.generation;
  const retryAt = cert.status?.nextRetryTime ? Date.parse(cert.status.nextRetryTime) : Number.NaN;
  if ((cert.status?.failedIssuanceAttempts ?? 0) > 0 && retryAt > now.getTime() && sameSpec) return { kind: 'requeue', afterMs: retryAt - now.getTime() };
  // An ACME order is polled when the CA said (Retry-After), not when our own status write wakes the Certificate.
  const pollAt = cert.status?.acmeOrder?.nextPollTime ? Date.parse(cert.status.acmeOrder.nextPollTime) : Number.NaN;
  if (acmeIssuer && pollAt > now.getTime() && sameSpec) return { kind: 'requeue', afterMs: pollAt - now.getTime() };

  return {
    kind: 'issue',
    facts,
    due,
    issuer,
    acme: !!acmeIssuer,
    revision: storedRevision + 1,
    ...(certID && renewalInfo ? { replaces: certID } : {}),
  };
}

export function policyRequest(cert: Certificate, desired: DesiredCertificate): PolicyRequest {
  return {
    namespace: cert.metadata.namespace ?? '',
    issuer: desired.issuer,
    commonName: desired.commonName,
    dnsNames: desired.dnsNames,
    ipAddresses: desired.ipAddresses,
    uris: desired.uris,
    emailAddresses: desired.emailAddresses,
    isCA: desired.isCA,
    key: desired.key,
    usages: desired.usages,
    durationMs: desired.durationMs,
  };
}

function report(outcome: CertificateOutcome): CertificatePlan {
  return { kind: 'report', outcome };
}

function reissueWindowMs(issuer: Issuer): number {
  const text = issuer.spec?.ca?.managed ? issuer.spec.ca.managed.reissueWindow : issuer.spec?.ca?.reissueWindow;
  try {
    return text ? parseDuration(text) : DEFAULT_REISSUE_WINDOW_MS;
  } catch {
    return DEFAULT_REISSUE_WINDOW_MS; // the issuer reports the bad value in its own status
  }
}

function ariCertId(stored: StoredSecret | undefined): string | undefined {
  if (!stored?.certDer || !stored.cert?.authorityKeyId) return undefined;
  return certIdOf(stored.certDer, stored.cert.authorityKeyId);
}
