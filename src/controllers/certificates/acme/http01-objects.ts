// The Kubernetes objects that route a CA's HTTP-01 request through an ingress controller to the operator. Pure.
//
// In the Certificate's namespace: a Service without a selector and an EndpointSlice listing the operator's pods
// (a Service cannot select pods in another namespace), kept for later challenges; and per challenge either a
// temporary Ingress or one path added to an Ingress of the user's.
import { createHash } from 'node:crypto';
import { GATEWAY_HTTP01_ANNOTATION } from '../../../api/gateway-api.ts';
import type { AcmeSolver } from '../../../api/issuer.ts';
import {
  ACME_HTTP01_EDIT_IN_PLACE_ANNOTATION,
  ACME_HTTP01_INGRESS_CLASS_ANNOTATION,
  CERTIFICATE_NAME_LABEL,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
} from '../../../api/labels.ts';
import type { KubeObject, OwnerReference } from '../../../api/meta.ts';
import { compareStrings } from '../../../ordering.ts';

export const SOLVER_SERVICE_NAME = 'certsmith-acme-solver';
export const SOLVER_SERVICE_PORT = 8089;
export const HTTP01_SOLVER_LABEL = 'certsmith.dev/acme-http01-solver';
const CHALLENGE_PATH = '/.well-known/acme-challenge/';

export interface SolverEndpoint {
  address: string;
  ready: boolean;
}

export interface ServiceObject extends KubeObject {
  spec?: { type?: string; selector?: Record<string, string>; ports?: { name?: string; port: number; targetPort?: number | string; protocol?: string }[] };
}

export interface EndpointSliceObject extends KubeObject {
  addressType: string;
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[];
  ports?: { name?: string; port?: number; protocol?: string }[];
}

export interface IngressPath {
  path?: string;
  pathType: string;
  backend: { service?: { name: string; port: { number?: number; name?: string } } };
}

export interface IngressRule {
  host?: string;
  http?: { paths: IngressPath[] };
}

export interface IngressObject extends KubeObject {
  spec?: { ingressClassName?: string; rules?: IngressRule[]; tls?: unknown[]; defaultBackend?: unknown };
}

const managedLabels = { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE };

export function solverService(namespace: string, targetPort: number): ServiceObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: SOLVER_SERVICE_NAME, namespace, labels: managedLabels },
    spec: { type: 'ClusterIP', ports: [{ name: 'http', port: SOLVER_SERVICE_PORT, targetPort, protocol: 'TCP' }] },
  };
}

/** The operator's pods as endpoints of the solver Service; sorted, so an unchanged set compares equal. */
export function solverEndpointSlice(namespace: string, port: number, endpoints: readonly SolverEndpoint[]): EndpointSliceObject {
  const sorted = [...endpoints].sort((a, b) => compareStrings(a.address, b.address));
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: SOLVER_SERVICE_NAME,
      namespace,
      labels: { ...managedLabels, 'kubernetes.io/service-name': SOLVER_SERVICE_NAME, 'endpointslice.kubernetes.io/managed-by': 'certsmith.dev' },
    },
    addressType: 'IPv4',
    ports: [{ name: 'http', port, protocol: 'TCP' }],
    endpoints: sorted.map((e) => ({ addresses: [e.address], conditions: { ready: e.ready } })),
  };
}

/** Ready IPv4 endpoints of the operator's own solver Service, from its EndpointSlices. */
export function endpointsOf(slices: readonly EndpointSliceObject[]): SolverEndpoint[] {
  const seen = new Map<string, boolean>();
  for (const s of slices) {
    if (s.addressType !== 'IPv4') continue;
    for (const e of s.endpoints ?? []) for (const a of e.addresses) seen.set(a, (seen.get(a) ?? false) || e.conditions?.ready !== false);
  }
  return [...seen].map(([address, ready]) => ({ address, ready }));
}

export function challengePath(token: string): string {
  return `${CHALLENGE_PATH}${token}`;
}

function solverPath(token: string): IngressPath {
  return { path: challengePath(token), pathType: 'Exact', backend: { service: { name: SOLVER_SERVICE_NAME, port: { number: SOLVER_SERVICE_PORT } } } };
}

/** Ingress hosts are DNS names: an IP identifier routes by path alone. */
function hostOf(identifier: string): string | undefined {
  return /^[\d.]+$|:/.test(identifier) ? undefined : identifier;
}

export function temporaryIngressName(certificateName: string, token: string): string {
  const suffix = createHash('sha256').update(token).digest('hex').slice(0, 10);
  return `${certificateName.slice(0, 253 - 24)}-http01-${suffix}`;
}

export function temporaryIngress(opts: {
  namespace: string;
  certificateName: string;
  owner: OwnerReference;
  identifier: string;
  token: string;
  ingressClassName?: string | undefined;
}): IngressObject {
  const host = hostOf(opts.identifier);
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: temporaryIngressName(opts.certificateName, opts.token),
      namespace: opts.namespace,
      labels: { ...managedLabels, [CERTIFICATE_NAME_LABEL]: opts.certificateName, [HTTP01_SOLVER_LABEL]: 'true' },
      ownerReferences: [opts.owner],
    },
    spec: {
      ...(opts.ingressClassName ? { ingressClassName: opts.ingressClassName } : {}),
      rules: [{ ...(host ? { host } : {}), http: { paths: [solverPath(opts.token)] } }],
    },
  };
}

/** The user's Ingress with the challenge path added to the rule for the name (a rule of its own if it has none). */
export function withChallengePath(ingress: IngressObject, identifier: string, token: string): IngressObject {
  const host = hostOf(identifier);
  const rules = [...(ingress.spec?.rules ?? [])];
  const i = rules.findIndex((r) => r.host === host);
  const path = solverPath(token);
  if (i < 0) {
    rules.push({ ...(host ? { host } : {}), http: { paths: [path] } });
  } else {
    const paths = rules[i]!.http?.paths ?? [];
    if (paths.some((p) => p.path === path.path)) return ingress;
    // First, so it wins over a catch-all prefix the user routes elsewhere.
    rules[i] = { ...rules[i]!, http: { paths: [path, ...paths] } };
  }
  return { ...ingress, spec: { ...ingress.spec, rules } };
}

/** The user's Ingress without the challenge path, and without a rule that held nothing else. */
export function withoutChallengePath(ingress: IngressObject, token: string): IngressObject {
  const target = challengePath(token);
  const rules = (ingress.spec?.rules ?? [])
    .map((r) => (r.http ? { ...r, http: { paths: r.http.paths.filter((p) => p.path !== target) } } : r))
    .filter((r, i) => !(r.http && r.http.paths.length === 0 && (ingress.spec?.rules?.[i]?.http?.paths.length ?? 0) > 0));
  return { ...ingress, spec: { ...ingress.spec, rules } };
}

const ROUTING_HINTS = [ACME_HTTP01_INGRESS_CLASS_ANNOTATION, ACME_HTTP01_EDIT_IN_PLACE_ANNOTATION, GATEWAY_HTTP01_ANNOTATION];

/**
 * Whether the CA's HTTP-01 request must be routed to the operator through the cluster: the issuer asks for it
 * (http01.ingress), or the Certificate was made for an Ingress or Gateway, which serves its names.
 */
export function needsHttp01Route(certificateAnnotations: Readonly<Record<string, string>> | undefined, solver: AcmeSolver['http01']): boolean {
  return !!solver?.ingress || ROUTING_HINTS.some((k) => !!certificateAnnotations?.[k]);
}

/**
 * Where the challenge path goes: into an existing Ingress (editInPlace), or a temporary Ingress of a class. The
 * hints a shim put on the Certificate win over the issuer's http01.ingress: they say how the names are served.
 */
export function ingressRouteOf(
  certificateAnnotations: Readonly<Record<string, string>> | undefined,
  solver: AcmeSolver['http01'],
): { editInPlace?: string; ingressClassName?: string } {
  const editInPlace = certificateAnnotations?.[ACME_HTTP01_EDIT_IN_PLACE_ANNOTATION];
  if (editInPlace) return { editInPlace };
  const ingressClassName = certificateAnnotations?.[ACME_HTTP01_INGRESS_CLASS_ANNOTATION];
  if (ingressClassName) return { ingressClassName };
  return {
    ...(solver?.ingress?.name ? { editInPlace: solver.ingress.name } : {}),
    ...(solver?.ingress?.ingressClassName ? { ingressClassName: solver.ingress.ingressClassName } : {}),
  };
}
