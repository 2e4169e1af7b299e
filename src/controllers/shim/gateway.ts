// Which Certificates an annotated Gateway asks for. Pure.
//
// A listener needs one when the Gateway terminates TLS on it (protocol HTTPS or TLS, tls.mode Terminate, the
// default) for a hostname, into the core Secret its first certificateRef names in the Gateway's namespace.
// Listeners naming the same Secret share one Certificate holding all their hostnames (as cert-manager does): one
// Secret can only hold one certificate. A listener that asks for TLS termination but cannot get a certificate is
// a problem to report; one that does not terminate TLS (HTTP, Passthrough, TCP, ...) is simply not ours.
//
// Each Certificate carries the Gateway's name as its HTTP-01 routing hint: the CA's request for its names comes
// through that Gateway, so the challenge route goes there too (a temporary HTTPRoute on its HTTP listener).
import type { CertificateSpec } from '../../api/certificate.ts';
import { GATEWAY_HTTP01_ANNOTATION, type GatewayListener, type GatewayObject } from '../../api/gateway-api.ts';
import { validateCertificateSpec } from '../../policy/validate-certificate.ts';
import { certificateSpecFromAnnotations, FIELD_ANNOTATIONS, type AnnotationOptions } from './annotations.ts';
import type { DesiredShimCertificate, ShimPlan } from './sync.ts';
import { compareStrings } from '../../ordering.ts';

export interface GatewayTlsTarget {
  secretName: string;
  /** Sorted, without duplicates. */
  dnsNames: string[];
  /** The listeners served by this Secret, in the Gateway's order. */
  listeners: string[];
}

export interface ListenerProblem {
  listener: string;
  message: string;
}

export interface GatewayTlsPlan {
  /** Sorted by Secret name. */
  targets: GatewayTlsTarget[];
  problems: ListenerProblem[];
}

const TLS_PROTOCOLS = new Set(['HTTPS', 'TLS']);

/** Whether the Gateway terminates TLS on this listener, so a certificate belongs there. */
function terminatesTls(l: GatewayListener): boolean {
  return TLS_PROTOCOLS.has(l.protocol) && (l.tls?.mode ?? 'Terminate') === 'Terminate';
}

/** The Secret a terminating listener serves from, or why it has none the operator may write. */
function secretOf(l: GatewayListener, namespace: string): { secretName: string } | { problem: string } {
  const ref = l.tls?.certificateRefs?.[0];
  if (!ref) return { problem: 'has no tls.certificateRefs: name the Secret the certificate should go to' };
  const group = ref.group ?? '';
  const kind = ref.kind ?? 'Secret';
  if ((group !== '' && group !== 'core') || kind !== 'Secret') {
    return { problem: `refers to ${kind}${group ? ` (group ${group})` : ''} ${ref.name}: only a core Secret can receive a certificate` };
  }
  if (ref.namespace && ref.namespace !== namespace) {
    return {
      problem: `refers to the Secret ${ref.namespace}/${ref.name} in another namespace: a certificate is only written to the Gateway's namespace (${namespace})`,
    };
  }
  return { secretName: ref.name };
}

export function gatewayTlsPlan(gateway: GatewayObject): GatewayTlsPlan {
  const namespace = gateway.metadata.namespace ?? '';
  const bySecret = new Map<string, { hosts: Set<string>; listeners: string[] }>();
  const problems: ListenerProblem[] = [];
  for (const l of gateway.spec?.listeners ?? []) {
    if (!terminatesTls(l)) continue;
    const secret = secretOf(l, namespace);
    if ('problem' in secret) {
      problems.push({ listener: l.name, message: `listener ${l.name} ${secret.problem}` });
      continue;
    }
    if (!l.hostname) {
      problems.push({ listener: l.name, message: `listener ${l.name} has no hostname: a certificate needs the name it is for` });
      continue;
    }
    const entry = bySecret.get(secret.secretName) ?? { hosts: new Set<string>(), listeners: [] };
    entry.hosts.add(l.hostname.toLowerCase());
    entry.listeners.push(l.name);
    bySecret.set(secret.secretName, entry);
  }
  const targets = [...bySecret]
    .sort(([a], [b]) => compareStrings(a, b))
    .map(([secretName, e]) => ({ secretName, dnsNames: [...e.hosts].sort(), listeners: e.listeners }));
  return { targets, problems };
}

export type GatewayPlan = ShimPlan;

export function planGateway(gateway: GatewayObject, opts: AnnotationOptions): GatewayPlan {
  const asked = certificateSpecFromAnnotations(gateway.metadata.annotations, opts);
  if (asked.kind !== 'annotated') return asked;
  const { targets, problems: listenerProblems } = gatewayTlsPlan(gateway);
  const problems = listenerProblems.map((p) => `${p.message}; no Certificate was made for it`);
  if (asked.http01EditInPlace) {
    problems.push(
      `${FIELD_ANNOTATIONS.http01EditInPlace} has no meaning on a Gateway (HTTP-01 goes through a temporary HTTPRoute on its HTTP listener): ignored`,
    );
  }
  const certificates: DesiredShimCertificate[] = [];
  for (const t of targets) {
    const spec: CertificateSpec = { secretName: t.secretName, issuerRef: { ...asked.issuerRef }, dnsNames: t.dnsNames, ...asked.fields };
    // The Certificate is named after the Secret, so a name the API server would refuse is told here.
    const nameProblem = validateCertificateSpec(spec).find((p) => p.startsWith('secretName'));
    if (nameProblem) {
      problems.push(`listener ${t.listeners.join(', ')}: ${nameProblem}; no Certificate was made for it`);
      continue;
    }
    certificates.push({ name: t.secretName, spec, annotations: { [GATEWAY_HTTP01_ANNOTATION]: gateway.metadata.name } });
  }
  return { kind: 'planned', certificates, problems };
}
