// Records core/v1 Events on objects, so `kubectl describe` shows what the operator did. Never throws: an
// event that cannot be written is logged and dropped, it must not fail a reconcile.
import type { Logger } from 'pino';
import { toRfc3339 } from '../api/conditions.ts';
import type { KubeObject } from '../api/meta.ts';
import type { Clock } from '../time/clock.ts';
import type { KubeClient } from './client.ts';
import { Resources } from './resources.ts';

export type EventType = 'Normal' | 'Warning';

export interface EventRecorder {
  record(obj: KubeObject, type: EventType, reason: string, message: string): Promise<void>;
}

// The API server only accepts an Event on a cluster-scoped object (a ClusterIssuer) in "default", where
// `kubectl describe` looks for it too.
const CLUSTER_OBJECT_EVENT_NAMESPACE = 'default';

export function createEventRecorder(opts: { client: KubeClient; component: string; clock: Clock; log: Logger }): EventRecorder {
  let seq = 0;
  return {
    async record(obj, type, reason, message) {
      const now = opts.clock.now();
      const namespace = obj.metadata.namespace || CLUSTER_OBJECT_EVENT_NAMESPACE;
      seq = (seq + 1) % 0x10000;
      const name = `${obj.metadata.name}.${now.getTime().toString(16)}${seq.toString(16).padStart(4, '0')}`;
      const time = toRfc3339(now);
      try {
        await opts.client.create(Resources.events, {
          apiVersion: 'v1',
          kind: 'Event',
          metadata: { name, namespace },
          involvedObject: {
            apiVersion: obj.apiVersion,
            kind: obj.kind,
            name: obj.metadata.name,
            namespace: obj.metadata.namespace,
            uid: obj.metadata.uid,
            resourceVersion: obj.metadata.resourceVersion,
          },
          type,
          reason,
          message: message.slice(0, 1024),
          source: { component: opts.component },
          reportingComponent: opts.component,
          firstTimestamp: time,
          lastTimestamp: time,
          count: 1,
        } as KubeObject);
      } catch (err) {
        opts.log.warn({ err: (err as Error).message, reason }, 'could not record event');
      }
    },
  };
}
