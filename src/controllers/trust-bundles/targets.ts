// Which ConfigMaps and Secrets a TrustBundle should have, which of them already hold its bundle, and the objects
// to apply. Pure: the reconciler does the reads and writes.
import type { KubeObject } from '../../api/meta.ts';
import {
  TRUST_BUNDLE_ANNOTATION,
  TRUST_BUNDLE_HASH_ANNOTATION,
  TRUST_BUNDLE_LABEL,
  type TrustBundleSpec,
} from '../../api/trust-bundle.ts';
import { matchesSelector } from '../../trust/selector.ts';

export type TargetKind = 'ConfigMap' | 'Secret';

export interface TargetObject extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

export interface NamespaceObject extends KubeObject<unknown, { phase?: string }> {}

export interface DesiredTarget {
  kind: TargetKind;
  namespace: string;
  /** Targets are named like their bundle. */
  name: string;
  key: string;
}

/** Namespaces the selector matches, skipping those being deleted (the API refuses new objects there). */
export function targetNamespaces(spec: TrustBundleSpec, namespaces: readonly NamespaceObject[]): string[] {
  return namespaces
    .filter((ns) => !ns.metadata.deletionTimestamp && ns.status?.phase !== 'Terminating')
    .filter((ns) => matchesSelector(ns.metadata.labels, spec.target.namespaceSelector))
    .map((ns) => ns.metadata.name)
    .sort();
}

export function desiredTargets(bundleName: string, spec: TrustBundleSpec, namespaces: readonly string[]): DesiredTarget[] {
  const out: DesiredTarget[] = [];
  for (const namespace of namespaces) {
    if (spec.target.configMap) out.push({ kind: 'ConfigMap', namespace, name: bundleName, key: spec.target.configMap.key });
    if (spec.target.secret) out.push({ kind: 'Secret', namespace, name: bundleName, key: spec.target.secret.key });
  }
  return out;
}

/** Ours only when both the label and the annotation name this bundle: a copied label alone does not hand it over. */
export function isManagedBy(obj: KubeObject, bundleName: string): boolean {
  return obj.metadata.labels?.[TRUST_BUNDLE_LABEL] === bundleName && obj.metadata.annotations?.[TRUST_BUNDLE_ANNOTATION] === bundleName;
}

/** True when the object holds exactly this bundle under exactly this key: writing it again would change nothing. */
export function holdsBundle(obj: TargetObject, t: DesiredTarget, pem: string, hash: string): boolean {
  if (!isManagedBy(obj, t.name) || obj.metadata.annotations?.[TRUST_BUNDLE_HASH_ANNOTATION] !== hash) return false;
  const keys = Object.keys(obj.data ?? {});
  if (keys.length !== 1 || keys[0] !== t.key) return false;
  const value = obj.data![t.key]!;
  return t.kind === 'Secret' ? value === Buffer.from(pem).toString('base64') : value === pem;
}

/** The server-side apply body: only the fields the operator owns. */
export function targetObject(t: DesiredTarget, pem: string, hash: string): TargetObject {
  const metadata = {
    name: t.name,
    namespace: t.namespace,
    labels: { [TRUST_BUNDLE_LABEL]: t.name },
    annotations: { [TRUST_BUNDLE_ANNOTATION]: t.name, [TRUST_BUNDLE_HASH_ANNOTATION]: hash },
  };
  return t.kind === 'ConfigMap'
    ? { apiVersion: 'v1', kind: 'ConfigMap', metadata, data: { [t.key]: pem } }
    : { apiVersion: 'v1', kind: 'Secret', metadata, type: 'Opaque', data: { [t.key]: Buffer.from(pem).toString('base64') } };
}

/** Managed targets no desired target accounts for: their namespace stopped matching, or the target kind was dropped. */
export function unwantedTargets(kind: TargetKind, existing: readonly TargetObject[], desired: readonly DesiredTarget[]): TargetObject[] {
  const wanted = new Set(desired.filter((d) => d.kind === kind).map((d) => `${d.namespace}/${d.name}`));
  return existing.filter((o) => !wanted.has(`${o.metadata.namespace}/${o.metadata.name}`));
}
