// What one step of an ACME issuance is given, what it comes to, and how soon the order is looked at again. Shared by
// the modules of this folder; the step itself is driven by issuance.ts.
import type { KeyObject } from 'node:crypto';
import type { AcmeOrderStatus, Certificate } from '../../../api/certificate.ts';
import type { Issuer, IssuerKind } from '../../../api/issuer.ts';
import { AcmeError } from '../../../acme/errors.ts';
import type { CertsmithError } from '../../../errors.ts';
import { compareStrings } from '../../../ordering.ts';
import type { DesiredCertificate } from '../desired.ts';

export interface AcmeStepInput {
  certificate: Certificate;
  desired: DesiredCertificate;
  issuer: Issuer;
  issuerKind: IssuerKind;
  /** The key in the Secret now, reused when rotationPolicy is Never. */
  storedKey?: KeyObject | undefined;
  /** ARI certID of the certificate in the Secret when this issuance renews one from the same issuer. */
  replaces?: string | undefined;
  /** Order URLs in the status of every Certificate: an order one of them records is never taken up by another. */
  recordedOrders?: () => ReadonlySet<string>;
  /** Writes the intent (status.acmeOrder without an orderURL) to the Certificate's status; called before newOrder. */
  recordIntent: (intent: AcmeOrderStatus) => Promise<void>;
  now: Date;
}

export type AcmeStep =
  | { kind: 'progress'; order: AcmeOrderStatus; message: string; requeueAfterMs: number }
  | { kind: 'blocked'; reason: 'InvalidSpec' | 'NoSolver'; message: string }
  | { kind: 'issued'; order: AcmeOrderStatus; certificatePem: string; privateKey: KeyObject; notBefore: Date; notAfter: Date }
  | { kind: 'failed'; order: AcmeOrderStatus | undefined; error: CertsmithError };

export const POLL_MIN_MS = 1_000;
export const POLL_DEFAULT_MS = 2_000;
const POLL_MAX_MS = 60_000;

export function progress(order: AcmeOrderStatus, message: string, requeueAfterMs: number): AcmeStep & { kind: 'progress' } {
  return { kind: 'progress', order, message, requeueAfterMs };
}

/** The CA's Retry-After, kept between a second and a minute; two seconds when it sent none. */
export function pollDelay(retryAfterMs: number | undefined): number {
  return Math.min(Math.max(retryAfterMs ?? POLL_DEFAULT_MS, POLL_MIN_MS), POLL_MAX_MS);
}

/** The CA does not know the URL (any more): an order it forgot, or one of an account it forgot. */
export function isNotFound(err: unknown): boolean {
  return err instanceof AcmeError && err.httpStatus === 404;
}

/** "order pending; challenges: 1 presented, 2 valid": the message of a step in progress. */
export function describeOrder(order: AcmeOrderStatus): string {
  const counts = new Map<string, number>();
  for (const c of order.challenges ?? []) counts.set(c.state, (counts.get(c.state) ?? 0) + 1);
  const parts = [...counts].sort(([a], [b]) => compareStrings(a, b)).map(([state, n]) => `${n} ${state}`);
  return `order ${order.state}${parts.length ? `; challenges: ${parts.join(', ')}` : ''}`;
}
