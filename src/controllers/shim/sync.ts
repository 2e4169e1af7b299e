// The Certificates an annotated object (an Ingress, a Gateway) asks for, and the rules that keep the shim to its
// own: what it applies (only the fields it owns), when a Certificate already says that, and whose a Certificate
// is. A same-named Certificate it does not own is never touched — that is a conflict to report. Pure.
//
// Ownership is the controller ownerReference (so deleting the owner garbage-collects its Certificates); the owner
// labels only help people and selectors find them. The Secrets stay: nothing owns them but their Certificate's name.
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Certificate, CertificateSpec } from '../../api/certificate.ts';
import { SHIM_OWNER_KIND_LABEL, SHIM_OWNER_NAME_LABEL } from '../../api/labels.ts';
import { API_VERSION, type OwnerReference } from '../../api/meta.ts';

/** The object the Certificates are made for. */
export interface ShimOwner {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid: string;
}

/** What an owner's annotations ask for (planIngress, planGateway). */
export type ShimPlan =
  | { kind: 'notAnnotated' }
  /** The annotations are wrong: nothing is created, changed or deleted until they are fixed. */
  | { kind: 'invalid'; problems: string[] }
  | { kind: 'planned'; certificates: DesiredShimCertificate[]; problems: string[] };

export interface DesiredShimCertificate {
  /** The Certificate's name: the TLS entry's secretName, as cert-manager names it. */
  name: string;
  spec: CertificateSpec;
  /** certsmith.dev/ annotations (HTTP-01 routing hints); others on the Certificate are left alone. */
  annotations?: Record<string, string>;
}

const OWN_ANNOTATION_PREFIX = 'certsmith.dev/';
const LABEL_VALUE = /^[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** A label value naming the owner: its name, or for a name a label cannot hold, a shortened name and a hash. */
export function ownerLabelValue(name: string): string {
  if (LABEL_VALUE.test(name)) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 10);
  const head = name
    .slice(0, 52)
    .replace(/[^-A-Za-z0-9_.]/g, '-')
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '');
  return head ? `${head}-${hash}` : hash;
}

export function controllerOf(cert: Certificate): OwnerReference | undefined {
  return cert.metadata.ownerReferences?.find((r) => r.controller === true);
}

export function isOwnedBy(cert: Certificate, owner: Pick<ShimOwner, 'uid'>): boolean {
  return controllerOf(cert)?.uid === owner.uid;
}

/** The Certificate as the shim wants it: only the fields it owns, for server-side apply. */
export function shimCertificate(owner: ShimOwner, desired: DesiredShimCertificate): Certificate {
  return {
    apiVersion: API_VERSION,
    kind: 'Certificate',
    metadata: {
      name: desired.name,
      namespace: owner.namespace,
      labels: { [SHIM_OWNER_KIND_LABEL]: owner.kind, [SHIM_OWNER_NAME_LABEL]: ownerLabelValue(owner.name) },
      ...(desired.annotations && Object.keys(desired.annotations).length > 0 ? { annotations: { ...desired.annotations } } : {}),
      ownerReferences: [{ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: true }],
    },
    spec: desired.spec,
  };
}

/** Whether the current Certificate already says what the shim would apply (other managers' fields aside). */
export function isUpToDate(current: Certificate, wanted: Certificate): boolean {
  const ownAnnotations = (c: Certificate) =>
    Object.fromEntries(Object.entries(c.metadata.annotations ?? {}).filter(([k]) => k.startsWith(OWN_ANNOTATION_PREFIX)));
  const ownLabels = (c: Certificate) => [SHIM_OWNER_KIND_LABEL, SHIM_OWNER_NAME_LABEL].map((k) => c.metadata.labels?.[k]);
  return (
    isDeepStrictEqual(withoutUndefined(current.spec), withoutUndefined(wanted.spec)) &&
    isDeepStrictEqual(ownAnnotations(current), ownAnnotations(wanted)) &&
    isDeepStrictEqual(ownLabels(current), ownLabels(wanted))
  );
}

function withoutUndefined(v: unknown): unknown {
  return JSON.parse(JSON.stringify(v ?? {}));
}

export function conflictMessage(owner: ShimOwner, cert: Certificate): string {
  const ctl = controllerOf(cert);
  const held = ctl ? `it is controlled by ${ctl.kind} ${ctl.name}` : 'it has no controller';
  return `Certificate ${cert.metadata.name} already exists and is not owned by ${owner.kind} ${owner.name} (${held}): left alone; give the TLS entry another secretName, or delete that Certificate to let ${owner.kind} ${owner.name} manage it`;
}
