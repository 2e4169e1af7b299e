// Pure decisions: no I/O, and time always comes in as an argument.
export { computeRenewalTime, type RenewalInput } from './renewal.ts';
export {
  issuanceBackoffMs,
  nextRetryTime,
  DEFAULT_BACKOFF_BASE_MS,
  DEFAULT_BACKOFF_CAP_MS,
  type BackoffOptions,
} from './backoff.ts';
export { KEY_USAGE_NAMES, isKeyUsageName, canonicalUsages } from './usages.ts';
export {
  dnsNameProblem,
  ipAddressProblem,
  uriProblem,
  emailAddressProblem,
  canonicalEmailAddress,
} from './names.ts';
export {
  validateCertificateSpec,
  MAX_SANS,
  MAX_COMMON_NAME,
  MIN_DURATION_MS,
  DEFAULT_DURATION,
  DEFAULT_KEY_ALGORITHM,
  type CertificateSpecInput,
} from './validate-certificate.ts';
export {
  decideIssuance,
  issuanceChecks,
  IssuanceReason,
  type IssuanceInputs,
  type IssuanceDecision,
  type IssuanceCheck,
  type StoredSecretState,
  type DesiredCertificateState,
} from './issuance.ts';
