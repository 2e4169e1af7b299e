// Which TrustBundles read a given object, so the wiring enqueues only those when it changes.
import type { Certificate } from '../../api/certificate.ts';
import { caSecretNameOf, type Issuer, type IssuerKind } from '../../api/issuer.ts';
import type { TrustBundle, TrustBundleSource } from '../../api/trust-bundle.ts';
import type { Store } from '../store.ts';

export interface TriggerLookups {
  bundles: Store<TrustBundle>;
  certificates: Store<Certificate>;
  issuers: Store<Issuer>;
  clusterIssuers: Store<Issuer>;
  clusterResourceNamespace: string;
}

function bundlesWhere(bundles: Store<TrustBundle>, test: (s: TrustBundleSource) => boolean): string[] {
  return bundles
    .list()
    .filter((b) => (b.spec?.sources ?? []).some(test))
    .map((b) => b.metadata.name);
}

/** Bundles with an issuer source naming this Issuer or ClusterIssuer. */
export function bundlesReadingIssuer(l: TriggerLookups, kind: IssuerKind, namespace: string | undefined, name: string): string[] {
  return bundlesWhere(l.bundles, (s) => s.issuer?.kind === kind && s.issuer.name === name && (kind === 'ClusterIssuer' || s.issuer.namespace === namespace));
}

/** Bundles that read this Secret: the ca.crt of a Certificate source, or the CA Secret of an issuer source. */
export function bundlesReadingSecret(l: TriggerLookups, namespace: string | undefined, name: string): string[] {
  return bundlesWhere(l.bundles, (s) => {
    if (s.certificate) {
      return s.certificate.namespace === namespace && l.certificates.get(namespace, s.certificate.name)?.spec?.secretName === name;
    }
    if (s.issuer) {
      const clusterScoped = s.issuer.kind === 'ClusterIssuer';
      const issuer = clusterScoped ? l.clusterIssuers.get(undefined, s.issuer.name) : l.issuers.get(s.issuer.namespace, s.issuer.name);
      const ns = clusterScoped ? l.clusterResourceNamespace : s.issuer.namespace;
      return ns === namespace && !!issuer && caSecretNameOf(issuer) === name;
    }
    return false;
  });
}
