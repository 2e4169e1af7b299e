// Kubernetes' PodCertificateRequest (certificates.k8s.io/v1, GA in 1.37), as far as the signer reads and writes it.
// The kubelet creates one for each podCertificate projected volume and refreshes it at status.beginRefreshAt.
import type { KubeObject } from './meta.ts';

export interface PodCertificateRequestSpec {
  signerName: string;
  podName: string;
  podUID: string;
  serviceAccountName: string;
  serviceAccountUID: string;
  nodeName: string;
  nodeUID: string;
  /** Defaulted by kube-apiserver to 86400; always within [3600, 7862400]. */
  maxExpirationSeconds?: number;
  /** Base64 DER of a PKCS#10 request the kubelet signed with the pod's key (kube-apiserver checked the signature). */
  stubPKCS10Request: string;
  /** Free text from the pod's author: signers must deny keys they do not know. */
  unverifiedUserAnnotations?: Record<string, string>;
}

export interface PodCertificateRequestCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface PodCertificateRequestStatus {
  conditions?: PodCertificateRequestCondition[];
  certificateChain?: string;
  notBefore?: string;
  beginRefreshAt?: string;
  notAfter?: string;
}

export type PodCertificateRequest = KubeObject<PodCertificateRequestSpec, PodCertificateRequestStatus>;

/** At most one of these, with status True, and then the status is immutable. */
export const PcrCondition = { issued: 'Issued', denied: 'Denied', failed: 'Failed' } as const;
export const TERMINAL_CONDITIONS: readonly string[] = Object.values(PcrCondition);

/** Reasons of Denied and Failed conditions: the kubelet copies them into an event on the pod. */
export const PcrReason = {
  /** The API's own reason for a key type the signer does not take; the message names the ones it does. */
  unsupportedKeyType: 'UnsupportedKeyType',
  /** The API's own reason for userAnnotations the signer does not know or cannot read. */
  invalidUserAnnotations: 'InvalidUnverifiedUserAnnotations',
  policyDenied: 'PolicyDenied',
  /** The pod named does not exist, has another UID, runs elsewhere or as another service account. */
  podMismatch: 'PodMismatch',
  /** A namespaced Issuer's signer asked for from another namespace. */
  namespaceNotServed: 'NamespaceNotServed',
  invalidRequest: 'InvalidRequest',
  /** Failed: the CA could not sign the key (the only final answer that is not the request's fault). */
  signingFailed: 'SigningFailed',
  issued: 'Issued',
} as const;

/** userAnnotations the signer reads: comma-separated DNS names to add to the certificate. */
export const POD_DNS_NAMES_ANNOTATION = 'certsmith.dev/dns-names';

export function isTerminal(pcr: PodCertificateRequest): boolean {
  return (pcr.status?.conditions ?? []).some((c) => TERMINAL_CONDITIONS.includes(c.type) && c.status === 'True');
}
