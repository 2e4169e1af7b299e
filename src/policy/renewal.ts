// When to renew a certificate. Pure.

export interface RenewalInput {
  notBefore: Date;
  notAfter: Date;
  renewBeforeMs?: number;
  renewBeforePercentage?: number;
}

/**
 * Default: when a third of the actual lifetime remains (cert-manager's 2/3 point). renewBefore counts back from
 * expiry; a renewBefore as long as the lifetime or longer falls back to the default, as in cert-manager, rather than
 * renewing in a loop. The result is rounded down to a whole second.
 */
export function computeRenewalTime(input: RenewalInput): Date {
  const start = input.notBefore.getTime();
  const end = input.notAfter.getTime();
  const lifetime = Math.max(end - start, 0);
  let at = start + (lifetime * 2) / 3;
  if (input.renewBeforePercentage !== undefined) {
    at = end - (lifetime * input.renewBeforePercentage) / 100;
  } else if (input.renewBeforeMs !== undefined && input.renewBeforeMs < lifetime) {
    at = end - input.renewBeforeMs;
  }
  return new Date(Math.floor(at / 1000) * 1000);
}
