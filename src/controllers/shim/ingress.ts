// What an annotated Ingress asks for: one Certificate per spec.tls[] entry, named after its secretName, for its
// hosts. Pure: entries that cannot become a Certificate are returned as problems, the others still go ahead.
import { isIP } from 'node:net';
import type { CertificateSpec } from '../../api/certificate.ts';
import type { Issuer } from '../../api/issuer.ts';
import { ACME_HTTP01_EDIT_IN_PLACE_ANNOTATION, ACME_HTTP01_INGRESS_CLASS_ANNOTATION } from '../../api/labels.ts';
import type { KubeObject } from '../../api/meta.ts';
import { chooseSolver } from '../../acme/solver-selection.ts';
import { validateCertificateSpec } from '../../policy/validate-certificate.ts';
import { certificateSpecFromAnnotations, type AnnotationOptions } from './annotations.ts';
import { shimCertificate, type DesiredShimCertificate, type ShimOwner, type ShimPlan } from './sync.ts';

export interface IngressTls {
  hosts?: string[];
  secretName?: string;
}

export interface Ingress extends KubeObject {
  spec?: { ingressClassName?: string; tls?: IngressTls[] };
}

/** The legacy class annotation, still what many ingress controllers and charts set. */
export const INGRESS_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';

export type IngressPlan = ShimPlan;

export function planIngress(ingress: Ingress, opts: AnnotationOptions): IngressPlan {
  const annotations = ingress.metadata.annotations ?? {};
  const asked = certificateSpecFromAnnotations(annotations, opts);
  if (asked.kind !== 'annotated') return asked;

  const hints: Record<string, string> = {};
  const ingressClass = ingress.spec?.ingressClassName ?? annotations[INGRESS_CLASS_ANNOTATION];
  if (ingressClass) hints[ACME_HTTP01_INGRESS_CLASS_ANNOTATION] = ingressClass;
  if (asked.http01EditInPlace) hints[ACME_HTTP01_EDIT_IN_PLACE_ANNOTATION] = ingress.metadata.name;

  const certificates: DesiredShimCertificate[] = [];
  const problems: string[] = [];
  const firstUse = new Map<string, number>();
  (ingress.spec?.tls ?? []).forEach((entry, i) => {
    const where = `spec.tls[${i}]`;
    const hosts = [...new Set((entry.hosts ?? []).map((h) => h.trim()).filter(Boolean))];
    const secretName = entry.secretName?.trim();
    if (!secretName) {
      problems.push(
        `${where} has no secretName${hosts.length ? ` (hosts ${hosts.join(', ')})` : ''}: name the Secret the certificate goes into; no Certificate was made for it`,
      );
      return;
    }
    const earlier = firstUse.get(secretName);
    if (earlier !== undefined) {
      problems.push(
        `${where}.secretName "${secretName}" is also used by spec.tls[${earlier}]: one Certificate writes one Secret; give each entry its own secretName`,
      );
      return;
    }
    firstUse.set(secretName, i);
    if (hosts.length === 0) {
      problems.push(`${where} (secretName ${secretName}) lists no hosts: add the names the certificate is for; no Certificate was made for it`);
      return;
    }
    const dnsNames = hosts.filter((h) => isIP(h) === 0);
    const ipAddresses = hosts.filter((h) => isIP(h) !== 0);
    const spec: CertificateSpec = {
      secretName,
      issuerRef: { ...asked.issuerRef },
      ...(dnsNames.length ? { dnsNames } : {}),
      ...(ipAddresses.length ? { ipAddresses } : {}),
      ...asked.fields,
    };
    // The Certificate is named after the Secret, so a name the API server would refuse is told here.
    const nameProblem = validateCertificateSpec(spec).find((p) => p.startsWith('secretName'));
    if (nameProblem) {
      problems.push(`${where}: ${nameProblem}; no Certificate was made for it`);
      return;
    }
    certificates.push({ name: secretName, spec, ...(Object.keys(hints).length ? { annotations: { ...hints } } : {}) });
  });
  return { kind: 'planned', certificates, problems };
}

/**
 * What is wrong with the issuer the Certificates name, told on the Ingress too, since that is where the user looks:
 * a missing issuer, and names the ACME issuer has no solver for (a wildcard with only HTTP-01).
 */
export function issuerProblems(
  owner: ShimOwner,
  certificates: readonly DesiredShimCertificate[],
  issuer: Issuer | undefined,
): { reason: 'IssuerNotFound' | 'NoSolver'; message: string }[] {
  const ref = certificates[0]?.spec.issuerRef;
  if (!ref) return [];
  if (!issuer) return [{ reason: 'IssuerNotFound', message: `${ref.kind ?? 'Issuer'} ${ref.name} does not exist: its Certificates wait for it` }];
  const solvers = issuer.spec?.acme?.solvers;
  if (!solvers) return [];
  const out: { reason: 'NoSolver'; message: string }[] = [];
  for (const c of certificates) {
    const labels = shimCertificate(owner, c).metadata.labels ?? {};
    for (const name of c.spec.dnsNames ?? []) {
      const choice = chooseSolver({ type: 'dns', value: name }, solvers, labels);
      if (!choice.ok) out.push({ reason: 'NoSolver', message: `Certificate ${c.name}: ${choice.message}` });
    }
  }
  return out;
}
