// The ticket-key Secret: its keys as a plan reads them, whose it is, the body to apply, and whether it already
// holds that body. Pure. Key material is only ever base64 in a Secret's data.
import { isDeepStrictEqual } from 'node:util';
import { INTERNAL_SECRET_LABEL, InternalSecret, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../api/labels.ts';
import { API_VERSION } from '../../api/meta.ts';
import type { SecretObject } from '../../api/secret.ts';
import {
  previousKeyFile,
  SESSION_TICKET_KEYS_ANNOTATION,
  SESSION_TICKET_KEYS_LABEL,
  TICKET_KEY_FILE,
  TICKET_KEYS_ROTATED_AT_ANNOTATION,
  type SessionTicketKeys,
} from '../../api/session-ticket-keys.ts';
import type { TicketKeysPlan } from '../../policy/ticket-keys.ts';

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

/** The Secret as the plan wants it: the keys, the owner's marks, and an ownerReference for garbage collection. */
export function ticketKeysSecret(stek: SessionTicketKeys, secretName: string, current: Uint8Array, plan: TicketKeysPlan): SecretObject {
  const data: Record<string, string> = { [TICKET_KEY_FILE]: Buffer.from(current).toString('base64') };
  plan.previous.forEach((k, i) => (data[previousKeyFile(i + 1)] = Buffer.from(k).toString('base64')));
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secretName,
      namespace: stek.metadata.namespace,
      labels: {
        [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
        [SESSION_TICKET_KEYS_LABEL]: stek.metadata.name,
        [INTERNAL_SECRET_LABEL]: InternalSecret.sessionTicketKeys,
      },
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
export function holdsKeys(existing: SecretObject | undefined, desired: SecretObject): boolean {
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
