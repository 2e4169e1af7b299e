// How long to wait before retrying a failed issuance. Pure: the caller passes the failure time and the count.
//
// Default schedule, failure n → wait 10 s · 2^(n−1):
//   1: 10s   2: 20s   3: 40s   4: 1m20s   5: 2m40s   6: 5m20s   7: 10m40s   8: 21m20s   9: 42m40s
//  10: 1h25m20s   11: 2h50m40s   12: 5h41m20s   13: 11h22m40s   14: 22h45m20s   15 and later: 32h (the cap)
// The cap is cert-manager's. The start is much shorter than cert-manager's 1 h because the usual failures here
// (a CA Secret created a moment after the Certificate, an issuer still starting) are fixed within seconds; a caller
// talking to a rate-limited CA (ACME) should pass a larger baseMs.

export interface BackoffOptions {
  /** Wait after the first failure. */
  baseMs?: number;
  /** Longest wait, however many failures. */
  capMs?: number;
}

export const DEFAULT_BACKOFF_BASE_MS = 10_000;
export const DEFAULT_BACKOFF_CAP_MS = 32 * 3_600_000;

/** Milliseconds to wait after `failedAttempts` consecutive failures; 0 when nothing has failed. */
export function issuanceBackoffMs(failedAttempts: number, opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? DEFAULT_BACKOFF_BASE_MS;
  const cap = opts.capMs ?? DEFAULT_BACKOFF_CAP_MS;
  if (!(failedAttempts >= 1)) return 0; // also NaN
  // Past 2^60 every realistic base is over any cap; stopping there keeps the arithmetic finite.
  const exponent = Math.min(Math.floor(failedAttempts) - 1, 60);
  return Math.min(base * 2 ** exponent, cap);
}

/** When the next attempt may start: the last failure plus the backoff for this many failures. */
export function nextRetryTime(lastFailureTime: Date, failedAttempts: number, opts: BackoffOptions = {}): Date {
  return new Date(lastFailureTime.getTime() + issuanceBackoffMs(failedAttempts, opts));
}

/**
 * The schedule for a failure of this kind. ACME validation failures start at 5 minutes: failures then fall at
 * 0, 5, 15, 35 and 75 minutes, so no name fails validation more than 4 times in an hour (Let's Encrypt allows 5
 * per identifier per account per hour). A CA that is down or rate-limiting starts at 30 seconds, and its
 * Retry-After, when longer, wins (see retryTimeFor). Everything else keeps the default.
 */
export function backoffForCode(code: string | undefined, defaults: BackoffOptions = {}): BackoffOptions {
  if (code === 'AcmeUnreachable' || code === 'AcmeUnavailable' || code === 'AcmeRateLimited' || code?.startsWith('Dns01')) {
    return { ...defaults, baseMs: ACME_TRANSIENT_BACKOFF_BASE_MS };
  }
  if (code?.startsWith('Acme')) return { ...defaults, baseMs: ACME_VALIDATION_BACKOFF_BASE_MS };
  return defaults;
}

export const ACME_TRANSIENT_BACKOFF_BASE_MS = 30_000;
export const ACME_VALIDATION_BACKOFF_BASE_MS = 5 * 60_000;

/** The later of the backoff and what the server asked for (Retry-After). */
export function retryTimeFor(failedAt: Date, failedAttempts: number, opts: BackoffOptions, retryAfterMs?: number): Date {
  const backoff = nextRetryTime(failedAt, failedAttempts, opts);
  if (retryAfterMs === undefined) return backoff;
  const asked = new Date(failedAt.getTime() + retryAfterMs);
  return asked > backoff ? asked : backoff;
}
