// Who may write the Secret a Certificate names. Pure: the operator never writes a Secret it does not manage, never
// one of its own internal Secrets (CA, account and order keys, ticket keys), and of two Certificates naming one
// Secret only the first (oldest) one does.
import {
  ACME_ACCOUNT_OF_ANNOTATION,
  CA_ISSUER_ANNOTATION,
  CERTIFICATE_NAME_ANNOTATION,
  INTERNAL_SECRET_LABEL,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
} from '../../api/labels.ts';
import type { ObjectMeta } from '../../api/meta.ts';
import { SESSION_TICKET_KEYS_LABEL } from '../../api/session-ticket-keys.ts';
import { compareStrings } from '../../ordering.ts';

export type SecretOwnership =
  | { kind: 'free' } // no Secret yet: create it
  | { kind: 'ours' } // managed by certsmith for this Certificate
  | { kind: 'foreign' } // exists and not managed by certsmith
  | { kind: 'inUse'; by: string } // managed for another Certificate that still exists
  | { kind: 'notClaimable'; holds: string }; // certsmith's own, or managed without naming a Certificate

export interface CertificateRef {
  name: string;
  secretName: string;
  creationTimestamp?: string;
}

/**
 * A Certificate may write a Secret that names it (annotation certsmith.dev/certificate-name), or one that named a
 * Certificate of its namespace that no longer exists (a renamed Certificate takes its Secret over, as with
 * cert-manager). A managed Secret that names no Certificate is never claimed: it is one of certsmith's own.
 */
export function secretOwnership(certName: string, secret: { metadata: ObjectMeta } | undefined, isLive: (certificateName: string) => boolean): SecretOwnership {
  if (!secret) return { kind: 'free' };
  if (secret.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) return { kind: 'foreign' };
  const internal = internalSecretKind(secret.metadata);
  if (internal) return { kind: 'notClaimable', holds: internal };
  const owner = secret.metadata.annotations?.[CERTIFICATE_NAME_ANNOTATION];
  if (!owner) return { kind: 'notClaimable', holds: 'no Certificate (it has no certsmith.dev/certificate-name annotation)' };
  if (owner === certName) return { kind: 'ours' };
  // The Certificate that wrote it is gone: this one may take the Secret over.
  if (!isLive(owner)) return { kind: 'ours' };
  return { kind: 'inUse', by: owner };
}

/** What one of certsmith's internal Secrets holds, by its label, or by the marks older versions gave them. */
export function internalSecretKind(metadata: ObjectMeta): string | undefined {
  const label = metadata.labels?.[INTERNAL_SECRET_LABEL];
  if (label) return label;
  if (metadata.annotations?.[CA_ISSUER_ANNOTATION]) return 'managed-ca';
  if (metadata.annotations?.[ACME_ACCOUNT_OF_ANNOTATION]) return 'acme-account-key';
  if (metadata.labels?.[SESSION_TICKET_KEYS_LABEL]) return 'session-ticket-keys';
  return undefined;
}

/**
 * Among Certificates in one namespace naming the same Secret, the oldest (then by name) is its writer.
 * Decided before any Secret exists, so two new Certificates never race to create it.
 */
export function secretWriter(certs: readonly CertificateRef[], secretName: string): string | undefined {
  const candidates = certs.filter((c) => c.secretName === secretName);
  candidates.sort((a, b) => compareStrings(a.creationTimestamp ?? '', b.creationTimestamp ?? '') || compareStrings(a.name, b.name));
  return candidates[0]?.name;
}
