// The SessionTicketKeys controller and its informer, built in one place so the manager adds it with a few lines.
// Its Secrets carry the managed-by label, so the shared managed-Secret informer already sees them: its handler
// there puts the owner back on the queue when one is edited or deleted.
import type { Logger } from 'pino';
import { SESSION_TICKET_KEYS_ANNOTATION, type SessionTicketKeys } from '../../api/session-ticket-keys.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { createInformer, type Informer, type InformerLifecycle } from '../../kube/informer.ts';
import { Resources } from '../../kube/resources.ts';
import type { Metrics } from '../../observability/metrics.ts';
import type { Clock } from '../../time/clock.ts';
import { createController, type Controller } from '../../runtime/controller.ts';
import type { SecretObject } from '../../api/secret.ts';
import { objectKey } from '../store.ts';
import { createSessionTicketKeysReconciler } from './reconciler.ts';

export interface SessionTicketKeysWiring {
  controller: Controller;
  informers: InformerLifecycle[];
}

export function createSessionTicketKeysWiring(deps: {
  client: KubeClient;
  /** The managed Secrets (the operator's label). */
  secrets: Informer<SecretObject>;
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
    reconcile: createSessionTicketKeysReconciler({ client: deps.client, keys, secrets: deps.secrets, events: deps.events, clock: deps.clock }),
  });
  // A managed Secret changed: the SessionTicketKeys it names looks again.
  const secretChanged = (s: SecretObject) => {
    const owner = s.metadata.annotations?.[SESSION_TICKET_KEYS_ANNOTATION];
    if (owner) controller.enqueue(objectKey(s.metadata.namespace, owner));
  };
  deps.secrets.addHandler({ onAdd: secretChanged, onUpdate: (_o, s) => secretChanged(s), onDelete: secretChanged });
  return { controller, informers: [keys] };
}
