// The pure half of an issuer's ACME account: whether the account in status can be reused, when it is asked
// about again, what status a registration results in, and the Secret a new account key goes into.
import type { AcmeIssuer, Issuer, IssuerKind, IssuerStatus, SecretKeySelector } from '../../api/issuer.ts';
import { ACME_ACCOUNT_OF_ANNOTATION, INTERNAL_SECRET_LABEL, InternalSecret, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../api/labels.ts';
import type { SecretObject } from '../../api/secret.ts';
import { CertsmithError } from '../../errors.ts';
import { ACCOUNT_KEY_DEFAULT } from '../../signers/acme-accounts.ts';
import { encodeSecretValue } from '../../signers/secret-data.ts';

// A registered account is looked at again this often: a deactivated account should not wait for an order to fail.
export const ACCOUNT_RECHECK_MS = 60 * 60_000;

export type AcmeAccountStatus = NonNullable<IssuerStatus['acme']>;

/**
 * The account URL in status when it was registered with this server and email. It is reused only if the key it
 * was registered with is still the one in the Secret, which the caller tells by the key's thumbprint.
 */
export function reusableAccountUri(prev: AcmeAccountStatus | undefined, spec: Pick<AcmeIssuer, 'server' | 'email'>): string | undefined {
  return prev?.uri && prev.server === spec.server && (prev.lastRegisteredEmail ?? '') === (spec.email ?? '') ? prev.uri : undefined;
}

/** A reused account is asked about when a Certificate found it wrong, when this replica never asked, or an hour after it last did. */
export function accountCheckDue(o: { recheckAsked: boolean; lastCheckedAt: Date | undefined; now: Date }): boolean {
  return o.recheckAsked || !o.lastCheckedAt || o.now.getTime() - o.lastCheckedAt.getTime() >= ACCOUNT_RECHECK_MS;
}

/** The account as status records it after a registration. */
export function registeredAccount(uri: string, spec: Pick<AcmeIssuer, 'server' | 'email'>, accountKeyThumbprint: string): AcmeAccountStatus {
  return { uri, server: spec.server, accountKeyThumbprint, ...(spec.email ? { lastRegisteredEmail: spec.email } : {}) };
}

export function describeAccount(uri: string, server: string): string {
  return `ACME account ${uri} is registered with ${server}`;
}

/** An account the CA holds in a status other than valid (deactivated, revoked): only a new key helps. */
export function accountRejected(uri: string | undefined, status: string, server: string): CertsmithError {
  return new CertsmithError('AcmeAccountProblem', `the ACME account ${uri} is ${status} at ${server}: use a new account key Secret to register a new account`);
}

/** The Secret a generated account key goes into: the operator's, marked with the issuer it was made for. */
export function accountKeySecret(issuer: Pick<Issuer, 'metadata'>, kind: IssuerKind, ref: SecretKeySelector, namespace: string, keyPem: string): SecretObject {
  const { namespace: issuerNamespace, name } = issuer.metadata;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: ref.name,
      namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [INTERNAL_SECRET_LABEL]: InternalSecret.acmeAccountKey },
      annotations: { [ACME_ACCOUNT_OF_ANNOTATION]: `${kind}/${issuerNamespace ? `${issuerNamespace}/` : ''}${name}` },
    },
    type: 'Opaque',
    data: { [ref.key ?? ACCOUNT_KEY_DEFAULT]: encodeSecretValue(keyPem) },
  };
}
