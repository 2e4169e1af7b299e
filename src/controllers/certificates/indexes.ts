// The Certificate informer's indexes: the handlers that fan out from a Secret or an Issuer, and the reconciler's
// "who else names this Secret", look Certificates up instead of scanning all of them.
import type { Certificate } from '../../api/certificate.ts';

export const BY_SECRET = 'secret';
export const BY_ISSUER = 'issuer';

export const secretIndexValue = (namespace: string, secretName: string) => `${namespace}/${secretName}`;

/** An Issuer is found by kind, namespace and name; a ClusterIssuer by kind and name. */
export function issuerIndexValue(kind: string, namespace: string | undefined, name: string): string {
  return kind === 'ClusterIssuer' ? `ClusterIssuer//${name}` : `${kind}/${namespace ?? ''}/${name}`;
}

export const certificateIndexers: Record<string, (c: Certificate) => readonly string[]> = {
  [BY_SECRET]: (c) => (c.spec?.secretName ? [secretIndexValue(c.metadata.namespace ?? '', c.spec.secretName)] : []),
  [BY_ISSUER]: (c) => (c.spec?.issuerRef?.name ? [issuerIndexValue(c.spec.issuerRef.kind ?? 'Issuer', c.metadata.namespace, c.spec.issuerRef.name)] : []),
};
