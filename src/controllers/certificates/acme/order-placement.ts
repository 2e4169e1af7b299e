// Placing an order, or taking up one placed earlier. Before an order is placed, the status records that it is about
// to be (status.acmeOrder without an orderURL, the intent): an operator that dies between the CA's answer and the
// status write leaves that behind, and the process after it looks for the order among the account's orders
// (order-recovery.ts) before placing one. What this process placed itself it remembers here, by Certificate.
import type { AcmeOrderStatus } from '../../../api/certificate.ts';
import { toRfc3339 } from '../../../api/conditions.ts';
import type { IssuerKind } from '../../../api/issuer.ts';
import type { AcmeClient, AcmeIdentifier, AcmeOrder } from '../../../acme/client.ts';
import { AcmeError, isReplacesRefusal } from '../../../acme/errors.ts';
import type { Challenges, PlannedSolvers } from './challenges.ts';
import { createOrderRecovery } from './order-recovery.ts';
import { type AcmeStepInput, describeOrder, isNotFound } from './step.ts';

// What this process remembers of an order it was about to place, in case the status never learns its URL.
const PLACEMENT_MEMORY_MS = 60 * 60_000;

/** An intent this process recorded, and what came of it. */
interface Placement {
  requestedAt: string;
  digest: string;
  /** When newOrder was sent; unset while it was not, or the CA answered it with a refusal. */
  sentAt?: number;
  /** The order the CA created for it. */
  orderURL?: string;
}

/** What an order is for: the Certificate (uid), the account, the names and the solvers planned for them. */
export interface PlacementRequest {
  uid: string;
  account: string;
  identifiers: AcmeIdentifier[];
  digest: string;
  issuerId: string;
  solvers: PlannedSolvers;
}

export interface OrderPlacementDeps {
  challenges: Challenges;
  onOrderCreated?: (issuerKind: IssuerKind) => void;
  /** The CA refused the renewal order's `replaces`; it was placed again without it. */
  onReplacesRefused?: (detail: string) => void;
}

export function createOrderPlacement(deps: OrderPlacementDeps) {
  const recovery = createOrderRecovery();
  // By Certificate UID. An entry lives from the intent until the order URL is seen in status.
  const placements = new Map<string, Placement>();
  return { intentFor, forget, placeOrTakeUp };

  /** The status of a Certificate about to order: what is ordered, and when; no order URL yet. Remembered here. */
  function intentFor(uid: string, digest: string, issuerId: string, now: Date): AcmeOrderStatus {
    const requestedAt = toRfc3339(now);
    for (const [key, p] of placements) if (now.getTime() - Date.parse(p.requestedAt) > PLACEMENT_MEMORY_MS) placements.delete(key);
    placements.set(uid, { requestedAt, digest });
    return { state: 'ordering', requestDigest: digest, issuer: issuerId, requestedAt };
  }

  /** The order's URL is in status: nothing left to remember. */
  function forget(uid: string): void {
    placements.delete(uid);
  }

  /**
   * The order for an intent in status. Recorded by this process: the order it placed, or a new one. Recorded by
   * another (a killed leader, the process before a restart), or sent without an answer: the account's unrecorded
   * order for the same names if the CA lists one, else a new one.
   */
  async function placeOrTakeUp(
    client: AcmeClient,
    input: AcmeStepInput,
    intent: AcmeOrderStatus,
    o: PlacementRequest,
  ): Promise<{ order: AcmeOrderStatus; message: string }> {
    const known = placements.get(o.uid);
    let mine = known && known.requestedAt === intent.requestedAt && known.digest === o.digest ? known : undefined;
    if (mine?.orderURL) {
      // This process placed it and a later part of the step failed.
      const placed = await client.getOrder(mine.orderURL).catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
      if (placed) return described(await adoptOrder(client, input, placed, o, placed.replaces));
    } else if (!mine || mine.sentAt !== undefined) {
      const found = await recovery.find(
        client,
        o.account,
        { identifiers: o.identifiers, profile: input.issuer.spec!.acme!.profile },
        {
          listedAfter: new Date(mine?.sentAt ?? (Date.parse(intent.requestedAt ?? '') || 0)),
          now: input.now,
          recorded: input.recordedOrders?.() ?? new Set(),
        },
      );
      if (found) {
        placements.set(o.uid, { requestedAt: intent.requestedAt ?? '', digest: o.digest, sentAt: input.now.getTime(), orderURL: found.url });
        const order = await adoptOrder(client, input, found, o, found.replaces);
        return { order, message: `took up order ${found.url}, placed earlier and never recorded; ${describeOrder(order)}` };
      }
    }
    if (!mine) {
      mine = { requestedAt: intent.requestedAt ?? '', digest: o.digest };
      placements.set(o.uid, mine);
    }
    return described(await placeOrder(client, input, mine, o));
  }

  async function placeOrder(client: AcmeClient, input: AcmeStepInput, placement: Placement, o: PlacementRequest): Promise<AcmeOrderStatus> {
    const spec = input.issuer.spec!.acme!;
    const request = { identifiers: o.identifiers, ...(spec.profile ? { profile: spec.profile } : {}) };
    let replaces = input.replaces;
    const newOrder = async (req: Parameters<AcmeClient['newOrder']>[0]) => {
      placement.sentAt = input.now.getTime();
      try {
        return await client.newOrder(req);
      } catch (err) {
        // A refusal from the CA created nothing; any other failure may have, and is looked for next time.
        if (err instanceof AcmeError && err.httpStatus !== undefined && err.httpStatus < 500) delete placement.sentAt;
        throw err;
      }
    };
    let placed: AcmeOrder;
    try {
      placed = await newOrder({ ...request, ...(replaces ? { replaces } : {}) });
    } catch (err) {
      if (!replaces || !isReplacesRefusal(err)) throw err;
      deps.onReplacesRefused?.((err as Error).message);
      replaces = undefined;
      placed = await newOrder(request);
    }
    placement.orderURL = placed.url;
    deps.onOrderCreated?.(input.issuerKind);
    return adoptOrder(client, input, placed, o, replaces);
  }

  /** The status of an order just placed or taken up: its challenges, each not-yet-answered one presented. */
  async function adoptOrder(
    client: AcmeClient,
    input: AcmeStepInput,
    placed: AcmeOrder,
    o: PlacementRequest,
    replaces: string | undefined,
  ): Promise<AcmeOrderStatus> {
    const challenges = await deps.challenges.ofOrder(client, placed, o.solvers);
    const order: AcmeOrderStatus = {
      orderURL: placed.url,
      state: placed.status,
      requestDigest: o.digest,
      issuer: o.issuerId,
      finalizeURL: placed.finalize,
      ...(placed.expires ? { expires: placed.expires } : {}),
      ...(replaces ? { replaces } : {}),
      challenges,
    };
    return deps.challenges.presentPending(order, input);
  }
}

function described(order: AcmeOrderStatus): { order: AcmeOrderStatus; message: string } {
  return { order, message: describeOrder(order) };
}
