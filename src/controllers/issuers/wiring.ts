// The Issuer and ClusterIssuer controllers and everything that wakes them, in one place: their handlers on the shared
// Issuer, ClusterIssuer, managed-Secret and TrustBundle informers, the managed and user CA rotations, and the watch
// on each CA Secret a user manages.
import type { Logger } from 'pino';
import { caSecretNameOf, type Issuer, type IssuerKind } from '../../api/issuer.ts';
import { ISSUER_KIND_ANNOTATION, ISSUER_NAME_ANNOTATION } from '../../api/labels.ts';
import type { SecretObject } from '../../api/secret.ts';
import type { TrustBundle } from '../../api/trust-bundle.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { EventRecorder } from '../../kube/events.ts';
import type { Informer } from '../../kube/informer.ts';
import type { SecretReader } from '../../kube/secret-reader.ts';
import type { Metrics } from '../../observability/metrics.ts';
import { createController, type Controller } from '../../runtime/controller.ts';
import type { AcmeAccountSource } from '../../signers/acme-accounts.ts';
import type { SignerSource } from '../../signers/signer-source.ts';
import type { Clock } from '../../time/clock.ts';
import { objectKey } from '../store.ts';
import { createManagedCa, type ManagedCaDeps } from './managed-ca.ts';
import { createIssuerReconciler } from './reconciler.ts';
import { createUserCaSecretWatch } from './user-ca-secrets.ts';

export interface IssuerWiring {
  /** The Issuer and the ClusterIssuer controller. */
  controllers: Controller[];
  /** An issuer looks again (its ACME account seemed wrong to a Certificate). */
  enqueue(kind: IssuerKind, namespace: string | undefined, name: string): void;
  /** A watched user CA Secret (ca.secretName), once listed: the Secret reader's cache for those. */
  userCaSecret(namespace: string, name: string): SecretObject | undefined;
  /** Stops the user CA Secret watches. */
  stop(): void;
}

export function createIssuerWiring(deps: {
  client: KubeClient;
  issuers: Informer<Issuer>;
  clusterIssuers: Informer<Issuer>;
  /** The managed Secrets (the operator's label). */
  secrets: Informer<SecretObject>;
  /** The TrustBundle cache: a managed CA publishing a new generation waits for the bundles sourcing it to sync. */
  bundles: Informer<TrustBundle>;
  secretReader: SecretReader;
  signers: SignerSource;
  accounts: AcmeAccountSource;
  events: EventRecorder;
  clusterResourceNamespace: string;
  metrics: Metrics;
  clock: Clock;
  log: Logger;
  /** A user CA Secret changed (the bundles publishing it look again). */
  onUserCaSecretChanged?: (namespace: string, name: string) => void;
  /** Pods still holding a pod certificate of a retiring generation: a managed CA's rotation waits for them too. */
  podCertificatesSignedBy?: ManagedCaDeps['podCertificatesSignedBy'];
  leafSecrets?: ManagedCaDeps['leafSecrets'];
}): IssuerWiring {
  const { client, secrets, clock, log } = deps;
  const managedCa = createManagedCa({
    client,
    secrets,
    bundles: deps.bundles,
    clusterResourceNamespace: deps.clusterResourceNamespace,
    ...(deps.podCertificatesSignedBy ? { podCertificatesSignedBy: deps.podCertificatesSignedBy } : {}),
    ...(deps.leafSecrets ? { leafSecrets: deps.leafSecrets } : {}),
  });
  const controllerFor = (kind: IssuerKind) =>
    createController({
      name: kind === 'Issuer' ? 'issuers' : 'clusterissuers',
      workers: 2,
      clock,
      log,
      metrics: deps.metrics,
      reconcile: createIssuerReconciler({
        kind,
        client,
        issuers: kind === 'Issuer' ? deps.issuers : deps.clusterIssuers,
        signers: deps.signers,
        accounts: deps.accounts,
        managedCa,
        secrets,
        events: deps.events,
        clock,
        ...(deps.podCertificatesSignedBy ? { podCertificatesSignedBy: deps.podCertificatesSignedBy } : {}),
        ...(deps.leafSecrets ? { leafSecrets: deps.leafSecrets } : {}),
      }),
    });
  const issuerController = controllerFor('Issuer');
  const clusterIssuerController = controllerFor('ClusterIssuer');
  const enqueue = (kind: IssuerKind, namespace: string | undefined, name: string) =>
    kind === 'ClusterIssuer' ? clusterIssuerController.enqueue(name) : issuerController.enqueue(objectKey(namespace, name));
  /** The issuers of one kind that match, in the namespace a Secret of theirs lives in. */
  const issuersIn = (namespace: string | undefined, test: (i: Issuer) => boolean): [IssuerKind, Issuer][] => [
    ...deps.issuers
      .list(namespace)
      .filter(test)
      .map((i): [IssuerKind, Issuer] => ['Issuer', i]),
    ...(namespace === deps.clusterResourceNamespace ? deps.clusterIssuers.list().filter(test) : []).map((i): [IssuerKind, Issuer] => ['ClusterIssuer', i]),
  ];

  // The CA Secrets a user manages (ca.secretName) are watched one by one: a replaced CA is noticed at once. A change
  // drops the Secret reader's remembered GET; its issuers and the bundles reading it look again.
  const userCaSecrets = createUserCaSecretWatch({
    client,
    log,
    onChange: (ns, name) => {
      deps.secretReader.forget?.(ns, name);
      for (const [kind, i] of issuersIn(ns, (i) => !i.spec?.ca?.managed && caSecretNameOf(i) === name)) enqueue(kind, i.metadata.namespace, i.metadata.name);
      deps.onUserCaSecretChanged?.(ns, name);
    },
  });
  /** The set of user CA Secrets to watch follows the issuers naming one. */
  function syncUserCaSecrets() {
    const wanted: [string, string][] = [];
    for (const i of deps.issuers.list())
      if (i.spec?.ca?.secretName && !i.metadata.deletionTimestamp) wanted.push([i.metadata.namespace ?? '', i.spec.ca.secretName]);
    for (const i of deps.clusterIssuers.list())
      if (i.spec?.ca?.secretName && !i.metadata.deletionTimestamp) wanted.push([deps.clusterResourceNamespace, i.spec.ca.secretName]);
    userCaSecrets.sync(wanted);
  }

  for (const [kind, informer] of [
    ['Issuer', deps.issuers],
    ['ClusterIssuer', deps.clusterIssuers],
  ] as const) {
    const changed = (i: Issuer) => {
      syncUserCaSecrets();
      enqueue(kind, i.metadata.namespace, i.metadata.name);
    };
    informer.addHandler({
      onAdd: changed,
      onUpdate: (_old, i) => changed(i),
      onDelete: changed,
      onResync: (i) => enqueue(kind, i.metadata.namespace, i.metadata.name),
    });
  }

  // A managed Secret changed: issuers signing with it (a CA key pair, an ACME account key) re-check it; the managed CA
  // that signed a leaf counts its old CA's leaves, but only while one retires.
  const secretChanged = (s: SecretObject) => {
    const usesSecret = (i: Issuer) => caSecretNameOf(i) === s.metadata.name || i.spec?.acme?.privateKeySecretRef.name === s.metadata.name;
    for (const [kind, i] of issuersIn(s.metadata.namespace, usesSecret)) enqueue(kind, i.metadata.namespace, i.metadata.name);
    const signedBy = s.metadata.annotations?.[ISSUER_NAME_ANNOTATION];
    if (!signedBy) return;
    const kind: IssuerKind = s.metadata.annotations?.[ISSUER_KIND_ANNOTATION] === 'ClusterIssuer' ? 'ClusterIssuer' : 'Issuer';
    const i = kind === 'ClusterIssuer' ? deps.clusterIssuers.get(undefined, signedBy) : deps.issuers.get(s.metadata.namespace, signedBy);
    if (i?.status?.ca?.phase === 'Reissuing') enqueue(kind, i.metadata.namespace, signedBy);
  };
  secrets.addHandler({ onAdd: secretChanged, onUpdate: (_old, s) => secretChanged(s), onDelete: secretChanged });

  // A TrustBundle or its status changed: a managed CA waiting for the bundles sourcing it to sync looks again.
  const bundleChanged = (b: TrustBundle) => {
    for (const src of b.spec?.sources ?? []) {
      if (!src.issuer) continue;
      const kind = src.issuer.kind === 'ClusterIssuer' ? 'ClusterIssuer' : 'Issuer';
      const i = kind === 'ClusterIssuer' ? deps.clusterIssuers.get(undefined, src.issuer.name) : deps.issuers.get(src.issuer.namespace, src.issuer.name);
      if (i?.spec?.ca?.managed) enqueue(kind, i.metadata.namespace, i.metadata.name);
    }
  };
  deps.bundles.addHandler({ onAdd: bundleChanged, onUpdate: (_old, b) => bundleChanged(b), onDelete: bundleChanged });

  return {
    controllers: [issuerController, clusterIssuerController],
    enqueue,
    userCaSecret: (ns, name) => userCaSecrets.get(ns, name),
    stop: () => userCaSecrets.stop(),
  };
}
