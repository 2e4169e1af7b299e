// The caches several controllers read and watch; each controller's wiring adds its own handlers to them.
import type { Logger } from 'pino';
import type { Certificate } from './api/certificate.ts';
import type { Issuer } from './api/issuer.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, SHARD_LABEL } from './api/labels.ts';
import type { SecretObject } from './api/secret.ts';
import { certificateIndexers } from './controllers/certificates/indexes.ts';
import type { NamespaceObject } from './controllers/trust-bundles/targets.ts';
import type { KubeClient } from './kube/client.ts';
import { createInformer } from './kube/informer.ts';
import { unionInformer } from './kube/informer-union.ts';
import { certificateShard, ownedShardsSelector } from './sharding/shards.ts';
import { Resources } from './kube/resources.ts';
import { createInterner, internStringsInPlace, trimForCache, withoutManagedFields } from './kube/trim.ts';

/**
 * With shards (--shards N > 1), the Certificates and the managed Secrets of Certificates are cached for the shards this
 * replica works only: selectShards() changes the selection (nothing at first). Secrets are selected by the shard label
 * the operator writes on them; Certificates are users' objects, watched whole and kept by the shard they hash to, so
 * no write is spent labelling them.
 */
export function createSharedCaches(client: KubeClient, resyncMs: number, log: Logger, sharding?: { shards: number }) {
  // Cached Certificates and Secrets share their equal strings (kinds, issuer names, condition messages, the CA's
  // certificate): with thousands of them, the copies JSON.parse makes are a large part of the cache.
  const intern = createInterner();
  const certificates = createInformer<Certificate>({
    client,
    resource: Resources.certificates,
    ...(sharding ? { keep: () => false } : {}),
    resyncMs,
    log,
    transform: (c) => internStringsInPlace(trimForCache(c), intern),
    indexers: certificateIndexers,
  });
  const issuers = createInformer<Issuer>({ client, resource: Resources.issuers, resyncMs, log, transform: trimForCache });
  const clusterIssuers = createInformer<Issuer>({ client, resource: Resources.clusterIssuers, resyncMs, log, transform: trimForCache });
  // Only Secrets the operator wrote are cached: memory stays flat however many other Secrets the cluster has. Some
  // are PUT from the cache (managed CAs), so only managedFields is dropped.
  const managed = `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE}`;
  const secretInformer = (labelSelector: string) =>
    createInformer<SecretObject>({
      client,
      resource: Resources.secrets,
      labelSelector,
      resyncMs: 0,
      log,
      transform: (s) => {
        const trimmed = internStringsInPlace(withoutManagedFields(s), intern);
        const ca = trimmed.data?.['ca.crt'];
        return ca === undefined ? trimmed : { ...trimmed, data: { ...trimmed.data, 'ca.crt': intern(ca) } };
      },
    });
  // Sharded: the Secrets of no shard (a CA's, an ACME account's, ticket keys; a Certificate's not labelled yet) are
  // every replica's; those of a shard, its worker's.
  const secrets = sharding
    ? unionInformer(secretInformer(`${managed},!${SHARD_LABEL}`), secretInformer(`${managed},${ownedShardsSelector([], sharding.shards)}`))
    : secretInformer(managed);

  // Namespaces are few and small: their labels select TrustBundle targets and IssuancePolicy namespaces.
  const namespaces = createInformer<NamespaceObject>({
    client,
    resource: Resources.namespaces,
    log,
    transform: (ns) => ({ apiVersion: ns.apiVersion, kind: ns.kind, metadata: slimMeta(ns), status: { phase: ns.status?.phase } }),
  });
  /** Caches the objects of these shards (Secrets first: a Certificate arriving finds its Secret cached). */
  async function selectShards(owned: readonly number[]): Promise<void> {
    if (!sharding) return;
    await secrets.setLabelSelector(`${managed},${ownedShardsSelector(owned, sharding.shards)}`);
    const shards = sharding.shards;
    await certificates.setKeep((c) => owned.includes(certificateShard(c, shards)));
  }
  return { certificates, issuers, clusterIssuers, secrets, namespaces, selectShards };
}

function slimMeta(o: NamespaceObject) {
  const { name, uid, resourceVersion, labels, deletionTimestamp } = o.metadata;
  return { name, uid, resourceVersion, labels, ...(deletionTimestamp ? { deletionTimestamp } : {}) };
}
