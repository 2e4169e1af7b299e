// Signs a pod certificate over the public key of a PodCertificateRequest: no subject, a SPIFFE URI SAN, optional DNS
// names, for TLS servers and clients alike. The chain is what the kubelet writes after the pod's key: the leaf, then
// the CA's intermediates (never a self-signed root: peers trust that through the ClusterTrustBundle).
import type { KeyObject } from 'node:crypto';
import { encodePem, signCertificate } from '../pki/index.ts';
import { POD_USAGES, type PodCertificateTimes } from '../policy/pod-certificates.ts';
import type { CaSigner } from './ca-signer.ts';
import { chainWithoutRoot, serialNumber } from './issue.ts';

export interface PodCertificateContent {
  publicKey: KeyObject;
  uri: string;
  dnsNames: readonly string[];
  times: PodCertificateTimes;
}

export async function signPodCertificate(signer: CaSigner, c: PodCertificateContent): Promise<string> {
  const der = await signCertificate({
    publicKey: c.publicKey,
    subject: {},
    dnsNames: [...c.dnsNames],
    ipAddresses: [],
    uris: [c.uri],
    emailAddresses: [],
    usages: [...POD_USAGES],
    isCA: false,
    notBefore: c.times.notBefore,
    notAfter: c.times.notAfter,
    serialNumber: serialNumber(),
    signer: { privateKey: signer.caKey, certificateDer: signer.chain[0]! },
  });
  return [der, ...chainWithoutRoot(signer)].map((d) => encodePem('CERTIFICATE', d)).join('');
}
