// Builds the operator from a Config: one client, metrics, the shared caches, each controller's wiring (which registers
// its own handlers on those caches), leader election, the health and HTTP-01 servers. Wiring only: who wakes whom is
// in each controller's wiring.ts, every decision in the reconcilers and policy/.
import type { Logger } from 'pino';
import { createPeerAsker } from './acme/http01-peers.ts';
import { startHttp01Server, type Http01Server } from './acme/http01-server.ts';
import type { Config } from './config/config.ts';
import { createCertificateWiring } from './controllers/certificates/wiring.ts';
import { createIssuerWiring } from './controllers/issuers/wiring.ts';
import { createSessionTicketKeysWiring } from './controllers/session-ticket-keys/wiring.ts';
import { issuerLedgerKey } from './controllers/pod-certificates/ledger.ts';
import { createPodCertificateWiring } from './controllers/pod-certificates/wiring.ts';
import { podCertificateLifetimeBound } from './policy/pod-certificates.ts';
import { createShimWiring } from './controllers/shim/wiring.ts';
import { createTrustBundleWiring } from './controllers/trust-bundles/wiring.ts';
import { CertsmithError } from './errors.ts';
import { createKubeClient, type KubeClient } from './kube/client.ts';
import { notServed } from './kube/discovery.ts';
import { createEventRecorder } from './kube/events.ts';
import { Resources } from './kube/resources.ts';
import { createSecretReader } from './kube/secret-reader.ts';
import { createSharedCaches } from './shared-caches.ts';
import { createMetrics } from './observability/metrics.ts';
import { startHealthServer } from './runtime/health-server.ts';
import { createLeaderElector } from './runtime/leader-election.ts';
import { createShardGate } from './sharding/gate.ts';
import { createShardLabeller } from './sharding/labeller.ts';
import { createLeafSecretLister } from './sharding/leaf-secrets.ts';
import { createShardedReplica } from './sharding/replica.ts';
import { createSharding } from './sharding/sharding.ts';
import { realTimers } from './time/timers.ts';
import { objectKey } from './controllers/store.ts';
import type { Certificate } from './api/certificate.ts';
import { startMemoryTrimmer, type MemoryTrimmer } from './runtime/memory-trim.ts';
import { createAcmeAccountSource } from './signers/acme-accounts.ts';
import { createSignerSource } from './signers/signer-source.ts';
import type { Clock } from './time/clock.ts';

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

const hostForUrl = (ip: string) => (ip.includes(':') ? `[${ip}]` : ip);

async function requireOwnCrds(client: KubeClient): Promise<void> {
  const own = [
    Resources.certificates,
    Resources.issuers,
    Resources.clusterIssuers,
    Resources.trustBundles,
    Resources.sessionTicketKeys,
    Resources.issuancePolicies,
  ];
  const missing = await notServed(client, own);
  if (missing.length === 0) return;
  throw new CertsmithError(
    'CrdsMissing',
    `the API server does not serve ${missing.join(', ')}: install this version's CRDs (kubectl apply --server-side -f crds/, or the chart), then restart the operator`,
  );
}

export function createManager(config: Config, deps: ManagerDeps): Manager {
  const { log, clock } = deps;
  const client = createKubeClient({ kubeconfigPath: config.kubeconfig, userAgent: `certsmith/${config.identity}` });
  const metrics = createMetrics();
  const resyncMs = config.resyncSeconds * 1000;
  const { clusterResourceNamespace } = config;

  // --shards N > 1: Certificates, Ingresses and Gateways are split between the replicas by shard Leases; the
  // cluster-wide controllers (issuers, TrustBundles, ticket keys, pod certificates, shard labels) stay the leader's.
  const sharding = config.shards > 1 ? createSharding(config.shards, createShardGate(config.shards, realTimers)) : undefined;
  const { certificates, issuers, clusterIssuers, secrets, namespaces, selectShards } = createSharedCaches(
    client,
    resyncMs,
    log,
    sharding ? { shards: sharding.shards } : undefined,
  );

  const events = createEventRecorder({ client, component: 'certsmith', clock, log });
  // Other Secrets are read with a remembered GET, unless cached: managed, or a user CA Secret an issuer watches.
  const secretReader = createSecretReader({ client, cached: (ns, name) => secrets.get(ns, name) ?? issuerWiring.userCaSecret(ns, name), clock });
  const signers = createSignerSource({ secrets: secretReader, clusterResourceNamespace, clock });
  const accounts = createAcmeAccountSource({
    secrets: secretReader,
    clusterResourceNamespace,
    transport: {
      userAgent: `certsmith/${config.identity}`,
      now: () => clock.now(),
      onResponse: (method, _url, status) => metrics.acmeRequests.inc({ method, status: String(status) }),
    },
  });

  // What the wirings share; each takes what its type names. Each registers its own handlers on the shared caches.
  const shared = { client, events, clock, log, metrics, certificates, issuers, clusterIssuers, secrets, namespaces, secretReader, signers, accounts, resyncMs };
  const trustBundles = createTrustBundleWiring({
    ...shared,
    clusterResourceNamespace,
    trustBundleSourceNamespaces: config.trustBundleSourceNamespaces,
    ...(sharding ? { readCertificate: (ns: string, name: string) => client.get<Certificate>(Resources.certificates, ns, name) } : {}),
  });
  const issuerWiring = createIssuerWiring({
    ...shared,
    bundles: trustBundles.bundles,
    clusterResourceNamespace,
    onUserCaSecretChanged: trustBundles.secretChanged,
    podCertificatesSignedBy: ({ kind, issuer, retiring, now }) =>
      podCertificates.ledger.countSignedBy({
        issuer: issuerLedgerKey(kind, issuer.metadata.namespace, issuer.metadata.name),
        generations: retiring,
        maxLifetimeMs: podCertificateLifetimeBound(issuer),
        now,
      }),
    ...(sharding ? { leafSecrets: createLeafSecretLister({ client, clock }) } : {}),
  });
  const certificateWiring = createCertificateWiring({
    ...shared,
    config,
    cachesSynced: () => synced,
    onAcmeAccountProblem: (kind, i) => issuerWiring.enqueue(kind, i.metadata.namespace, i.metadata.name),
    ...(sharding ? { sharding } : {}),
  });
  const podCertificates = createPodCertificateWiring({
    ...shared,
    policies: certificateWiring.policies,
    policyDefault: config.issuancePolicyDefault,
    workers: config.workers,
    onRotationProgress: (kind, namespace, name) => issuerWiring.enqueue(kind, namespace, name),
  });
  const shim = createShimWiring({ ...shared, config, ...(sharding ? { sharding } : {}) });
  const sessionTicketKeys = createSessionTicketKeysWiring(shared);
  const labeller = sharding ? createShardLabeller({ client, shards: sharding.shards, clock, log, metrics }) : undefined;

  /** Run by the leader only. */
  const singletons = [...issuerWiring.controllers, trustBundles.controller, sessionTicketKeys.controller, ...(labeller ? [labeller.controller] : [])];
  /** Sharded, run by every replica for its shards; without shards, the leader's too. */
  const shardedControllers = [certificateWiring.controller, shim.controller];
  const controllers = [...singletons, ...shardedControllers];
  const informers = [
    ...(labeller?.informers ?? []),
    certificates,
    issuers,
    clusterIssuers,
    secrets,
    namespaces,
    ...certificateWiring.informers,
    ...shim.informers,
    ...trustBundles.informers,
    ...sessionTicketKeys.informers,
  ];
  let synced = false;
  let health: { port: number; close(): Promise<void> } | undefined;
  let http01: Http01Server | undefined;
  let trimmer: MemoryTrimmer | undefined;
  let stopping: Promise<void> | undefined;
  const done = Promise.withResolvers<void>();
  const certificatesLoaded = Promise.withResolvers<void>();

  let fatal: Error | undefined;
  const coordinator = sharding
    ? createShardedReplica({
        config,
        client,
        clock,
        log,
        metrics,
        sharding,
        selectShards,
        certificates: () => certificates.list(),
        enqueueCertificate: (c) => certificateWiring.controller.enqueue(objectKey(c.metadata.namespace, c.metadata.name)),
        enqueueShimShards: (gained) => shim.enqueueShards(gained),
        http01Address: () => (http01 ? `${hostForUrl(config.podIp ?? '127.0.0.1')}:${http01.port}` : undefined),
        onRefused: (err) => {
          log.error({ code: err.code }, err.message);
          fatal = err;
          void stop();
        },
      })
    : undefined;

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
          for (const c of sharding ? singletons : controllers) c.start();
        },
        onStoppedLeading: () => {
          log.error({ identity: config.identity }, 'lost leadership; stopping');
          void stop();
        },
      })
    : undefined;

  async function stop(): Promise<void> {
    stopping ??= (async () => {
      // Sharded: stop working the shards and free their Leases first, so other replicas take them over at once.
      if (coordinator) await coordinator.stop();
      await Promise.all(controllers.map((c) => c.stop()));
      if (elector) await elector.stop().catch((err: Error) => log.warn({ err: err.message }, 'could not release lease'));
      trimmer?.stop();
      for (const i of informers) i.stop();
      issuerWiring.stop();
      await health?.close();
      await http01?.close();
      done.resolve();
    })();
    return stopping;
  }

  return {
    client,
    healthPort: () => health?.port ?? 0,
    http01Port: () => http01?.port ?? 0,
    async run() {
      health = await startHealthServer({ host: config.healthHost, port: config.healthPort, registry: metrics.registry, readiness: () => synced });
      log.info({ port: health.port }, 'health server listening');
      // Every replica answers HTTP-01 challenges, leader or not: the CA's request may reach any of them.
      http01 = await startHttp01Server({
        host: config.acmeHttp01SolverHost,
        port: config.acmeHttp01SolverPort,
        lookup: (token) => certificateWiring.challenges.lookup(token),
        loaded: certificatesLoaded.promise,
        onRequest: (found) => metrics.http01Requests.inc({ result: found ? 'found' : 'not_found' }),
        // Sharded, the challenge may be in another replica's cache: ask the live ones.
        ...(coordinator ? { askPeers: createPeerAsker({ peers: () => coordinator.http01Peers() }) } : {}),
      });
      log.info({ port: http01.port }, 'HTTP-01 challenge server listening');
      // The operator's own CRDs are not optional: an informer on one the API server does not serve never syncs, and
      // the replica would wait for it without a word (an operator upgraded before its CRDs). Say so and exit.
      await requireOwnCrds(client);
      // Optional APIs (Gateway API, ClusterTrustBundles, PodCertificateRequests): each wiring asks once whether the API server serves them.
      for (const wiring of [shim, trustBundles, podCertificates]) {
        const optional = await wiring.optionalApis();
        informers.push(...optional.informers);
        controllers.push(...optional.controllers);
        // The Gateway shim is sharded like the Ingress shim; the others are cluster-wide.
        (wiring === shim ? shardedControllers : singletons).push(...optional.controllers);
      }
      void certificates.start().then(() => certificatesLoaded.resolve());
      await Promise.all(informers.map((i) => i.start()));
      synced = true;
      log.info('caches synced');
      if (coordinator) {
        // A replica started with another --shards than the live ones refuses here, before it leads anything.
        void coordinator.run();
        await coordinator.joined().catch(() => {});
        if (!stopping) for (const c of shardedControllers) c.start();
      }
      if (stopping) {
        await done.promise;
        if (fatal) throw fatal;
        return;
      }
      if (elector) void elector.run();
      else for (const c of controllers) c.start();
      trimmer = startMemoryTrimmer({
        clock,
        isIdle: () => !controllers.some((c) => c.busy()),
        rssBytes: () => process.memoryUsage.rss(),
        collect: deps.collectGarbage,
        log,
      });
      await done.promise;
      if (fatal) throw fatal;
    },
    stop,
  };
}
