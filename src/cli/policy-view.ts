// What the issuance policy says about a Certificate, for `certsmith status`: the same pure decision the operator
// makes, from the IssuancePolicies and the namespace's labels read now.
import { CertificateSpec, type Certificate } from '../api/certificate.ts';
import { desiredCertificate } from '../controllers/certificates/desired.ts';
import { policyRequest } from '../controllers/certificates/plan.ts';
import { evaluateIssuancePolicy, type PolicyObject } from '../policy/issuance-policy.ts';

export type PolicyView =
  | { decision: 'allowed'; by: string }
  | { decision: 'denied'; message: string }
  /** No policy governs the issuer: the operator's --issuance-policy-default decides. */
  | { decision: 'ungoverned' }
  | { decision: 'unknown'; why: string };

export function buildPolicyView(cert: Certificate, policies: readonly PolicyObject[], namespaceLabels: Readonly<Record<string, string>>): PolicyView {
  const parsed = CertificateSpec.safeParse(cert.spec);
  if (!parsed.success) return { decision: 'unknown', why: 'the spec is invalid' };
  let desired: ReturnType<typeof desiredCertificate>;
  try {
    desired = desiredCertificate(parsed.data);
  } catch (err) {
    return { decision: 'unknown', why: (err as Error).message };
  }
  // Ask with the default Deny: an issuer no policy governs is then told apart from one a policy allows.
  const decision = evaluateIssuancePolicy(policyRequest(cert, desired), policies, namespaceLabels, 'Deny');
  if (decision.allowed) return { decision: 'allowed', by: decision.by! };
  if (decision.by === undefined && decision.message.startsWith('no IssuancePolicy governs')) return { decision: 'ungoverned' };
  return { decision: 'denied', message: decision.message };
}

export function formatPolicy(v: PolicyView): string {
  switch (v.decision) {
    case 'allowed':
      return `allowed by IssuancePolicy ${v.by}`;
    case 'denied':
      return `denied: ${v.message}`;
    case 'ungoverned':
      return "no IssuancePolicy governs the issuer (the operator's --issuance-policy-default decides)";
    case 'unknown':
      return `unknown: ${v.why}`;
  }
}
