// Pod certificates as pure decisions: which issuer serves a signer name, whether a PodCertificateRequest is granted,
// what its certificate says and when the kubelet refreshes it. Nothing here reads or writes; time is passed in.
//
// Signer names: a ClusterIssuer serves spec.ca.podCertificates.signerName (default certsmith.dev/<name>); an Issuer
// serves certsmith.dev/ns.<namespace>.<name> and only pods of its own namespace, so a tenant's issuer never signs
// for another namespace and never takes a name a ClusterIssuer could hold (those may not start with ns.).
import type { Issuer, IssuerKind, ManagedCa, PodCertificates, PodKeyType } from '../api/issuer.ts';
import { POD_KEY_TYPES } from '../api/issuer.ts';
import { POD_DNS_NAMES_ANNOTATION, PcrReason, type PodCertificateRequestSpec } from '../api/pod-certificate-request.ts';
import { compareStrings } from '../ordering.ts';
import { rotationTime } from './ca-rotation.ts';
import type { KeySpec, KeyUsageName } from '../pki/types.ts';
import { parseDuration } from '../time/duration.ts';
import { dnsNameProblem } from './names.ts';

export const SIGNER_DOMAIN = 'certsmith.dev';
const NAMESPACED_PREFIX = `${SIGNER_DOMAIN}/ns.`;
export const DEFAULT_POD_MAX_DURATION = '24h';
export const DEFAULT_REFRESH_BEFORE_PERCENTAGE = 33;
export const DEFAULT_TRUST_DOMAIN = 'cluster.local';
/** kube-apiserver's bounds: a lifetime of at least 1h; beginRefreshAt 10 min inside both ends. */
export const MIN_POD_LIFETIME_MS = 60 * 60_000;
export const REFRESH_MARGIN_MS = 10 * 60_000;
/** notBefore is set this far back: nodes' clocks drift (kube-apiserver allows up to 5 min). */
export const BACKDATE_MS = 2 * 60_000;
/** Bounds on what a pod's author passes through userAnnotations. */
export const MAX_POD_DNS_NAMES = 16;
export const POD_USAGES: readonly KeyUsageName[] = ['digital signature', 'server auth', 'client auth'];

export interface IssuerRef {
  kind: IssuerKind;
  name: string;
  /** Set for an Issuer. */
  namespace?: string;
}

/** The signer name an issuer serves, or undefined when it does not sign pod certificates. */
export function signerNameOf(kind: IssuerKind, issuer: Issuer): string | undefined {
  const pc = issuer.spec?.ca?.podCertificates;
  if (!pc) return undefined;
  if (kind === 'Issuer') return `${NAMESPACED_PREFIX}${issuer.metadata.namespace}.${issuer.metadata.name}`;
  return pc.signerName ?? `${SIGNER_DOMAIN}/${issuer.metadata.name}`;
}

/** Why a ClusterIssuer may not serve the signer name it asks for, or undefined. */
export function clusterSignerNameProblem(signerName: string): string | undefined {
  if (signerName.startsWith(NAMESPACED_PREFIX)) return `signer names starting with ${NAMESPACED_PREFIX} belong to namespaced Issuers`;
  const domain = signerName.split('/')[0] ?? '';
  if (domain === 'kubernetes.io' || domain.endsWith('.kubernetes.io')) return 'signer names under kubernetes.io are reserved for Kubernetes';
  return undefined;
}

export interface SignerEntry {
  ref: IssuerRef;
  issuer: Issuer;
}

export interface SignerIndex {
  bySigner: ReadonlyMap<string, SignerEntry>;
  /** Issuers that asked for a signer name they cannot have, with why. */
  refused: readonly { ref: IssuerRef; signerName: string; message: string }[];
}

/**
 * Which issuer serves each signer name. Two ClusterIssuers asking for one name: the older one serves it (then the
 * name), so the answer does not depend on the order the cache lists them in.
 */
export function buildSignerIndex(clusterIssuers: readonly Issuer[], issuers: readonly Issuer[]): SignerIndex {
  const bySigner = new Map<string, SignerEntry>();
  const refused: { ref: IssuerRef; signerName: string; message: string }[] = [];
  const live = (i: Issuer) => !i.metadata.deletionTimestamp;
  const byAge = (a: Issuer, b: Issuer) =>
    compareStrings(a.metadata.creationTimestamp ?? '', b.metadata.creationTimestamp ?? '') || compareStrings(a.metadata.name, b.metadata.name);
  for (const issuer of [...clusterIssuers].filter(live).sort(byAge)) {
    const signerName = signerNameOf('ClusterIssuer', issuer);
    if (!signerName) continue;
    const ref: IssuerRef = { kind: 'ClusterIssuer', name: issuer.metadata.name };
    const problem = clusterSignerNameProblem(signerName);
    const holder = bySigner.get(signerName);
    if (problem) refused.push({ ref, signerName, message: problem });
    else if (holder) refused.push({ ref, signerName, message: `ClusterIssuer ${holder.ref.name} already serves ${signerName}` });
    else bySigner.set(signerName, { ref, issuer });
  }
  for (const issuer of issuers.filter(live)) {
    const signerName = signerNameOf('Issuer', issuer);
    if (signerName) bySigner.set(signerName, { ref: { kind: 'Issuer', name: issuer.metadata.name, namespace: issuer.metadata.namespace ?? '' }, issuer });
  }
  return { bySigner, refused };
}

/** The issuer's podCertificates settings with defaults, checked: a bad duration is a message. */
export interface PodCertificateSettings {
  maxDurationMs: number;
  refreshBeforePercentage: number;
  trustDomain: string;
  keyTypes: readonly PodKeyType[];
}

export function podCertificateSettings(pc: PodCertificates): PodCertificateSettings | { problem: string } {
  let maxDurationMs: number;
  try {
    maxDurationMs = parseDuration(pc.maxDuration ?? DEFAULT_POD_MAX_DURATION);
  } catch (err) {
    return { problem: `ca.podCertificates.maxDuration: ${(err as Error).message}` };
  }
  if (maxDurationMs < MIN_POD_LIFETIME_MS) return { problem: 'ca.podCertificates.maxDuration must be at least 1h (the shortest lifetime Kubernetes accepts)' };
  return {
    maxDurationMs,
    refreshBeforePercentage: pc.refreshBeforePercentage ?? DEFAULT_REFRESH_BEFORE_PERCENTAGE,
    trustDomain: pc.trustDomain ?? DEFAULT_TRUST_DOMAIN,
    keyTypes: pc.keyTypes ?? POD_KEY_TYPES,
  };
}

/**
 * The longest a pod certificate of this issuer can live (its maxDuration), how long one signed before a restart can
 * still be in use; 0 when the issuer does not sign for pods (or its setting is unreadable: then it signs none).
 */
export function podCertificateLifetimeBound(issuer: Issuer): number {
  const pc = issuer.spec?.ca?.podCertificates;
  const settings = pc ? podCertificateSettings(pc) : undefined;
  return settings && !('problem' in settings) ? settings.maxDurationMs : 0;
}

/** The kubelet's name for a key, or undefined for one it never generates (RSA 2048, say). */
export function podKeyTypeOf(key: KeySpec): PodKeyType | undefined {
  if (key.algorithm === 'Ed25519') return 'ED25519';
  if (key.algorithm === 'ECDSA') return `ECDSAP${key.size}` as PodKeyType satisfies string;
  if (key.algorithm === 'RSA' && (key.size === 3072 || key.size === 4096)) return `RSA${key.size}`;
  return undefined;
}

/** What the pod is, as read from the API (undefined: no such pod). */
export interface PodFacts {
  uid: string;
  nodeName?: string;
  serviceAccountName?: string;
}

export type Refusal = { reason: string; message: string };

/**
 * Whether the request may be signed at all, before policy: the issuer serves the namespace, the pod is the one named
 * (same UID, on that node, as that service account), the key type is taken and the userAnnotations are understood.
 */
export function checkPodRequest(o: {
  namespace: string;
  spec: PodCertificateRequestSpec;
  ref: IssuerRef;
  settings: PodCertificateSettings;
  pod: PodFacts | undefined;
  key: KeySpec;
}): Refusal | undefined {
  const { spec, ref, pod } = o;
  if (ref.kind === 'Issuer' && ref.namespace !== o.namespace) {
    return {
      reason: PcrReason.namespaceNotServed,
      message: `${spec.signerName} is Issuer ${ref.namespace}/${ref.name}'s signer: it signs only for pods in ${ref.namespace}`,
    };
  }
  const who = `pod ${o.namespace}/${spec.podName}`;
  if (!pod) return { reason: PcrReason.podMismatch, message: `${who} does not exist` };
  if (pod.uid !== spec.podUID) return { reason: PcrReason.podMismatch, message: `${who} has UID ${pod.uid}, not ${spec.podUID}` };
  if (pod.nodeName !== spec.nodeName)
    return { reason: PcrReason.podMismatch, message: `${who} runs on node ${pod.nodeName ?? '(none)'}, not ${spec.nodeName}` };
  if ((pod.serviceAccountName ?? 'default') !== spec.serviceAccountName) {
    return { reason: PcrReason.podMismatch, message: `${who} runs as service account ${pod.serviceAccountName ?? 'default'}, not ${spec.serviceAccountName}` };
  }
  const keyType = podKeyTypeOf(o.key);
  if (!keyType || !o.settings.keyTypes.includes(keyType)) {
    return {
      reason: PcrReason.unsupportedKeyType,
      message: `key type ${keyType ?? `${o.key.algorithm}${o.key.size ?? ''}`} is not accepted by ${ref.kind} ${ref.name}: use one of ${o.settings.keyTypes.join(', ')}`,
    };
  }
  const names = podDnsNames(spec.unverifiedUserAnnotations);
  if ('problem' in names) return { reason: PcrReason.invalidUserAnnotations, message: names.problem };
  return undefined;
}

/** The DNS names a pod asks for through userAnnotations; any other key is refused, as the API asks of signers. */
export function podDnsNames(annotations: Readonly<Record<string, string>> | undefined): { names: string[] } | { problem: string } {
  const names: string[] = [];
  for (const [key, value] of Object.entries(annotations ?? {}).sort(([a], [b]) => compareStrings(a, b))) {
    if (key !== POD_DNS_NAMES_ANNOTATION) return { problem: `userAnnotation ${truncate(key)} is not one certsmith reads (only ${POD_DNS_NAMES_ANNOTATION})` };
    for (const raw of value.split(',')) {
      const name = raw.trim().toLowerCase();
      if (name === '') continue;
      const problem = dnsNameProblem(name);
      if (problem) return { problem: `${POD_DNS_NAMES_ANNOTATION}: ${truncate(name)} ${problem}` };
      if (!names.includes(name)) names.push(name);
    }
  }
  if (names.length > MAX_POD_DNS_NAMES) return { problem: `${POD_DNS_NAMES_ANNOTATION} names ${names.length} DNS names; at most ${MAX_POD_DNS_NAMES}` };
  return { names };
}

/** spiffe://<trust domain>/ns/<namespace>/sa/<service account>: the identity the certificate is for. */
export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

export interface PodCertificateTimes {
  notBefore: Date;
  notAfter: Date;
  beginRefreshAt: Date;
}

/**
 * Lifetime: the shortest of the pod's maxExpirationSeconds, the issuer's maxDuration and what the CA has left.
 * Refresh: when refreshBeforePercentage of it remains, but no later than `refreshBy` (a CA rotation that will need
 * this certificate replaced), and never within 10 min of either end (kube-apiserver's rule). Undefined when the CA
 * expires too soon for the 1h minimum: the request waits for the CA's rotation.
 */
export function podCertificateTimes(o: {
  now: Date;
  maxExpirationSeconds: number | undefined;
  settings: PodCertificateSettings;
  caNotAfter: Date;
  refreshBy?: Date;
}): PodCertificateTimes | undefined {
  const notBefore = floorSeconds(o.now.getTime() - BACKDATE_MS);
  const requestedMs = (o.maxExpirationSeconds ?? 86_400) * 1000;
  // Whole seconds, as X.509 and the status carry them: a maxDuration such as "24h0m0.5s" parses to a fraction.
  const notAfter = floorSeconds(Math.min(notBefore + Math.min(requestedMs, o.settings.maxDurationMs), o.caNotAfter.getTime()));
  const lifetime = notAfter - notBefore;
  if (lifetime < MIN_POD_LIFETIME_MS) return undefined;
  let refresh = notAfter - Math.floor((lifetime * o.settings.refreshBeforePercentage) / 100);
  if (o.refreshBy) refresh = Math.min(refresh, o.refreshBy.getTime());
  refresh = Math.max(notBefore + REFRESH_MARGIN_MS, Math.min(refresh, notAfter - REFRESH_MARGIN_MS));
  return { notBefore: new Date(notBefore), notAfter: new Date(notAfter), beginRefreshAt: new Date(floorSeconds(refresh)) };
}

/**
 * The latest time a pod certificate should start refreshing for the CA's rotation: at once (the earliest allowed)
 * while a new CA is published and about to sign; at the next rotation's start while the CA is stable.
 */
export function rotationRefreshBy(o: { phase: string | undefined; now: Date; nextRotation?: Date }): Date | undefined {
  if (o.phase === 'Publishing') return o.now;
  return o.nextRotation;
}

/** When a managed CA's signing generation starts its rotation (undefined if its rotateBefore does not parse). */
export function nextRotationOf(spec: ManagedCa, signing: { notBefore: Date; notAfter: Date }): Date | undefined {
  try {
    return rotationTime(
      { fingerprint: '', ...signing },
      {
        ...(spec.rotateBefore !== undefined ? { rotateBeforeMs: parseDuration(spec.rotateBefore) } : {}),
        ...(spec.rotateBeforePercentage !== undefined ? { rotateBeforePercentage: spec.rotateBeforePercentage } : {}),
      },
    );
  } catch {
    return undefined; // the issuer reports its spec as invalid; the lifetime's own refresh applies meanwhile
  }
}

function floorSeconds(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

function truncate(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}
