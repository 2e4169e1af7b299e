// The Ingress and Gateway shims in one place: their informers (only what the shim reads is kept), their controllers,
// and their handler on the shared Certificate informer, through which a changed or deleted Certificate brings back
// the owner that puts it right.
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import type { Certificate } from '../../api/certificate.ts';
import type { GatewayObject } from '../../api/gateway-api.ts';
import type { Issuer } from '../../api/issuer.ts';
import type { Config } from '../../config/config.ts';
import type { KubeClient } from '../../kube/client.ts';
import { probeResource } from '../../kube/discovery.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { createInformer, type Informer, type InformerLifecycle } from '../../kube/informer.ts';
import { Resources } from '../../kube/resources.ts';
import { trimForCache } from '../../kube/trim.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { createController, type Controller, type Reconciler } from '../../runtime/controller.ts';
import type { Sharding } from '../../sharding/sharding.ts';
import type { Clock } from '../../time/clock.ts';
import { objectKey, type Store } from '../store.ts';
import { createGatewayReconciler } from './gateway-reconciler.ts';
import type { Ingress } from './ingress.ts';
import { createIngressReconciler } from './ingress-reconciler.ts';
import { createShimCertificates } from './certificates.ts';
import { controllerOf } from './sync.ts';

export interface ShimWiring {
  /** The Ingress shim: always on. */
  controller: Controller;
  informers: InformerLifecycle[];
  /**
   * Asks the API server once whether it serves Gateways (CRDs installed later count at the next restart): if so,
   * the Gateway shim is on, and its informer and controller are to be started with the others.
   */
  optionalApis(): Promise<{ informers: InformerLifecycle[]; controllers: Controller[] }>;
  /** With --shards: the Ingresses and Gateways of shards this replica now works are looked at. */
  enqueueShards(shards: readonly number[]): void;
}

export function createShimWiring(deps: {
  config: Pick<Config, 'honourCertManagerAnnotations' | 'defaultIssuerKind' | 'defaultIssuerName'>;
  client: KubeClient;
  certificates: Informer<Certificate>;
  issuers: Store<Issuer>;
  clusterIssuers: Store<Issuer>;
  events: EventRecorder;
  resyncMs: number;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  /** With --shards: Ingresses and Gateways are worked in the shard of their namespace/name. */
  sharding?: Sharding;
}): ShimWiring {
  const { config, client, certificates, resyncMs, clock, log, metrics } = deps;
  // Only what the shim reads is kept: rules and status can be large.
  const ingresses = createInformer<Ingress>({
    client,
    resource: Resources.ingresses,
    resyncMs,
    log,
    transform: (i) => {
      const { apiVersion, kind, metadata } = trimForCache(i);
      return { apiVersion, kind, metadata, spec: { ingressClassName: i.spec?.ingressClassName, tls: i.spec?.tls } };
    },
    onAdd: (i) => enqueueIngress(i),
    onUpdate: (_old, i) => enqueueIngress(i),
    onResync: (i) => enqueueIngress(i),
    onDelete: (i) => enqueueIngress(i),
  });
  // Only metadata and listeners are kept.
  const gateways = createInformer<GatewayObject>({
    client,
    resource: Resources.gateways,
    resyncMs,
    log,
    transform: (g) => {
      const { apiVersion, kind, metadata } = trimForCache(g);
      return { apiVersion, kind, metadata, spec: { gatewayClassName: g.spec?.gatewayClassName ?? '', listeners: g.spec?.listeners ?? [] } };
    },
    onAdd: (g) => enqueueGateway(g),
    onUpdate: (_old, g) => enqueueGateway(g),
    onResync: (g) => enqueueGateway(g),
    onDelete: (g) => enqueueGateway(g),
  });
  let gatewaysWatched = false;

  const sharded = (r: Reconciler): Reconciler => (deps.sharding ? deps.sharding.gate.guard(deps.sharding.shardOfKey, r) : r);
  // What the Ingress and Gateway reconcilers share: one sync of owned Certificates, one reading of annotations.
  const shared = {
    issuers: deps.issuers,
    clusterIssuers: deps.clusterIssuers,
    certificates: createShimCertificates({
      client,
      certificates,
      ...(deps.sharding ? { shardLabels: deps.sharding.labelsFor } : {}),
    }),
    events: deps.events,
    annotations: {
      honourCertManager: config.honourCertManagerAnnotations,
      defaultIssuer: config.defaultIssuerName ? { kind: config.defaultIssuerKind, name: config.defaultIssuerName } : undefined,
    },
  };
  const ingressController = createController({
    name: 'ingresses',
    workers: 2,
    clock,
    log,
    metrics,
    reconcile: sharded(createIngressReconciler({ ingresses, ...shared })),
  });
  const gatewayController = createController({
    name: 'gateways',
    workers: 2,
    clock,
    log,
    metrics,
    reconcile: sharded(createGatewayReconciler({ gateways, ...shared })),
  });

  function enqueueIngress(i: Ingress) {
    ingressController.enqueue(objectKey(i.metadata.namespace, i.metadata.name));
  }
  function enqueueGateway(g: GatewayObject) {
    gatewayController.enqueue(objectKey(g.metadata.namespace, g.metadata.name));
  }
  /** The Ingress that owns a Certificate puts it right; Ingresses waiting for a name a Certificate held look again. */
  function enqueueIngressesOf(c: Certificate) {
    const owner = controllerOf(c);
    if (owner?.kind === 'Ingress') ingressController.enqueue(objectKey(c.metadata.namespace, owner.name));
    for (const i of ingresses.list(c.metadata.namespace)) {
      if (i.metadata.name !== owner?.name && i.spec?.tls?.some((t) => t.secretName === c.metadata.name)) enqueueIngress(i);
    }
  }
  /** The Gateway that owns a Certificate puts it right; Gateways waiting for a Secret name a Certificate held look again. */
  function enqueueGatewaysOf(c: Certificate) {
    if (!gatewaysWatched) return;
    const owner = controllerOf(c);
    if (owner?.kind === 'Gateway') gatewayController.enqueue(objectKey(c.metadata.namespace, owner.name));
    for (const g of gateways.list(c.metadata.namespace)) {
      const names = (g.spec?.listeners ?? []).map((l) => l.tls?.certificateRefs?.[0]?.name);
      if (g.metadata.name !== owner?.name && names.includes(c.metadata.name)) enqueueGateway(g);
    }
  }
  certificates.addHandler({
    onUpdate: (old, c) => {
      if (sameShimFields(old, c)) return;
      enqueueIngressesOf(c);
      enqueueGatewaysOf(c);
    },
    onDelete: (c) => {
      enqueueIngressesOf(c);
      enqueueGatewaysOf(c);
    },
  });

  return {
    controller: ingressController,
    informers: [ingresses],
    enqueueShards(shards) {
      const sharding = deps.sharding;
      if (!sharding) return;
      const inShards = (o: { metadata: { namespace?: string; name: string } }) =>
        shards.includes(sharding.shardOfKey(objectKey(o.metadata.namespace, o.metadata.name)));
      for (const i of ingresses.list()) if (inShards(i)) enqueueIngress(i);
      if (gatewaysWatched) for (const g of gateways.list()) if (inShards(g)) enqueueGateway(g);
    },
    async optionalApis() {
      // A watch on Gateways the API server does not serve would fail forever.
      const gatewayApi = await probeResource(client, Resources.gateways);
      if (!gatewayApi.served) {
        log.info(
          { why: gatewayApi.why },
          'Gateway support is off: gateways.gateway.networking.k8s.io is not available; restart the operator after installing the Gateway API CRDs',
        );
        return { informers: [], controllers: [] };
      }
      gatewaysWatched = true;
      log.info('Gateway API found: annotated Gateways become Certificates');
      return { informers: [gateways], controllers: [gatewayController] };
    },
  };
}

/** Status writes do not concern the shim; only what it sets (or a person changed) does. */
function sameShimFields(a: Certificate, b: Certificate) {
  const pick = (c: Certificate) => [c.metadata.generation, c.metadata.labels, c.metadata.annotations, c.metadata.ownerReferences, c.metadata.deletionTimestamp];
  return isDeepStrictEqual(pick(a), pick(b));
}
