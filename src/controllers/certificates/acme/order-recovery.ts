// Finds the order an operator process that is gone (killed, restarted, replaced as leader) may have placed for a
// Certificate without recording its URL. The status says one was about to be placed (status.acmeOrder without an
// orderURL); the account's orders list (RFC 8555 §7.1.2.1) says which exist. Which one to take up is decided in
// acme/order-resumption.ts; this module lists, caches and claims.
//
// One listing per account serves every Certificate recovering after the same takeover: it is reused for intents
// recorded before it started. Only pending and ready orders are kept from it, which are few. A CA without an
// orders list (Let's Encrypt has none, and hands back an existing pending order for the same names instead) lists
// nothing, and the caller places a new order as before.
import type { AcmeClient, AcmeOrder } from '../../../acme/client.ts';
import { mayBeUnrecorded, orderToResume, type WantedOrder } from '../../../acme/order-resumption.ts';

// A listing is for recoveries right after a takeover; after this long it is dropped and the next one lists again.
const LISTING_TTL_MS = 10 * 60_000;
// Orders fetched at once, and at most, from a listing (Pebble lists oldest first, so the newest are kept).
const FETCH_CONCURRENCY = 8;
const MAX_EXAMINED = 1_000;

interface Listing {
  startedAt: number;
  orders: Promise<AcmeOrder[]>;
  /** URLs taken up through this listing, so two Certificates for the same names never take up the same order. */
  claimed: Set<string>;
}

export interface OrderRecovery {
  /**
   * The unrecorded order to take up for `wanted`, or undefined (none, or the CA lists no orders). `listedAfter`: a
   * listing that started before it cannot know the order. `recorded`: order URLs in Certificates' status.
   */
  find(
    client: AcmeClient,
    account: string,
    wanted: WantedOrder,
    opts: { listedAfter: Date; now: Date; recorded: ReadonlySet<string> },
  ): Promise<AcmeOrder | undefined>;
}

export function createOrderRecovery(): OrderRecovery {
  const listings = new Map<string, Listing>();

  return {
    async find(client, account, wanted, { listedAfter, now, recorded }) {
      let listing = listings.get(account);
      if (!listing || listing.startedAt < listedAfter.getTime() || now.getTime() - listing.startedAt > LISTING_TTL_MS) {
        listing = { startedAt: now.getTime(), orders: listUnfinished(client), claimed: new Set() };
        listings.set(account, listing);
      }
      const current = listing;
      const orders = await current.orders.catch(() => {
        // Listing is a courtesy: without it the caller places a new order, as it did before listings were asked.
        if (listings.get(account) === current) listings.delete(account);
        return [] as AcmeOrder[];
      });
      // Chosen and claimed without an await in between: concurrent recoveries never take the same order.
      const chosen = orderToResume(wanted, orders, new Set([...recorded, ...current.claimed]), now);
      if (!chosen) return undefined;
      current.claimed.add(chosen.url);
      return chosen;
    },
  };
}

/** The account's pending and ready orders, as the CA sees them now. */
async function listUnfinished(client: AcmeClient): Promise<AcmeOrder[]> {
  const urls = (await client.listOrders()).slice(-MAX_EXAMINED);
  const found: AcmeOrder[] = [];
  for (let i = 0; i < urls.length; i += FETCH_CONCURRENCY) {
    const batch = await Promise.all(urls.slice(i, i + FETCH_CONCURRENCY).map((u) => client.getOrder(u).catch(() => undefined)));
    for (const o of batch) if (o && mayBeUnrecorded(o.status)) found.push(o);
  }
  return found;
}
