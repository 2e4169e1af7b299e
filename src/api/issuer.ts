import { z } from 'zod';
import { conditionsList, LocalObjectName, type KubeObject } from './meta.ts';

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
      .describe("Route the CA to the operator through an Ingress: a solver Service and EndpointSlice in the Certificate's namespace, and a temporary Ingress (or a path on an existing one)."),
    selfCheck: z
      .boolean()
      .optional()
      .describe('Fetch the challenge over HTTP before asking the CA to validate (default true); turn off where the cluster cannot reach its own public address.'),
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
    'x-kubernetes-validations': [
      { rule: 'has(self.rfc2136) != has(self.webhook)', message: 'set exactly one of rfc2136 or webhook' },
    ],
  })
  .describe('Answer DNS-01 challenges with a TXT record at _acme-challenge.<name>.');

export const AcmeSolver = z
  .object({
    selector: SolverSelector.optional(),
    http01: Http01Solver.optional(),
    dns01: Dns01Solver.optional(),
  })
  .meta({
    'x-kubernetes-validations': [
      { rule: 'has(self.http01) != has(self.dns01)', message: 'set exactly one of http01 or dns01' },
    ],
  });
export type AcmeSolver = z.infer<typeof AcmeSolver>;

export const AcmeIssuer = z
  .object({
    server: z.string().url().describe('ACME directory URL, e.g. https://acme-v02.api.letsencrypt.org/directory.'),
    email: z.string().optional().describe('Contact address registered with the account.'),
    privateKeySecretRef: SecretKeySelector.describe(
      'Secret holding the account key (key default: tls.key). Generated and stored when missing; reused after.',
    ),
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
