// The PodCertificateRequest signer and everything that wakes it: one watch per signer name an issuer serves (a field
// selector on spec.signerName, so no other signer's requests are cached), re-made whenever the issuers change; the
// ledger of which pod holds which CA generation's certificate, which a managed CA's rotation waits on; and a sweep
// that forgets pods that are gone, so a deleted pod never holds a rotation up.
import type { Logger } from 'pino';
import type { IssuancePolicy } from '../../api/issuance-policy.ts';
import type { Issuer, IssuerKind } from '../../api/issuer.ts';
import type { KubeObject } from '../../api/meta.ts';
import { isTerminal, type PodCertificateRequest } from '../../api/pod-certificate-request.ts';
import type { KubeClient } from '../../kube/client.ts';
import { probeResource } from '../../kube/discovery.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { createInformer, type Informer, type InformerLifecycle } from '../../kube/informer.ts';
import { Resources } from '../../kube/resources.ts';
import { withoutManagedFields } from '../../kube/trim.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { PolicyDefault } from '../../policy/issuance-policy.ts';
import { buildSignerIndex, type SignerIndex } from '../../policy/pod-certificates.ts';
import { createController, type Controller } from '../../runtime/controller.ts';
import type { SignerSource } from '../../signers/signer-source.ts';
import type { Clock } from '../../time/clock.ts';
import { objectKey, type Store } from '../store.ts';
import { createPodCertificateLedger, issuerLedgerKey, type PodCertificateLedger } from './ledger.ts';
import { createPodCertificateReconciler } from './reconciler.ts';

/** How often pods holding a retiring CA's certificate are checked for still existing. */
const SWEEP_INTERVAL_MS = 30_000;

export interface PodCertificateWiring {
  /** Asks once whether the API server serves PodCertificateRequests; the watches and the controller if so. */
  optionalApis(): Promise<{ informers: InformerLifecycle[]; controllers: Controller[] }>;
  /** What a managed CA's rotation asks: pods still holding a certificate of these generations. */
  ledger: PodCertificateLedger;
}

export function createPodCertificateWiring(deps: {
  client: KubeClient;
  issuers: Informer<Issuer>;
  clusterIssuers: Informer<Issuer>;
  namespaces: Store<KubeObject>;
  policies: Store<IssuancePolicy>;
  policyDefault: PolicyDefault;
  signers: SignerSource;
  events: EventRecorder;
  metrics: Metrics;
  workers: number;
  clock: Clock;
  log: Logger;
  /** An issuer's rotation may move on: a pod of it changed CA generation, or is gone. */
  onRotationProgress: (kind: IssuerKind, namespace: string | undefined, name: string) => void;
}): PodCertificateWiring {
  const { client, clock } = deps;
  const log = deps.log.child({ controller: 'podcertificaterequests' });
  const ledger = createPodCertificateLedger(clock.now());
  const watches = new Map<string, Informer<PodCertificateRequest>>();
  const seenAt = new Map<string, number>();
  let index: SignerIndex = { bySigner: new Map(), refused: [] };
  let running = false;

  const controller = createController({
    name: 'podcertificaterequests',
    workers: deps.workers,
    clock,
    log: deps.log,
    metrics: deps.metrics,
    reconcile: createPodCertificateReconciler({
      client,
      request: (ns, name) => {
        for (const w of watches.values()) {
          const found = w.get(ns, name);
          if (found) return found;
        }
        return undefined;
      },
      signerIndex: () => index,
      signers: deps.signers,
      policies: deps.policies,
      namespaces: deps.namespaces,
      policyDefault: deps.policyDefault,
      ledger,
      events: deps.events,
      metrics: deps.metrics,
      clock,
      seenAt: (key) => seenAt.get(key),
      answered: (key) => seenAt.delete(key),
      onIssued: (issuer, ref) => {
        if (issuer.status?.ca?.phase === 'Reissuing') deps.onRotationProgress(ref.kind, ref.namespace, ref.name);
      },
    }),
  });

  const enqueue = (pcr: PodCertificateRequest) => {
    const key = objectKey(pcr.metadata.namespace, pcr.metadata.name);
    if (isTerminal(pcr)) return;
    if (!seenAt.has(key)) seenAt.set(key, Date.now());
    controller.enqueue(key);
  };

  function watchFor(signerName: string): Informer<PodCertificateRequest> {
    const w = createInformer<PodCertificateRequest>({
      client,
      resource: Resources.podCertificateRequests,
      fieldSelector: `spec.signerName=${signerName}`,
      log,
      transform: withoutManagedFields,
    });
    w.addHandler({
      onAdd: enqueue,
      onUpdate: (_old, p) => enqueue(p),
      onDelete: (p) => seenAt.delete(objectKey(p.metadata.namespace, p.metadata.name)),
    });
    return w;
  }

  /** The watches follow the signer names the issuers serve; a request pending for a name served anew is picked up. */
  function syncWatches(): Promise<void>[] {
    index = buildSignerIndex(deps.clusterIssuers.list(), deps.issuers.list());
    for (const r of index.refused) log.warn({ issuer: r.ref, signerName: r.signerName }, `not serving signer name: ${r.message}`);
    if (!running) return [];
    const started: Promise<void>[] = [];
    for (const signerName of index.bySigner.keys()) {
      if (watches.has(signerName)) continue;
      const w = watchFor(signerName);
      watches.set(signerName, w);
      started.push(w.start());
      log.info({ signerName }, 'watching PodCertificateRequests');
    }
    for (const [signerName, w] of watches) {
      if (index.bySigner.has(signerName)) continue;
      w.stop();
      watches.delete(signerName);
      log.info({ signerName }, 'stopped watching PodCertificateRequests');
    }
    // The serving issuer may have changed (its CA, its settings): pending requests are looked at again.
    for (const w of watches.values()) for (const p of w.list()) enqueue(p);
    return started;
  }
  for (const informer of [deps.issuers, deps.clusterIssuers]) {
    informer.addHandler({ onAdd: () => syncWatches(), onUpdate: () => syncWatches(), onDelete: () => syncWatches() });
  }

  /** Pods holding a retiring generation's certificate that are gone (or replaced: another UID) leave the ledger. */
  async function sweep(): Promise<void> {
    const now = clock.now();
    for (const [kind, informer] of [
      ['Issuer', deps.issuers],
      ['ClusterIssuer', deps.clusterIssuers],
    ] as const) {
      for (const issuer of informer.list()) {
        const retiring = new Set((issuer.status?.ca?.generations ?? []).filter((g) => g.role === 'retiring').map((g) => g.fingerprint));
        if (retiring.size === 0) continue;
        let forgot = false;
        for (const r of ledger.holders(issuerLedgerKey(kind, issuer.metadata.namespace, issuer.metadata.name), retiring, now)) {
          const pod = await client.get(Resources.pods, r.namespace, r.podName).catch(() => 'unknown' as const);
          if (pod === 'unknown' || pod?.metadata.uid === r.podUID) continue;
          ledger.forgetPod(r.podUID);
          forgot = true;
        }
        if (forgot) deps.onRotationProgress(kind, issuer.metadata.namespace, issuer.metadata.name);
      }
    }
  }
  let sweeper: NodeJS.Timeout | undefined;
  let sweeping = false;

  const lifecycle: InformerLifecycle = {
    async start() {
      await Promise.all([deps.issuers.start(), deps.clusterIssuers.start()]);
      running = true;
      await Promise.all(syncWatches());
      sweeper = setInterval(() => {
        if (sweeping) return;
        sweeping = true;
        void sweep()
          .catch((err: Error) => log.warn({ err: err.message }, 'pod sweep failed'))
          .finally(() => {
            sweeping = false;
          });
      }, SWEEP_INTERVAL_MS).unref();
    },
    stop() {
      running = false;
      if (sweeper) clearInterval(sweeper);
      for (const w of watches.values()) w.stop();
      watches.clear();
    },
    hasSynced: () => running && [...watches.values()].every((w) => w.hasSynced()),
  };

  return {
    ledger,
    async optionalApis() {
      const api = await probeResource(client, Resources.podCertificateRequests);
      if (api.served) return { informers: [lifecycle], controllers: [controller] };
      log.info({ why: api.why }, 'pod certificates are off: podcertificaterequests.certificates.k8s.io is not available');
      return { informers: [], controllers: [] };
    },
  };
}
