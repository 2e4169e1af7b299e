// What a SessionTicketKeys reconcile does, decided from its spec and its Secret as found: the Secret to write (a
// key created, rotated, or previous keys trimmed), the status, the events, and when to look again. Pure: the
// time is passed in, and so is the source of new keys, called only when a key is due.
import { findCondition, setCondition, toRfc3339 } from '../../api/conditions.ts';
import type { Condition } from '../../api/meta.ts';
import type { SecretObject } from '../../api/secret.ts';
import { SessionTicketKeysCondition, SessionTicketKeysReason, type SessionTicketKeys, type SessionTicketKeysStatus } from '../../api/session-ticket-keys.ts';
import type { EventType } from '../../kube/events.ts';
import { planTicketKeys, type TicketKeysPlan } from '../../policy/ticket-keys.ts';
import { holdsKeys, isManagedBy, readTicketKeys, ticketKeysSecret } from './secret.ts';
import type { UsableSpec } from './spec.ts';

export interface PlannedEvent {
  type: EventType;
  reason: string;
  message: string;
}

export interface SecretWrite {
  secret: SecretObject;
  action: TicketKeysPlan['action'];
  /** Keys the Secret holds after the write: the current one and the previous ones. */
  keys: number;
  /** KeyCreated or KeyRotated, recorded once the Secret is written. */
  event?: PlannedEvent;
}

export interface SessionTicketKeysPlan {
  /** Absent when the Secret already holds what would be written, or is not ours to write. */
  write?: SecretWrite;
  status: SessionTicketKeysStatus;
  /** Recorded after the status. */
  events: PlannedEvent[];
  requeueAfterMs?: number;
}

export interface SessionTicketKeysInputs {
  stek: SessionTicketKeys;
  spec: UsableSpec;
  /** The Secret spec.secretName names, from the cache or else the API server; undefined when there is none. */
  secret?: SecretObject;
  now: Date;
  /** Draws a new 48-byte key. */
  newKey: () => Uint8Array;
}

// A Secret in the way is looked at again this often (its owner may delete it; it is not watched).
export const CONFLICT_RECHECK_MS = 60_000;

export function planSessionTicketKeys(i: SessionTicketKeysInputs): SessionTicketKeysPlan {
  const { stek, spec, secret, now } = i;
  const prev = stek.status;
  const notReady = (reason: string, message: string, requeueAfterMs?: number): SessionTicketKeysPlan => {
    const ready = readyCondition(stek, 'False', reason, message);
    return { status: { ...prev, conditions: setCondition(prev?.conditions, ready, now) }, events: readyEvents(prev, ready), requeueAfterMs };
  };
  if (spec.problem !== undefined) return notReady(SessionTicketKeysReason.InvalidSpec, `Invalid spec: ${spec.problem}`);
  if (secret && !isManagedBy(secret, stek.metadata.name)) {
    const message = `Secret ${spec.secretName} exists and is not managed by this SessionTicketKeys; left alone`;
    return notReady(SessionTicketKeysReason.SecretConflict, message, CONFLICT_RECHECK_MS);
  }

  const keys = planTicketKeys(readTicketKeys(secret), { now, intervalMs: spec.intervalMs, keep: spec.keep });
  const desired = ticketKeysSecret(stek, spec.secretName, keys.current ?? i.newKey(), keys);
  const ready = readyCondition(
    stek,
    'True',
    SessionTicketKeysReason.KeysReady,
    `Secret ${spec.secretName} holds the current key and ${keys.previous.length} previous key(s)`,
  );
  return {
    ...(holdsKeys(secret, desired) ? {} : { write: secretWrite(desired, secret, keys) }),
    status: {
      conditions: setCondition(prev?.conditions, ready, now),
      lastRotationTime: toRfc3339(keys.rotatedAt),
      nextRotationTime: toRfc3339(keys.nextRotation),
      keys: 1 + keys.previous.length,
    },
    events: readyEvents(prev, ready),
    requeueAfterMs: Math.max(0, keys.nextRotation.getTime() - now.getTime()),
  };
}

function secretWrite(desired: SecretObject, current: SecretObject | undefined, keys: TicketKeysPlan): SecretWrite {
  // Guards against writing over a change the cache has not seen yet.
  if (current?.metadata.resourceVersion) desired.metadata.resourceVersion = current.metadata.resourceVersion;
  const name = desired.metadata.name;
  const previous = `${keys.previous.length} previous key(s) kept`;
  const event: PlannedEvent | undefined =
    keys.action === 'create'
      ? { type: 'Normal', reason: 'KeyCreated', message: `Wrote a new session-ticket key in Secret ${name}; ${previous}` }
      : keys.action === 'rotate'
        ? { type: 'Normal', reason: 'KeyRotated', message: `Rotated to a new session-ticket key in Secret ${name}; ${previous}` }
        : undefined;
  return { secret: desired, action: keys.action, keys: 1 + keys.previous.length, ...(event ? { event } : {}) };
}

function readyCondition(stek: SessionTicketKeys, status: 'True' | 'False', reason: string, message: string): Condition {
  const generation = stek.metadata.generation;
  return { type: SessionTicketKeysCondition.Ready, ...(generation !== undefined ? { observedGeneration: generation } : {}), status, reason, message };
}

/** A Warning when Ready turned false or changed reason; a Ready key Secret is already told by KeyCreated/KeyRotated. */
function readyEvents(prev: SessionTicketKeysStatus | undefined, ready: Condition): PlannedEvent[] {
  const before = findCondition(prev?.conditions, ready.type);
  if ((before?.status === ready.status && before.reason === ready.reason) || ready.status === 'True') return [];
  return [{ type: 'Warning', reason: ready.reason ?? ready.type, message: ready.message ?? '' }];
}
