// The Certificate controller and everything that wakes it, in one place: its handlers on the shared Certificate,
// managed-Secret, Issuer and ClusterIssuer informers, the ACME issuance it signs through (solvers, HTTP-01 routing),
// and the index of HTTP-01 key authorizations that every replica's challenge server answers from.
import type { Logger } from 'pino';
import type { Certificate } from '../../api/certificate.ts';
import type { IssuancePolicy } from '../../api/issuance-policy.ts';
import type { Issuer, IssuerKind } from '../../api/issuer.ts';
import type { KubeObject } from '../../api/meta.ts';
import { CERTIFICATE_NAME_ANNOTATION } from '../../api/labels.ts';
import type { SecretObject } from '../../api/secret.ts';
import { createChallengeIndex, type ChallengeIndex } from '../../acme/http01-server.ts';
import type { Config } from '../../config/config.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { createInformer, type Informer, type InformerLifecycle } from '../../kube/informer.ts';
import { Resources } from '../../kube/resources.ts';
import { trimForCache } from '../../kube/trim.ts';
import type { SecretReader } from '../../kube/secret-reader.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { createController, type Controller, type Reconciler } from '../../runtime/controller.ts';
import type { Sharding } from '../../sharding/sharding.ts';
import { certificateShard, certificateShardLabel } from '../../sharding/shards.ts';
import type { AcmeAccountSource } from '../../signers/acme-accounts.ts';
import type { SignerSource } from '../../signers/signer-source.ts';
import type { Clock } from '../../time/clock.ts';
import { parseDuration } from '../../time/duration.ts';
import { objectKey, parseKey } from '../store.ts';
import { createAcmeIssuance } from './acme/issuance.ts';
import { createChallengeSolvers } from './acme/challenge-solvers.ts';
import { createHttp01Routing } from './acme/http01-routing.ts';
import { BY_ISSUER, BY_SECRET, issuerIndexValue, secretIndexValue } from './indexes.ts';
import { createCertificateReconciler } from './reconciler.ts';

export interface CertificateWiring {
  controller: Controller;
  /** The IssuancePolicies, which only this controller reads. */
  informers: InformerLifecycle[];
  /** HTTP-01 key authorizations of every Certificate, from the cache: each replica answers for all of them. */
  challenges: ChallengeIndex;
  /** The IssuancePolicies' cache: pod certificates follow them too. */
  policies: Informer<IssuancePolicy>;
}

export function createCertificateWiring(deps: {
  config: Pick<
    Config,
    | 'workers'
    | 'clusterResourceNamespace'
    | 'operatorNamespace'
    | 'acmeHttp01CheckPort'
    | 'acmeHttp01SolverService'
    | 'acmeHttp01SolverPort'
    | 'acmeRecursiveNameservers'
    | 'acmeDns01CheckNameservers'
    | 'acmeAriMaxCheckInterval'
    | 'issuancePolicyDefault'
    | 'resyncSeconds'
  >;
  client: KubeClient;
  certificates: Informer<Certificate>;
  /** The managed Secrets (the operator's label). */
  secrets: Informer<SecretObject>;
  issuers: Informer<Issuer>;
  clusterIssuers: Informer<Issuer>;
  /** Shared: the cluster's Namespaces (their labels select IssuancePolicy namespaces). */
  namespaces: Informer<KubeObject>;
  secretReader: SecretReader;
  signers: SignerSource;
  accounts: AcmeAccountSource;
  events: EventRecorder;
  metrics: Metrics;
  clock: Clock;
  log: Logger;
  /** False while the first lists are coming in: what they bring waits behind later changes (the low lane). */
  cachesSynced: () => boolean;
  /** The issuer's ACME account needs a look (an issuer controller's work). */
  onAcmeAccountProblem: (kind: IssuerKind, issuer: Issuer) => void;
  /** With --shards: only Certificates of the shards this replica works are reconciled. */
  sharding?: Sharding;
}): CertificateWiring {
  const { config, client, certificates, metrics, clock, log } = deps;
  const policies = createInformer<IssuancePolicy>({
    client,
    resource: Resources.issuancePolicies,
    resyncMs: config.resyncSeconds * 1000,
    log,
    transform: trimForCache,
  });
  const acme = createAcmeIssuance({
    kube: client,
    accounts: deps.accounts,
    solvers: createChallengeSolvers({
      secrets: deps.secretReader,
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
    readSecret: (ns, name) => deps.secretReader.get(ns, name),
    onOrderCreated: (kind) => metrics.acmeOrders.inc({ issuer_kind: kind }),
    onReplacesRefused: (detail) =>
      log.warn({ detail }, 'the ACME CA refused the renewal order naming the certificate it replaces (RFC 9773); placed it without'),
  });
  // A cached Certificate is reconciled by the replica working its shard. One not cached (deleted, or of a
  // shard given back) is only forgotten: the reconciler never works from a copy it remembers (sharded: absent = gone).
  const sharded = (r: Reconciler): Reconciler => {
    const sharding = deps.sharding;
    if (!sharding) return r;
    const guarded = sharding.gate.guard((key) => {
      const { namespace, name } = parseKey(key);
      return certificateShard(certificates.get(namespace, name)!, sharding.shards);
    }, r);
    return (key, ctx) => {
      const { namespace, name } = parseKey(key);
      return certificates.get(namespace, name) ? guarded(key, ctx) : r(key, ctx);
    };
  };
  const controller = createController({
    name: 'certificates',
    workers: config.workers,
    clock,
    log,
    metrics,
    reconcile: sharded(
      createCertificateReconciler({
        client,
        certificates,
        secrets: deps.secrets,
        issuers: deps.issuers,
        clusterIssuers: deps.clusterIssuers,
        signers: deps.signers,
        accounts: deps.accounts,
        acme,
        events: deps.events,
        metrics,
        clock,
        ariMaxCheckMs: parseDuration(config.acmeAriMaxCheckInterval),
        policies,
        namespaces: deps.namespaces,
        policyDefault: config.issuancePolicyDefault,
        onAcmeAccountProblem: deps.onAcmeAccountProblem,
        ...(deps.sharding
          ? { readSecretOnMiss: true, absentMeansGone: true, secretShardLabel: (c: Certificate) => certificateShardLabel(c, deps.sharding!.shards) }
          : {}),
      }),
    ),
  });

  // What the first lists bring (every Certificate after a restart, again through its Secret and its issuer) waits
  // behind whatever is created or changed once the caches are synced; so do periodic resyncs.
  const enqueueKey = (namespace: string | undefined, name: string, priority?: 'low') =>
    controller.enqueue(objectKey(namespace, name), priority ?? (deps.cachesSynced() ? undefined : 'low'));
  const enqueue = (c: Certificate, priority?: 'low') => enqueueKey(c.metadata.namespace, c.metadata.name, priority);
  const namingSecret = (namespace: string | undefined, secretName: string) => certificates.byIndex(BY_SECRET, secretIndexValue(namespace ?? '', secretName));

  const challenges = createChallengeIndex();
  const indexChallenges = (c: Certificate) => challenges.set(objectKey(c.metadata.namespace, c.metadata.name), c.status?.acmeOrder?.challenges);
  certificates.addHandler({
    onAdd: (c) => {
      indexChallenges(c);
      enqueue(c);
    },
    onUpdate: (_old, c) => {
      indexChallenges(c);
      enqueue(c);
    },
    onResync: (c) => enqueue(c, 'low'),
    onDelete: (c) => {
      challenges.set(objectKey(c.metadata.namespace, c.metadata.name), undefined);
      enqueue(c);
      // A Certificate waiting for this one's Secret name may go ahead now.
      if (c.spec?.secretName) for (const other of namingSecret(c.metadata.namespace, c.spec.secretName)) enqueue(other);
    },
  });

  // A Secret changed: the Certificate that wrote it puts it right; another one waiting for this Secret name looks again.
  const secretChanged = (s: SecretObject) => {
    const owner = s.metadata.annotations?.[CERTIFICATE_NAME_ANNOTATION];
    if (owner) enqueueKey(s.metadata.namespace, owner);
    for (const c of namingSecret(s.metadata.namespace, s.metadata.name)) if (c.metadata.name !== owner) enqueue(c);
  };
  deps.secrets.addHandler({ onAdd: secretChanged, onUpdate: (_old, s) => secretChanged(s), onDelete: secretChanged });

  // An issuer changed (Ready, or a CA rotation's switch of the signing CA): the Certificates it signs look again.
  for (const [kind, informer] of [
    ['Issuer', deps.issuers],
    ['ClusterIssuer', deps.clusterIssuers],
  ] as const) {
    const issuerChanged = (i: Issuer) => {
      for (const c of certificates.byIndex(BY_ISSUER, issuerIndexValue(kind, i.metadata.namespace, i.metadata.name))) enqueue(c);
    };
    informer.addHandler({ onAdd: issuerChanged, onUpdate: (_old, i) => issuerChanged(i), onDelete: issuerChanged });
  }

  // A policy changed: any Certificate may be allowed or refused now. Policies change rarely; their Certificates are
  // looked at again in the low lane, behind changes users are waiting for.
  const everyCertificate = () => {
    for (const c of certificates.list()) enqueue(c, 'low');
  };
  policies.addHandler({ onAdd: everyCertificate, onUpdate: everyCertificate, onDelete: everyCertificate });
  // A namespace's labels changed: a policy's selector may take it in or leave it out.
  deps.namespaces.addHandler({
    onUpdate: (o, n) => {
      if (policies.list().length === 0 || JSON.stringify(o.metadata.labels ?? {}) === JSON.stringify(n.metadata.labels ?? {})) return;
      for (const c of certificates.list(n.metadata.name)) enqueue(c);
    },
  });

  return { controller, challenges, informers: [policies], policies };
}
