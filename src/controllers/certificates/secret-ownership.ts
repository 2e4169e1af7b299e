// Who may write the Secret a Certificate names. Pure: the operator never writes a Secret it does not manage,
// and of two Certificates naming one Secret only the first (oldest) one does.
import { CERTIFICATE_NAME_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../api/labels.ts';
import type { ObjectMeta } from '../../api/meta.ts';
import { compareStrings } from '../../ordering.ts';

export type SecretOwnership =
  | { kind: 'free' } // no Secret yet: create it
  | { kind: 'ours' } // managed by certsmith for this Certificate
  | { kind: 'foreign' } // exists and not managed by certsmith
  | { kind: 'inUse'; by: string }; // managed for another Certificate that still exists

export interface CertificateRef {
  name: string;
  secretName: string;
  creationTimestamp?: string;
}

export function secretOwnership(certName: string, secret: { metadata: ObjectMeta } | undefined, isLive: (certificateName: string) => boolean): SecretOwnership {
  if (!secret) return { kind: 'free' };
  if (secret.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) return { kind: 'foreign' };
  const owner = secret.metadata.annotations?.[CERTIFICATE_NAME_ANNOTATION];
  if (!owner || owner === certName) return { kind: 'ours' };
  // The Certificate that wrote it is gone: this one may take the Secret over.
  if (!isLive(owner)) return { kind: 'ours' };
  return { kind: 'inUse', by: owner };
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
