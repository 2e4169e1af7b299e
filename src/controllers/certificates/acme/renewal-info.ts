// Keeps a Certificate's ACME Renewal Information current: asks the CA only when the certificate changed or its
// Retry-After has passed, and keeps the last answer when the CA cannot be asked.
import type { RenewalInfoStatus } from '../../../api/certificate.ts';
import { toRfc3339 } from '../../../api/conditions.ts';
import { nextAriCheck } from '../../../acme/ari.ts';
import type { AcmeClient } from '../../../acme/client.ts';

// After a failed look, try again in a while rather than at every reconcile.
const RETRY_AFTER_ERROR_MS = 15 * 60_000;

export interface RenewalInfoResult {
  /** undefined when the CA offers no ARI. */
  info: RenewalInfoStatus | undefined;
  /** Why the CA could not be asked, when it could not. */
  error?: string;
}

export async function currentRenewalInfo(opts: {
  client: AcmeClient;
  certID: string;
  prev: RenewalInfoStatus | undefined;
  now: Date;
  maxCheckMs: number;
}): Promise<RenewalInfoResult> {
  const { prev, certID, now } = opts;
  const same = prev?.certID === certID;
  if (same && Date.parse(prev!.nextCheckTime) > now.getTime()) return { info: prev };
  try {
    const answer = await opts.client.renewalInfo(certID);
    if (!answer) return { info: undefined };
    return {
      info: {
        certID,
        suggestedWindowStart: answer.start.toISOString(),
        suggestedWindowEnd: answer.end.toISOString(),
        ...(answer.explanationURL ? { explanationURL: answer.explanationURL } : {}),
        nextCheckTime: toRfc3339(nextAriCheck(now, answer.retryAfterMs, opts.maxCheckMs)),
      },
    };
  } catch (err) {
    const nextCheckTime = toRfc3339(new Date(now.getTime() + Math.min(RETRY_AFTER_ERROR_MS, opts.maxCheckMs)));
    return { info: same ? { ...prev!, nextCheckTime } : undefined, error: (err as Error).message };
  }
}
