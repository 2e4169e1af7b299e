// Everything the TrustBundle controller needs, built in one place so the manager adds it with a few lines:
// informers for TrustBundles, Namespaces and the labelled targets, the source readers, the controller, and the
// hooks through which managed Secrets and issuers enqueue the bundles that read them.
import tls from 'node:tls';
import type { Logger } from 'pino';
import type { Certificate } from '../../api/certificate.ts';
import type { Issuer, IssuerKind } from '../../api/issuer.ts';
import { TRUST_BUNDLE_LABEL, type TrustBundle } from '../../api/trust-bundle.ts';
import type { KubeClient } from '../../kube/client.ts';
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
  /** Labelled ClusterTrustBundles: started by the manager only when the API server serves them. */
  clusterTrustBundles: Informer<TargetObject>;
  /** A managed Secret changed: bundles reading it (a Certificate's ca.crt, a CA issuer's Secret) look again. */
  secretChanged(namespace: string | undefined, name: string): void;
  issuerChanged(kind: IssuerKind, namespace: string | undefined, name: string): void;
  /** The TrustBundle cache: a managed CA's rotation reads the bundles' sync state. */
  bundles: Store<TrustBundle>;
}

export function createTrustBundleWiring(deps: {
  client: KubeClient;
  certificates: Store<Certificate>;
  issuers: Store<Issuer>;
  clusterIssuers: Store<Issuer>;
  secrets: SecretReader;
  events: EventRecorder;
  clusterResourceNamespace: string;
  resyncMs: number;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** A bundle or its status changed (a managed CA waiting for it to sync looks again). */
  onBundleChanged?: (b: TrustBundle) => void;
}): TrustBundleWiring {
  const { client, log, resyncMs } = deps;
  const enqueue = (name: string | undefined) => name && controller.enqueue(name);
  const enqueueAll = () => bundles.list().forEach((b) => enqueue(b.metadata.name));
  const bundles = createInformer<TrustBundle>({
    client,
    resource: Resources.trustBundles,
    resyncMs,
    log,
    onAdd: (b) => {
      enqueue(b.metadata.name);
      deps.onBundleChanged?.(b);
    },
    onUpdate: (_o, b) => {
      enqueue(b.metadata.name);
      deps.onBundleChanged?.(b);
    },
    onResync: (b) => enqueue(b.metadata.name),
    onDelete: (b) => {
      enqueue(b.metadata.name);
      deps.onBundleChanged?.(b);
    },
  });
  // Namespaces are few and small; any change of their labels may move a bundle's targets.
  const namespaces = createInformer<NamespaceObject>({
    client,
    resource: Resources.namespaces,
    log,
    transform: (ns) => ({ apiVersion: ns.apiVersion, kind: ns.kind, metadata: slimMeta(ns), status: { phase: ns.status?.phase } }),
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
        secrets: deps.secrets,
        objects: createObjectReader({ client, clock: deps.clock }),
        clusterResourceNamespace: deps.clusterResourceNamespace,
        systemRoots: () => tls.rootCertificates,
      },
      events: deps.events,
      clock: deps.clock,
      log,
    }),
  });
  const lookups = { ...deps, bundles };
  return {
    controller,
    informers: [bundles, namespaces, configMaps, targetSecrets],
    clusterTrustBundles,
    secretChanged: (ns, name) => bundlesReadingSecret(lookups, ns, name).forEach(enqueue),
    issuerChanged: (kind, ns, name) => bundlesReadingIssuer(lookups, kind, ns, name).forEach(enqueue),
    bundles,
  };
}

function slimMeta(o: NamespaceObject) {
  const { name, uid, resourceVersion, labels, deletionTimestamp } = o.metadata;
  return { name, uid, resourceVersion, labels, ...(deletionTimestamp ? { deletionTimestamp } : {}) };
}
