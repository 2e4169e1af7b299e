// Reconciles one Certificate: gather (gather.ts) → plan, pure (plan.ts) → act (issuance.ts, or a look at the ACME
// renewal information) → apply the outcome (outcomes.ts): one status write when it changed, one event, metrics.
// Level-based: running it again on the same state writes nothing.
//
// CA and SelfSigned issuers sign within one reconcile. ACME issuance spans several: each reconcile advances the
// order one step (acme/issuance.ts) and records it in status.acmeOrder, so a restart resumes the same order.
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Certificate, CertificateStatus } from '../../api/certificate.ts';
import type { IssuancePolicy } from '../../api/issuance-policy.ts';
import type { Issuer, IssuerKind } from '../../api/issuer.ts';
import { API_VERSION, type KubeObject } from '../../api/meta.ts';
import type { SecretObject } from '../../api/secret.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { createOwnWrites } from '../../kube/own-writes.ts';
import { Resources } from '../../kube/resources.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { BackoffOptions } from '../../policy/backoff.ts';
import type { PolicyDefault } from '../../policy/issuance-policy.ts';
import type { ReconcileContext } from '../../runtime/controller.ts';
import type { AcmeAccountSource } from '../../signers/acme-accounts.ts';
import type { SignerSource } from '../../signers/signer-source.ts';
import type { Clock } from '../../time/clock.ts';
import { parseKey, type IndexedStore, type Store } from '../store.ts';
import type { createAcmeIssuance } from './acme/issuance.ts';
import { currentRenewalInfo } from './acme/renewal-info.ts';
import { gatherCertificate } from './gather.ts';
import { createIssuance } from './issuance.ts';
import { upToDate, type CertificateOutcome } from './outcomes.ts';
import { planCertificate, type CertificatePlan } from './plan.ts';
import { statusEqual } from './status.ts';

export interface ReconcileResult {
  requeueAfterMs?: number;
}

export interface CertificateReconcilerDeps {
  client: KubeClient;
  certificates: IndexedStore<Certificate>;
  secrets: Store<SecretObject>;
  issuers: Store<Issuer>;
  clusterIssuers: Store<Issuer>;
  signers: SignerSource;
  accounts: AcmeAccountSource;
  acme: ReturnType<typeof createAcmeIssuance>;
  events: EventRecorder;
  metrics: Metrics;
  clock: Clock;
  backoff?: BackoffOptions;
  /** Longest wait between two looks at a certificate's ACME Renewal Information. */
  ariMaxCheckMs?: number;
  /** The CA refused an issuer's account: have the issuer controller look at it now. */
  onAcmeAccountProblem?: (kind: IssuerKind, issuer: Issuer) => void;
  policies: Store<IssuancePolicy>;
  namespaces: Store<KubeObject>;
  policyDefault: PolicyDefault;
  /** See GatherDeps.readSecretOnMiss. */
  readSecretOnMiss?: boolean;
  /**
   * With --shards: a Certificate missing from the cache is deleted or another replica's now, never one whose cache
   * copy is late, so a copy this reconciler wrote and remembers is not worked from.
   */
  absentMeansGone?: boolean;
  /** See IssuanceDeps.secretShardLabel. */
  secretShardLabel?: (cert: Certificate) => string;
}

export function createCertificateReconciler(deps: CertificateReconcilerDeps) {
  const ownCerts = createOwnWrites<Certificate>();
  const ownSecrets = createOwnWrites<SecretObject>();
  const issue = createIssuance({ ...deps, ownSecrets });

  return async function reconcileCertificate(key: string, ctx: ReconcileContext): Promise<ReconcileResult> {
    const { namespace, name } = parseKey(key);
    const cached = deps.certificates.get(namespace, name);
    const cert = !cached && deps.absentMeansGone ? undefined : ownCerts.freshest(namespace, name, cached);
    if (!cert || cert.metadata.deletionTimestamp) {
      deps.metrics.forgetCertificate(namespace ?? '', name);
      ownCerts.forget(namespace, name);
      return {};
    }
    const log = ctx.log.child({ kind: 'Certificate', namespace: namespace ?? '', name });
    const now = deps.clock.now();
    const facts = await gatherCertificate(deps, cert, ownSecrets);
    const plan = planCertificate(cert, facts, now);
    if (plan.kind === 'requeue') return { requeueAfterMs: plan.afterMs };
    ctx.signal.throwIfAborted();

    const writeStatus = statusWriter(cert);
    const started = performance.now();
    let outcome: CertificateOutcome;
    if (plan.kind === 'report') {
      outcome = plan.outcome;
    } else if (plan.kind === 'upToDate') {
      outcome = await upToDateWithRenewalInfo(cert, plan, now, log);
    } else {
      const result = await issue(cert, plan, now, writeStatus);
      if (result.kind === 'requeue') return { requeueAfterMs: result.afterMs };
      outcome = result.outcome;
      await apply(cert, outcome, writeStatus, log, (performance.now() - started) / 1000);
      // The certificate is safe in its Secret: the order's key is no longer needed.
      if (result.finishedOrder) await deps.acme.deleteOrderKey(cert, result.finishedOrder);
      return requeue(outcome);
    }
    await apply(cert, outcome, writeStatus, log);
    return requeue(outcome);
  };

  /** Writes a status only when it differs from the last one read or written. */
  function statusWriter(cert: Certificate) {
    let current = cert.status;
    return async (status: CertificateStatus) => {
      if (statusEqual(current, status)) return;
      const { name, namespace } = cert.metadata;
      const applied = await deps.client.apply<Certificate>(
        Resources.certificates,
        { apiVersion: API_VERSION, kind: 'Certificate', metadata: { name, namespace: namespace ?? '' }, status },
        { subresource: 'status', force: true },
      );
      ownCerts.remember(applied);
      current = status;
    };
  }

  async function apply(cert: Certificate, outcome: CertificateOutcome, writeStatus: (s: CertificateStatus) => Promise<void>, log: Logger, seconds?: number) {
    await writeStatus(outcome.status);
    if (outcome.event) await deps.events.record(cert, outcome.event.type, outcome.event.reason, outcome.event.message);
    const ns = cert.metadata.namespace ?? '';
    const name = cert.metadata.name;
    const issuer = cert.spec?.issuerRef;
    const issuerKind = issuer?.kind ?? 'Issuer';
    if (outcome.issuance) deps.metrics.issuanceTotal.inc({ issuer_kind: issuerKind, result: outcome.issuance });
    if (outcome.issuance === 'success' && seconds !== undefined) deps.metrics.issuanceDuration.observe({ issuer_kind: issuerKind }, seconds);
    if (outcome.validity) {
      deps.metrics.setCertificateValidity(
        { namespace: ns, name, issuer_name: issuer?.name ?? '', issuer_kind: issuerKind },
        outcome.validity.notAfter,
        outcome.validity.renewalTime,
      );
      deps.metrics.setCertificateReady(ns, name, 'True');
    }
    if (outcome.notReady) deps.metrics.setCertificateReady(ns, name, 'False');
    if (outcome.log) log[outcome.log.level](outcome.log.fields, outcome.log.message);
  }

  /** Up to date; for an ACME issuer, with the CA's renewal window (kept from status when the CA cannot be asked). */
  async function upToDateWithRenewalInfo(
    cert: Certificate,
    plan: Extract<CertificatePlan, { kind: 'upToDate' }>,
    now: Date,
    log: Logger,
  ): Promise<CertificateOutcome> {
    const { desired } = plan.facts;
    if (!plan.ari) return upToDate(cert, now, desired, plan.current);
    const { issuer, certID, prev } = plan.ari;
    const client = await deps.accounts.clientFor(issuer, desired.issuer.kind, issuer.status?.acme?.uri).catch(() => undefined);
    const result = client
      ? await currentRenewalInfo({ client, certID, prev, now, maxCheckMs: deps.ariMaxCheckMs ?? 24 * 3_600_000 })
      : { info: prev?.certID === certID ? prev : undefined };
    if ('error' in result && result.error) log.warn({ err: result.error }, 'could not fetch ACME renewal information');
    return upToDate(cert, now, desired, plan.current, result.info ? { info: result.info, certID } : undefined);
  }
}

function requeue(outcome: CertificateOutcome): ReconcileResult {
  return outcome.requeueAfterMs === undefined ? {} : { requeueAfterMs: outcome.requeueAfterMs };
}
