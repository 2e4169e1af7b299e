// PodCertificateRequests made the way the kubelet makes them (an empty PKCS#10 request signed with the pod's new key),
// for tests on a control plane without a node: the pod, its service account and the node are plain API objects.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { KubeObject } from '../../../src/api/meta.ts';
import type { PodCertificateRequest } from '../../../src/api/pod-certificate-request.ts';
import type { KubeClient } from '../../../src/kube/client.ts';
import { Resources } from '../../../src/kube/resources.ts';
import { algorithmsFor, crypto, toCryptoKey } from '../../../src/pki/algorithms.ts';
import * as x509 from '../../../src/pki/x509.ts';

export type TestKeyType = 'ECDSAP256' | 'ED25519';

export function podKey(type: TestKeyType): KeyObject {
  return type === 'ED25519' ? generateKeyPairSync('ed25519').privateKey : generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
}

/** The kubelet's stub request: no subject, no extensions, signed by the pod's key (its proof of possession). */
export async function stubCsr(key: KeyObject, publicKey: KeyObject = key): Promise<string> {
  const { createPublicKey } = await import('node:crypto');
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      keys: { privateKey: toCryptoKey(key, 'sign'), publicKey: toCryptoKey(createPublicKey(publicKey), 'verify') },
      signingAlgorithm: algorithmsFor(key).signing,
    },
    crypto,
  );
  return Buffer.from(csr.rawData).toString('base64');
}

export interface PodFixture {
  namespace: string;
  pod: KubeObject;
  serviceAccount: KubeObject;
  node: KubeObject;
}

/** A node object (no kubelet behind it), a service account and a pod bound to the node. */
export async function createPodFixture(client: KubeClient, namespace: string, podName: string, serviceAccount = 'app'): Promise<PodFixture> {
  const node =
    (await client.get(Resources.nodes, undefined, 'node-a')) ??
    (await client.create(Resources.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'node-a' } }));
  const sa =
    (await client.get(Resources.serviceAccounts, namespace, serviceAccount)) ??
    (await client.create(Resources.serviceAccounts, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: serviceAccount, namespace } }));
  const pod = await client.create(Resources.pods, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: podName, namespace },
    spec: { nodeName: 'node-a', serviceAccountName: serviceAccount, automountServiceAccountToken: false, containers: [{ name: 'app', image: 'none' }] },
  } as KubeObject);
  return { namespace, pod, serviceAccount: sa, node };
}

export async function createPodCertificateRequest(
  client: KubeClient,
  f: PodFixture,
  o: { name: string; signerName: string; csr: string; maxExpirationSeconds?: number; userAnnotations?: Record<string, string>; podUID?: string },
): Promise<PodCertificateRequest> {
  return client.create<PodCertificateRequest>(Resources.podCertificateRequests, {
    apiVersion: 'certificates.k8s.io/v1',
    kind: 'PodCertificateRequest',
    metadata: { name: o.name, namespace: f.namespace },
    spec: {
      signerName: o.signerName,
      podName: f.pod.metadata.name,
      podUID: o.podUID ?? f.pod.metadata.uid!,
      serviceAccountName: f.serviceAccount.metadata.name,
      serviceAccountUID: f.serviceAccount.metadata.uid!,
      nodeName: f.node.metadata.name,
      nodeUID: f.node.metadata.uid!,
      maxExpirationSeconds: o.maxExpirationSeconds ?? 86_400,
      stubPKCS10Request: o.csr,
      ...(o.userAnnotations ? { unverifiedUserAnnotations: o.userAnnotations } : {}),
    },
  });
}
