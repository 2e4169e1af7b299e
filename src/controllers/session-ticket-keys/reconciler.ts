// Reconciles a SessionTicketKeys: gather (its spec, checked; its Secret) → plan (pure: whether the current key is
// due, the Secret and status that result) → act (write the Secret only when its keys or ownership marks change) →
// write status once. Requeues itself at the next rotation. Key material never reaches a log, an event or the status.
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { API_VERSION } from '../../api/meta.ts';
import type { SecretObject } from '../../api/secret.ts';
import { TICKET_KEY_LENGTH, type SessionTicketKeys, type SessionTicketKeysStatus } from '../../api/session-ticket-keys.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { createOwnWrites } from '../../kube/own-writes.ts';
import { Resources } from '../../kube/resources.ts';
import { compareStrings } from '../../ordering.ts';
import type { Reconciler } from '../../runtime/controller.ts';
import type { Clock } from '../../time/clock.ts';
import { parseKey, type Store } from '../store.ts';
import { planSessionTicketKeys, type SecretWrite } from './plan.ts';
import { usableSpec } from './spec.ts';

export interface SessionTicketKeysReconcilerDeps {
  client: KubeClient;
  keys: Store<SessionTicketKeys>;
  /** Secrets carrying the managed-by label (the manager's informer). */
  secrets: Store<SecretObject>;
  events: EventRecorder;
  clock: Clock;
  /** Draws a new key; crypto.randomBytes(48) unless a test pins it. */
  newKey?: () => Buffer;
}

export function createSessionTicketKeysReconciler(deps: SessionTicketKeysReconcilerDeps): Reconciler {
  const own = createOwnWrites<SessionTicketKeys>();
  const ownSecrets = createOwnWrites<SecretObject>();
  const newKey = deps.newKey ?? (() => randomBytes(TICKET_KEY_LENGTH));

  return async function reconcileSessionTicketKeys(key, ctx) {
    const { namespace, name } = parseKey(key);
    const log = ctx.log.child({ kind: 'SessionTicketKeys', namespace, name });
    const stek = own.freshest(namespace, name, deps.keys.get(namespace, name));
    if (!stek || stek.metadata.deletionTimestamp) {
      // The Secret carries an ownerReference: the garbage collector removes it.
      own.forget(namespace, name);
      return {};
    }
    const now = deps.clock.now();
    const spec = usableSpec(stek.spec);
    const secret = spec.problem === undefined ? await currentSecret(namespace, spec.secretName) : undefined;
    const plan = planSessionTicketKeys({ stek, spec, secret, now, newKey });
    ctx.signal.throwIfAborted();
    if (plan.write) await writeSecret(stek, plan.write, log);
    await writeStatus(stek, plan.status, log);
    for (const e of plan.events) await deps.events.record(stek, e.type, e.reason, e.message);
    return plan.requeueAfterMs === undefined ? {} : { requeueAfterMs: plan.requeueAfterMs };
  };

  /**
   * The cached Secret, else the API server's: the informer sees only labelled Secrets, and server-side apply would
   * take over an unlabelled one of that name.
   */
  async function currentSecret(namespace: string | undefined, name: string): Promise<SecretObject | undefined> {
    return ownSecrets.freshest(namespace, name, deps.secrets.get(namespace, name)) ?? (await deps.client.get<SecretObject>(Resources.secrets, namespace, name));
  }

  async function writeSecret(stek: SessionTicketKeys, w: SecretWrite, log: Logger): Promise<void> {
    ownSecrets.remember(await deps.client.apply<SecretObject>(Resources.secrets, w.secret, { force: true }));
    const secret = w.secret.metadata.name;
    if (w.action === 'keep') log.info({ secret, keys: w.keys }, 'updated the ticket-key Secret');
    else log.info({ secret, action: w.action, keys: w.keys }, w.action === 'create' ? 'created a ticket key' : 'rotated the ticket key');
    if (w.event) await deps.events.record(stek, w.event.type, w.event.reason, w.event.message);
  }

  async function writeStatus(stek: SessionTicketKeys, status: SessionTicketKeysStatus, log: Logger): Promise<void> {
    if (isDeepStrictEqual(normalize(stek.status), normalize(status))) return;
    const applied = await deps.client.apply<SessionTicketKeys>(
      Resources.sessionTicketKeys,
      { apiVersion: API_VERSION, kind: 'SessionTicketKeys', metadata: { name: stek.metadata.name, namespace: stek.metadata.namespace }, status },
      { subresource: 'status', force: true },
    );
    own.remember(applied);
    log.debug('status written');
  }
}

/** Key-sorted, without undefined fields: what the API server would store. */
function normalize(s: SessionTicketKeysStatus | undefined): unknown {
  return Object.fromEntries(
    Object.entries(s ?? {})
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => compareStrings(a, b)),
  );
}
