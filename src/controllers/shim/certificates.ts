// The Certificates the shim reads and writes: the informer cache with the shim's own last writes on top (without
// them, a reconcile right after a write would see the old copy and apply again), a GET for one the cache may not
// have yet, and the planned applies and deletes.
import type { Certificate } from '../../api/certificate.ts';
import type { KubeClient } from '../../kube/client.ts';
import { createOwnWrites } from '../../kube/own-writes.ts';
import { Resources } from '../../kube/resources.ts';
import type { Store } from '../store.ts';
import type { OwnerSyncPlan, SyncDone } from './plan.ts';

export interface ShimCertificates {
  /** The cached copy, else the API server's: someone may just have created it. */
  lookup(namespace: string, name: string): Promise<Certificate | undefined>;
  /** Every cached Certificate of the namespace. */
  list(namespace: string): Certificate[];
  /** Applies and deletes what the plan says, in order, and names what changed. */
  sync(namespace: string, plan: OwnerSyncPlan): Promise<SyncDone>;
}

export function createShimCertificates(deps: {
  client: KubeClient;
  certificates: Store<Certificate>;
  /** With --shards: the labels that put a Certificate in the shard of the object it is made from. */
  shardLabels?: (namespace: string, ownerName: string) => Record<string, string>;
}): ShimCertificates {
  const { client } = deps;
  const own = createOwnWrites<Certificate>();
  return {
    lookup: async (ns, name) => own.freshest(ns, name, deps.certificates.get(ns, name)) ?? (await client.get<Certificate>(Resources.certificates, ns, name)),
    list: (ns) => deps.certificates.list(ns),
    async sync(ns, plan) {
      const done: SyncDone = { created: [], updated: [], deleted: [] };
      for (const { certificate: planned, existing } of plan.apply) {
        // The replica that works the Ingress (or Gateway) also caches and works its Certificates.
        const owner = planned.metadata.ownerReferences?.[0]?.name;
        const certificate =
          deps.shardLabels && owner
            ? { ...planned, metadata: { ...planned.metadata, labels: { ...planned.metadata.labels, ...deps.shardLabels(ns, owner) } } }
            : planned;
        const applied = await client.apply(Resources.certificates, certificate, { force: true });
        own.remember(applied);
        // An apply that changed nothing (a field another manager holds) keeps the resourceVersion: not an update.
        if (!existing) done.created.push(certificate.metadata.name);
        else if (applied.metadata.resourceVersion !== existing.metadata.resourceVersion) done.updated.push(certificate.metadata.name);
      }
      for (const c of plan.delete) {
        await client.delete(Resources.certificates, ns, c.metadata.name, { uid: c.metadata.uid! });
        own.forget(ns, c.metadata.name);
        done.deleted.push(c.metadata.name);
      }
      return done;
    },
  };
}
