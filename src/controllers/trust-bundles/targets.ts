// Which ConfigMaps, Secrets and ClusterTrustBundle a TrustBundle should have, which of them already hold its bundle, and the objects
// to apply. Pure: the reconciler does the reads and writes.
import type { KubeObject } from '../../api/meta.ts';
import { TRUST_BUNDLE_ANNOTATION, TRUST_BUNDLE_HASH_ANNOTATION, TRUST_BUNDLE_LABEL, type TrustBundleSpec } from '../../api/trust-bundle.ts';
import { matchesSelector } from '../../trust/selector.ts';

export type TargetKind = 'ConfigMap' | 'Secret' | 'ClusterTrustBundle';
export const TARGET_KINDS: readonly TargetKind[] = ['ConfigMap', 'Secret', 'ClusterTrustBundle'];

export interface TargetObject extends KubeObject {
  type?: string;
  data?: Record<string, string>;
  binaryData?: Record<string, string>;
  /** A ClusterTrustBundle's. */
  spec?: { signerName?: string; trustBundle?: string };
}

/** Truststores written next to the PEM (PKCS#12, JKS), by key. The same for every target of a bundle. */
export type BinaryFormats = Readonly<Record<string, Uint8Array>>;

export interface NamespaceObject extends KubeObject<unknown, { phase?: string }> {}

export interface DesiredTarget {
  kind: TargetKind;
  /** '' for a ClusterTrustBundle. */
  namespace: string;
  /** Targets are named like their bundle; a ClusterTrustBundle with a signer is prefixed with it. */
  name: string;
  /** The PEM's key; '' for a ClusterTrustBundle. */
  key: string;
  /** The bundle's name, when the target is named otherwise. */
  bundle?: string;
  signerName?: string;
}

/** The API's naming rule: with a signer, the name starts with the signer name, '/' replaced by ':', and ':'. */
export function clusterTrustBundleName(bundleName: string, signerName: string | undefined): string {
  return signerName ? `${signerName.replaceAll('/', ':')}:${bundleName}` : bundleName;
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
  const ctb = spec.target.clusterTrustBundle;
  if (ctb) {
    const name = clusterTrustBundleName(bundleName, ctb.signerName);
    out.push({
      kind: 'ClusterTrustBundle',
      namespace: '',
      name,
      key: '',
      ...(name !== bundleName ? { bundle: bundleName } : {}),
      ...(ctb.signerName ? { signerName: ctb.signerName } : {}),
    });
  }
  return out;
}

/** Ours only when both the label and the annotation name this bundle: a copied label alone does not hand it over. */
export function isManagedBy(obj: KubeObject, bundleName: string): boolean {
  return obj.metadata.labels?.[TRUST_BUNDLE_LABEL] === bundleName && obj.metadata.annotations?.[TRUST_BUNDLE_ANNOTATION] === bundleName;
}

/**
 * True when the object holds exactly this bundle (and these truststores) under exactly these keys: writing it again
 * would change nothing. Compares the bytes, so a changed truststore password is written too.
 */
export function holdsBundle(obj: TargetObject, t: DesiredTarget, pem: string, hash: string, formats: BinaryFormats = {}): boolean {
  if (!isManagedBy(obj, t.bundle ?? t.name) || obj.metadata.annotations?.[TRUST_BUNDLE_HASH_ANNOTATION] !== hash) return false;
  const want = targetObject(t, pem, hash, formats);
  if (t.kind === 'ClusterTrustBundle') {
    return obj.spec?.trustBundle === want.spec!.trustBundle && (obj.spec?.signerName ?? '') === (want.spec!.signerName ?? '');
  }
  return sameRecord(obj.data, want.data) && sameRecord(obj.binaryData, want.binaryData);
}

function sameRecord(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {}).sort();
  const kb = Object.keys(b ?? {}).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a![k] === b![k]);
}

/** The server-side apply body: only the fields the operator owns. */
export function targetObject(t: DesiredTarget, pem: string, hash: string, formats: BinaryFormats = {}): TargetObject {
  const bundle = t.bundle ?? t.name;
  const metadata = {
    name: t.name,
    ...(t.kind === 'ClusterTrustBundle' ? {} : { namespace: t.namespace }),
    labels: { [TRUST_BUNDLE_LABEL]: bundle },
    annotations: { [TRUST_BUNDLE_ANNOTATION]: bundle, [TRUST_BUNDLE_HASH_ANNOTATION]: hash },
  };
  // Sorted keys: the same body every time.
  const binary = Object.fromEntries(
    Object.keys(formats)
      .sort()
      .map((k) => [k, Buffer.from(formats[k]!).toString('base64')]),
  );
  switch (t.kind) {
    case 'ConfigMap':
      return { apiVersion: 'v1', kind: 'ConfigMap', metadata, data: { [t.key]: pem }, ...(Object.keys(binary).length ? { binaryData: binary } : {}) };
    case 'Secret':
      return { apiVersion: 'v1', kind: 'Secret', metadata, type: 'Opaque', data: { [t.key]: Buffer.from(pem).toString('base64'), ...binary } };
    case 'ClusterTrustBundle':
      return {
        apiVersion: 'certificates.k8s.io/v1',
        kind: 'ClusterTrustBundle',
        metadata,
        spec: { ...(t.signerName ? { signerName: t.signerName } : {}), trustBundle: pem },
      };
  }
}

/** Managed targets no desired target accounts for: their namespace stopped matching, or the target kind was dropped. */
export function unwantedTargets(kind: TargetKind, existing: readonly TargetObject[], desired: readonly DesiredTarget[]): TargetObject[] {
  const wanted = new Set(desired.filter((d) => d.kind === kind).map((d) => `${d.namespace}/${d.name}`));
  return existing.filter((o) => !wanted.has(`${o.metadata.namespace ?? ''}/${o.metadata.name}`));
}
