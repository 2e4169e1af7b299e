// Puts the shard label on Certificates and their Secrets that lack a valid one under this N: a Certificate a user
// just created, or every object after N changed. Replicas watch only their shards' label values, so an object is
// worked once it carries one. One replica runs it (the leader); it caches only what is still unlabelled.
import type { Logger } from 'pino';
import type { Certificate } from '../api/certificate.ts';
import { CERTIFICATE_NAME_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE, SHARD_LABEL } from '../api/labels.ts';
import type { KubeObject } from '../api/meta.ts';
import type { KubeClient } from '../kube/client.ts';
import { isNotFound } from '../kube/errors.ts';
import { createInformer, type Informer } from '../kube/informer.ts';
import { Resources, type Resource } from '../kube/resources.ts';
import type { Metrics } from '../observability/metrics.ts';
import { createController, type Controller } from '../runtime/controller.ts';
import type { Clock } from '../time/clock.ts';
import { certificateShard, shardLabelValue, shardOf, unlabelledSelector } from './shards.ts';

export interface ShardLabeller {
  informers: Informer<Labelled>[];
  controller: Controller;
}

type Labelled = KubeObject<{ secretName?: string }>;

/** Metadata, and a Certificate's secretName: its shard is its Secret's. */
const metadataOnly = (o: Labelled): Labelled => {
  const { name, namespace, uid, resourceVersion, labels } = o.metadata;
  const secretName = o.spec?.secretName;
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    metadata: { name, namespace, uid, resourceVersion, ...(labels ? { labels } : {}) },
    ...(secretName ? { spec: { secretName } } : {}),
  };
};

export function createShardLabeller(deps: { client: KubeClient; shards: number; clock: Clock; log: Logger; metrics: Metrics }): ShardLabeller {
  const { client, shards } = deps;
  const log = deps.log.child({ component: 'shard-labeller' });
  const unlabelled = unlabelledSelector(shards);
  const certificates = createInformer<Labelled>({
    client,
    resource: Resources.certificates,
    labelSelector: unlabelled,
    log,
    transform: metadataOnly,
    onAdd: (o) => enqueue('c', o),
    onUpdate: (_old, o) => enqueue('c', o),
  });
  const secrets = createInformer<Labelled>({
    client,
    resource: Resources.secrets,
    labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE},${CERTIFICATE_NAME_LABEL},${unlabelled}`,
    log,
    transform: metadataOnly,
    onAdd: (o) => enqueue('s', o),
    onUpdate: (_old, o) => enqueue('s', o),
  });
  const enqueue = (kind: 'c' | 's', o: Labelled) => controller.enqueue(`${kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`);

  async function label(resource: Resource, o: Labelled, value: string): Promise<void> {
    try {
      // The uid makes it this object: one deleted and re-created meanwhile is refused, not labelled by mistake.
      await client.mergePatch(resource, o.metadata.namespace, o.metadata.name, { metadata: { uid: o.metadata.uid, labels: { [SHARD_LABEL]: value } } });
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
      const [kind, namespace, name] = key.split('/') as ['c' | 's', string, string];
      if (kind === 'c') {
        const c = certificates.get(namespace, name);
        if (c) await label(Resources.certificates, c, shardLabelValue(certificateShard(c, shards), shards));
        return undefined;
      }
      const s = secrets.get(namespace, name);
      if (!s) return undefined;
      // A Certificate's Secret is worked in its Certificate's shard, which a label may have set (the shim's).
      const certName = s.metadata.labels?.[CERTIFICATE_NAME_LABEL] ?? '';
      const cert = await client.get<Certificate>(Resources.certificates, namespace, certName);
      const shard = cert ? certificateShard(cert, shards) : shardOf(namespace, name, shards);
      await label(Resources.secrets, s, shardLabelValue(shard, shards));
      return undefined;
    },
  });
  return { informers: [certificates, secrets], controller };
}
