// Everything a Certificate's reconcile decides on, read once: the validated spec, its Secret and who may write it,
// the issuer, and what the Secret holds. Reads caches only, except for one GET of a Secret the cache cannot hold
// (a foreign one, looked at again while the Certificate reports the conflict).
import { CertificateSpec, type Certificate } from '../../api/certificate.ts';
import { ConditionType, Reason, findCondition } from '../../api/conditions.ts';
import type { IssuancePolicy } from '../../api/issuance-policy.ts';
import type { Issuer } from '../../api/issuer.ts';
import type { KubeObject } from '../../api/meta.ts';
import type { SecretObject } from '../../api/secret.ts';
import { formatZodIssues } from '../../api/zod-issues.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { OwnWrites } from '../../kube/own-writes.ts';
import { Resources } from '../../kube/resources.ts';
import type { PolicyDefault, PolicyObject } from '../../policy/issuance-policy.ts';
import { validateCertificateSpec } from '../../policy/validate-certificate.ts';
import type { IndexedStore, Store } from '../store.ts';
import { desiredCertificate, type DesiredCertificate } from './desired.ts';
import { BY_SECRET, secretIndexValue } from './indexes.ts';
import { secretOwnership, secretWriter, type SecretOwnership } from './secret-ownership.ts';
import { readStoredSecret, type StoredSecret } from './stored-secret.ts';

export interface GatherDeps {
  client: KubeClient;
  certificates: IndexedStore<Certificate>;
  secrets: Store<SecretObject>;
  issuers: Store<Issuer>;
  clusterIssuers: Store<Issuer>;
  policies: Store<IssuancePolicy>;
  namespaces: Store<KubeObject>;
  /** What happens to a Certificate whose issuer no policy governs (--issuance-policy-default). */
  policyDefault: PolicyDefault;
  /**
   * With --shards, a managed Secret may be out of the cache (labelled under another shard count, until relabelled):
   * the Secret of a Certificate issued before is read again on a cache miss before it counts as missing, so it is never
   * issued a second time. One never issued has none to lose: its Secret is created, and a create that finds one there
   * reads it (issuance.ts), so a new Certificate costs no read.
   */
  readSecretOnMiss?: boolean;
}

/** What the issuance policy is decided from. */
export interface PolicyFacts {
  policies: PolicyObject[];
  /** undefined while the namespace is not (yet) in the cache. */
  namespaceLabels: Readonly<Record<string, string>> | undefined;
  default: PolicyDefault;
}

export type CertificateFacts =
  /** The API server checked the schema; these are the rules it cannot express. */
  | { kind: 'invalidSpec'; problems: string[] }
  | {
      kind: 'valid';
      desired: DesiredCertificate;
      secret: SecretObject | undefined;
      ownership: SecretOwnership;
      issuer: Issuer | undefined;
      /** What the Secret holds, when this Certificate may write it. */
      stored: StoredSecret | undefined;
      policy: PolicyFacts;
    };

export type ValidFacts = Extract<CertificateFacts, { kind: 'valid' }>;

export async function gatherCertificate(deps: GatherDeps, cert: Certificate, ownSecrets: OwnWrites<SecretObject>): Promise<CertificateFacts> {
  const ns = cert.metadata.namespace ?? '';
  const name = cert.metadata.name;
  const parsed = CertificateSpec.safeParse(cert.spec);
  const problems = parsed.success ? validateCertificateSpec(parsed.data) : [formatZodIssues(parsed.error)];
  if (!parsed.success || problems.length > 0) return { kind: 'invalidSpec', problems };
  const desired = desiredCertificate(parsed.data);

  let secret = ownSecrets.freshest(ns, desired.secretName, deps.secrets.get(ns, desired.secretName));
  // Only managed Secrets are cached: a foreign one is read again to see whether the user removed or relabelled it.
  const issuedBefore = cert.status?.revision !== undefined;
  if (!secret && ((deps.readSecretOnMiss && issuedBefore) || findCondition(cert.status?.conditions, ConditionType.Ready)?.reason === Reason.SecretConflict)) {
    secret = await deps.client.get<SecretObject>(Resources.secrets, ns, desired.secretName);
  }
  let ownership = secretOwnership(name, secret, isLiveCertificate(deps.certificates, ns));
  if (ownership.kind === 'free') {
    const sameSecret = deps.certificates.byIndex(BY_SECRET, secretIndexValue(ns, desired.secretName)).filter((c) => !c.metadata.deletionTimestamp);
    const refs = sameSecret.map((c) => ({ name: c.metadata.name, secretName: c.spec?.secretName ?? '', creationTimestamp: c.metadata.creationTimestamp }));
    const writer = secretWriter(refs, desired.secretName);
    if (writer && writer !== name) ownership = { kind: 'inUse', by: writer };
  }
  const issuer = desired.issuer.kind === 'ClusterIssuer' ? deps.clusterIssuers.get(undefined, desired.issuer.name) : deps.issuers.get(ns, desired.issuer.name);
  const stored = ownership.kind === 'ours' ? readStoredSecret(secret) : undefined;
  const policy: PolicyFacts = {
    policies: deps.policies.list().map((p) => ({ name: p.metadata.name, spec: p.spec })),
    namespaceLabels: deps.namespaces.get(undefined, ns)?.metadata.labels ?? (deps.namespaces.get(undefined, ns) ? {} : undefined),
    default: deps.policyDefault,
  };
  return { kind: 'valid', desired, secret, ownership, issuer, stored, policy };
}

/** Whether a Certificate of that name exists in the namespace and is not being deleted. */
export function isLiveCertificate(certificates: Store<Certificate>, ns: string): (name: string) => boolean {
  return (name) => {
    const c = certificates.get(ns, name);
    return !!c && !c.metadata.deletionTimestamp;
  };
}
