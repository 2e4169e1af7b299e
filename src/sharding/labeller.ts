// Puts the shard label on the managed Secrets of Certificates that lack a valid one under this N: those written before
// shards were turned on, or every one after N changed (the operator labels the Secrets it writes). Replicas cache only
// their shards' Secrets, so a Secret is seen by its Certificate's replica once it carries one. Certificates are never
// labelled: replicas keep them by hash (shared-caches.ts). One replica runs it (the leader); it caches only what is
// still unlabelled.
import type { Logger } from 'pino';
import type { Certificate } from '../api/certificate.ts';
import { CERTIFICATE_NAME_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE, SHARD_LABEL } from '../api/labels.ts';
import type { KubeObject } from '../api/meta.ts';
import type { KubeClient } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { createInformer, type Informer } from '../kube/informer.ts';
import { Resources } from '../kube/resources.ts';
import type { Metrics } from '../observability/metrics.ts';
import { createController, type Controller } from '../runtime/controller.ts';
import type { Clock } from '../time/clock.ts';
import { certificateShardLabel, shardLabelValue, shardOf, unlabelledSelector } from './shards.ts';

export interface ShardLabeller {
  informers: Informer<KubeObject>[];
  controller: Controller;
}

const metadataOnly = (o: KubeObject): KubeObject => {
  const { name, namespace, uid, resourceVersion, labels } = o.metadata;
  return { apiVersion: o.apiVersion, kind: o.kind, metadata: { name, namespace, uid, resourceVersion, ...(labels ? { labels } : {}) } };
};

export function createShardLabeller(deps: { client: KubeClient; shards: number; clock: Clock; log: Logger; metrics: Metrics }): ShardLabeller {
  const { client, shards } = deps;
  const log = deps.log.child({ component: 'shard-labeller' });
  const unlabelled = unlabelledSelector(shards);
  const secrets = createInformer<KubeObject>({
    client,
    resource: Resources.secrets,
    labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE},${CERTIFICATE_NAME_LABEL},${unlabelled}`,
    log,
    transform: metadataOnly,
    onAdd: (o) => enqueue(o),
    onUpdate: (_old, o) => enqueue(o),
  });
  const enqueue = (o: KubeObject) => controller.enqueue(`${o.metadata.namespace ?? ''}/${o.metadata.name}`);

  async function label(o: KubeObject, value: string): Promise<void> {
    try {
      // The uid makes it this object: one deleted and re-created meanwhile is refused, not labelled by mistake.
      await client.mergePatch(Resources.secrets, o.metadata.namespace, o.metadata.name, {
        metadata: { uid: o.metadata.uid, labels: { [SHARD_LABEL]: value } },
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  const controller = createController({
    name: 'shard-labeller',
    workers: 4,
    clock: deps.clock,
    log,
    metrics: deps.metrics,
    reconcile: async (key) => {
      const [namespace, name] = key.split('/') as [string, string];
      const s = secrets.get(namespace, name);
      if (!s) return undefined;
      // A Certificate's Secret is worked in its Certificate's shard, which a label may have set (the shim's).
      const certName = s.metadata.labels?.[CERTIFICATE_NAME_LABEL] ?? '';
      const cert = await client.get<Certificate>(Resources.certificates, namespace, certName);
      await label(s, cert ? certificateShardLabel(cert, shards) : shardLabelValue(shardOf(namespace, name, shards), shards));
      return undefined;
    },
  });
  return { informers: [secrets], controller };
}
