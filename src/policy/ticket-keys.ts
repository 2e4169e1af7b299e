// When to rotate session-ticket keys and which to keep. Pure: the clock and the Secret's contents come in, the
// caller draws the new key. Like Caddy's distributed STEK, the shared store (here the Secret) holds the keys and
// the time of the last rotation, so a restarted or new leader carries on the same schedule instead of rotating.

export const TICKET_KEY_BYTES = 48;

export interface TicketKeysState {
  /** The Secret's current key (ticket.key), if the Secret exists. */
  current?: Uint8Array;
  /** The previous keys (ticket.key.1, .2, …), newest first. */
  previous: readonly Uint8Array[];
  /** When the current key was made (the Secret's annotation); undefined when absent or unreadable. */
  rotatedAt?: Date;
}

export interface TicketKeysPlan {
  /**
   * 'create': no usable current key; 'rotate': the current key is due; 'keep': the current key stays (the
   * previous ones may still be trimmed to `keep`).
   */
  action: 'create' | 'rotate' | 'keep';
  /** The current key to keep; undefined when the caller must draw a new one (create, rotate). */
  current?: Uint8Array;
  /** Previous keys after the plan, newest first, at most `keep`. */
  previous: Uint8Array[];
  rotatedAt: Date;
  nextRotation: Date;
}

const usable = (k: Uint8Array | undefined): k is Uint8Array => k !== undefined && k.length === TICKET_KEY_BYTES;

export function planTicketKeys(state: TicketKeysState, o: { now: Date; intervalMs: number; keep: number }): TicketKeysPlan {
  const { now, intervalMs } = o;
  const keep = Math.max(0, o.keep);
  const previous = state.previous.filter(usable);
  const fresh = (action: 'create' | 'rotate', older: Uint8Array[]): TicketKeysPlan => ({
    action,
    previous: older.slice(0, keep),
    rotatedAt: now,
    nextRotation: new Date(now.getTime() + intervalMs),
  });
  // A key that is not 48 bytes is no key (someone edited the Secret): replace it, keep the good old ones.
  if (!usable(state.current)) return fresh('create', previous);
  const rotatedAt = state.rotatedAt;
  const due =
    rotatedAt === undefined ||
    Number.isNaN(rotatedAt.getTime()) ||
    now.getTime() >= rotatedAt.getTime() + intervalMs ||
    // A time further ahead than one interval is not ours to trust (a clock far off, a hand edit): rotate now.
    rotatedAt.getTime() > now.getTime() + intervalMs;
  if (due) return fresh('rotate', [state.current, ...previous]);
  return {
    action: 'keep',
    current: state.current,
    previous: previous.slice(0, keep),
    rotatedAt,
    nextRotation: new Date(rotatedAt.getTime() + intervalMs),
  };
}
