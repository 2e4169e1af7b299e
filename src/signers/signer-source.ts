// Finds the Signer behind an Issuer or ClusterIssuer. Parsed CA key pairs are kept per Secret resourceVersion,
// so a thousand issuances from one CA parse its key once.
import { caSecretNameOf, type Issuer, type IssuerKind } from '../api/issuer.ts';
import { CertsmithError } from '../errors.ts';
import type { SecretReader } from '../kube/secret-reader.ts';
import type { Clock } from '../time/clock.ts';
import { loadCaSigner, type CaSigner } from './ca-signer.ts';
import type { Signer } from './issue.ts';

export interface SignerSource {
  signerFor(issuer: Issuer, kind: IssuerKind): Promise<Signer>;
  /** Namespace holding the CA Secret of this issuer. */
  secretNamespace(issuer: Issuer, kind: IssuerKind): string;
}

export function createSignerSource(opts: { secrets: SecretReader; clusterResourceNamespace: string; clock: Clock }): SignerSource {
  const parsed = new Map<string, { resourceVersion: string; signer: CaSigner }>();
  const secretNamespace = (issuer: Issuer, kind: IssuerKind) => (kind === 'ClusterIssuer' ? opts.clusterResourceNamespace : (issuer.metadata.namespace ?? ''));
  return {
    secretNamespace,
    async signerFor(issuer, kind) {
      const spec = issuer.spec;
      if (spec?.selfSigned) return { kind: 'selfSigned' };
      const secretName = caSecretNameOf(issuer);
      if (secretName) {
        // A managed CA keeps its signing generation in tls.crt/tls.key too (signers/managed-ca.ts).
        const ns = secretNamespace(issuer, kind);
        const where = `${ns}/${secretName}`;
        const secret = await opts.secrets.get(ns, secretName);
        const rv = secret?.metadata.resourceVersion ?? '';
        const hit = parsed.get(where);
        const now = opts.clock.now();
        if (hit && rv && hit.resourceVersion === rv && hit.signer.caInfo.notAfter > now) return hit.signer;
        const signer = loadCaSigner(secret, where, now);
        if (rv) parsed.set(where, { resourceVersion: rv, signer });
        return signer;
      }
      throw new CertsmithError('InvalidSpec', `${kind} ${issuer.metadata.name} sets no issuer type: set selfSigned or ca`);
    },
  };
}
