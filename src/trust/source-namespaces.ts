// Which namespaces a TrustBundle may read from. A TrustBundle copies what it reads into every namespace it selects,
// so through the operator it could read any namespace: its sources (and truststore password Secrets) come from the
// trust namespace (the cluster-resource namespace) and the namespaces the operator's configuration allows, nothing
// else. Checked on the spec alone, before anything is read, so the refusal is the same whether or not the object
// exists elsewhere. Pure.
import type { TrustBundleSpec } from '../api/trust-bundle.ts';
import { CertsmithError } from '../errors.ts';

export interface SourceNamespaces {
  /** The cluster-resource namespace: a ClusterIssuer's Secret is there, and any source may be. */
  trust: string;
  /** More namespaces sources may name (--trust-bundle-source-namespaces). */
  allowed: readonly string[];
}

/** Each namespace the spec would read, with where it is named ("sources[2].configMap"), in spec order. */
export function namespacesRead(spec: TrustBundleSpec): { at: string; namespace: string }[] {
  const out: { at: string; namespace: string }[] = [];
  for (const [i, s] of spec.sources.entries()) {
    // A ClusterIssuer's CA Secret is in the trust namespace; inline and systemRoots read nothing.
    if (s.issuer?.kind === 'Issuer' && s.issuer.namespace !== undefined) out.push({ at: `sources[${i}].issuer`, namespace: s.issuer.namespace });
    if (s.certificate) out.push({ at: `sources[${i}].certificate`, namespace: s.certificate.namespace });
    if (s.configMap) out.push({ at: `sources[${i}].configMap`, namespace: s.configMap.namespace });
    if (s.secret) out.push({ at: `sources[${i}].secret`, namespace: s.secret.namespace });
  }
  const formats = spec.target.additionalFormats;
  for (const [which, f] of [
    ['pkcs12', formats?.pkcs12],
    ['jks', formats?.jks],
  ] as const) {
    if (f?.passwordSecretRef) out.push({ at: `target.additionalFormats.${which}.passwordSecretRef`, namespace: f.passwordSecretRef.namespace });
  }
  return out;
}

/**
 * Throws SourceNotAllowed for the first namespace the spec may not read. The message names the field and the
 * namespace the spec itself names, never the object: it reads the same whether or not that object exists.
 */
export function refuseSourcesOutside(spec: TrustBundleSpec, ns: SourceNamespaces): void {
  const allowed = new Set([ns.trust, ...ns.allowed]);
  const refused = namespacesRead(spec).find((r) => !allowed.has(r.namespace));
  if (refused) {
    throw new CertsmithError(
      'SourceNotAllowed',
      `${refused.at}: namespace ${refused.namespace} is not a trust source namespace; TrustBundles read from ${ns.trust} and the namespaces the operator allows (chart value trustBundles.sourceNamespaces, flag --trust-bundle-source-namespaces)`,
    );
  }
}
