// Backoff after failed issuances. Pure.
//
// Schedule (defaults): attempt 1 fails → retry after 10 s, then 20 s, 40 s, 80 s, … doubling, capped at 32 h
// (cert-manager's cap). Shorter at the start than cert-manager's 1 h because a private CA's failures are often
// fixed within minutes (a Secret created late); ACME issuers pass their own base.

export interface BackoffOptions {
  baseMs?: number;
  capMs?: number;
}

export const DEFAULT_BACKOFF_BASE_MS = 10_000;
export const DEFAULT_BACKOFF_CAP_MS = 32 * 3_600_000;

export function issuanceBackoffMs(failedAttempts: number, opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? DEFAULT_BACKOFF_BASE_MS;
  const cap = opts.capMs ?? DEFAULT_BACKOFF_CAP_MS;
  if (failedAttempts <= 0) return 0;
  const exp = Math.min(failedAttempts - 1, 52);
  return Math.min(base * 2 ** exp, cap);
}

export function nextRetryTime(lastFailureTime: Date, failedAttempts: number, opts: BackoffOptions = {}): Date {
  return new Date(lastFailureTime.getTime() + issuanceBackoffMs(failedAttempts, opts));
}
