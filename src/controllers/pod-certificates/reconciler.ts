// Answers one PodCertificateRequest for a signer name an issuer of ours serves: gather (the request, the issuer, the
// pod with one GET, the stub CSR, the policies, the signing CA) → plan (plan.ts, pure) → one status write: Issued
// with the chain and its times, or Denied with a reason the kubelet shows on the pod. A request the CA cannot sign
// yet stays pending and is looked at again; the API makes Issued and Denied final.
import type { Logger } from 'pino';
import type { IssuancePolicy } from '../../api/issuance-policy.ts';
import type { Issuer } from '../../api/issuer.ts';
import type { KubeObject } from '../../api/meta.ts';
import { isTerminal, PcrCondition, PcrReason, type PodCertificateRequest, type PodCertificateRequestStatus } from '../../api/pod-certificate-request.ts';
import { errorCode } from '../../errors.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { apiVersionOf, Resources } from '../../kube/resources.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { readStubCsr } from '../../pki/stub-csr.ts';
import type { PolicyDefault } from '../../policy/issuance-policy.ts';
import { nextRotationOf, podCertificateSettings, rotationRefreshBy, type PodFacts, type SignerIndex } from '../../policy/pod-certificates.ts';
import type { ReconcileContext } from '../../runtime/controller.ts';
import type { CaSigner } from '../../signers/ca-signer.ts';
import { signPodCertificate } from '../../signers/pod-certificate.ts';
import type { SignerSource } from '../../signers/signer-source.ts';
import type { Clock } from '../../time/clock.ts';
import type { Store } from '../store.ts';
import { issuerLedgerKey, type PodCertificateLedger } from './ledger.ts';
import { planPodCertificate, type PodRequestPlan } from './plan.ts';

/** A request the CA cannot sign yet is looked at again this often (events on the issuer bring it back sooner). */
export const WAIT_RECHECK_MS = 30_000;

interface PodObject extends KubeObject {
  spec?: { nodeName?: string; serviceAccountName?: string };
}

export interface PodCertificateReconcilerDeps {
  client: KubeClient;
  /** The cached request for a key, whichever signer's watch holds it. */
  request: (namespace: string, name: string) => PodCertificateRequest | undefined;
  signerIndex: () => SignerIndex;
  signers: SignerSource;
  policies: Store<IssuancePolicy>;
  namespaces: Store<KubeObject>;
  policyDefault: PolicyDefault;
  ledger: PodCertificateLedger;
  events: EventRecorder;
  metrics: Metrics;
  clock: Clock;
  /** When the request first reached the cache (for the latency metric); forgotten once answered. */
  seenAt: (key: string) => number | undefined;
  answered: (key: string) => void;
  /** A pod moved to a certificate of this issuer's current CA: a rotation waiting for its pods looks again. */
  onIssued: (issuer: Issuer, ref: { kind: 'Issuer' | 'ClusterIssuer'; namespace?: string; name: string }) => void;
}

export function createPodCertificateReconciler(deps: PodCertificateReconcilerDeps) {
  return async function reconcilePodCertificateRequest(key: string, ctx: ReconcileContext): Promise<{ requeueAfterMs?: number }> {
    const [namespace = '', name = ''] = key.split('/');
    const pcr = deps.request(namespace, name);
    if (!pcr?.spec || isTerminal(pcr)) {
      deps.answered(key);
      return {};
    }
    const entry = deps.signerIndex().bySigner.get(pcr.spec.signerName);
    if (!entry) return {}; // no issuer serves this name (any more): it stays pending for whoever does
    const log = ctx.log.child({ namespace, name, signer: pcr.spec.signerName, pod: pcr.spec.podName });
    const now = deps.clock.now();
    const { issuer, ref } = entry;

    // Gather.
    const settings = podCertificateSettings(issuer.spec!.ca!.podCertificates!);
    const pod = await readPod(namespace, pcr.spec.podName);
    const csr = await readStubCsr(Buffer.from(pcr.spec.stubPKCS10Request ?? '', 'base64')).catch((err: Error) => ({
      problem: err.message,
      unsupportedKey: errorCode(err) === 'UnsupportedKey',
    }));
    const signer = await deps.signers.signerFor(issuer, ref.kind).then(
      (s): CaSigner | { problem: string } => (s.kind === 'ca' ? s : { problem: 'it is not a CA issuer' }),
      (err: Error) => {
        if (errorCode(err)?.startsWith('Kube')) throw err;
        return { problem: err.message };
      },
    );
    const plan = planPodCertificate({
      now,
      namespace,
      spec: pcr.spec,
      ref,
      settings,
      pod,
      csr,
      policies: deps.policies.list().map((p) => ({ name: p.metadata.name, spec: p.spec })),
      namespaceLabels: deps.namespaces.get(undefined, namespace)?.metadata.labels,
      policyDefault: deps.policyDefault,
      signer,
      ...refreshByOf(issuer, signer, now),
    });

    // Act.
    ctx.signal.throwIfAborted();
    if (plan.kind === 'wait') {
      log.info({ why: plan.message }, 'pod certificate waits');
      return { requeueAfterMs: WAIT_RECHECK_MS };
    }
    const status = plan.kind === 'issue' ? await issuedStatus(plan, ref, now).catch((err: Error) => failedStatus(err, now)) : finalStatus(plan, now);
    const written = await writeStatus(pcr, status, log);
    if (!written) return {};
    const seen = deps.seenAt(key);
    deps.answered(key);
    const result = status.conditions?.[0]?.type === PcrCondition.issued ? 'issued' : plan.kind === 'deny' ? 'denied' : 'failed';
    deps.metrics.podCertificateRequests.inc({ issuer_kind: ref.kind, result });
    if (seen !== undefined) deps.metrics.podCertificateLatency.observe({ result }, Math.max(0, Date.now() - seen) / 1000);
    if (result !== 'issued') {
      const cond = status.conditions![0]!;
      log.info({ reason: cond.reason, why: cond.message }, `pod certificate ${result}`);
      await deps.events.record(pcr, 'Warning', cond.reason, cond.message);
      return {};
    }
    if (plan.kind !== 'issue') return {};
    deps.ledger.record({
      issuer: issuerLedgerKey(ref.kind, ref.namespace, ref.name),
      namespace,
      podName: pcr.spec.podName,
      podUID: pcr.spec.podUID,
      caFingerprint: plan.signer.caInfo.fingerprintSha256,
      notAfter: plan.times.notAfter,
    });
    log.debug({ notAfter: plan.times.notAfter, beginRefreshAt: plan.times.beginRefreshAt }, 'pod certificate issued');
    deps.onIssued(issuer, ref);
    return {};
  };

  async function readPod(namespace: string, name: string): Promise<PodFacts | undefined> {
    const pod = await deps.client.get<PodObject>(Resources.pods, namespace, name);
    if (!pod) return undefined;
    return {
      uid: pod.metadata.uid ?? '',
      ...(pod.spec?.nodeName ? { nodeName: pod.spec.nodeName } : {}),
      ...(pod.spec?.serviceAccountName ? { serviceAccountName: pod.spec.serviceAccountName } : {}),
    };
  }

  /** Server-side apply of the status; false when the request was answered or deleted meanwhile (nothing to do). */
  async function writeStatus(pcr: PodCertificateRequest, status: PodCertificateRequestStatus, log: Logger): Promise<boolean> {
    const body = {
      apiVersion: apiVersionOf(Resources.podCertificateRequests),
      kind: 'PodCertificateRequest',
      metadata: { name: pcr.metadata.name, namespace: pcr.metadata.namespace ?? '' },
      status,
    };
    try {
      await deps.client.apply(Resources.podCertificateRequests, body, { subresource: 'status', force: true });
      return true;
    } catch (err) {
      const code = errorCode(err);
      if (code === 'KubeNotFound') return false;
      // Answered by another replica an instant ago: the API refuses to change a final status.
      if (code === 'KubeInvalid' && deps.request(pcr.metadata.namespace ?? '', pcr.metadata.name) === undefined) return false;
      log.warn({ err: (err as Error).message }, 'could not write the PodCertificateRequest status');
      throw err;
    }
  }
}

/** When the certificate must start refreshing for the issuer's CA rotation (a managed CA only). */
function refreshByOf(issuer: Issuer, signer: CaSigner | { problem: string }, now: Date): { refreshBy?: Date } {
  const managed = issuer.spec?.ca?.managed;
  if (!managed || 'problem' in signer) return {};
  const nextRotation = nextRotationOf(managed, signer.caInfo);
  const by = rotationRefreshBy({ phase: issuer.status?.ca?.phase, now, ...(nextRotation ? { nextRotation } : {}) });
  return by ? { refreshBy: by } : {};
}

async function issuedStatus(
  plan: Extract<PodRequestPlan, { kind: 'issue' }>,
  ref: { kind: string; name: string },
  now: Date,
): Promise<PodCertificateRequestStatus> {
  const certificateChain = await signPodCertificate(plan.signer, { publicKey: plan.publicKey, uri: plan.uri, dnsNames: plan.dnsNames, times: plan.times });
  const t = plan.times;
  return {
    conditions: [
      {
        type: PcrCondition.issued,
        status: 'True',
        reason: PcrReason.issued,
        message: `Signed by ${ref.kind} ${ref.name} (CA ${plan.signer.caInfo.fingerprintSha256.slice(0, 16)}) for ${plan.uri}; refresh from ${t.beginRefreshAt.toISOString()}`,
        lastTransitionTime: rfc3339(now),
      },
    ],
    certificateChain,
    notBefore: rfc3339(t.notBefore),
    beginRefreshAt: rfc3339(t.beginRefreshAt),
    notAfter: rfc3339(t.notAfter),
  };
}

function finalStatus(plan: Extract<PodRequestPlan, { kind: 'deny' }>, now: Date, type: string = PcrCondition.denied): PodCertificateRequestStatus {
  // kube-apiserver caps a condition message at 32 KiB; a tenant's long name never comes near it, but stay far below.
  const message = plan.message.length > 1024 ? `${plan.message.slice(0, 1023)}…` : plan.message;
  return { conditions: [{ type, status: 'True', reason: plan.reason, message, lastTransitionTime: rfc3339(now) }] };
}

/** The CA could not sign this key (a signing error, not a CA that is not ready): Failed, final, with the reason. */
function failedStatus(err: Error, now: Date): PodCertificateRequestStatus {
  if (errorCode(err) !== 'SigningFailed') throw err;
  return finalStatus({ kind: 'deny', reason: PcrReason.signingFailed, message: err.message }, now, PcrCondition.failed);
}

/** metav1.Time: whole seconds, Z. */
function rfc3339(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}
