// Reconciles one Certificate: read from the cache → validate → decide (pure policy) → issue → write the
// Secret and the status once. Level-based: running it again on the same state writes nothing.
//
// CA and SelfSigned issuers sign within one reconcile. ACME issuance spans several: each reconcile advances the
// order one step (acme/issuance.ts) and records it in status.acmeOrder, so a restart resumes the same order.
import { performance } from 'node:perf_hooks';
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { Logger } from 'pino';
import { CertificateSpec, type AcmeOrderStatus, type Certificate, type CertificateStatus, type RenewalInfoStatus } from '../../api/certificate.ts';
import { ConditionType, Reason, findCondition, toRfc3339 } from '../../api/conditions.ts';
import { RENEW_REVISION_ANNOTATION } from '../../api/labels.ts';
import type { Issuer } from '../../api/issuer.ts';
import { API_VERSION, type Condition } from '../../api/meta.ts';
import { certIdOf, momentInWindow, renewalTimeWithAri } from '../../acme/ari.ts';
import { isAcmeError } from '../../acme/errors.ts';
import { errorCode, type CertsmithError } from '../../errors.ts';
import type { KubeClient } from '../../kube/client.ts';
import { isConflict } from '../../kube/errors.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { createOwnWrites } from '../../kube/own-writes.ts';
import { Resources } from '../../kube/resources.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { encodePrivateKeyDer, encodePrivateKeyPem, generatePrivateKey } from '../../pki/index.ts';
import { backoffForCode, retryTimeFor, type BackoffOptions } from '../../policy/backoff.ts';
import type { Clock } from '../../time/clock.ts';
import { decideIssuance, IssuanceReason } from '../../policy/issuance.ts';
import { DEFAULT_REISSUE_WINDOW_MS, reissueTime } from '../../policy/ca-rotation.ts';
import { parseDuration } from '../../time/duration.ts';
import { computeRenewalTime } from '../../policy/renewal.ts';
import { validateCertificateSpec } from '../../policy/validate-certificate.ts';
import type { AcmeAccountSource } from '../../signers/acme-accounts.ts';
import { issueCertificate } from '../../signers/issue.ts';
import type { SignerSource } from '../../signers/signer-source.ts';
import { parseKey, type IndexedStore, type Store } from '../store.ts';
import type { createAcmeIssuance } from './acme/issuance.ts';
import { desiredCertificate, type DesiredCertificate } from './desired.ts';
import { currentRenewalInfo } from './acme/renewal-info.ts';
import type { SecretObject } from '../../api/secret.ts';
import { formatZodIssues } from '../../api/zod-issues.ts';
import { buildSecret } from './secret-builder.ts';
import { BY_SECRET, secretIndexValue } from './indexes.ts';
import { secretOwnership, secretWriter } from './secret-ownership.ts';
import { blockedStatus, failedStatus, issuedStatus, issuingCondition, readyCondition, statusEqual, withIssuing } from './status.ts';
import { issuanceInputs, issuedBy, readStoredSecret, type StoredSecret } from './stored-secret.ts';

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
  log: Logger;
  backoff?: BackoffOptions;
  /** Longest wait between two looks at a certificate's ACME Renewal Information. */
  ariMaxCheckMs?: number;
  /** The CA refused an issuer's account: have the issuer controller look at it now. */
  onAcmeAccountProblem?: (kind: 'Issuer' | 'ClusterIssuer', issuer: Issuer) => void;
}

// Foreign Secrets are not cached (only managed ones are): look again now and then.
const RECHECK_FOREIGN_SECRET_MS = 5 * 60_000;
const UP_TO_DATE = 'Certificate is up to date and has not expired';
const ACCOUNT_PROBLEM_RETRY_MS = 10_000;

interface Issued {
  certificatePem: string;
  caPem?: string;
  privateKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
}

export function createCertificateReconciler(deps: CertificateReconcilerDeps) {
  const ownCerts = createOwnWrites<Certificate>();
  const ownSecrets = createOwnWrites<SecretObject>();

  return async function reconcileCertificate(key: string): Promise<ReconcileResult> {
    const { namespace, name } = parseKey(key);
    const ns = namespace ?? '';
    const cert = ownCerts.freshest(namespace, name, deps.certificates.get(namespace, name));
    if (!cert || cert.metadata.deletionTimestamp) {
      deps.metrics.forgetCertificate(ns, name);
      ownCerts.forget(namespace, name);
      return {};
    }
    const log = deps.log.child({ kind: 'Certificate', namespace: ns, name });
    const now = deps.clock.now();
    const generation = cert.metadata.generation;

    const writeStatus = async (status: CertificateStatus) => {
      if (statusEqual(cert.status, status)) return;
      const applied = await deps.client.apply<Certificate>(
        Resources.certificates,
        { apiVersion: API_VERSION, kind: 'Certificate', metadata: { name, namespace: ns }, status },
        { subresource: 'status', force: true },
      );
      ownCerts.remember(applied);
    };

    const upToDate = () => readyCondition('True', Reason.Ready, UP_TO_DATE, generation);

    const notReady = async (reason: string, message: string, opts: { event?: string; requeueAfterMs?: number } = {}) => {
      const prev = findCondition(cert.status?.conditions, ConditionType.Ready);
      await writeStatus(blockedStatus(cert.status, readyCondition('False', reason, message, generation), now));
      if (!prev || prev.reason !== reason || prev.message !== message) {
        await deps.events.record(cert, 'Warning', opts.event ?? reason, message);
        log.info({ reason }, 'certificate not ready');
      }
      deps.metrics.setCertificateReady(ns, name, 'False');
      return opts.requeueAfterMs === undefined ? {} : { requeueAfterMs: opts.requeueAfterMs };
    };

    // 1. Validate: the API server checked the schema; these are the rules it cannot express.
    const parsed = CertificateSpec.safeParse(cert.spec);
    const problems = parsed.success ? validateCertificateSpec(parsed.data) : [formatZodIssues(parsed.error)];
    if (!parsed.success || problems.length > 0) {
      return notReady(Reason.InvalidSpec, `Invalid spec: ${problems.join('; ')}`);
    }
    const desired = desiredCertificate(parsed.data);

    // 2. May this Certificate write its Secret?
    let secret = ownSecrets.freshest(ns, desired.secretName, deps.secrets.get(ns, desired.secretName));
    const readyNow = findCondition(cert.status?.conditions, ConditionType.Ready);
    if (!secret && readyNow?.reason === Reason.SecretConflict) {
      secret = await deps.client.get<SecretObject>(Resources.secrets, ns, desired.secretName);
    }
    const isLive = (n: string) => {
      const c = deps.certificates.get(ns, n);
      return !!c && !c.metadata.deletionTimestamp;
    };
    let ownership = secretOwnership(name, secret, isLive);
    if (ownership.kind === 'free') {
      const sameSecret = deps.certificates.byIndex(BY_SECRET, secretIndexValue(ns, desired.secretName)).filter((c) => !c.metadata.deletionTimestamp);
      const writer = secretWriter(
        sameSecret.map((c) => ({
          name: c.metadata.name,
          secretName: c.spec?.secretName ?? '',
          creationTimestamp: c.metadata.creationTimestamp,
        })),
        desired.secretName,
      );
      if (writer && writer !== name) ownership = { kind: 'inUse', by: writer };
    }
    if (ownership.kind === 'inUse') {
      return notReady(Reason.SecretInUse, `Secret ${desired.secretName} is written by Certificate ${ownership.by}: give this Certificate its own secretName`, {
        event: 'Conflict',
      });
    }
    if (ownership.kind === 'foreign') return secretConflict(desired.secretName);

    // 3. Decide whether to issue. For an ACME issuer the CA sets usages and subject fields itself, and may ask
    // (ARI) for an earlier renewal.
    const issuer =
      desired.issuer.kind === 'ClusterIssuer' ? deps.clusterIssuers.get(undefined, desired.issuer.name) : deps.issuers.get(ns, desired.issuer.name);
    const acmeIssuer = issuer?.spec?.acme ? issuer : undefined;
    const stored = ownership.kind === 'ours' ? readStoredSecret(secret) : undefined;
    const certID = acmeIssuer && issuedBy(stored, desired.issuer) ? ariCertId(stored) : undefined;
    const renewalInfo = certID && cert.status?.renewalInfo?.certID === certID ? cert.status.renewalInfo : undefined;
    const renewRevision = Number(cert.metadata.annotations?.[RENEW_REVISION_ANNOTATION]);
    const decision = decideIssuance({
      ...issuanceInputs(now, stored, desired, {
        issuerSetsProfile: !!acmeIssuer,
        earliestRenewalTime: renewalInfo && certID ? ariMoment(renewalInfo, certID) : undefined,
        // Only a CA issuer's status names its signing CA; a not-Ready issuer names none.
        issuerCaFingerprint: issuer?.spec?.ca ? issuer.status?.caFingerprint : undefined,
      }),
      // The revision writeIssued counts on from: a request is done once that revision is replaced.
      ...(Number.isInteger(renewRevision)
        ? { renewalRequest: { revision: renewRevision, currentRevision: Math.max(cert.status?.revision ?? 0, stored?.revision ?? 0) } }
        : {}),
    });
    if (!decision) return upToDateStatus(stored!);
    // The issuer switched CAs: every Certificate follows, each at its own offset in the window after the switch.
    if (decision.reason === IssuanceReason.CAChanged && issuer?.status?.ca?.signingSince) {
      const at = reissueTime(key, new Date(issuer.status.ca.signingSince), reissueWindowMs(issuer));
      if (at > now) return { requeueAfterMs: at.getTime() - now.getTime() };
    }

    // 4. Issuance is needed: is the issuer ready, and is a failure backoff still running?
    // While the current certificate is still good (only its renewal is due), Ready stays True and the
    // Issuing condition carries the problem.
    const renewalOnly =
      decision.reason === IssuanceReason.Renewing || decision.reason === IssuanceReason.RenewalRequested || decision.reason === IssuanceReason.CAChanged;
    const waitToIssue = async (reason: string, message: string, requeueAfterMs?: number): Promise<ReconcileResult> => {
      const issuing = issuingCondition('True', decision.reason, `${decision.message}; waiting: ${message}`, generation);
      const ready = renewalOnly ? upToDate() : readyCondition('False', reason, message, generation);
      const prevIssuing = findCondition(cert.status?.conditions, ConditionType.Issuing);
      await writeStatus(withIssuing(cert.status, issuing, ready, now));
      if (prevIssuing?.message !== issuing.message) {
        await deps.events.record(cert, 'Warning', reason, message);
        log.info({ reason }, 'issuance waiting');
      }
      if (!renewalOnly) deps.metrics.setCertificateReady(ns, name, 'False');
      return requeueAfterMs === undefined ? {} : { requeueAfterMs };
    };
    if (!issuer) {
      return waitToIssue(Reason.IssuerNotFound, `${desired.issuer.kind} ${desired.issuer.name} does not exist`);
    }
    const issuerReady = findCondition(issuer.status?.conditions, ConditionType.Ready);
    if (issuerReady?.status !== 'True' || issuerReady.observedGeneration !== issuer.metadata.generation) {
      const why = issuerReady?.status === 'False' ? `: ${issuerReady.message ?? issuerReady.reason}` : ': not checked yet';
      return waitToIssue(Reason.IssuerNotReady, `${desired.issuer.kind} ${desired.issuer.name} is not ready${why}`);
    }
    const attempts = cert.status?.failedIssuanceAttempts ?? 0;
    const retryAt = cert.status?.nextRetryTime ? new Date(cert.status.nextRetryTime) : undefined;
    // A changed spec is retried at once; the same spec waits out its backoff. Issuing is written on every failure,
    // so its observedGeneration says which spec failed.
    const issuingNow = findCondition(cert.status?.conditions, ConditionType.Issuing);
    if (attempts > 0 && retryAt && retryAt > now && issuingNow?.observedGeneration === generation) {
      return { requeueAfterMs: retryAt.getTime() - now.getTime() };
    }
    // An ACME order is polled when the CA said (Retry-After), not when our own status write wakes the Certificate.
    const pollAt = cert.status?.acmeOrder?.nextPollTime ? Date.parse(cert.status.acmeOrder.nextPollTime) : NaN;
    if (acmeIssuer && pollAt > now.getTime() && issuingNow?.observedGeneration === generation) {
      return { requeueAfterMs: pollAt - now.getTime() };
    }

    // 5. Issue: sign now (CA, SelfSigned), or advance the ACME order by one step.
    const started = performance.now();
    let order: AcmeOrderStatus | undefined;
    // The ACME order in status, kept when an attempt fails: the next one resumes it.
    let statusOrder = cert.status?.acmeOrder;
    try {
      let issued: Issued;
      if (acmeIssuer) {
        const step = await deps.acme.step({
          certificate: cert,
          desired,
          issuer: acmeIssuer,
          issuerKind: desired.issuer.kind,
          storedKey: stored?.privateKey,
          replaces: certID && renewalInfo ? certID : undefined,
          recordedOrders: () => recordedOrders(deps.certificates.list()),
          recordIntent: async (intent) => {
            const { issuing, ready } = acmeConditions('placing an ACME order');
            await writeStatus({ ...withIssuing(cert.status, issuing, ready, now), acmeOrder: intent });
            statusOrder = intent;
          },
          now,
        });
        if (step.kind === 'blocked') return waitToIssue(step.reason === 'NoSolver' ? Reason.NoSolver : Reason.InvalidSpec, step.message);
        if (step.kind === 'progress') return acmeProgress(step.order, step.message, step.requeueAfterMs);
        if (step.kind === 'failed') return failed(step.error, step.order);
        issued = step;
        order = step.order;
      } else {
        const signer = await deps.signers.signerFor(issuer, desired.issuer.kind);
        // A CA Secret is read from a cache, which may lag the issuer's status by a moment (or lead it, for a user's
        // replaced CA): signing with a CA other than the one the status names would cost a second re-issuance.
        const wanted = issuer.spec?.ca ? issuer.status?.caFingerprint : undefined;
        if (signer.kind === 'ca' && wanted && signer.caInfo.fingerprintSha256 !== wanted) return { requeueAfterMs: 500 };
        const privateKey = await keyFor(desired, stored);
        issued = { ...(await issueCertificate(signer, leafRequest(desired), { privateKey, publicKey: createPublicKey(privateKey) }, now)), privateKey };
      }
      return await writeIssued(issued);
    } catch (err) {
      // API trouble is not an issuance failure: the work queue retries it with its own backoff.
      const code = errorCode(err);
      if (code === undefined || code.startsWith('Kube')) throw err;
      // The account is the issuer's business: it re-registers, and its change brings this Certificate back.
      if (code === 'AcmeAccountProblem' && acmeIssuer) {
        deps.accounts.requestRecheck(acmeIssuer, desired.issuer.kind);
        deps.onAcmeAccountProblem?.(desired.issuer.kind, acmeIssuer);
        // Also look again by itself: a re-registration that ends with the same account URL changes no status.
        return waitToIssue(
          Reason.IssuerNotReady,
          `the ACME account of ${desired.issuer.kind} ${desired.issuer.name} was refused: ${(err as Error).message}`,
          ACCOUNT_PROBLEM_RETRY_MS,
        );
      }
      // An ACME order in progress is kept: the next attempt resumes it.
      return failed(err as CertsmithError, statusOrder);
    }

    async function writeIssued(issued: Issued): Promise<ReconcileResult> {
      const revision = Math.max(cert!.status?.revision ?? 0, stored?.revision ?? 0) + 1;
      const secretObj = buildSecret(
        ns,
        name,
        desired,
        {
          certificatePem: issued.certificatePem,
          ...(issued.caPem ? { caPem: issued.caPem } : {}),
          privateKeyPem: encodePrivateKeyPem(issued.privateKey, desired.keyEncoding),
          privateKeyDer: encodePrivateKeyDer(issued.privateKey),
        },
        revision,
        ownership.kind === 'ours' ? secret?.metadata.resourceVersion : undefined,
      );
      let written: SecretObject;
      if (ownership.kind === 'ours') {
        written = await deps.client.apply(Resources.secrets, secretObj, { force: true });
      } else {
        try {
          written = await deps.client.create(Resources.secrets, secretObj);
        } catch (err) {
          if (isConflict(err)) {
            const existing = await deps.client.get<SecretObject>(Resources.secrets, ns, desired.secretName);
            const again = secretOwnership(name, existing, isLive);
            if (again.kind === 'foreign') return secretConflict(desired.secretName);
          }
          throw err;
        }
      }
      ownSecrets.remember(written);
      const renewalTime = localRenewalTime(issued.notBefore, issued.notAfter);
      const { acmeOrder: _done, renewalInfo: _old, ...rest } = cert!.status ?? {};
      await writeStatus(issuedStatus(rest, { notBefore: issued.notBefore, notAfter: issued.notAfter, renewalTime, revision }, upToDate(), now));
      // The certificate is safe in its Secret: the order's key is no longer needed.
      if (order) await deps.acme.deleteOrderKey(cert!, order);
      const renewed = stored?.cert !== undefined;
      await deps.events.record(
        cert!,
        'Normal',
        renewed ? 'Renewed' : 'Issued',
        `${renewed ? 'Renewed' : 'Issued'} certificate (revision ${revision}, ${decision!.reason}: ${decision!.message}); expires ${issued.notAfter.toISOString()}`,
      );
      deps.metrics.issuanceTotal.inc({ issuer_kind: desired.issuer.kind, result: 'success' });
      deps.metrics.issuanceDuration.observe({ issuer_kind: desired.issuer.kind }, (performance.now() - started) / 1000);
      recordValidity(ns, name, desired, issued.notAfter, renewalTime);
      log.info({ revision, reason: decision!.reason }, renewed ? 'renewed certificate' : 'issued certificate');
      // ACME: come back at once to fetch the new certificate's renewal information.
      return { requeueAfterMs: acmeIssuer ? 0 : Math.max(renewalTime.getTime() - now.getTime(), 0) };
    }

    /** Issuing=True with where the order stands; Ready=False unless only a renewal is under way. */
    function acmeConditions(message: string): { issuing: Condition; ready: Condition } {
      return {
        issuing: issuingCondition('True', decision!.reason, `${decision!.message}; ${message}`, generation),
        ready: renewalOnly ? upToDate() : readyCondition('False', Reason.Issuing, `Issuing: ${decision!.message}`, generation),
      };
    }

    async function acmeProgress(next: AcmeOrderStatus, message: string, requeueAfterMs: number): Promise<ReconcileResult> {
      const { issuing, ready } = acmeConditions(message);
      const current = cert!.status?.acmeOrder;
      const placed = next.orderURL !== undefined && next.orderURL !== current?.orderURL;
      // A new poll time only with news: a poll that changed nothing must stay a status no-op.
      const news = !current || !sameOrder(next, current) || findCondition(cert!.status?.conditions, ConditionType.Issuing)?.message !== issuing.message;
      const nextPollTime = news ? toRfc3339(new Date(now.getTime() + requeueAfterMs)) : current.nextPollTime;
      await writeStatus({ ...withIssuing(cert!.status, issuing, ready, now), acmeOrder: { ...next, ...(nextPollTime ? { nextPollTime } : {}) } });
      if (placed) {
        await deps.events.record(cert!, 'Normal', 'OrderCreated', `Created ACME order ${next.orderURL} (${decision!.reason}: ${decision!.message})`);
        log.info({ order: next.orderURL }, 'created ACME order');
      }
      if (!renewalOnly) deps.metrics.setCertificateReady(ns, name, 'False');
      return { requeueAfterMs };
    }

    async function failed(err: CertsmithError, keptOrder: AcmeOrderStatus | undefined): Promise<ReconcileResult> {
      deps.metrics.issuanceTotal.inc({ issuer_kind: desired.issuer.kind, result: 'failure' });
      const failures = attempts + 1;
      const retry = retryTimeFor(now, failures, backoffForCode(err.code, deps.backoff), isAcmeError(err) ? err.retryAfterMs : undefined);
      const message = `Issuance failed (attempt ${failures}, next retry at ${retry.toISOString()}): ${err.message}`;
      const issuing = issuingCondition('False', Reason.Failed, message, generation);
      const ready = renewalOnly ? upToDate() : readyCondition('False', Reason.Failed, message, generation);
      const { acmeOrder: _dropped, ...rest } = cert!.status ?? {};
      await writeStatus(failedStatus(keptOrder ? { ...rest, acmeOrder: keptOrder } : rest, issuing, ready, failures, retry, now));
      await deps.events.record(cert!, 'Warning', 'Failed', message);
      if (!renewalOnly) deps.metrics.setCertificateReady(ns, name, 'False');
      log.warn({ code: err.code, failures }, 'issuance failed');
      return { requeueAfterMs: retry.getTime() - now.getTime() };
    }

    /** Nothing to issue: status from the Secret's certificate; for ACME, the CA's renewal window too. */
    async function upToDateStatus(current: StoredSecret): Promise<ReconcileResult> {
      const info = current.cert!;
      let renewalTime = localRenewalTime(info.notBefore, info.notAfter);
      let ari: RenewalInfoStatus | undefined;
      let nextLook = renewalTime;
      if (acmeIssuer && certID) {
        const client = await deps.accounts.clientFor(acmeIssuer, desired.issuer.kind, acmeIssuer.status?.acme?.uri).catch(() => undefined);
        const result = client
          ? await currentRenewalInfo({ client, certID, prev: cert!.status?.renewalInfo, now, maxCheckMs: deps.ariMaxCheckMs ?? 24 * 3_600_000 })
          : { info: cert!.status?.renewalInfo?.certID === certID ? cert!.status.renewalInfo : undefined };
        if ('error' in result && result.error) log.warn({ err: result.error }, 'could not fetch ACME renewal information');
        ari = result.info;
        if (ari) {
          renewalTime = renewalTimeWithAri(renewalTime, ariWindow(ari), certID);
          const check = new Date(ari.nextCheckTime);
          nextLook = check < renewalTime ? check : renewalTime;
        }
      }
      const revision = current.revision ?? cert!.status?.revision ?? 1;
      const { renewalInfo: _prev, ...rest } = cert!.status ?? {};
      const base = issuedStatus(rest, { notBefore: info.notBefore, notAfter: info.notAfter, renewalTime, revision }, upToDate(), now);
      await writeStatus(ari ? { ...base, renewalInfo: ari } : base);
      recordValidity(ns, name, desired, info.notAfter, renewalTime);
      return { requeueAfterMs: Math.max(nextLook.getTime() - now.getTime(), 0) };
    }

    function localRenewalTime(notBefore: Date, notAfter: Date): Date {
      return computeRenewalTime({
        notBefore,
        notAfter,
        ...(desired.renewBeforeMs !== undefined ? { renewBeforeMs: desired.renewBeforeMs } : {}),
        ...(desired.renewBeforePercentage !== undefined ? { renewBeforePercentage: desired.renewBeforePercentage } : {}),
      });
    }

    function secretConflict(secretName: string) {
      return notReady(
        Reason.SecretConflict,
        `Secret ${secretName} exists and is not managed by certsmith; it is left untouched: delete it or choose another secretName`,
        { event: 'Conflict', requeueAfterMs: RECHECK_FOREIGN_SECRET_MS },
      );
    }
  };

  function recordValidity(ns: string, name: string, desired: DesiredCertificate, notAfter: Date, renewalTime: Date) {
    const labels = { namespace: ns, name, issuer_name: desired.issuer.name, issuer_kind: desired.issuer.kind };
    deps.metrics.setCertificateValidity(labels, notAfter, renewalTime);
    deps.metrics.setCertificateReady(ns, name, 'True');
  }
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

function ariWindow(info: RenewalInfoStatus) {
  return { start: new Date(info.suggestedWindowStart), end: new Date(info.suggestedWindowEnd) };
}

function ariMoment(info: RenewalInfoStatus, certID: string): Date {
  return momentInWindow(ariWindow(info), certID);
}

/** rotationPolicy Never keeps the stored key when it still fits the spec; otherwise a fresh key. */
async function keyFor(desired: DesiredCertificate, stored: StoredSecret | undefined): Promise<KeyObject> {
  const reusable = !desired.rotateKey && stored?.privateKey && stored.keySpec?.algorithm === desired.key.algorithm && stored.keySpec.size === desired.key.size;
  return reusable ? stored!.privateKey! : generatePrivateKey(desired.key);
}

function leafRequest(desired: DesiredCertificate) {
  return {
    subject: desired.subject,
    dnsNames: desired.dnsNames,
    ipAddresses: desired.ipAddresses,
    uris: desired.uris,
    emailAddresses: desired.emailAddresses,
    usages: desired.usages,
    isCA: desired.isCA,
    durationMs: desired.durationMs,
  };
}

/** Every ACME order URL in a Certificate's status. */
function recordedOrders(certificates: readonly Certificate[]): Set<string> {
  const urls = new Set<string>();
  for (const c of certificates) if (c.status?.acmeOrder?.orderURL) urls.add(c.status.acmeOrder.orderURL);
  return urls;
}

/** The same order in the same state, whenever it was last polled. */
function sameOrder(a: AcmeOrderStatus, b: AcmeOrderStatus): boolean {
  const { nextPollTime: _a, ...restA } = a;
  const { nextPollTime: _b, ...restB } = b;
  return JSON.stringify(restA) === JSON.stringify(restB);
}
