// Errors carry a stable `code`: callers branch on the code and map it to a condition reason,
// never on the message text.
export type ErrorCode =
  | 'InvalidSpec'
  | 'InvalidDuration'
  | 'InvalidPEM'
  | 'InvalidCSR' // a PodCertificateRequest's stub PKCS#10 request (src/pki/stub-csr.ts)
  | 'UnsupportedKey'
  | 'KeyMismatch'
  | 'NotCA'
  | 'CAExpired'
  | 'SecretNotFound'
  | 'SecretMissingKey'
  | 'IssuerNotFound'
  | 'IssuerNotReady'
  | 'SecretConflict'
  | 'KubeNotFound'
  | 'KubeConflict'
  | 'KubeGone'
  | 'KubeUnavailable'
  | 'KubeForbidden'
  | 'KubeInvalid'
  | 'KubeError'
  | 'SigningFailed'
  | 'ConfigInvalid'
  | 'CrdsMissing'
  | 'ShardCountMismatch' // another live replica runs with a different --shards
  // DNS-01 providers (src/acme/dns01/)
  | 'Dns01ZoneNotFound'
  | 'Dns01UpdateRefused'
  | 'Dns01TsigRejected'
  | 'Dns01BadResponse'
  | 'Dns01Unreachable'
  | 'Dns01WebhookFailed'
  // ACME (src/acme/)
  | 'AcmeUnreachable'
  | 'AcmeBadResponse'
  | 'AcmeResponseTooLarge' // an answer past the body cap of src/acme/http-limits.ts, refused unread
  | 'AcmeRateLimited'
  | 'AcmeUnavailable'
  | 'AcmeAccountProblem'
  | 'AcmeOrderRejected'
  | 'AcmeValidationFailed'
  | 'AcmeNoSolver'
  | 'AcmeProblem'
  | 'AcmeUnrouted' // acme-client sent a request outside a certsmith call: a bug here, never a CA's answer
  | 'Http01NoEndpoints'
  | 'Http01RoutingForbidden' // the chart's RBAC leaves out HTTP-01 routing (rbac.acmeHttp01Routing=false)
  | 'ResourceConflict'
  // TrustBundles (src/trust/, src/controllers/trust-bundles/)
  | 'SourceNotFound'
  | 'SourceNotAllowed'
  | 'PrivateKeyInSource'
  | 'BundleEmpty'
  | 'BundleExpired'
  | 'BundleTooLarge'
  // CLI (src/cli/)
  | 'CliNotIssued'
  | 'CliTimeout';

export class CertsmithError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CertsmithError';
    this.code = code;
  }
}

export function isCertsmithError(err: unknown, code?: ErrorCode): err is CertsmithError {
  return err instanceof CertsmithError && (code === undefined || err.code === code);
}

export function errorCode(err: unknown): ErrorCode | undefined {
  return err instanceof CertsmithError ? err.code : undefined;
}
