// Reconciles a SessionTicketKeys: read its Secret, decide (pure) whether the current key is due, write the Secret
// only when its keys or ownership marks change, and write status once. Requeues itself at the next rotation.
// Key material never reaches a log, an event or the status.
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { findCondition, setCondition, toRfc3339 } from '../../api/conditions.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../api/labels.ts';
import { API_VERSION, type Condition } from '../../api/meta.ts';
import type { SecretObject } from '../../api/secret.ts';
import {
  DEFAULT_KEEP,
  DEFAULT_ROTATION_INTERVAL,
  MIN_ROTATION_INTERVAL_MS,
  previousKeyFile,
  SESSION_TICKET_KEYS_ANNOTATION,
  SESSION_TICKET_KEYS_LABEL,
  SessionTicketKeysCondition,
  SessionTicketKeysReason,
  SessionTicketKeysSpec,
  TICKET_KEY_FILE,
  TICKET_KEY_LENGTH,
  TICKET_KEYS_ROTATED_AT_ANNOTATION,
  type SessionTicketKeys,
  type SessionTicketKeysStatus,
} from '../../api/session-ticket-keys.ts';
import { formatZodIssues } from '../../api/zod-issues.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { createOwnWrites } from '../../kube/own-writes.ts';
import { Resources } from '../../kube/resources.ts';
import type { Clock } from '../../time/clock.ts';
import { parseDuration } from '../../time/duration.ts';
import { planTicketKeys, type TicketKeysPlan } from '../../policy/ticket-keys.ts';
import { parseKey, type Store } from '../store.ts';
import { compareStrings } from '../../ordering.ts';

export interface SessionTicketKeysReconcilerDeps {
  client: KubeClient;
  keys: Store<SessionTicketKeys>;
  /** Secrets carrying the managed-by label (the manager's informer). */
  secrets: Store<SecretObject>;
  events: EventRecorder;
  clock: Clock;
  log: Logger;
  /** Draws a new key; crypto.randomBytes(48) unless a test pins it. */
  newKey?: () => Buffer;
}

// A Secret in the way is looked at again this often (its owner may delete it; it is not watched).
const CONFLICT_RECHECK_MS = 60_000;

/** The Secret's ticket keys, decoded: current and previous (ticket.key.1, .2, … until the first gap). */
export function readTicketKeys(secret: SecretObject | undefined): { current?: Buffer; previous: Buffer[]; rotatedAt?: Date } {
  const data = secret?.data ?? {};
  const decode = (name: string) => (data[name] === undefined ? undefined : Buffer.from(data[name], 'base64'));
  const previous: Buffer[] = [];
  for (let i = 1; decode(previousKeyFile(i)); i++) previous.push(decode(previousKeyFile(i))!);
  const at = secret?.metadata.annotations?.[TICKET_KEYS_ROTATED_AT_ANNOTATION];
  const rotatedAt = at ? new Date(at) : undefined;
  return { current: decode(TICKET_KEY_FILE), previous, ...(rotatedAt && !Number.isNaN(rotatedAt.getTime()) ? { rotatedAt } : {}) };
}

/** Ours when it names this SessionTicketKeys in its annotation (a stray label alone does not make it ours). */
export function isManagedBy(secret: SecretObject, owner: string): boolean {
  return secret.metadata.annotations?.[SESSION_TICKET_KEYS_ANNOTATION] === owner;
}

function desiredSecret(stek: SessionTicketKeys, secretName: string, current: Buffer | Uint8Array, plan: TicketKeysPlan): SecretObject {
  const data: Record<string, string> = { [TICKET_KEY_FILE]: Buffer.from(current).toString('base64') };
  plan.previous.forEach((k, i) => (data[previousKeyFile(i + 1)] = Buffer.from(k).toString('base64')));
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secretName,
      namespace: stek.metadata.namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [SESSION_TICKET_KEYS_LABEL]: stek.metadata.name },
      annotations: { [SESSION_TICKET_KEYS_ANNOTATION]: stek.metadata.name, [TICKET_KEYS_ROTATED_AT_ANNOTATION]: plan.rotatedAt.toISOString() },
      // Deleted with its SessionTicketKeys by the garbage collector.
      ...(stek.metadata.uid
        ? { ownerReferences: [{ apiVersion: API_VERSION, kind: 'SessionTicketKeys', name: stek.metadata.name, uid: stek.metadata.uid, controller: true }] }
        : {}),
    },
    type: 'Opaque',
    data,
  };
}

/** Whether the Secret already holds what we would apply: the same keys and our marks. */
function holds(existing: SecretObject | undefined, desired: SecretObject): boolean {
  if (!existing) return false;
  const pick = (s: SecretObject) => ({
    data: s.data ?? {},
    label: s.metadata.labels?.[SESSION_TICKET_KEYS_LABEL],
    managed: s.metadata.labels?.[MANAGED_BY_LABEL],
    rotatedAt: s.metadata.annotations?.[TICKET_KEYS_ROTATED_AT_ANNOTATION],
    owner: s.metadata.ownerReferences?.find((r) => r.controller)?.uid,
  });
  return isDeepStrictEqual(pick(existing), pick(desired));
}

export function createSessionTicketKeysReconciler(deps: SessionTicketKeysReconcilerDeps) {
  const own = createOwnWrites<SessionTicketKeys>();
  const ownSecrets = createOwnWrites<SecretObject>();
  const newKey = deps.newKey ?? (() => randomBytes(TICKET_KEY_LENGTH));

  return async function reconcileSessionTicketKeys(key: string): Promise<{ requeueAfterMs?: number }> {
    const { namespace, name } = parseKey(key);
    const log = deps.log.child({ kind: 'SessionTicketKeys', namespace, name });
    const stek = own.freshest(namespace, name, deps.keys.get(namespace, name));
    if (!stek || stek.metadata.deletionTimestamp) {
      // The Secret carries an ownerReference: the garbage collector removes it.
      own.forget(namespace, name);
      return {};
    }
    const now = deps.clock.now();
    const generation = stek.metadata.generation;
    const prev = stek.status;
    const base = { type: SessionTicketKeysCondition.Ready, ...(generation !== undefined ? { observedGeneration: generation } : {}) };

    const parsed = SessionTicketKeysSpec.safeParse(stek.spec);
    let intervalMs = NaN;
    let problem = parsed.success ? '' : formatZodIssues(parsed.error);
    if (parsed.success) {
      try {
        intervalMs = parseDuration(parsed.data.rotationInterval ?? DEFAULT_ROTATION_INTERVAL);
        if (intervalMs < MIN_ROTATION_INTERVAL_MS) problem = `rotationInterval: at least 1s, not ${parsed.data.rotationInterval}`;
      } catch (err) {
        problem = `rotationInterval: ${(err as Error).message}`;
      }
    }
    if (!parsed.success || problem) {
      const ready: Condition = { ...base, status: 'False', reason: SessionTicketKeysReason.InvalidSpec, message: `Invalid spec: ${problem}` };
      await finish(stek, { ...prev, conditions: setCondition(prev?.conditions, ready, now) }, ready, log);
      return {};
    }
    const spec = parsed.data;
    const keep = spec.keep ?? DEFAULT_KEEP;

    // The informer sees only labelled Secrets: an unlabelled one of that name is looked up before writing, because
    // server-side apply would take it over.
    let secret = ownSecrets.freshest(namespace, spec.secretName, deps.secrets.get(namespace, spec.secretName));
    secret ??= await deps.client.get<SecretObject>(Resources.secrets, namespace, spec.secretName);
    if (secret && !isManagedBy(secret, name)) {
      const ready: Condition = {
        ...base,
        status: 'False',
        reason: SessionTicketKeysReason.SecretConflict,
        message: `Secret ${spec.secretName} exists and is not managed by this SessionTicketKeys; left alone`,
      };
      await finish(stek, { ...prev, conditions: setCondition(prev?.conditions, ready, now) }, ready, log);
      return { requeueAfterMs: CONFLICT_RECHECK_MS };
    }

    const plan = planTicketKeys(readTicketKeys(secret), { now, intervalMs, keep });
    const desired = desiredSecret(stek, spec.secretName, plan.current ?? newKey(), plan);
    if (!holds(secret, desired)) {
      // Guards against writing over a change the cache has not seen yet.
      if (secret?.metadata.resourceVersion) desired.metadata.resourceVersion = secret.metadata.resourceVersion;
      const applied = await deps.client.apply<SecretObject>(Resources.secrets, desired, { force: true });
      ownSecrets.remember(applied);
      const keys = 1 + plan.previous.length;
      if (plan.action === 'keep') {
        log.info({ secret: spec.secretName, keys }, 'updated the ticket-key Secret');
      } else {
        log.info({ secret: spec.secretName, action: plan.action, keys }, plan.action === 'create' ? 'created a ticket key' : 'rotated the ticket key');
        await deps.events.record(
          stek,
          'Normal',
          plan.action === 'create' ? 'KeyCreated' : 'KeyRotated',
          `${plan.action === 'create' ? 'Wrote a new' : 'Rotated to a new'} session-ticket key in Secret ${spec.secretName}; ${plan.previous.length} previous key(s) kept`,
        );
      }
    }

    const ready: Condition = {
      ...base,
      status: 'True',
      reason: SessionTicketKeysReason.KeysReady,
      message: `Secret ${spec.secretName} holds the current key and ${plan.previous.length} previous key(s)`,
    };
    const status: SessionTicketKeysStatus = {
      conditions: setCondition(prev?.conditions, ready, now),
      lastRotationTime: toRfc3339(plan.rotatedAt),
      nextRotationTime: toRfc3339(plan.nextRotation),
      keys: 1 + plan.previous.length,
    };
    await finish(stek, status, ready, log);
    return { requeueAfterMs: Math.max(0, plan.nextRotation.getTime() - now.getTime()) };
  };

  /** Writes status if it changed, and an event when Ready changed status or reason. */
  async function finish(stek: SessionTicketKeys, status: SessionTicketKeysStatus, ready: Condition, log: Logger): Promise<void> {
    const before = findCondition(stek.status?.conditions, ready.type);
    if (!isDeepStrictEqual(normalize(stek.status), normalize(status))) {
      const applied = await deps.client.apply<SessionTicketKeys>(
        Resources.sessionTicketKeys,
        { apiVersion: API_VERSION, kind: 'SessionTicketKeys', metadata: { name: stek.metadata.name, namespace: stek.metadata.namespace }, status },
        { subresource: 'status', force: true },
      );
      own.remember(applied);
      log.debug('status written');
    }
    if (before?.status === ready.status && before.reason === ready.reason) return;
    // A Ready key Secret is already announced by KeyCreated/KeyRotated.
    if (ready.status === 'True') return;
    await deps.events.record(stek, 'Warning', ready.reason ?? ready.type, ready.message ?? '');
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
