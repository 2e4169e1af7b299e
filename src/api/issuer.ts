import { z } from 'zod';
import { conditionsList, GoDuration, LocalObjectName, type KubeObject } from './meta.ts';

/** A key of a Secret in the issuer's Secret namespace (the Issuer's, or the cluster-resource namespace). */
export const SecretKeySelector = z.object({
  name: LocalObjectName.describe('Name of the Secret.'),
  key: z.string().min(1).optional().describe('Key in the Secret (each field documents its default).'),
});
export type SecretKeySelector = z.infer<typeof SecretKeySelector>;

const base64Pem = z
  .string()
  .regex(/^[A-Za-z0-9+/=\s]+$/, 'must be base64')
  .describe('Base64-encoded PEM CA certificates (as cert-manager takes it).');

export const SolverSelector = z
  .object({
    dnsNames: z.array(z.string()).optional().describe('Exact names (also *.example.com) this solver is for; the most specific selector.'),
    dnsZones: z.array(z.string()).optional().describe('Names in these zones (the zone itself and every name below it); the longest match wins.'),
    matchLabels: z.record(z.string(), z.string()).optional().describe('Only for Certificates carrying all these labels.'),
  })
  .describe('Which names this solver answers. No selector: every name.');

export const Http01Solver = z
  .object({
    ingress: z
      .object({
        ingressClassName: z.string().optional().describe('Class of the temporary solver Ingress.'),
        name: z
          .string()
          .optional()
          .describe("Edit in place: add the challenge path to this existing Ingress in the Certificate's namespace instead of a temporary one."),
      })
      .optional()
      .describe(
        "Route the CA to the operator through an Ingress: a solver Service and EndpointSlice in the Certificate's namespace, and a temporary Ingress (or a path on an existing one).",
      ),
    selfCheck: z
      .boolean()
      .optional()
      .describe(
        'Fetch the challenge over HTTP before asking the CA to validate (default true); turn off where the cluster cannot reach its own public address.',
      ),
  })
  .describe('Answer HTTP-01 challenges: every operator replica serves /.well-known/acme-challenge/ on its solver port.');

export const Rfc2136Provider = z.object({
  nameserver: z.string().min(1).describe('The primary authoritative server: host or host:port (default port 53).'),
  tsigKeyName: z.string().min(1).describe('Name of the TSIG key BIND knows (key "<name>" { ... }).'),
  tsigAlgorithm: z.enum(['HMACSHA256', 'HMACSHA512']).optional().describe('TSIG algorithm (default HMACSHA256).'),
  tsigSecretSecretRef: SecretKeySelector.describe('The base64 TSIG secret (key default: secret).'),
});

export const WebhookProvider = z.object({
  url: z.string().url().describe('Receives POST {action: present|cleanup, fqdn, zone, value} as JSON.'),
  tokenSecretRef: SecretKeySelector.optional().describe('Bearer token sent with each request (key default: token).'),
  caBundle: base64Pem.optional(),
});

export const Dns01Solver = z
  .object({
    rfc2136: Rfc2136Provider.optional().describe('RFC 2136 dynamic updates signed with TSIG (BIND, PowerDNS, Knot, ...).'),
    webhook: WebhookProvider.optional().describe('Any DNS provider behind an HTTP endpoint of yours.'),
  })
  .meta({
    'x-kubernetes-validations': [{ rule: 'has(self.rfc2136) != has(self.webhook)', message: 'set exactly one of rfc2136 or webhook' }],
  })
  .describe('Answer DNS-01 challenges with a TXT record at _acme-challenge.<name>.');

export const AcmeSolver = z
  .object({
    selector: SolverSelector.optional(),
    http01: Http01Solver.optional(),
    dns01: Dns01Solver.optional(),
  })
  .meta({
    'x-kubernetes-validations': [{ rule: 'has(self.http01) != has(self.dns01)', message: 'set exactly one of http01 or dns01' }],
  });
export type AcmeSolver = z.infer<typeof AcmeSolver>;

export const AcmeIssuer = z
  .object({
    server: z.string().url().describe('ACME directory URL, e.g. https://acme-v02.api.letsencrypt.org/directory.'),
    email: z.string().optional().describe('Contact address registered with the account.'),
    privateKeySecretRef: SecretKeySelector.describe('Secret holding the account key (key default: tls.key). Generated and stored when missing; reused after.'),
    caBundle: base64Pem.optional().describe('Base64 PEM CAs to trust for the ACME server (a private CA such as Pebble). Default: the public roots.'),
    externalAccountBinding: z
      .object({
        keyID: z.string().min(1).describe('The key identifier the CA gave you.'),
        keySecretRef: SecretKeySelector.describe('Secret holding the base64url HMAC key the CA gave you (key default: secret).'),
        keyAlgorithm: z.enum(['HS256']).optional().describe('Only HS256, as in cert-manager.'),
      })
      .optional()
      .describe('External account binding, for CAs that require one.'),
    preferredChain: z.string().optional().describe('Common name of a root or intermediate: pick the offered chain that contains it.'),
    profile: z.string().optional().describe('Certificate profile to request (RFC draft acme-profiles), e.g. tlsserver or shortlived.'),
    // Bounded so the API server can budget the CEL rules of each solver.
    solvers: z.array(AcmeSolver).min(1).max(50).describe('How to answer challenges; the most specific selector wins for each name.'),
  })
  .describe('Obtain certificates from an RFC 8555 CA (Let’s Encrypt, or any ACME server).');
export type AcmeIssuer = z.infer<typeof AcmeIssuer>;

export const ManagedCa = z
  .object({
    commonName: z.string().min(1).max(64).describe('Common name of each CA generation.'),
    secretName: LocalObjectName.optional().describe(
      'Secret the operator keeps the CA generations in (default <issuer>-ca; cluster-resource namespace for a ClusterIssuer). A Secret it did not create is never overwritten.',
    ),
    duration: GoDuration.optional().describe('Lifetime of each CA generation, Go duration syntax (default 8760h = 1 year).'),
    rotateBefore: GoDuration.optional().describe(
      'Start a rotation this long before the signing CA expires (Go duration). Default: when 1/3 of its lifetime remains.',
    ),
    rotateBeforePercentage: z
      .number()
      .int()
      .min(1)
      .max(99)
      .optional()
      .describe('Start a rotation when this percentage of the lifetime remains. Exclusive with rotateBefore.'),
    propagationDelay: GoDuration.optional().describe(
      "After every TrustBundle holds the new CA in all its targets, wait this long before signing with it (default 2m, the kubelet's sync period for mounted volumes).",
    ),
    retireGracePeriod: GoDuration.optional().describe(
      'After no unexpired certificate signed by the old CA is left, wait this long before removing it from the bundles (default 5m).',
    ),
    reissueWindow: GoDuration.optional().describe(
      'Certificates are re-issued by the new CA at a steady offset within this window after the switch, not all at once (default 10m).',
    ),
    privateKey: z
      .object({
        algorithm: z.enum(['RSA', 'ECDSA', 'Ed25519']).optional().describe('Key algorithm (default ECDSA).'),
        size: z.number().int().optional().describe('RSA 2048/3072/4096/8192 (default 2048); ECDSA 256/384/521 (default 256).'),
      })
      .optional(),
  })
  .meta({
    'x-kubernetes-validations': [
      { rule: '!(has(self.rotateBefore) && has(self.rotateBeforePercentage))', message: 'set rotateBefore or rotateBeforePercentage, not both' },
    ],
  })
  .describe(
    'A CA the operator creates and rotates: new generations are trusted (published to TrustBundles) before they sign, and old ones leave the bundles only when nothing they signed is in use.',
  );
export type ManagedCa = z.infer<typeof ManagedCa>;

/** Key types a kubelet can generate for a podCertificate volume (PodCertificateProjection.keyType). */
export const POD_KEY_TYPES = ['RSA3072', 'RSA4096', 'ECDSAP256', 'ECDSAP384', 'ECDSAP521', 'ED25519'] as const;
export type PodKeyType = (typeof POD_KEY_TYPES)[number];

// A signer name as kube-apiserver checks it: <DNS domain with a dot>/<DNS subdomain>.
const DNS_LABEL = '[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?';
export const SIGNER_NAME_PATTERN = `^${DNS_LABEL}(\\.${DNS_LABEL})+/${DNS_LABEL}(\\.${DNS_LABEL})*$`;

export const PodCertificates = z
  .object({
    signerName: z
      .string()
      .max(253)
      .regex(new RegExp(SIGNER_NAME_PATTERN), 'must be <domain>/<name>, e.g. certsmith.dev/mesh')
      .optional()
      .describe(
        'ClusterIssuer only: the signer name pods ask for (default certsmith.dev/<name>). The operator must be allowed to sign for it (chart rbac.podCertificateSigners). An Issuer always serves certsmith.dev/ns.<namespace>.<name>, and only pods of its namespace.',
      ),
    maxDuration: GoDuration.optional().describe(
      "Longest lifetime of a pod certificate (Go duration, default 24h). The pod's maxExpirationSeconds and the CA's own expiry shorten it; it is never below 1h.",
    ),
    refreshBeforePercentage: z
      .number()
      .int()
      .min(10)
      .max(90)
      .optional()
      .describe('The kubelet starts refreshing when this percentage of the lifetime remains (default 33). A CA rotation brings it forward.'),
    trustDomain: z
      .string()
      .max(253)
      .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a lower-case DNS name')
      .optional()
      .describe('SPIFFE trust domain of the URI SAN spiffe://<trustDomain>/ns/<namespace>/sa/<serviceAccount> (default cluster.local).'),
    keyTypes: z
      .array(z.enum(POD_KEY_TYPES))
      .min(1)
      .max(6)
      .optional()
      .describe('Key types accepted (default all the kubelet offers); another is denied with UnsupportedKeyType.'),
  })
  .describe(
    "Sign Kubernetes PodCertificateRequests (podCertificate projected volumes) with this CA: per-pod certificates naming the pod's service account, refreshed by the kubelet. See docs/pod-certificates.md.",
  );
export type PodCertificates = z.infer<typeof PodCertificates>;

export const IssuerSpec = z
  .object({
    selfSigned: z.object({}).optional().describe('Sign each certificate with its own key.'),
    ca: z
      .object({
        secretName: LocalObjectName.optional().describe(
          'Secret with tls.crt and tls.key of a CA you manage. For a ClusterIssuer it lives in the cluster-resource namespace. When you replace its CA, the old CA stays in the bundles until every certificate it signed has been re-issued by the new one.',
        ),
        reissueWindow: GoDuration.optional().describe(
          'With secretName: after the CA in the Secret is replaced, Certificates are re-issued at a steady offset within this window (Go duration, default 10m). A managed CA sets its own.',
        ),
        retireGracePeriod: GoDuration.optional().describe(
          'With secretName: after no unexpired certificate signed by the replaced CA is left, wait this long before removing it from the bundles (default 5m).',
        ),
        managed: ManagedCa.optional(),
        podCertificates: PodCertificates.optional(),
      })
      .meta({
        'x-kubernetes-validations': [{ rule: 'has(self.secretName) != has(self.managed)', message: 'set exactly one of secretName or managed' }],
      })
      .optional()
      .describe('Sign with a CA key pair kept in a Secret: one you manage (secretName), or one the operator creates and rotates (managed).'),
    acme: AcmeIssuer.optional(),
  })
  .meta({
    'x-kubernetes-validations': [
      {
        // Written so that later issuer types (ca.managed) only extend the list.
        rule: '[has(self.selfSigned), has(self.ca), has(self.acme)].filter(x, x).size() == 1',
        message: 'exactly one of selfSigned, ca or acme must be set',
      },
    ],
  });
export type IssuerSpec = z.infer<typeof IssuerSpec>;

export const IssuerStatus = z.object({
  conditions: conditionsList,
  caNotAfter: z.string().optional().describe('Expiry of the signing CA certificate.'),
  caFingerprint: z.string().optional().describe('SHA-256 fingerprint of the signing CA certificate.'),
  podCertificateSignerName: z.string().optional().describe('The signer name this issuer serves PodCertificateRequests for (ca.podCertificates).'),
  ca: z
    .object({
      phase: z
        .enum(['Stable', 'Publishing', 'Reissuing'])
        .optional()
        .describe(
          'Stable: one CA signs. Publishing: a new CA is in the bundles, the old one still signs. Reissuing: the new CA signs; the old one stays in the bundles until nothing it signed is in use.',
        ),
      signingSince: z.string().optional().describe('When the signing CA started signing; Certificates spread their re-issuance from here.'),
      gateOpenSince: z.string().optional().describe("When the current phase's condition to move on was first met (its delay counts from here)."),
      generations: z
        .array(
          z.object({
            fingerprint: z.string().describe('SHA-256 of the DER, lowercase hex.'),
            notBefore: z.string(),
            notAfter: z.string(),
            role: z
              .enum(['signing', 'published', 'retiring'])
              .describe('signing: signs now; published: trusted, signs next; retiring: trusted until nothing it signed is in use.'),
            certificate: z
              .string()
              .optional()
              .describe('PEM of the CA certificate (never its key), for a CA you manage (ca.secretName): the bundles keep publishing it while it retires.'),
          }),
        )
        .optional()
        .describe('Every CA generation in the bundles, oldest first.'),
    })
    .optional()
    .describe('CA generations and rotation progress.'),
  acme: z
    .object({
      uri: z.string().optional().describe('The registered ACME account.'),
      lastRegisteredEmail: z.string().optional(),
      server: z.string().optional().describe('Directory URL the account is registered with.'),
      accountKeyThumbprint: z.string().optional().describe('JWK thumbprint (RFC 7638) of the account key the account was registered with.'),
    })
    .optional(),
});
export type IssuerStatus = z.infer<typeof IssuerStatus>;

export type Issuer = KubeObject<IssuerSpec, IssuerStatus>;
export type IssuerKind = 'Issuer' | 'ClusterIssuer';

/** The Secret holding an issuer's CA: the user's (secretName) or the operator's (managed); undefined for other types. */
export function caSecretNameOf(issuer: { metadata: { name: string }; spec?: IssuerSpec }): string | undefined {
  const ca = issuer.spec?.ca;
  if (!ca) return undefined;
  if (ca.secretName) return ca.secretName;
  return ca.managed ? (ca.managed.secretName ?? `${issuer.metadata.name}-ca`) : undefined;
}
