// Builds the operator from a Config: one client, label-filtered informers, controllers, leader election and
// the health server. Wiring only; every decision lives in the reconcilers and policy/.
import type { Logger } from 'pino';
import type { Certificate } from './api/certificate.ts';
import { caSecretNameOf, type Issuer } from './api/issuer.ts';
import { CERTIFICATE_NAME_ANNOTATION, ISSUER_KIND_ANNOTATION, ISSUER_NAME_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from './api/labels.ts';
import { createManagedCa } from './controllers/issuers/managed-ca.ts';
import { createUserCa } from './controllers/issuers/user-ca.ts';
import { createUserCaSecretWatch } from './controllers/issuers/user-ca-secrets.ts';
import type { TrustBundle } from './api/trust-bundle.ts';
import type { Config } from './config/config.ts';
import { createCertificateReconciler } from './controllers/certificates/reconciler.ts';
import type { SecretObject } from './api/secret.ts';
import { createIssuerReconciler } from './controllers/issuers/reconciler.ts';
import { createTrustBundleWiring } from './controllers/trust-bundles/wiring.ts';
import { createSessionTicketKeysWiring } from './controllers/session-ticket-keys/wiring.ts';
import { objectKey } from './controllers/store.ts';
import { createKubeClient, type KubeClient } from './kube/client.ts';
import { createEventRecorder } from './kube/events.ts';
import { createInformer } from './kube/informer.ts';
import { BY_ISSUER, BY_SECRET, certificateIndexers, issuerIndexValue, secretIndexValue } from './controllers/certificates/indexes.ts';
import { createInterner, internStringsInPlace, trimForCache, withoutManagedFields } from './kube/trim.ts';
import { Resources } from './kube/resources.ts';
import { createSecretReader } from './kube/secret-reader.ts';
import { createMetrics } from './observability/metrics.ts';
import type { Clock } from './time/clock.ts';
import { createController } from './runtime/controller.ts';
import { startHealthServer } from './runtime/health-server.ts';
import { createLeaderElector } from './runtime/leader-election.ts';
import { createSignerSource } from './signers/signer-source.ts';
import { createAcmeAccountSource } from './signers/acme-accounts.ts';
import { createChallengeIndex, startHttp01Server, type Http01Server } from './acme/http01-server.ts';
import { createAcmeIssuance } from './controllers/certificates/acme/issuance.ts';
import { createChallengeSolvers } from './controllers/certificates/acme/challenge-solvers.ts';
import { createHttp01Routing } from './controllers/certificates/acme/http01-routing.ts';
import { parseDuration } from './time/duration.ts';
import { isDeepStrictEqual } from 'node:util';
import type { Ingress } from './controllers/shim/ingress.ts';
import { createIngressReconciler } from './controllers/shim/ingress-reconciler.ts';
import { controllerOf, createShimSync } from './controllers/shim/sync.ts';
import type { GatewayObject } from './api/gateway-api.ts';
import { createGatewayReconciler } from './controllers/shim/gateway-reconciler.ts';
import { probeResource } from './kube/discovery.ts';
import { CertsmithError } from './errors.ts';
import { startMemoryTrimmer, type MemoryTrimmer } from './runtime/memory-trim.ts';

export interface Manager {
  client: KubeClient;
  healthPort(): number;
  /** Port of the HTTP-01 challenge server (every replica runs one). */
  http01Port(): number;
  /** Resolves when the operator has stopped (signal, or leadership lost). */
  run(): Promise<void>;
  stop(): Promise<void>;
}

export interface ManagerDeps {
  log: Logger;
  clock: Clock;
  /** A full collection that returns freed memory; main.ts passes one when Node runs with --expose-gc. */
  collectGarbage?: () => void;
}

export function createManager(config: Config, deps: ManagerDeps): Manager {
  const { log, clock } = deps;
  const client = createKubeClient({ kubeconfigPath: config.kubeconfig, userAgent: `certsmith/${config.identity}` });
  const metrics = createMetrics();
  const resyncMs = config.resyncSeconds * 1000;

  // Cached Certificates and Secrets share their equal strings (kinds, issuer names, condition messages, the CA's
  // certificate): with thousands of them, the copies JSON.parse makes are a large part of the cache.
  const intern = createInterner();
  // Informer callbacks only enqueue keys; they are defined below, next to the controllers they feed.
  const certificates = createInformer<Certificate>({
    client,
    resource: Resources.certificates,
    resyncMs,
    log,
    transform: (c) => internStringsInPlace(trimForCache(c), intern),
    indexers: certificateIndexers,
    onAdd: (c) => {
      indexChallenges(c);
      enqueueCert(c);
    },
    onUpdate: (old, c) => {
      indexChallenges(c);
      enqueueCert(c);
      if (!sameShimFields(old, c)) {
        enqueueIngressesOf(c);
        enqueueGatewaysOf(c);
      }
    },
    onResync: (c) => enqueueCert(c, 'low'),
    onDelete: (c) => {
      challenges.set(objectKey(c.metadata.namespace, c.metadata.name), undefined);
      onCertificateDeleted(c);
      enqueueIngressesOf(c);
      enqueueGatewaysOf(c);
    },
  });
  // HTTP-01 key authorizations of every Certificate, from the cache: each replica answers for all of them, once the
  // Certificates are loaded.
  const challenges = createChallengeIndex();
  const challengesLoaded = Promise.withResolvers<void>();
  function indexChallenges(c: Certificate) {
    challenges.set(objectKey(c.metadata.namespace, c.metadata.name), c.status?.acmeOrder?.challenges);
  }
  const issuers = createInformer<Issuer>({ client, resource: Resources.issuers, resyncMs, log, transform: trimForCache, ...issuerHandlers('Issuer') });
  const clusterIssuers = createInformer<Issuer>({
    client,
    resource: Resources.clusterIssuers,
    resyncMs,
    log,
    transform: trimForCache,
    ...issuerHandlers('ClusterIssuer'),
  });
  // Annotated Ingresses become Certificates. Only what the shim reads is kept: rules and status can be large.
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
  // Annotated Gateways become Certificates, if the cluster has Gateway API: run() asks once, and only then is this
  // informer started. Only metadata and listeners are kept.
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
  // Only Secrets the operator wrote are cached: memory stays flat however many other Secrets the cluster has. Some
  // are PUT from the cache (managed CAs), so only managedFields is dropped.
  const secrets = createInformer<SecretObject>({
    client,
    resource: Resources.secrets,
    labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`,
    resyncMs: 0,
    log,
    transform: (s) => {
      const trimmed = internStringsInPlace(withoutManagedFields(s), intern);
      const ca = trimmed.data?.['ca.crt'];
      return ca === undefined ? trimmed : { ...trimmed, data: { ...trimmed.data, 'ca.crt': intern(ca) } };
    },
    onAdd: (s) => onSecret(s),
    onUpdate: (_old, s) => onSecret(s),
    onDelete: (s) => onSecret(s),
  });

  const events = createEventRecorder({
    client,
    component: 'certsmith',
    clock,
    log,
  });
  // The CA Secrets a user manages (ca.secretName) are watched one by one: a replaced CA is noticed at once.
  const userCaSecrets = createUserCaSecretWatch({ client, log, onChange: (ns, name) => onUserCaSecret(ns, name) });
  const secretReader = createSecretReader({ client, cached: (ns, name) => secrets.get(ns, name) ?? userCaSecrets.get(ns, name), clock });
  const signers = createSignerSource({
    secrets: secretReader,
    clusterResourceNamespace: config.clusterResourceNamespace,
    clock,
  });
  const accounts = createAcmeAccountSource({
    secrets: secretReader,
    clusterResourceNamespace: config.clusterResourceNamespace,
    transport: {
      userAgent: `certsmith/${config.identity}`,
      now: () => clock.now(),
      onResponse: (method, _url, status) => metrics.acmeRequests.inc({ method, status: String(status) }),
    },
  });
  const acme = createAcmeIssuance({
    kube: client,
    accounts,
    solvers: createChallengeSolvers({
      secrets: secretReader,
      clusterResourceNamespace: config.clusterResourceNamespace,
      clock,
      http01CheckPort: config.acmeHttp01CheckPort,
      recursiveNameservers: config.acmeRecursiveNameservers,
      dns01CheckNameservers: config.acmeDns01CheckNameservers,
      routing: createHttp01Routing({
        kube: client,
        operatorNamespace: config.operatorNamespace,
        solverServiceName: config.acmeHttp01SolverService,
        // The port the Service targets on each pod: the configured one (0 = "any" only makes sense off-cluster).
        solverPort: config.acmeHttp01SolverPort || 8089,
      }),
    }),
    readSecret: (ns, name) => secretReader.get(ns, name),
    onOrderCreated: (kind) => metrics.acmeOrders.inc({ issuer_kind: kind }),
    onReplacesRefused: (detail) =>
      log.warn({ detail }, 'the ACME CA refused the renewal order naming the certificate it replaces (RFC 9773); placed it without'),
  });

  const certificateController = createController({
    name: 'certificates',
    workers: config.workers,
    clock,
    log,
    metrics,
    reconcile: createCertificateReconciler({
      client,
      certificates,
      secrets,
      issuers,
      clusterIssuers,
      signers,
      accounts,
      acme,
      events,
      metrics,
      clock,
      log,
      ariMaxCheckMs: parseDuration(config.acmeAriMaxCheckInterval),
      onAcmeAccountProblem: (kind, i) =>
        kind === 'ClusterIssuer'
          ? clusterIssuerController.enqueue(i.metadata.name)
          : issuerController.enqueue(objectKey(i.metadata.namespace, i.metadata.name)),
    }),
  });
  // Managed CAs read the TrustBundles' sync state; the bundle cache is built with the TrustBundle wiring below.
  const managedCa = createManagedCa({
    client,
    secrets,
    bundles: { get: (ns, name) => trustBundles.bundles.get(ns, name), list: (ns) => trustBundles.bundles.list(ns) },
    clusterResourceNamespace: config.clusterResourceNamespace,
  });
  const userCa = createUserCa({ secrets });
  const issuerController = createController({
    name: 'issuers',
    workers: 2,
    clock,
    log,
    metrics,
    reconcile: createIssuerReconciler({ kind: 'Issuer', client, issuers, signers, accounts, managedCa, userCa, events, clock, log }),
  });
  const clusterIssuerController = createController({
    name: 'clusterissuers',
    workers: 2,
    clock,
    log,
    metrics,
    reconcile: createIssuerReconciler({ kind: 'ClusterIssuer', client, issuers: clusterIssuers, signers, accounts, managedCa, userCa, events, clock, log }),
  });
  const trustBundles = createTrustBundleWiring({
    client,
    certificates,
    issuers,
    clusterIssuers,
    secrets: secretReader,
    events,
    clusterResourceNamespace: config.clusterResourceNamespace,
    resyncMs,
    clock,
    log,
    metrics,
    onBundleChanged: enqueueManagedCaIssuersOf,
  });
  const sessionTicketKeys = createSessionTicketKeysWiring({ client, secrets, events, resyncMs, clock, log, metrics });
  // What the Ingress and Gateway reconcilers share: one sync of owned Certificates, one reading of annotations.
  const shimDeps = {
    sync: createShimSync({ client, certificates }),
    events,
    annotations: {
      honourCertManager: config.honourCertManagerAnnotations,
      defaultIssuer: config.defaultIssuerName ? { kind: config.defaultIssuerKind, name: config.defaultIssuerName } : undefined,
    },
    log,
  };
  const ingressController = createController({
    name: 'ingresses',
    workers: 2,
    clock,
    log,
    metrics,
    reconcile: createIngressReconciler({
      ingresses,
      issuers,
      clusterIssuers,
      ...shimDeps,
    }),
  });

  const gatewayController = createController({
    name: 'gateways',
    workers: 2,
    clock,
    log,
    metrics,
    reconcile: createGatewayReconciler({
      gateways,
      issuers,
      clusterIssuers,
      ...shimDeps,
    }),
  });

  function enqueueCert(c: Certificate, priority?: 'low') {
    enqueueCertKey(c.metadata.namespace, c.metadata.name, priority);
  }
  // What the first lists bring (every Certificate after a restart, again through its Secret and its issuer) waits
  // behind whatever is created or changed once the caches are synced; so do periodic resyncs.
  function enqueueCertKey(namespace: string | undefined, name: string, priority?: 'low') {
    certificateController.enqueue(objectKey(namespace, name), priority ?? (synced ? undefined : 'low'));
  }
  function onCertificateDeleted(c: Certificate) {
    enqueueCert(c);
    // A Certificate waiting for this one's Secret name may go ahead now.
    if (c.spec?.secretName) {
      for (const other of certificates.byIndex(BY_SECRET, secretIndexValue(c.metadata.namespace ?? '', c.spec.secretName))) enqueueCert(other);
    }
  }
  function enqueueIngress(i: Ingress) {
    ingressController.enqueue(objectKey(i.metadata.namespace, i.metadata.name));
  }
  /** The Ingress that owns a Certificate puts it right; Ingresses waiting for a name a Certificate held look again. */
  function enqueueIngressesOf(c: Certificate) {
    const owner = controllerOf(c);
    if (owner?.kind === 'Ingress') ingressController.enqueue(objectKey(c.metadata.namespace, owner.name));
    for (const i of ingresses.list(c.metadata.namespace)) {
      if (i.metadata.name !== owner?.name && i.spec?.tls?.some((t) => t.secretName === c.metadata.name)) enqueueIngress(i);
    }
  }
  function enqueueGateway(g: GatewayObject) {
    gatewayController.enqueue(objectKey(g.metadata.namespace, g.metadata.name));
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
  /** Status writes do not concern the shim; only what it sets (or a person changed) does. */
  function sameShimFields(a: Certificate, b: Certificate) {
    const pick = (c: Certificate) => [
      c.metadata.generation,
      c.metadata.labels,
      c.metadata.annotations,
      c.metadata.ownerReferences,
      c.metadata.deletionTimestamp,
    ];
    return isDeepStrictEqual(pick(a), pick(b));
  }
  function onSecret(s: SecretObject) {
    const owner = s.metadata.annotations?.[CERTIFICATE_NAME_ANNOTATION];
    if (owner) enqueueCertKey(s.metadata.namespace, owner);
    // Another Certificate may be waiting for this Secret name.
    for (const c of certificates.byIndex(BY_SECRET, secretIndexValue(s.metadata.namespace ?? '', s.metadata.name))) {
      if (c.metadata.name !== owner) enqueueCert(c);
    }
    // Issuers signing with this Secret (a CA key pair, an ACME account key) re-check it.
    const usesSecret = (i: Issuer) => caSecretNameOf(i) === s.metadata.name || i.spec?.acme?.privateKeySecretRef.name === s.metadata.name;
    for (const i of issuers.list(s.metadata.namespace)) {
      if (usesSecret(i)) issuerController.enqueue(objectKey(i.metadata.namespace, i.metadata.name));
    }
    trustBundles.secretChanged(s.metadata.namespace, s.metadata.name);
    sessionTicketKeys.secretChanged(s);
    enqueueRetiringIssuerOf(s);
    if (s.metadata.namespace === config.clusterResourceNamespace) {
      for (const i of clusterIssuers.list()) {
        if (usesSecret(i)) clusterIssuerController.enqueue(i.metadata.name);
      }
    }
  }
  /** A watched user CA Secret changed: forget its remembered GET; its issuers and the bundles reading it look again. */
  function onUserCaSecret(ns: string, name: string) {
    secretReader.forget?.(ns, name);
    const named = (i: Issuer) => !i.spec?.ca?.managed && caSecretNameOf(i) === name;
    for (const i of issuers.list(ns)) if (named(i)) issuerController.enqueue(objectKey(i.metadata.namespace, i.metadata.name));
    if (ns === config.clusterResourceNamespace) for (const i of clusterIssuers.list()) if (named(i)) clusterIssuerController.enqueue(i.metadata.name);
    trustBundles.secretChanged(ns, name);
  }
  /** The set of user CA Secrets to watch follows the issuers naming one. */
  function syncUserCaSecrets() {
    const wanted: [string, string][] = [];
    for (const i of issuers.list())
      if (i.spec?.ca?.secretName && !i.metadata.deletionTimestamp) wanted.push([i.metadata.namespace ?? '', i.spec.ca.secretName]);
    for (const i of clusterIssuers.list())
      if (i.spec?.ca?.secretName && !i.metadata.deletionTimestamp) wanted.push([config.clusterResourceNamespace, i.spec.ca.secretName]);
    userCaSecrets.sync(wanted);
  }
  /** A leaf Secret changed: the managed CA that signed it counts its old CA's leaves, but only while one retires. */
  function enqueueRetiringIssuerOf(s: SecretObject) {
    const name = s.metadata.annotations?.[ISSUER_NAME_ANNOTATION];
    if (!name) return;
    const cluster = s.metadata.annotations?.[ISSUER_KIND_ANNOTATION] === 'ClusterIssuer';
    const i = cluster ? clusterIssuers.get(undefined, name) : issuers.get(s.metadata.namespace, name);
    if (i?.status?.ca?.phase !== 'Reissuing') return;
    if (cluster) clusterIssuerController.enqueue(name);
    else issuerController.enqueue(objectKey(i.metadata.namespace, name));
  }
  /** A managed CA publishing a new generation waits for the bundles that source it to sync. */
  function enqueueManagedCaIssuersOf(b: TrustBundle) {
    for (const src of b.spec?.sources ?? []) {
      if (!src.issuer) continue;
      const cluster = src.issuer.kind === 'ClusterIssuer';
      const i = cluster ? clusterIssuers.get(undefined, src.issuer.name) : issuers.get(src.issuer.namespace, src.issuer.name);
      if (!i?.spec?.ca?.managed) continue;
      if (cluster) clusterIssuerController.enqueue(i.metadata.name);
      else issuerController.enqueue(objectKey(i.metadata.namespace, i.metadata.name));
    }
  }
  function issuerHandlers(kind: 'Issuer' | 'ClusterIssuer') {
    const changed = (i: Issuer) => {
      syncUserCaSecrets();
      trustBundles.issuerChanged(kind, i.metadata.namespace, i.metadata.name);
      (kind === 'Issuer' ? issuerController : clusterIssuerController).enqueue(objectKey(i.metadata.namespace, i.metadata.name));
      // Certificates waiting on this issuer look again.
      for (const c of certificates.byIndex(BY_ISSUER, issuerIndexValue(kind, i.metadata.namespace, i.metadata.name))) enqueueCert(c);
    };
    return {
      onAdd: changed,
      onUpdate: (_old: Issuer, i: Issuer) => changed(i),
      onDelete: changed,
      onResync: (i: Issuer) => (kind === 'Issuer' ? issuerController : clusterIssuerController).enqueue(objectKey(i.metadata.namespace, i.metadata.name)),
    };
  }

  const controllers = [
    issuerController,
    clusterIssuerController,
    certificateController,
    ingressController,
    trustBundles.controller,
    sessionTicketKeys.controller,
  ];
  const informers = [certificates, issuers, clusterIssuers, secrets, ingresses, ...trustBundles.informers, ...sessionTicketKeys.informers];
  let synced = false;
  let health: { port: number; close(): Promise<void> } | undefined;
  let http01: Http01Server | undefined;
  let trimmer: MemoryTrimmer | undefined;
  let stopping: Promise<void> | undefined;
  let resolveDone: () => void = () => {};
  const done = new Promise<void>((r) => (resolveDone = r));

  const elector = config.leaderElect
    ? createLeaderElector({
        client,
        namespace: config.leaderElectionNamespace,
        name: config.leaderElectionId,
        identity: config.identity,
        clock,
        log,
        onStartedLeading: () => {
          log.info({ identity: config.identity }, 'became leader; starting controllers');
          for (const c of controllers) c.start();
        },
        onStoppedLeading: () => {
          log.error({ identity: config.identity }, 'lost leadership; stopping');
          void stop();
        },
      })
    : undefined;

  async function stop(): Promise<void> {
    stopping ??= (async () => {
      await Promise.all(controllers.map((c) => c.stop()));
      if (elector) await elector.stop().catch((err: Error) => log.warn({ err: err.message }, 'could not release lease'));
      trimmer?.stop();
      for (const i of informers) i.stop();
      userCaSecrets.stop();
      await health?.close();
      await http01?.close();
      resolveDone();
    })();
    return stopping;
  }

  return {
    client,
    healthPort: () => health?.port ?? 0,
    http01Port: () => http01?.port ?? 0,
    async run() {
      health = await startHealthServer({
        host: config.healthHost,
        port: config.healthPort,
        registry: metrics.registry,
        readiness: () => synced,
      });
      log.info({ port: health.port }, 'health server listening');
      // Every replica answers HTTP-01 challenges, leader or not: the CA's request may reach any of them.
      http01 = await startHttp01Server({
        host: config.acmeHttp01SolverHost,
        port: config.acmeHttp01SolverPort,
        lookup: (token) => challenges.lookup(token),
        loaded: challengesLoaded.promise,
        onRequest: (found) => metrics.http01Requests.inc({ result: found ? 'found' : 'not_found' }),
      });
      log.info({ port: http01.port }, 'HTTP-01 challenge server listening');
      // The operator's own CRDs are not optional: an informer on one the API server does not serve never syncs, and
      // the replica would wait for it without a word (an operator upgraded before its CRDs). Say so and exit.
      const own = [Resources.certificates, Resources.issuers, Resources.clusterIssuers, Resources.trustBundles, Resources.sessionTicketKeys];
      const missing: string[] = [];
      for (const r of own) {
        const s = await probeResource(client, r);
        if (!s.served && s.reason === 'NotServed') missing.push(`${r.plural}.${r.group}`);
      }
      if (missing.length > 0) {
        throw new CertsmithError(
          'CrdsMissing',
          `the API server does not serve ${missing.join(', ')}: install this version's CRDs (kubectl apply --server-side -f crds/, or the chart), then restart the operator`,
        );
      }
      // Gateway API is optional: a watch on Gateways the API server does not serve would fail forever. Asked once;
      // CRDs installed later take effect at the next restart.
      const gatewayApi = await probeResource(client, Resources.gateways);
      if (gatewayApi.served) {
        informers.push(gateways);
        controllers.push(gatewayController);
        gatewaysWatched = true;
        log.info('Gateway API found: annotated Gateways become Certificates');
      } else {
        log.info(
          { why: gatewayApi.why },
          'Gateway support is off: gateways.gateway.networking.k8s.io is not available; restart the operator after installing the Gateway API CRDs',
        );
      }
      // ClusterTrustBundles (certificates.k8s.io/v1): watched only where the API server serves them; a TrustBundle
      // asking for one elsewhere reports the failed write.
      const ctbApi = await probeResource(client, Resources.clusterTrustBundles);
      if (ctbApi.served) informers.push(trustBundles.clusterTrustBundles);
      else log.info({ why: ctbApi.why }, 'ClusterTrustBundle targets are off: clustertrustbundles.certificates.k8s.io is not available');
      await Promise.all(
        informers.map((i) => {
          const started = i.start();
          if (i === certificates) void started.then(() => challengesLoaded.resolve());
          return started;
        }),
      );
      synced = true;
      log.info('caches synced');
      if (elector) void elector.run();
      else for (const c of controllers) c.start();
      trimmer = startMemoryTrimmer({
        clock,
        isIdle: () => controllers.every((c) => c.depth() === 0),
        rssBytes: () => process.memoryUsage.rss(),
        collect: deps.collectGarbage,
        log,
      });
      await done;
    },
    stop,
  };
}
