// Whether a service account may `attest` or `sign` for a signer name. `kubectl auth can-i <verb>
// signers.certificates.k8s.io/<name>` cannot ask this: signers is a resource the API server only authorizes and does
// not serve, so kubectl cannot map it to its group and asks about group "" instead. This is the SubjectAccessReview
// can-i would send, for the service account and the groups it authenticates with. The API server asks for the
// signer's own name, then for <domain>/*.
import type { KubeObject } from '../../../src/api/meta.ts';
import type { KubeClient } from '../../../src/kube/client.ts';
import type { Resource } from '../../../src/kube/resources.ts';

const SUBJECT_ACCESS_REVIEWS: Resource = {
  group: 'authorization.k8s.io',
  version: 'v1',
  plural: 'subjectaccessreviews',
  kind: 'SubjectAccessReview',
  namespaced: false,
};

export async function serviceAccountMay(
  client: KubeClient,
  serviceAccount: { namespace: string; name: string },
  verb: 'attest' | 'sign',
  signerName: string,
): Promise<boolean> {
  const review = await client.create<KubeObject<unknown, { allowed?: boolean }>>(SUBJECT_ACCESS_REVIEWS, {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    metadata: { name: '' },
    spec: {
      user: `system:serviceaccount:${serviceAccount.namespace}:${serviceAccount.name}`,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${serviceAccount.namespace}`, 'system:authenticated'],
      resourceAttributes: { group: 'certificates.k8s.io', resource: 'signers', verb, name: signerName },
    },
  });
  return review.status?.allowed === true;
}
