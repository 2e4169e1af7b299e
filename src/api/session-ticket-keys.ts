import { z } from 'zod';
import { conditionsList, GoDuration, LocalObjectName, type KubeObject } from './meta.ts';

export const SessionTicketKeysSpec = z.object({
  secretName: LocalObjectName.describe('The Secret (same namespace) that holds the keys; the operator creates and owns it.'),
  rotationInterval: GoDuration.optional().describe('How often a new key replaces the current one, Go duration syntax (default 12h, at least 1s).'),
  keep: z
    .number()
    .int()
    .min(0)
    .max(10)
    .optional()
    .describe('How many previous keys stay in the Secret (ticket.key.1 is the newest), for servers that can decrypt with several keys (default 2).'),
});
export type SessionTicketKeysSpec = z.infer<typeof SessionTicketKeysSpec>;

export const SessionTicketKeysStatus = z.object({
  conditions: conditionsList,
  lastRotationTime: z.string().optional().describe('When the current key was made (RFC 3339).'),
  nextRotationTime: z.string().optional().describe('When the current key will be replaced (RFC 3339).'),
  keys: z.number().int().optional().describe('Keys in the Secret: the current one and the previous ones kept.'),
});
export type SessionTicketKeysStatus = z.infer<typeof SessionTicketKeysStatus>;

export type SessionTicketKeys = KubeObject<SessionTicketKeysSpec, SessionTicketKeysStatus>;

export const SessionTicketKeysCondition = { Ready: 'Ready' } as const;

/** Reasons on the Ready condition. Stable: users and alerts match on them. */
export const SessionTicketKeysReason = {
  KeysReady: 'KeysReady',
  InvalidSpec: 'InvalidSpec',
  SecretConflict: 'SecretConflict',
} as const;

/** Defaults of the spec. */
export const DEFAULT_ROTATION_INTERVAL = '12h';
export const DEFAULT_KEEP = 2;
export const MIN_ROTATION_INTERVAL_MS = 1000;

/**
 * The Secret's layout, which `watchTicketKeys` of certsmith/reload reads: `ticket.key` holds the current key, raw
 * 48 bytes (what Node's `server.setTicketKeys()` takes); `ticket.key.1` … `ticket.key.<keep>` the previous ones,
 * newest first, for servers that decrypt with several keys.
 */
export const TICKET_KEY_FILE = 'ticket.key';
export const TICKET_KEY_LENGTH = 48;
export const previousKeyFile = (i: number) => `${TICKET_KEY_FILE}.${i}`;

/** On the Secret: the SessionTicketKeys that owns it (label for selection, annotation as the proof of ownership). */
export const SESSION_TICKET_KEYS_LABEL = 'certsmith.dev/session-ticket-keys';
export const SESSION_TICKET_KEYS_ANNOTATION = 'certsmith.dev/session-ticket-keys';
/** On the Secret: when its current key was made (ISO 8601 with milliseconds); the Secret is the source of truth. */
export const TICKET_KEYS_ROTATED_AT_ANNOTATION = 'certsmith.dev/ticket-keys-rotated-at';
