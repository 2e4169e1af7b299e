import { z } from 'zod';
import { conditionsList, LocalObjectName, type KubeObject } from './meta.ts';

export const LabelSelector = z
  .object({
    matchLabels: z.record(z.string(), z.string()).optional().describe('Labels that must all be present with these values.'),
    matchExpressions: z
      .array(
        z.object({
          key: z.string().min(1),
          operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
          values: z.array(z.string()).optional().describe('For In and NotIn; empty for Exists and DoesNotExist.'),
        }),
      )
      .optional(),
  })
  .describe('A Kubernetes label selector; an empty selector matches everything.');
export type LabelSelector = z.infer<typeof LabelSelector>;

// Sources are read with the operator's rights and copied into every selected namespace (src/trust/source-namespaces.ts).
const SOURCE_NAMESPACE_RULE = "the operator's cluster-resource namespace or one the operator allows (chart value trustBundles.sourceNamespaces).";

/** A ConfigMap or Secret key; the API server allows these characters. */
const DataKey = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[-._a-zA-Z0-9]+$/, 'must be a valid ConfigMap/Secret key');

const ObjectSource = (what: string) =>
  z
    .object({
      namespace: LocalObjectName.describe(`Namespace of the ${what}: ${SOURCE_NAMESPACE_RULE}`),
      name: LocalObjectName.optional().describe(`Name of one ${what}. Exclusive with selector.`),
      selector: LabelSelector.optional().describe(`Every ${what} in the namespace matching these labels. Exclusive with name.`),
      key: DataKey.optional().describe('The key holding PEM certificates. Exclusive with includeAllKeys.'),
      includeAllKeys: z.boolean().optional().describe('Read every key (each must hold PEM certificates).'),
    })
    .meta({
      'x-kubernetes-validations': [
        { rule: 'has(self.name) != has(self.selector)', message: 'set exactly one of name or selector' },
        {
          rule: 'has(self.key) != (has(self.includeAllKeys) && self.includeAllKeys)',
          message: 'set exactly one of key or includeAllKeys: true',
        },
      ],
    });

const TruststoreFormat = (what: string) =>
  z
    .object({
      key: DataKey.describe(`The key holding the ${what}.`),
      passwordSecretRef: z
        .object({ namespace: LocalObjectName.describe(`Namespace of the Secret: ${SOURCE_NAMESPACE_RULE}`), name: LocalObjectName, key: DataKey })
        .optional()
        .describe('A Secret key holding the store password; without it the password is empty.'),
    })
    .describe(`A ${what}; deterministic, so an unchanged bundle writes the same bytes.`);
export type TruststoreFormat = z.infer<ReturnType<typeof TruststoreFormat>>;

export const TrustBundleSource = z
  .object({
    issuer: z
      .object({
        name: LocalObjectName,
        kind: z.enum(['Issuer', 'ClusterIssuer']),
        namespace: LocalObjectName.optional().describe(`Namespace of an Issuer; not set for a ClusterIssuer. ${SOURCE_NAMESPACE_RULE.replace(/^t/, 'T')}`),
      })
      .meta({
        'x-kubernetes-validations': [{ rule: "(self.kind == 'Issuer') == has(self.namespace)", message: 'an Issuer needs a namespace, a ClusterIssuer none' }],
      })
      .optional()
      .describe("The CA certificate of a ca issuer's Secret; a selfSigned or acme issuer contributes nothing."),
    certificate: z
      .object({ namespace: LocalObjectName.describe(`Namespace of the Certificate: ${SOURCE_NAMESPACE_RULE}`), name: LocalObjectName })
      .optional()
      .describe("The ca.crt of a Certificate's Secret."),
    configMap: ObjectSource('ConfigMap').optional(),
    secret: ObjectSource('Secret').optional(),
    inline: z.string().optional().describe('PEM certificates written here.'),
    systemRoots: z.boolean().optional().describe('The public root CAs that ship with Node.js (tls.rootCertificates).'),
  })
  .meta({
    'x-kubernetes-validations': [
      {
        rule: '[has(self.issuer), has(self.certificate), has(self.configMap), has(self.secret), has(self.inline), has(self.systemRoots) && self.systemRoots].filter(x, x).size() == 1',
        message: 'set exactly one of issuer, certificate, configMap, secret, inline or systemRoots: true',
      },
    ],
  });
export type TrustBundleSource = z.infer<typeof TrustBundleSource>;

export const TrustBundleSpec = z.object({
  // Bounded so the API server can budget the CEL rules of each source.
  sources: z.array(TrustBundleSource).min(1).max(100).describe('Where the certificates come from; all are merged, deduplicated and sorted.'),
  target: z
    .object({
      configMap: z.object({ key: DataKey }).optional().describe('Write a ConfigMap named like the bundle, holding the PEM under key.'),
      secret: z.object({ key: DataKey }).optional().describe('Write an Opaque Secret named like the bundle, holding the PEM under key.'),
      additionalFormats: z
        .object({
          pkcs12: TruststoreFormat('PKCS#12 truststore (trusted certificate bags, HMAC-SHA-256 MAC)').optional(),
          jks: TruststoreFormat('JKS truststore (trusted certificate entries)').optional(),
        })
        .optional()
        .describe('Truststores for clients that do not read PEM (Java), written next to the PEM in the ConfigMap (binaryData) and Secret targets.'),
      clusterTrustBundle: z
        .object({
          signerName: z
            .string()
            .max(200)
            .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?\/[-a-zA-Z0-9._]+$/, 'must be <domain>/<path>')
            .optional()
            .describe('Link the ClusterTrustBundle to this signer; the operator then needs the attest verb on it.'),
        })
        .optional()
        .describe(
          'Write one ClusterTrustBundle (certificates.k8s.io/v1) holding the PEM, named like the bundle, or <signerName with / as :>:<bundle> with a signer.',
        ),
      namespaceSelector: LabelSelector.optional().describe('Namespaces that get the targets (default: all).'),
    })
    .meta({
      'x-kubernetes-validations': [
        { rule: 'has(self.configMap) || has(self.secret) || has(self.clusterTrustBundle)', message: 'set configMap, secret, clusterTrustBundle or several' },
        {
          rule: '!has(self.additionalFormats) || has(self.configMap) || has(self.secret)',
          message: 'additionalFormats need a configMap or secret target',
        },
        {
          rule: "!has(self.additionalFormats) || [has(self.configMap) ? self.configMap.key : '', has(self.secret) ? self.secret.key : ''].all(k, k == '' || ((!has(self.additionalFormats.pkcs12) || self.additionalFormats.pkcs12.key != k) && (!has(self.additionalFormats.jks) || self.additionalFormats.jks.key != k)))",
          message: 'additionalFormats keys must differ from the PEM keys',
        },
        {
          rule: '!has(self.additionalFormats) || !has(self.additionalFormats.pkcs12) || !has(self.additionalFormats.jks) || self.additionalFormats.pkcs12.key != self.additionalFormats.jks.key',
          message: 'pkcs12 and jks need different keys',
        },
      ],
    }),
  filters: z
    .object({
      excludeExpired: z.boolean().optional().describe('Leave out certificates past their notAfter.'),
      excludeNonCA: z.boolean().optional().describe('Leave out certificates that are not CAs (basicConstraints CA:false or absent).'),
    })
    .optional(),
});
export type TrustBundleSpec = z.infer<typeof TrustBundleSpec>;

export const BundleCertificateStatus = z.object({
  fingerprint: z.string().describe('SHA-256 of the DER, lowercase hex.'),
  subject: z.string(),
  notAfter: z.string(),
});

export const TrustBundleStatus = z.object({
  conditions: conditionsList,
  certificates: z.array(BundleCertificateStatus).optional().describe('The certificates in the bundle, in bundle order (by fingerprint).'),
  bundleHash: z.string().optional().describe('SHA-256 of the PEM written to the targets.'),
  earliestExpiry: z.string().optional().describe('The first notAfter among the certificates in the bundle.'),
  targetsSynced: z.number().int().optional().describe('Targets holding the current bundle.'),
  targetsTotal: z.number().int().optional().describe('Targets the bundle should have (matching namespaces × target kinds).'),
});
export type TrustBundleStatus = z.infer<typeof TrustBundleStatus>;

export type TrustBundle = KubeObject<TrustBundleSpec, TrustBundleStatus>;

export const TrustBundleCondition = {
  /** The bundle could be built from its sources. */
  Ready: 'Ready',
  /** Every target holds the current bundle. */
  Synced: 'Synced',
} as const;

/** Reasons on TrustBundle conditions. Stable: users and alerts match on them. */
export const TrustBundleReason = {
  Built: 'Built',
  InvalidSpec: 'InvalidSpec',
  SourceNotFound: 'SourceNotFound',
  /** A source (or password Secret) in a namespace the operator does not read TrustBundle sources from. */
  SourceNotAllowed: 'SourceNotAllowed',
  PrivateKeyInSource: 'PrivateKeyInSource',
  InvalidPEM: 'InvalidPEM',
  NoCertificates: 'NoCertificates',
  AllExpired: 'AllExpired',
  TooLarge: 'TooLarge',
  Synced: 'Synced',
  NoMatchingNamespaces: 'NoMatchingNamespaces',
  TargetConflict: 'TargetConflict',
  WriteFailed: 'WriteFailed',
  BundleNotReady: 'BundleNotReady',
} as const;

/** On every ConfigMap and Secret a TrustBundle writes: its value is the bundle's name; informers select on it. */
export const TRUST_BUNDLE_LABEL = 'certsmith.dev/trust-bundle';
/** The same, as an annotation: a target names its bundle twice, so a stray label alone never makes it ours. */
export const TRUST_BUNDLE_ANNOTATION = 'certsmith.dev/trust-bundle';
/** SHA-256 of the bundle PEM a target holds. */
export const TRUST_BUNDLE_HASH_ANNOTATION = 'certsmith.dev/bundle-hash';
