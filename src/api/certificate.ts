import { z } from 'zod';
import { conditionsList, GoDuration, LocalObjectName, type KubeObject } from './meta.ts';

export const KEY_USAGES = [
  'signing',
  'digital signature',
  'content commitment',
  'key encipherment',
  'key agreement',
  'data encipherment',
  'cert sign',
  'crl sign',
  'encipher only',
  'decipher only',
  'any',
  'server auth',
  'client auth',
  'code signing',
  'email protection',
  's/mime',
  'ipsec end system',
  'ipsec tunnel',
  'ipsec user',
  'timestamping',
  'ocsp signing',
  'microsoft sgc',
  'netscape sgc',
] as const;

export const DEFAULT_DURATION = '2160h';
export const DEFAULT_USAGES = ['digital signature', 'key encipherment', 'server auth'] as const;

export const IssuerRef = z
  .object({
    name: LocalObjectName.describe('Name of the Issuer or ClusterIssuer.'),
    kind: z.enum(['Issuer', 'ClusterIssuer']).optional().describe('Issuer (same namespace, the default) or ClusterIssuer.'),
    group: z.literal('certsmith.dev').optional().describe('Always certsmith.dev when set.'),
  })
  .describe('The issuer that signs this certificate.');
export type IssuerRef = z.infer<typeof IssuerRef>;

const stringList = (description: string) => z.array(z.string()).optional().describe(description);

export const CertificateSpec = z
  .object({
    secretName: LocalObjectName.describe('Name of the kubernetes.io/tls Secret to write, in the same namespace.'),
    issuerRef: IssuerRef,
    commonName: z.string().max(64).optional().describe('Subject common name. Prefer dnsNames: clients ignore the CN.'),
    dnsNames: stringList('DNS subject alternative names; a wildcard only as the leftmost label (*.example.com).'),
    ipAddresses: stringList('IP address subject alternative names.'),
    uris: stringList('URI subject alternative names.'),
    emailAddresses: stringList('Email subject alternative names.'),
    subject: z
      .object({
        organizations: stringList('O'),
        organizationalUnits: stringList('OU'),
        countries: stringList('C'),
        localities: stringList('L'),
        provinces: stringList('ST'),
      })
      .optional()
      .describe('Subject fields beyond the common name.'),
    duration: GoDuration.optional().describe('Requested lifetime, Go duration syntax (default 2160h = 90 days). The issuer may shorten it.'),
    renewBefore: GoDuration.optional().describe('Renew this long before expiry (Go duration). Default: when 1/3 of the lifetime remains.'),
    renewBeforePercentage: z
      .number()
      .int()
      .min(1)
      .max(99)
      .optional()
      .describe('Renew when this percentage of the lifetime remains. Exclusive with renewBefore.'),
    privateKey: z
      .object({
        algorithm: z.enum(['RSA', 'ECDSA', 'Ed25519']).optional().describe('Key algorithm (default ECDSA).'),
        size: z.number().int().optional().describe('RSA 2048/3072/4096/8192 (default 2048); ECDSA 256/384/521 (default 256); none for Ed25519.'),
        encoding: z.enum(['PKCS1', 'PKCS8']).optional().describe('tls.key encoding (default PKCS1: SEC1 for ECDSA; Ed25519 is always PKCS8).'),
        rotationPolicy: z.enum(['Always', 'Never']).optional().describe('Always: a new key on every issuance (default). Never: keep the key in the Secret.'),
      })
      .optional(),
    usages: z.array(z.enum(KEY_USAGES)).optional().describe('Key usages (default: digital signature, key encipherment, server auth).'),
    isCA: z.boolean().optional().describe('Issue a CA certificate (basicConstraints CA:true, cert sign).'),
    secretTemplate: z
      .object({
        labels: z.record(z.string(), z.string()).optional(),
        annotations: z.record(z.string(), z.string()).optional(),
      })
      .optional()
      .describe('Labels and annotations copied onto the Secret.'),
    additionalOutputFormats: z
      .array(z.object({ type: z.enum(['CombinedPEM', 'DER']).describe('CombinedPEM adds tls-combined.pem (key then chain); DER adds key.der.') }))
      .optional(),
  })
  .meta({
    'x-kubernetes-validations': [
      {
        rule: 'has(self.commonName) || has(self.dnsNames) || has(self.ipAddresses) || has(self.uris) || has(self.emailAddresses)',
        message: 'at least one of commonName, dnsNames, ipAddresses, uris or emailAddresses must be set',
      },
      {
        rule: '!(has(self.renewBefore) && has(self.renewBeforePercentage))',
        message: 'set renewBefore or renewBeforePercentage, not both',
      },
    ],
  });
export type CertificateSpec = z.infer<typeof CertificateSpec>;

export const AcmeChallengeStatus = z.object({
  identifier: z.string().describe('The name (or IP address) being validated; *.example.com for a wildcard.'),
  type: z.enum(['http-01', 'dns-01']),
  url: z.string().describe('Challenge URL at the CA.'),
  authorizationURL: z.string(),
  token: z.string(),
  keyAuthorization: z.string().describe('What the CA expects: the HTTP-01 response body, or the DNS-01 TXT value. Not secret.'),
  solver: z.number().int().describe('Index of the issuer solver answering it.'),
  fqdn: z.string().optional().describe('DNS-01: the TXT record name.'),
  zone: z.string().optional().describe('DNS-01: the zone the record was written to.'),
  state: z
    .enum(['pending', 'presented', 'submitted', 'valid', 'invalid'])
    .describe('pending: not answered yet; presented: record or response in place; submitted: the CA was asked to validate; then its verdict.'),
  presentedAt: z.string().optional(),
  error: z.string().optional().describe("The CA's reason when invalid."),
});
export type AcmeChallengeStatus = z.infer<typeof AcmeChallengeStatus>;

export const AcmeOrderStatus = z
  .object({
    orderURL: z
      .string()
      .optional()
      .describe(
        "The order at the CA. Absent while it is being placed: an operator process that takes over then looks among the account's orders for one placed but never recorded, before placing another.",
      ),
    state: z.string().describe('ordering (being placed), then pending, ready, processing, valid or invalid, as last seen at the CA.'),
    requestedAt: z.string().optional().describe('When the operator recorded that it was about to place the order, before asking the CA.'),
    requestDigest: z.string().describe('Digest of what was ordered (issuer, identifiers, profile): a different spec needs a new order.'),
    issuer: z.string().describe('Kind/name of the issuer the order was placed with.'),
    finalizeURL: z.string().optional(),
    certificateURL: z.string().optional(),
    expires: z.string().optional(),
    replaces: z.string().optional().describe('ARI certID of the certificate this order replaces.'),
    keySecretName: z.string().optional().describe('Secret holding the private key the order is finalized with, until the certificate is written.'),
    nextPollTime: z.string().optional(),
    challenges: z.array(AcmeChallengeStatus).optional(),
  })
  .describe('The ACME order in progress: an operator restart resumes it instead of placing a new one.');
export type AcmeOrderStatus = z.infer<typeof AcmeOrderStatus>;

export const RenewalInfoStatus = z
  .object({
    certID: z.string().describe('RFC 9773 identifier of the certificate in the Secret.'),
    suggestedWindowStart: z.string(),
    suggestedWindowEnd: z.string(),
    explanationURL: z.string().optional(),
    nextCheckTime: z.string().describe('When the operator asks the CA again (its Retry-After).'),
  })
  .describe('ACME Renewal Information from the CA: renewal happens inside this window (never later than renewBefore asks).');
export type RenewalInfoStatus = z.infer<typeof RenewalInfoStatus>;

export const CertificateStatus = z.object({
  conditions: conditionsList,
  notBefore: z.string().optional().describe('Validity start of the certificate in the Secret.'),
  notAfter: z.string().optional().describe('Expiry of the certificate in the Secret.'),
  renewalTime: z.string().optional().describe('When the operator will renew it.'),
  revision: z.number().int().optional().describe('Incremented on every successful issuance.'),
  lastFailureTime: z.string().optional(),
  failedIssuanceAttempts: z.number().int().optional().describe('Consecutive failed issuances; reset on success.'),
  nextRetryTime: z.string().optional().describe('When the next issuance attempt after a failure is due.'),
  acmeOrder: AcmeOrderStatus.optional(),
  renewalInfo: RenewalInfoStatus.optional(),
});
export type CertificateStatus = z.infer<typeof CertificateStatus>;

export type Certificate = KubeObject<CertificateSpec, CertificateStatus>;
