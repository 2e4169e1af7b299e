// Everything the TrustBundle controller needs, built in one place so the manager adds it with a few lines:
// informers for TrustBundles, Namespaces and the labelled targets, the source readers, the controller, and its
// handlers on the shared managed-Secret, Issuer and ClusterIssuer informers, which enqueue the bundles reading them.
import tls from 'node:tls';
import type { Logger } from 'pino';
import type { Certificate } from '../../api/certificate.ts';
import type { Issuer } from '../../api/issuer.ts';
import type { SecretObject } from '../../api/secret.ts';
import { TRUST_BUNDLE_LABEL, type TrustBundle } from '../../api/trust-bundle.ts';
import type { KubeClient } from '../../kube/client.ts';
import { probeResource } from '../../kube/discovery.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { createInformer, type Informer, type InformerLifecycle } from '../../kube/informer.ts';
import { createObjectReader } from '../../kube/object-reader.ts';
import { Resources } from '../../kube/resources.ts';
import type { SecretReader } from '../../kube/secret-reader.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { Clock } from '../../time/clock.ts';
import { createController, type Controller } from '../../runtime/controller.ts';
import type { Store } from '../store.ts';
import { createTrustBundleReconciler } from './reconciler.ts';
import type { NamespaceObject, TargetObject } from './targets.ts';
import { bundlesReadingIssuer, bundlesReadingSecret } from './triggers.ts';

export interface TrustBundleWiring {
  controller: Controller;
  informers: InformerLifecycle[];
  /**
   * Asks the API server once whether it serves ClusterTrustBundles: if so, the labelled ones are watched (their
   * informer is to be started with the others); if not, a TrustBundle asking for one reports the failed write.
   */
  optionalApis(): Promise<{ informers: InformerLifecycle[]; controllers: Controller[] }>;
  /** A Secret outside the managed-Secret cache changed (a user's CA Secret): bundles reading it look again. */
  secretChanged(namespace: string | undefined, name: string): void;
  /** The TrustBundle cache: a managed CA's rotation reads the bundles' sync state, and watches them change. */
  bundles: Informer<TrustBundle>;
}

export function createTrustBundleWiring(deps: {
  client: KubeClient;
  certificates: Store<Certificate>;
  /** With --shards: reads a Certificate the cache does not hold (another shard's). */
  readCertificate?: (namespace: string, name: string) => Promise<Certificate | undefined>;
  issuers: Informer<Issuer>;
  clusterIssuers: Informer<Issuer>;
  /** The managed Secrets (the operator's label): a change enqueues the bundles reading one. */
  secrets: Informer<SecretObject>;
  /** Shared: the cluster's Namespaces (name, labels, phase). */
  namespaces: Informer<NamespaceObject>;
  /** Source Secrets, cached or not. */
  secretReader: SecretReader;
  events: EventRecorder;
  clusterResourceNamespace: string;
  /** Namespaces besides the cluster-resource one that TrustBundle sources may name. */
  trustBundleSourceNamespaces: readonly string[];
  resyncMs: number;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
}): TrustBundleWiring {
  const { client, log, resyncMs } = deps;
  const enqueue = (name: string | undefined) => name && controller.enqueue(name);
  const enqueueAll = () => bundles.list().forEach((b) => enqueue(b.metadata.name));
  const bundles = createInformer<TrustBundle>({
    client,
    resource: Resources.trustBundles,
    resyncMs,
    log,
    onAdd: (b) => enqueue(b.metadata.name),
    onUpdate: (_o, b) => enqueue(b.metadata.name),
    onResync: (b) => enqueue(b.metadata.name),
    onDelete: (b) => enqueue(b.metadata.name),
  });
  // Any change of a namespace's labels or phase may move a bundle's targets.
  const { namespaces } = deps;
  namespaces.addHandler({
    onAdd: enqueueAll,
    onUpdate: (o, n) => {
      if (JSON.stringify(o.metadata.labels ?? {}) !== JSON.stringify(n.metadata.labels ?? {}) || o.status?.phase !== n.status?.phase) enqueueAll();
    },
    onDelete: enqueueAll,
  });
  // Only the targets (labelled): a changed or deleted target is put back by its bundle.
  const targetInformer = (resource: typeof Resources.configMaps | typeof Resources.secrets | typeof Resources.clusterTrustBundles) =>
    createInformer<TargetObject>({
      client,
      resource,
      labelSelector: TRUST_BUNDLE_LABEL,
      log,
      onAdd: (o) => enqueue(o.metadata.labels?.[TRUST_BUNDLE_LABEL]),
      onUpdate: (_o, o) => enqueue(o.metadata.labels?.[TRUST_BUNDLE_LABEL]),
      onDelete: (o) => enqueue(o.metadata.labels?.[TRUST_BUNDLE_LABEL]),
    });
  const configMaps = targetInformer(Resources.configMaps);
  const targetSecrets = targetInformer(Resources.secrets);
  const clusterTrustBundles = targetInformer(Resources.clusterTrustBundles);

  const controller = createController({
    name: 'trustbundles',
    workers: 2,
    clock: deps.clock,
    log,
    metrics: deps.metrics,
    reconcile: createTrustBundleReconciler({
      client,
      bundles,
      namespaces,
      configMaps,
      secrets: targetSecrets,
      clusterTrustBundles,
      sources: {
        issuers: deps.issuers,
        clusterIssuers: deps.clusterIssuers,
        certificates: deps.certificates,
        ...(deps.readCertificate ? { readCertificate: deps.readCertificate } : {}),
        secrets: deps.secretReader,
        objects: createObjectReader({ client, clock: deps.clock }),
        clusterResourceNamespace: deps.clusterResourceNamespace,
        sourceNamespaces: deps.trustBundleSourceNamespaces,
        systemRoots: () => tls.rootCertificates,
      },
      events: deps.events,
      clock: deps.clock,
    }),
  });
  const lookups = { ...deps, bundles };
  const secretChanged = (ns: string | undefined, name: string) => bundlesReadingSecret(lookups, ns, name).forEach(enqueue);
  const onSecret = (s: SecretObject) => secretChanged(s.metadata.namespace, s.metadata.name);
  deps.secrets.addHandler({ onAdd: onSecret, onUpdate: (_o, s) => onSecret(s), onDelete: onSecret });
  for (const [kind, informer] of [
    ['Issuer', deps.issuers],
    ['ClusterIssuer', deps.clusterIssuers],
  ] as const) {
    const onIssuer = (i: Issuer) => bundlesReadingIssuer(lookups, kind, i.metadata.namespace, i.metadata.name).forEach(enqueue);
    informer.addHandler({ onAdd: onIssuer, onUpdate: (_o, i) => onIssuer(i), onDelete: onIssuer });
  }
  return {
    controller,
    informers: [bundles, configMaps, targetSecrets],
    async optionalApis() {
      const ctbApi = await probeResource(client, Resources.clusterTrustBundles);
      if (ctbApi.served) return { informers: [clusterTrustBundles], controllers: [] };
      log.info({ why: ctbApi.why }, 'ClusterTrustBundle targets are off: clustertrustbundles.certificates.k8s.io is not available');
      return { informers: [], controllers: [] };
    },
    secretChanged,
    bundles,
  };
}
