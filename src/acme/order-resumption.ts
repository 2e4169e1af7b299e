// Which of an ACME account's orders a Certificate can take up again, when the status records that an order was about
// to be placed (status.acmeOrder without an orderURL) by an operator process that is gone. Pure.
//
// The process that recorded the intent may have placed the order and died before writing its URL. RFC 8555 §7.1.2.1
// lets the account list its orders; one for the same identifiers that nobody has recorded is that order (or an
// equally good one), and taking it up costs nothing at the CA, where placing another leaves the first one unused.
import { canonicalIpAddress } from '../pki/ip-address.ts';
import type { AcmeIdentifier, AcmeOrder } from './client.ts';

export type ListedOrder = Pick<AcmeOrder, 'url' | 'status' | 'identifiers' | 'expires' | 'profile'>;

export interface WantedOrder {
  identifiers: readonly AcmeIdentifier[];
  /** The profile the issuer asks for; undefined when it names none (the CA then picks one). */
  profile?: string | undefined;
}

/**
 * Only pending and ready orders can be one the operator placed and never recorded: an order is finalized only once its
 * URL is in status, so a processing or valid one was recorded (or belongs to a certificate issued before), and an
 * invalid one cannot be used.
 */
export function mayBeUnrecorded(status: string): boolean {
  return status === 'pending' || status === 'ready';
}

/**
 * The order to take up: for exactly the wanted identifiers, pending or ready, not expired, with the wanted profile
 * when the CA states one, and not `taken` (recorded by a Certificate, or already taken up by another). ACME orders
 * carry no creation time, so among several the one expiring last — the newest, at a CA with one order lifetime — is
 * chosen, then the first URL. An older unused order for the same names serves as well as a new one would (Let's
 * Encrypt itself hands those back for a new order of the same account and names).
 */
export function orderToResume<T extends ListedOrder>(wanted: WantedOrder, orders: readonly T[], taken: ReadonlySet<string>, now: Date): T | undefined {
  const want = identifierKeys(wanted.identifiers);
  const usable = orders.filter(
    (o) =>
      mayBeUnrecorded(o.status) &&
      !taken.has(o.url) &&
      !isExpired(o.expires, now) &&
      (wanted.profile === undefined || o.profile === undefined || o.profile === wanted.profile) &&
      sameKeys(identifierKeys(o.identifiers ?? []), want),
  );
  return usable.sort((a, b) => expiresAt(b) - expiresAt(a) || (a.url < b.url ? -1 : a.url > b.url ? 1 : 0))[0];
}

function identifierKeys(ids: readonly AcmeIdentifier[]): Set<string> {
  return new Set(ids.map((i) => (i.type === 'ip' ? `ip:${canonicalIpAddress(i.value)}` : `${i.type}:${i.value.toLowerCase()}`)));
}

function sameKeys(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  return a.size === b.size && [...a].every((k) => b.has(k));
}

function isExpired(expires: string | undefined, now: Date): boolean {
  if (expires === undefined) return false;
  const t = Date.parse(expires);
  return !Number.isNaN(t) && t <= now.getTime();
}

function expiresAt(o: ListedOrder): number {
  const t = o.expires === undefined ? NaN : Date.parse(o.expires);
  return Number.isNaN(t) ? -Infinity : t;
}
