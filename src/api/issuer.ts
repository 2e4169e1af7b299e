import { z } from 'zod';
import { conditionsList, LocalObjectName, type KubeObject } from './meta.ts';

export const IssuerSpec = z
  .object({
    selfSigned: z.object({}).optional().describe('Sign each certificate with its own key.'),
    ca: z
      .object({
        secretName: LocalObjectName.describe(
          'Secret with tls.crt and tls.key of a CA. For a ClusterIssuer it lives in the cluster-resource namespace.',
        ),
      })
      .optional()
      .describe('Sign with a CA key pair kept in a Secret.'),
  })
  .meta({
    'x-kubernetes-validations': [
      {
        // Written so that later issuer types (acme, ca.managed) only extend the list.
        rule: '[has(self.selfSigned), has(self.ca)].filter(x, x).size() == 1',
        message: 'exactly one of selfSigned or ca must be set',
      },
    ],
  });
export type IssuerSpec = z.infer<typeof IssuerSpec>;

export const IssuerStatus = z.object({
  conditions: conditionsList,
  caNotAfter: z.string().optional().describe('Expiry of the signing CA certificate.'),
  caFingerprint: z.string().optional().describe('SHA-256 fingerprint of the signing CA certificate.'),
});
export type IssuerStatus = z.infer<typeof IssuerStatus>;

export type Issuer = KubeObject<IssuerSpec, IssuerStatus>;
export type IssuerKind = 'Issuer' | 'ClusterIssuer';
