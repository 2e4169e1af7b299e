// IssuancePolicy (cluster-scoped): who may get which certificate from which issuers. Written by cluster admins; a
// namespace user cannot weaken it. Evaluated by policy/issuance-policy.ts before any key, order or signature.
import { z } from 'zod';
import { KEY_USAGES } from './certificate.ts';
import { GoDuration, LocalObjectName, type KubeObject } from './meta.ts';
import { LabelSelector } from './trust-bundle.ts';

// Bounded so that evaluating a policy stays cheap whatever an admin writes: lists of at most 256 short entries.
const MAX_ENTRIES = 256;
// A lower-case DNS name (labels of letters, digits and hyphens); CEL checks policy entries against it at admission.
const DNS_PATTERN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const Pattern = (what: string, max = 253) => z.string().min(1).max(max).describe(what);
const patternList = (what: string, max?: number) => z.array(Pattern(what, max)).max(MAX_ENTRIES).optional();

export const IssuerSelector = z
  .object({
    kind: z.enum(['Issuer', 'ClusterIssuer']).describe('Issuer (in the Certificate’s own namespace) or ClusterIssuer.'),
    name: z
      .string()
      .min(1)
      .max(253)
      .describe('The issuer’s name, or "*" for every issuer of that kind.')
      .meta({ 'x-kubernetes-validations': [{ rule: "self == '*' || self.matches('^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$')", message: 'a name or "*"' }] }),
  })
  .describe('Issuers this policy governs.');
export type IssuerSelector = z.infer<typeof IssuerSelector>;

export const PolicyNamespaces = z
  .object({
    names: z.array(LocalObjectName).max(MAX_ENTRIES).optional().describe('Namespaces by name; "*" is every namespace.'),
    selector: LabelSelector.optional().describe('Namespaces by their labels.'),
  })
  .describe('Which namespaces may use the governed issuers under this policy: a namespace in names or matching selector.')
  .meta({ 'x-kubernetes-validations': [{ rule: 'has(self.names) || has(self.selector)', message: 'set names, selector, or both' }] });

export const AllowedKey = z.object({
  algorithm: z.enum(['RSA', 'ECDSA', 'Ed25519']),
  minSize: z.number().int().min(0).max(16384).optional().describe('Smallest key size allowed (RSA bits or ECDSA curve size); any when left out.'),
});

export const PolicyAllowed = z
  .object({
    dnsNames: patternList('A DNS name: exact ("api.example.com") or a one-label wildcard ("*.example.com": any single label, and the wildcard name itself).')
      .describe('DNS names allowed, exact or one-label wildcards; with dnsZones, every requested DNS name must match one.')
      .meta({
        'x-kubernetes-validations': [
          {
            rule: `self.all(n, n.matches('${DNS_PATTERN.replace('^', '^(\\\\*\\\\.)?')}'))`,
            message: 'each entry must be a lower-case DNS name, optionally starting with "*."',
          },
        ],
      }),
    dnsZones: patternList('A DNS zone: the name itself and every name below it, wildcards included.')
      .describe('DNS zones allowed.')
      .meta({ 'x-kubernetes-validations': [{ rule: `self.all(n, n.matches('${DNS_PATTERN}'))`, message: 'each entry must be a lower-case DNS name' }] }),
    ipRanges: patternList('A CIDR range, e.g. 10.0.0.0/8 or fd00::/8.', 64)
      .describe('IP address ranges allowed; every requested IP must be in one.')
      .meta({ 'x-kubernetes-validations': [{ rule: 'self.all(r, isCIDR(r))', message: 'each entry must be a CIDR range such as 10.0.0.0/8' }] }),
    uris: patternList('A URI pattern; "*" matches any run of characters except "/".', 1024).describe('URI SANs allowed.'),
    emailAddresses: patternList('An email pattern; "*" matches any run of characters except "@".').describe('Email SANs allowed.'),
    isCA: z.boolean().optional().describe('Whether CA certificates may be requested (default false).'),
    privateKeys: z.array(AllowedKey).max(8).optional().describe('Key algorithms (and minimum sizes) allowed; any when left out.'),
    usages: z.array(z.enum(KEY_USAGES)).max(32).optional().describe('Key usages allowed; every requested usage must be listed. Any when left out.'),
    maxDuration: GoDuration.optional().describe('Longest certificate lifetime allowed (Go duration, e.g. 2160h); spec.duration must not exceed it.'),
  })
  .describe(
    'What Certificates may ask for. A field left out allows nothing of its kind, except privateKeys, usages and maxDuration, which allow anything when left out.',
  );
export type PolicyAllowed = z.infer<typeof PolicyAllowed>;

export const IssuancePolicySpec = z.object({
  issuers: z.array(IssuerSelector).min(1).max(64).describe('The issuers this policy governs. An issuer governed by no policy follows the cluster default.'),
  namespaces: PolicyNamespaces,
  allowed: PolicyAllowed,
});
export type IssuancePolicySpec = z.infer<typeof IssuancePolicySpec>;

export const IssuancePolicyStatus = z.object({});
export type IssuancePolicy = KubeObject<IssuancePolicySpec, z.infer<typeof IssuancePolicyStatus>>;
