export { type Clock, systemClock, fixedClock } from './clock.ts';
export { parseDuration, formatDuration } from './duration.ts';
export { computeRenewalTime, type RenewalInput } from './renewal.ts';
export { issuanceBackoffMs, nextRetryTime, type BackoffOptions } from './backoff.ts';
export { validateCertificateSpec, type CertificateSpecInput, MAX_SANS } from './validate-certificate.ts';
export { decideIssuance, issuanceChecks, IssuanceReason, type IssuanceInputs, type IssuanceDecision } from './issuance.ts';
