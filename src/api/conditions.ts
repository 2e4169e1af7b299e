import type { Condition } from './meta.ts';
import { compareStrings } from '../ordering.ts';

export const ConditionType = {
  Ready: 'Ready',
  Issuing: 'Issuing',
} as const;

/** Reasons on Certificate and Issuer conditions. Stable: users and alerts match on them. */
export const Reason = {
  // Certificate Ready
  Ready: 'Ready',
  DoesNotExist: 'DoesNotExist',
  Issuing: 'Issuing',
  InvalidSpec: 'InvalidSpec',
  IssuerNotFound: 'IssuerNotFound',
  IssuerNotReady: 'IssuerNotReady',
  SecretConflict: 'SecretConflict',
  SecretInUse: 'SecretInUse',
  PolicyDenied: 'PolicyDenied',
  Failed: 'Failed',
  Expired: 'Expired',
  NoSolver: 'NoSolver',
  // Issuer Ready
  IssuerReady: 'Ready',
  SecretNotFound: 'SecretNotFound',
  SecretMissingKey: 'SecretMissingKey',
  InvalidPEM: 'InvalidPEM',
  NotCA: 'NotCA',
  KeyMismatch: 'KeyMismatch',
  CAExpired: 'CAExpired',
  InvalidIssuerSpec: 'InvalidSpec',
  AcmeAccountRegistered: 'ACMEAccountRegistered',
  AcmeServerUnreachable: 'ACMEServerUnreachable',
  AcmeAccountRejected: 'ACMEAccountRejected',
  AcmeRegistrationFailed: 'ACMERegistrationFailed',
} as const;

/**
 * Returns the conditions with `next` set. lastTransitionTime changes only when the status changes,
 * so rewriting an unchanged condition is a no-op and costs no API write.
 */
export function setCondition(conditions: readonly Condition[] | undefined, next: Condition, now: Date): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const prev = i >= 0 ? list[i] : undefined;
  const lastTransitionTime = prev && prev.status === next.status && prev.lastTransitionTime ? prev.lastTransitionTime : toRfc3339(now);
  const merged: Condition = { ...next, lastTransitionTime };
  if (i >= 0) list[i] = merged;
  else list.push(merged);
  return list.sort((a, b) => compareStrings(a.type, b.type));
}

export function removeCondition(conditions: readonly Condition[] | undefined, type: string): Condition[] {
  return (conditions ?? []).filter((c) => c.type !== type);
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/** RFC 3339 with whole seconds, as Kubernetes writes metav1.Time. */
export function toRfc3339(d: Date): string {
  return new Date(Math.floor(d.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}
