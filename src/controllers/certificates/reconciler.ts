// Reconciles one Certificate: read from the cache → validate → decide (pure policy) → issue → write the
// Secret and the status once. Level-based: running it again on the same state writes nothing.
import { performance } from 'node:perf_hooks';
import type { KeyObject } from 'node:crypto';
import { createPublicKey } from 'node:crypto';
import type { Logger } from 'pino';
import { CertificateSpec, type Certificate, type CertificateStatus } from '../../api/certificate.ts';
import { ConditionType, Reason, findCondition } from '../../api/conditions.ts';
import type { Issuer } from '../../api/issuer.ts';
import { ISSUER_KIND_ANNOTATION, ISSUER_NAME_ANNOTATION, REVISION_ANNOTATION } from '../../api/labels.ts';
import { API_VERSION } from '../../api/meta.ts';
import { errorCode } from '../../errors.ts';
import type { KubeClient } from '../../kube/client.ts';
import { isConflict } from '../../kube/errors.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { createOwnWrites } from '../../kube/own-writes.ts';
import { Resources } from '../../kube/resources.ts';
import type { Metrics } from '../../observability/metrics.ts';
import {
  describeCertificate,
  encodePrivateKeyDer,
  encodePrivateKeyPem,
  generatePrivateKey,
  keySpecOf,
  parseCertificatesPem,
  parsePrivateKeyPem,
  publicKeyMatches,
} from '../../pki/index.ts';
import type { CertInfo, KeySpec } from '../../pki/types.ts';
import { nextRetryTime } from '../../policy/backoff.ts';
import type { Clock } from '../../policy/clock.ts';
import { decideIssuance, IssuanceReason, type IssuanceInputs } from '../../policy/issuance.ts';
import { computeRenewalTime } from '../../policy/renewal.ts';
import { validateCertificateSpec } from '../../policy/validate-certificate.ts';
import { issueCertificate } from '../../signers/issue.ts';
import { secretValue } from '../../signers/secret-data.ts';
import type { SignerSource } from '../../signers/signer-source.ts';
import { parseKey, type Store } from '../store.ts';
import { desiredCertificate, type DesiredCertificate } from './desired.ts';
import { buildSecret, type SecretObject } from './secret-builder.ts';
import { secretOwnership, secretWriter } from './secret-ownership.ts';
import { failedStatus, issuedStatus, issuingCondition, readyCondition, statusEqual, withIssuing, blockedStatus } from './status.ts';

export interface ReconcileResult {
  requeueAfterMs?: number;
}

export interface CertificateReconcilerDeps {
  client: KubeClient;
  certificates: Store<Certificate>;
  secrets: Store<SecretObject>;
  issuers: Store<Issuer>;
  clusterIssuers: Store<Issuer>;
  signers: SignerSource;
  events: EventRecorder;
  metrics: Metrics;
  clock: Clock;
  log: Logger;
  backoff?: { baseMs?: number; capMs?: number };
}

// Foreign Secrets are not cached (only managed ones are): look again now and then.
const RECHECK_FOREIGN_SECRET_MS = 5 * 60_000;

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

    const upToDate = () => readyCondition('True', Reason.Ready, 'Certificate is up to date and has not expired', generation);

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
    const problems = parsed.success
      ? validateCertificateSpec(parsed.data)
      : parsed.error.issues.map((i) => `${i.path.join('.') || 'spec'}: ${i.message}`);
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
    const liveCerts = deps.certificates.list(ns).filter((c) => !c.metadata.deletionTimestamp);
    let ownership = secretOwnership(name, secret, new Set(liveCerts.map((c) => c.metadata.name)));
    if (ownership.kind === 'free') {
      const writer = secretWriter(
        liveCerts.map((c) => ({
          name: c.metadata.name,
          secretName: c.spec?.secretName ?? '',
          creationTimestamp: c.metadata.creationTimestamp,
        })),
        desired.secretName,
      );
      if (writer && writer !== name) ownership = { kind: 'inUse', by: writer };
    }
    if (ownership.kind === 'inUse') {
      return notReady(
        Reason.SecretInUse,
        `Secret ${desired.secretName} is written by Certificate ${ownership.by}: give this Certificate its own secretName`,
        { event: 'Conflict' },
      );
    }
    if (ownership.kind === 'foreign') return secretConflict(desired.secretName);

    // 3. Decide whether to issue.
    const stored = ownership.kind === 'ours' ? readStoredSecret(secret) : undefined;
    const decision = decideIssuance(issuanceInputs(now, stored, desired));
    if (!decision) {
      const info = stored!.cert!;
      const renewalTime = computeRenewalTime({
        notBefore: info.notBefore,
        notAfter: info.notAfter,
        ...(desired.renewBeforeMs !== undefined ? { renewBeforeMs: desired.renewBeforeMs } : {}),
        ...(desired.renewBeforePercentage !== undefined ? { renewBeforePercentage: desired.renewBeforePercentage } : {}),
      });
      const revision = stored!.revision ?? cert.status?.revision ?? 1;
      await writeStatus(issuedStatus(cert.status, { notBefore: info.notBefore, notAfter: info.notAfter, renewalTime, revision }, upToDate(), now));
      recordValidity(ns, name, desired, info.notAfter, renewalTime);
      return { requeueAfterMs: Math.max(renewalTime.getTime() - now.getTime(), 0) };
    }

    // 4. Issuance is needed: is the issuer ready, and is a failure backoff still running?
    const issuer =
      desired.issuer.kind === 'ClusterIssuer'
        ? deps.clusterIssuers.get(undefined, desired.issuer.name)
        : deps.issuers.get(ns, desired.issuer.name);
    // While the current certificate is still good (only its renewal is due), Ready stays True and the
    // Issuing condition carries the problem.
    const renewalOnly = decision.reason === IssuanceReason.Renewing;
    const waitToIssue = async (reason: string, message: string) => {
      const issuing = issuingCondition('True', decision.reason, `${decision.message}; waiting: ${message}`, generation);
      const ready = renewalOnly ? upToDate() : readyCondition('False', reason, message, generation);
      const prevIssuing = findCondition(cert.status?.conditions, ConditionType.Issuing);
      await writeStatus(withIssuing(cert.status, issuing, ready, now));
      if (prevIssuing?.message !== issuing.message) {
        await deps.events.record(cert, 'Warning', reason, message);
        log.info({ reason }, 'issuance waiting');
      }
      if (!renewalOnly) deps.metrics.setCertificateReady(ns, name, 'False');
      return {};
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

    // 5. Issue, write the Secret, then the status.
    const started = performance.now();
    try {
      const signer = await deps.signers.signerFor(issuer, desired.issuer.kind);
      const keys = await keyFor(desired, stored);
      const issued = await issueCertificate(signer, leafRequest(desired), keys, now);
      const revision = Math.max(cert.status?.revision ?? 0, stored?.revision ?? 0) + 1;
      const secretObj = buildSecret(
        ns,
        name,
        desired,
        {
          certificatePem: issued.certificatePem,
          caPem: issued.caPem,
          privateKeyPem: encodePrivateKeyPem(keys.privateKey, desired.keyEncoding),
          privateKeyDer: encodePrivateKeyDer(keys.privateKey),
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
            const again = secretOwnership(name, existing, new Set(liveCerts.map((c) => c.metadata.name)));
            if (again.kind === 'foreign') return secretConflict(desired.secretName);
          }
          throw err;
        }
      }
      ownSecrets.remember(written);
      const renewalTime = computeRenewalTime({
        notBefore: issued.notBefore,
        notAfter: issued.notAfter,
        ...(desired.renewBeforeMs !== undefined ? { renewBeforeMs: desired.renewBeforeMs } : {}),
        ...(desired.renewBeforePercentage !== undefined ? { renewBeforePercentage: desired.renewBeforePercentage } : {}),
      });
      await writeStatus(
        issuedStatus(cert.status, { notBefore: issued.notBefore, notAfter: issued.notAfter, renewalTime, revision }, upToDate(), now),
      );
      const renewed = stored?.cert !== undefined;
      await deps.events.record(
        cert,
        'Normal',
        renewed ? 'Renewed' : 'Issued',
        `${renewed ? 'Renewed' : 'Issued'} certificate (revision ${revision}, ${decision.reason}: ${decision.message}); expires ${issued.notAfter.toISOString()}`,
      );
      deps.metrics.issuanceTotal.inc({ issuer_kind: desired.issuer.kind, result: 'success' });
      deps.metrics.issuanceDuration.observe({ issuer_kind: desired.issuer.kind }, (performance.now() - started) / 1000);
      recordValidity(ns, name, desired, issued.notAfter, renewalTime);
      log.info({ revision, reason: decision.reason }, renewed ? 'renewed certificate' : 'issued certificate');
      return { requeueAfterMs: Math.max(renewalTime.getTime() - now.getTime(), 0) };
    } catch (err) {
      // API trouble is not an issuance failure: the work queue retries it with its own backoff.
      const code = errorCode(err);
      if (code === undefined || code.startsWith('Kube')) throw err;
      deps.metrics.issuanceTotal.inc({ issuer_kind: desired.issuer.kind, result: 'failure' });
      const failures = attempts + 1;
      const retry = nextRetryTime(now, failures, deps.backoff);
      const message = `Issuance failed (attempt ${failures}, next retry at ${retry.toISOString()}): ${(err as Error).message}`;
      const issuing = issuingCondition('False', Reason.Failed, message, generation);
      const ready = renewalOnly ? upToDate() : readyCondition('False', Reason.Failed, message, generation);
      await writeStatus(failedStatus(cert.status, issuing, ready, failures, retry, now));
      await deps.events.record(cert, 'Warning', 'Failed', message);
      if (!renewalOnly) deps.metrics.setCertificateReady(ns, name, 'False');
      log.warn({ code, failures }, 'issuance failed');
      return { requeueAfterMs: retry.getTime() - now.getTime() };
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

interface StoredSecret {
  certificatePem?: string;
  privateKeyPem?: string;
  cert?: CertInfo;
  privateKey?: KeyObject;
  keySpec?: KeySpec;
  keyMatchesCert: boolean;
  issuer?: { name: string; kind: string };
  revision?: number;
}

/** Parses what the Secret holds; anything unreadable is left undefined for the policy to name. */
function readStoredSecret(secret: SecretObject | undefined): StoredSecret | undefined {
  if (!secret) return undefined;
  const certificatePem = secretValue(secret.data, 'tls.crt');
  const privateKeyPem = secretValue(secret.data, 'tls.key');
  let cert: CertInfo | undefined;
  let certDer: Uint8Array | undefined;
  let privateKey: KeyObject | undefined;
  try {
    if (certificatePem) {
      certDer = parseCertificatesPem(certificatePem)[0];
      if (certDer) cert = describeCertificate(certDer);
    }
  } catch {
    cert = undefined;
  }
  try {
    if (privateKeyPem) privateKey = parsePrivateKeyPem(privateKeyPem);
  } catch {
    privateKey = undefined;
  }
  const annotations = secret.metadata.annotations ?? {};
  const issuerName = annotations[ISSUER_NAME_ANNOTATION];
  const rev = Number(annotations[REVISION_ANNOTATION]);
  return {
    ...(certificatePem ? { certificatePem } : {}),
    ...(privateKeyPem ? { privateKeyPem } : {}),
    ...(cert ? { cert } : {}),
    ...(privateKey ? { privateKey, keySpec: keySpecOf(privateKey) } : {}),
    keyMatchesCert: !!(privateKey && certDer && publicKeyMatches(privateKey, certDer)),
    ...(issuerName ? { issuer: { name: issuerName, kind: annotations[ISSUER_KIND_ANNOTATION] ?? 'Issuer' } } : {}),
    ...(Number.isInteger(rev) && rev > 0 ? { revision: rev } : {}),
  };
}

function issuanceInputs(now: Date, stored: StoredSecret | undefined, desired: DesiredCertificate): IssuanceInputs {
  return {
    now,
    secret: stored && {
      ...(stored.certificatePem ? { certificatePem: stored.certificatePem } : {}),
      ...(stored.privateKeyPem ? { privateKeyPem: stored.privateKeyPem } : {}),
      ...(stored.cert ? { cert: stored.cert } : {}),
      keyMatchesCert: stored.keyMatchesCert,
      ...(stored.keySpec ? { keySpec: stored.keySpec } : {}),
      ...(stored.issuer ? { issuerAnnotation: stored.issuer } : {}),
    },
    desired: {
      ...(desired.commonName ? { commonName: desired.commonName } : {}),
      subject: desired.subject,
      dnsNames: desired.dnsNames,
      ipAddresses: desired.ipAddresses,
      uris: desired.uris,
      emailAddresses: desired.emailAddresses,
      usages: desired.usages,
      isCA: desired.isCA,
      key: desired.key,
      durationMs: desired.durationMs,
      issuer: desired.issuer,
    },
    ...(desired.renewBeforeMs !== undefined ? { renewBeforeMs: desired.renewBeforeMs } : {}),
    ...(desired.renewBeforePercentage !== undefined ? { renewBeforePercentage: desired.renewBeforePercentage } : {}),
  };
}

/** rotationPolicy Never keeps the stored key when it still fits the spec; otherwise a fresh key. */
async function keyFor(desired: DesiredCertificate, stored: StoredSecret | undefined) {
  const reusable =
    !desired.rotateKey &&
    stored?.privateKey &&
    stored.keySpec?.algorithm === desired.key.algorithm &&
    stored.keySpec.size === desired.key.size;
  const privateKey = reusable ? stored!.privateKey! : await generatePrivateKey(desired.key);
  return { privateKey, publicKey: createPublicKey(privateKey) };
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

