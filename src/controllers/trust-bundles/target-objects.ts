// A TrustBundle's targets as the reconciler reads and writes them: the informer caches with its own last writes
// on top (the cache may lag a moment behind them), a GET for a target the cache cannot see, apply and delete.
import type { KubeClient } from '../../kube/client.ts';
import { createOwnWrites, type OwnWrites } from '../../kube/own-writes.ts';
import { Resources } from '../../kube/resources.ts';
import type { Store } from '../store.ts';
import type { ManagedTarget } from './plan.ts';
import { isManagedBy, TARGET_KINDS, type DesiredTarget, type TargetKind, type TargetObject } from './targets.ts';

export interface TargetObjects {
  /** The cached copy, or the last one written if newer. */
  cached(t: DesiredTarget): TargetObject | undefined;
  /**
   * The cached copy, else the API server's: the informer only sees labelled objects, and server-side apply would
   * take over an unlabelled one of the same name.
   */
  lookup(t: DesiredTarget): Promise<TargetObject | undefined>;
  /** Every target carrying this bundle's marks, kind by kind. */
  managedBy(bundleName: string): ManagedTarget[];
  apply(t: DesiredTarget, body: TargetObject): Promise<void>;
  /** With the uid as precondition: never deletes an object that replaced the one seen. */
  remove(m: ManagedTarget): Promise<void>;
}

const NO_OBJECTS: Store<TargetObject> = { get: () => undefined, list: () => [] };
const RESOURCES = { ConfigMap: Resources.configMaps, Secret: Resources.secrets, ClusterTrustBundle: Resources.clusterTrustBundles };

export function createTargetObjects(deps: {
  client: KubeClient;
  configMaps: Store<TargetObject>;
  secrets: Store<TargetObject>;
  /** Absent when the API server does not serve ClusterTrustBundles. */
  clusterTrustBundles?: Store<TargetObject>;
}): TargetObjects {
  const stores: Record<TargetKind, Store<TargetObject>> = {
    ConfigMap: deps.configMaps,
    Secret: deps.secrets,
    ClusterTrustBundle: deps.clusterTrustBundles ?? NO_OBJECTS,
  };
  const own: Record<TargetKind, OwnWrites<TargetObject>> = {
    ConfigMap: createOwnWrites(),
    Secret: createOwnWrites(),
    ClusterTrustBundle: createOwnWrites(),
  };
  const cached = (t: DesiredTarget) => own[t.kind].freshest(t.namespace, t.name, stores[t.kind].get(t.namespace, t.name));
  return {
    cached,
    lookup: async (t) => cached(t) ?? (await deps.client.get<TargetObject>(RESOURCES[t.kind], t.namespace, t.name)),
    managedBy: (name) => TARGET_KINDS.flatMap((kind) => stores[kind].list().flatMap((object) => (isManagedBy(object, name) ? [{ kind, object }] : []))),
    async apply(t, body) {
      own[t.kind].remember(await deps.client.apply(RESOURCES[t.kind], body, { force: true }));
    },
    async remove({ kind, object: o }) {
      await deps.client.delete(RESOURCES[kind], o.metadata.namespace, o.metadata.name, { uid: o.metadata.uid });
      own[kind].forget(o.metadata.namespace, o.metadata.name);
    },
  };
}
