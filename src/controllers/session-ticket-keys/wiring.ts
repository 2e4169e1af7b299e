// The SessionTicketKeys controller and its informer, built in one place so the manager adds it with a few lines.
// Its Secrets carry the managed-by label, so the manager's Secret informer already sees them: secretChanged()
// puts the owner back on the queue when one is edited or deleted.
import type { Logger } from 'pino';
import { SESSION_TICKET_KEYS_ANNOTATION, type SessionTicketKeys } from '../../api/session-ticket-keys.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { createInformer, type InformerLifecycle } from '../../kube/informer.ts';
import { Resources } from '../../kube/resources.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { Clock } from '../../time/clock.ts';
import { createController, type Controller } from '../../runtime/controller.ts';
import type { SecretObject } from '../../api/secret.ts';
import { objectKey, type Store } from '../store.ts';
import { createSessionTicketKeysReconciler } from './reconciler.ts';

export interface SessionTicketKeysWiring {
  controller: Controller;
  informers: InformerLifecycle[];
  /** A managed Secret changed: the SessionTicketKeys it names looks again. */
  secretChanged(secret: SecretObject): void;
}

export function createSessionTicketKeysWiring(deps: {
  client: KubeClient;
  secrets: Store<SecretObject>;
  events: EventRecorder;
  resyncMs: number;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
}): SessionTicketKeysWiring {
  const enqueue = (s: SessionTicketKeys) => controller.enqueue(objectKey(s.metadata.namespace, s.metadata.name));
  const keys = createInformer<SessionTicketKeys>({
    client: deps.client,
    resource: Resources.sessionTicketKeys,
    resyncMs: deps.resyncMs,
    log: deps.log,
    onAdd: enqueue,
    onUpdate: (_o, s) => enqueue(s),
    onResync: enqueue,
    onDelete: enqueue,
  });
  const controller = createController({
    name: 'sessionticketkeys',
    workers: 2,
    clock: deps.clock,
    log: deps.log,
    metrics: deps.metrics,
    reconcile: createSessionTicketKeysReconciler({ client: deps.client, keys, secrets: deps.secrets, events: deps.events, clock: deps.clock, log: deps.log }),
  });
  return {
    controller,
    informers: [keys],
    secretChanged: (s) => {
      const owner = s.metadata.annotations?.[SESSION_TICKET_KEYS_ANNOTATION];
      if (owner) controller.enqueue(objectKey(s.metadata.namespace, owner));
    },
  };
}
