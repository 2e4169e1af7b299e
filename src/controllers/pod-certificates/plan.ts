// What to answer a PodCertificateRequest, from the facts gathered: deny it (terminal: the kubelet reports the reason
// on the pod), wait (the CA cannot sign yet: the request stays pending and is looked at again), or issue. Pure.
import type { KeyObject } from 'node:crypto';
import type { IssuerKind } from '../../api/issuer.ts';
import { PcrReason, type PodCertificateRequestSpec } from '../../api/pod-certificate-request.ts';
import type { CaSigner } from '../../signers/ca-signer.ts';
import { evaluateIssuancePolicy, type PolicyDefault, type PolicyObject } from '../../policy/issuance-policy.ts';
import {
  checkPodRequest,
  podCertificateTimes,
  podDnsNames,
  POD_USAGES,
  spiffeId,
  type IssuerRef,
  type PodCertificateSettings,
  type PodCertificateTimes,
  type PodFacts,
} from '../../policy/pod-certificates.ts';
import type { KeySpec } from '../../pki/types.ts';

export interface PodRequestFacts {
  now: Date;
  namespace: string;
  spec: PodCertificateRequestSpec;
  ref: IssuerRef;
  settings: PodCertificateSettings | { problem: string };
  pod: PodFacts | undefined;
  /** The stub CSR's key, or why it cannot be read. */
  csr: { key: KeySpec; publicKey: KeyObject } | { problem: string; unsupportedKey?: boolean };
  policies: readonly PolicyObject[];
  namespaceLabels: Readonly<Record<string, string>> | undefined;
  policyDefault: PolicyDefault;
  /** The signing CA, or why the issuer cannot sign now. */
  signer: CaSigner | { problem: string };
  /** A CA rotation that will need the certificate replaced by then. */
  refreshBy?: Date;
}

export type PodRequestPlan =
  | { kind: 'deny'; reason: string; message: string }
  | { kind: 'wait'; message: string }
  | { kind: 'issue'; publicKey: KeyObject; uri: string; dnsNames: string[]; times: PodCertificateTimes; signer: CaSigner };

export function planPodCertificate(f: PodRequestFacts): PodRequestPlan {
  const issuer = `${f.ref.kind} ${f.ref.name}`;
  if ('problem' in f.settings) return { kind: 'wait', message: `${issuer} cannot sign pod certificates: ${f.settings.problem}` };
  if ('problem' in f.csr)
    return { kind: 'deny', reason: f.csr.unsupportedKey ? PcrReason.unsupportedKeyType : PcrReason.invalidRequest, message: f.csr.problem };
  const refusal = checkPodRequest({ namespace: f.namespace, spec: f.spec, ref: f.ref, settings: f.settings, pod: f.pod, key: f.csr.key });
  if (refusal) return { kind: 'deny', ...refusal };
  if ('problem' in f.signer) return { kind: 'wait', message: `${issuer} cannot sign now: ${f.signer.problem}` };
  const times = podCertificateTimes({
    now: f.now,
    maxExpirationSeconds: f.spec.maxExpirationSeconds,
    settings: f.settings,
    caNotAfter: f.signer.caInfo.notAfter,
    ...(f.refreshBy ? { refreshBy: f.refreshBy } : {}),
  });
  if (!times) {
    return { kind: 'wait', message: `the CA of ${issuer} expires at ${f.signer.caInfo.notAfter.toISOString()}, too soon for a certificate of at least 1h` };
  }
  const uri = spiffeId(f.settings.trustDomain, f.namespace, f.spec.serviceAccountName);
  const dns = podDnsNames(f.spec.unverifiedUserAnnotations);
  const dnsNames = 'names' in dns ? dns.names : [];
  const decision = evaluateIssuancePolicy(
    {
      namespace: f.namespace,
      issuer: { kind: f.ref.kind as IssuerKind, name: f.ref.name },
      dnsNames,
      ipAddresses: [],
      uris: [uri],
      emailAddresses: [],
      isCA: false,
      key: f.csr.key,
      usages: POD_USAGES,
      durationMs: times.notAfter.getTime() - times.notBefore.getTime(),
    },
    f.policies,
    f.namespaceLabels,
    f.policyDefault,
  );
  if (!decision.allowed) return { kind: 'deny', reason: PcrReason.policyDenied, message: `pod certificate ${uri}: ${decision.message}` };
  return { kind: 'issue', publicKey: f.csr.publicKey, uri, dnsNames, times, signer: f.signer };
}
