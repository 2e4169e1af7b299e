// When to renew an issued certificate. Pure: it looks only at the certificate's own validity period.

export interface RenewalInput {
  notBefore: Date;
  notAfter: Date;
  /** Renew this long before notAfter. */
  renewBeforeMs?: number;
  /** Renew when this percentage of the lifetime remains; used only in (0, 100). */
  renewBeforePercentage?: number;
}

/**
 * The instant renewal is due, rounded down to a whole second.
 *
 * Everything is measured on the certificate's actual lifetime (notAfter − notBefore), not the requested duration,
 * because a CA may shorten it. In order:
 * - renewBeforeMs, when 0 < renewBeforeMs < lifetime: notAfter − renewBeforeMs. A renewBefore as long as the lifetime
 *   would make every new certificate due at once and renew in a loop, so it falls back (as in cert-manager);
 * - renewBeforePercentage p, when 0 < p < 100: notAfter − lifetime·p/100;
 * - otherwise when a third of the lifetime remains (two thirds through it).
 *
 * Rounded down because status.renewalTime is stored with second precision and the requeue is computed from it:
 * rounding up would wake the controller just before the renewal is due, find nothing to do, and sleep again.
 */
export function computeRenewalTime(input: RenewalInput): Date {
  const notAfter = input.notAfter.getTime();
  const lifetime = Math.max(notAfter - input.notBefore.getTime(), 0);
  const { renewBeforeMs, renewBeforePercentage: pct } = input;
  let before = lifetime / 3;
  if (renewBeforeMs !== undefined && renewBeforeMs > 0 && renewBeforeMs < lifetime) {
    before = renewBeforeMs;
  } else if (pct !== undefined && pct > 0 && pct < 100) {
    before = (lifetime * pct) / 100;
  }
  return new Date(Math.floor((notAfter - before) / 1000) * 1000);
}
