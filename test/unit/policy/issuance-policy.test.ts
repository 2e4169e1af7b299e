// The issuance policy decision, as tables: which policies govern an issuer, which namespaces they select, and the
// first rule a request breaks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dnsNameAllowed, evaluateIssuancePolicy, globMatches, type PolicyObject, type PolicyRequest } from '../../../src/policy/issuance-policy.ts';

const HOUR = 3_600_000;

function request(overrides: Partial<PolicyRequest> = {}): PolicyRequest {
  return {
    namespace: 'team-a',
    issuer: { kind: 'ClusterIssuer', name: 'letsencrypt' },
    dnsNames: ['api.team-a.example.com'],
    ipAddresses: [],
    uris: [],
    emailAddresses: [],
    isCA: false,
    key: { algorithm: 'ECDSA', size: 256 },
    usages: ['digital signature', 'key encipherment', 'server auth'],
    durationMs: 90 * 24 * HOUR,
    ...overrides,
  };
}

/** A team namespace limited to its own zone. */
const teamA: PolicyObject = {
  name: 'team-a',
  spec: {
    issuers: [{ kind: 'ClusterIssuer', name: 'letsencrypt' }],
    namespaces: { names: ['team-a'] },
    allowed: { dnsZones: ['team-a.example.com'], maxDuration: '2160h' },
  },
};

/** A ClusterIssuer for in-cluster service names only, for namespaces labelled mesh=on. */
const mesh: PolicyObject = {
  name: 'mesh',
  spec: {
    issuers: [{ kind: 'ClusterIssuer', name: 'internal-ca' }],
    namespaces: { selector: { matchLabels: { mesh: 'on' } } },
    allowed: {
      dnsNames: ['*.svc.cluster.local'],
      dnsZones: ['svc.cluster.local'],
      ipRanges: ['10.96.0.0/12'],
      uris: ['spiffe://cluster.local/ns/*/sa/*'],
      privateKeys: [{ algorithm: 'ECDSA', minSize: 256 }],
      usages: ['digital signature', 'key encipherment', 'server auth', 'client auth'],
      maxDuration: '24h',
    },
  },
};

describe('evaluateIssuancePolicy', () => {
  const cases: {
    name: string;
    req: Partial<PolicyRequest>;
    policies: PolicyObject[];
    labels?: Record<string, string>;
    default?: 'Allow' | 'Deny';
    want: { allowed: boolean; by?: string; message?: RegExp };
  }[] = [
    { name: 'an issuer no policy governs is allowed by default', req: {}, policies: [], want: { allowed: true } },
    {
      name: 'an issuer no policy governs is denied when the cluster default is Deny',
      req: {},
      policies: [],
      default: 'Deny',
      want: { allowed: false, message: /no IssuancePolicy governs ClusterIssuer letsencrypt/ },
    },
    { name: 'a policy on another issuer does not govern this one', req: {}, policies: [mesh], default: 'Allow', want: { allowed: true } },
    { name: 'a name in the team zone is allowed, by that policy', req: {}, policies: [teamA], want: { allowed: true, by: 'team-a' } },
    { name: 'the zone itself is allowed', req: { dnsNames: ['team-a.example.com'] }, policies: [teamA], want: { allowed: true, by: 'team-a' } },
    { name: 'a wildcard below the zone is allowed', req: { dnsNames: ['*.api.team-a.example.com'] }, policies: [teamA], want: { allowed: true } },
    {
      name: 'a name outside the zone is denied, naming the field and the rule',
      req: { dnsNames: ['api.team-a.example.com', 'evil.team-b.example.com'] },
      policies: [teamA],
      want: {
        allowed: false,
        by: 'team-a',
        message:
          /^IssuancePolicy team-a: spec\.dnsNames\[1\] "evil\.team-b\.example\.com" is not allowed by spec\.allowed\.dnsNames or spec\.allowed\.dnsZones$/,
      },
    },
    {
      name: 'a zone is matched by whole labels, not as a string suffix',
      req: { dnsNames: ['eviltteam-a.example.com'.replace('tt', 't')] },
      policies: [teamA],
      want: { allowed: false },
    },
    {
      name: 'another namespace may not use a governed issuer',
      req: { namespace: 'team-b', dnsNames: ['x.team-a.example.com'] },
      policies: [teamA],
      want: {
        allowed: false,
        message: /namespace team-b may not use ClusterIssuer letsencrypt: IssuancePolicy team-a governs it and selects other namespaces/,
      },
    },
    {
      name: 'a lifetime above maxDuration is denied',
      req: { durationMs: 2161 * HOUR },
      policies: [teamA],
      want: { allowed: false, message: /spec\.duration .* is longer than spec\.allowed\.maxDuration 2160h/ },
    },
    {
      name: 'a CA certificate is denied unless allowed',
      req: { isCA: true },
      policies: [teamA],
      want: { allowed: false, message: /spec\.isCA is true/ },
    },
    {
      name: 'an IP address is denied when the policy lists no ranges',
      req: { ipAddresses: ['10.0.0.1'] },
      policies: [teamA],
      want: { allowed: false, message: /spec\.ipAddresses\[0\] "10\.0\.0\.1" is not in spec\.allowed\.ipRanges/ },
    },
    {
      name: 'a namespace selected by its labels gets a service name, a service IP and its SPIFFE URI',
      req: {
        namespace: 'shop',
        issuer: { kind: 'ClusterIssuer', name: 'internal-ca' },
        dnsNames: ['cart.shop.svc.cluster.local', 'cart.svc.cluster.local'],
        ipAddresses: ['10.96.0.10'],
        uris: ['spiffe://cluster.local/ns/shop/sa/cart'],
        usages: ['digital signature', 'client auth'],
        durationMs: 24 * HOUR,
      },
      policies: [mesh],
      labels: { mesh: 'on' },
      want: { allowed: true, by: 'mesh' },
    },
    {
      name: 'a namespace without the label is not selected',
      req: { namespace: 'shop', issuer: { kind: 'ClusterIssuer', name: 'internal-ca' }, dnsNames: ['cart.shop.svc.cluster.local'] },
      policies: [mesh],
      labels: {},
      want: { allowed: false, message: /namespace shop may not use ClusterIssuer internal-ca/ },
    },
    {
      name: 'a URI pattern does not let "*" cross a "/"',
      req: {
        namespace: 'shop',
        issuer: { kind: 'ClusterIssuer', name: 'internal-ca' },
        dnsNames: [],
        uris: ['spiffe://cluster.local/ns/shop/x/sa/cart'],
        usages: ['digital signature'],
        durationMs: HOUR,
      },
      policies: [mesh],
      labels: { mesh: 'on' },
      want: { allowed: false, message: /spec\.uris\[0\]/ },
    },
    {
      name: 'a key smaller than the minimum is denied',
      req: { namespace: 'shop', issuer: { kind: 'ClusterIssuer', name: 'internal-ca' }, dnsNames: [], key: { algorithm: 'RSA', size: 2048 }, durationMs: HOUR },
      policies: [mesh],
      labels: { mesh: 'on' },
      want: { allowed: false, message: /spec\.privateKey RSA 2048 is not allowed by spec\.allowed\.privateKeys/ },
    },
    {
      name: 'a usage outside the list is denied',
      req: { namespace: 'shop', issuer: { kind: 'ClusterIssuer', name: 'internal-ca' }, dnsNames: [], usages: ['code signing'], durationMs: HOUR },
      policies: [mesh],
      labels: { mesh: 'on' },
      want: { allowed: false, message: /spec\.usages "code signing"/ },
    },
    {
      name: 'of two policies governing an issuer, either may allow',
      req: { namespace: 'team-b', dnsNames: ['b.team-b.example.com'] },
      policies: [
        teamA,
        {
          name: 'team-b',
          spec: { issuers: [{ kind: 'ClusterIssuer', name: '*' }], namespaces: { names: ['team-b'] }, allowed: { dnsZones: ['team-b.example.com'] } },
        },
      ],
      want: { allowed: true, by: 'team-b' },
    },
    {
      name: 'a policy that cannot be read allows nothing (fails closed)',
      req: {},
      policies: [
        {
          name: 'broken',
          spec: {
            issuers: [{ kind: 'ClusterIssuer', name: 'letsencrypt' }],
            namespaces: { names: ['team-a'] },
            allowed: { dnsZones: ['example.com'], maxDuration: '90d' },
          },
        },
      ],
      want: { allowed: false, message: /IssuancePolicy broken: spec\.allowed\.maxDuration "90d" is not a duration/ },
    },
    {
      name: 'a common name that is one of the requested names needs no rule of its own',
      req: { commonName: 'api.team-a.example.com' },
      policies: [teamA],
      want: { allowed: true },
    },
    {
      name: 'a common name outside the zone is denied',
      req: { commonName: 'Evil Corp Root' },
      policies: [teamA],
      want: { allowed: false, message: /spec\.commonName "Evil Corp Root"/ },
    },
    {
      name: 'a namespaced Issuer is governed by kind Issuer',
      req: { issuer: { kind: 'Issuer', name: 'local-ca' }, dnsNames: ['x.example.org'] },
      policies: [{ name: 'issuers', spec: { issuers: [{ kind: 'Issuer', name: '*' }], namespaces: { names: ['*'] }, allowed: { dnsZones: ['example.com'] } } }],
      want: { allowed: false, message: /spec\.dnsNames\[0\]/ },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = evaluateIssuancePolicy(request(c.req), c.policies, c.labels ?? { 'kubernetes.io/metadata.name': 'team-a' }, c.default ?? 'Allow');
      assert.equal(got.allowed, c.want.allowed, JSON.stringify(got));
      if (c.want.by !== undefined) assert.equal(got.by, c.want.by);
      if (c.want.message) assert.match(got.allowed ? '' : got.message, c.want.message);
    });
  }
});

describe('dnsNameAllowed', () => {
  const allowed = { dnsNames: ['*.apps.example.com', 'exact.example.com'] };
  const cases: [string, boolean][] = [
    ['web.apps.example.com', true],
    ['WEB.Apps.Example.com.', true],
    ['*.apps.example.com', true],
    ['a.b.apps.example.com', false],
    ['apps.example.com', false],
    ['exact.example.com', true],
    ['other.example.com', false],
  ];
  for (const [name, want] of cases) it(`${name} → ${want}`, () => assert.equal(dnsNameAllowed(name, allowed), want));
});

describe('globMatches', () => {
  const cases: [string, string, string, boolean][] = [
    ['spiffe://cluster.local/ns/*/sa/*', 'spiffe://cluster.local/ns/shop/sa/cart', '/', true],
    ['spiffe://cluster.local/ns/*/sa/*', 'spiffe://cluster.local/ns/a/b/sa/cart', '/', false],
    ['*@team-a.example.com', 'ops@team-a.example.com', '@', true],
    ['*@team-a.example.com', 'a@b@team-a.example.com', '@', false],
    ['exact', 'exact', '/', true],
    ['a*', 'a', '/', true],
    ['*b*', 'xbxbx', '/', true],
    // Found by test/unit/fuzz/names.test.ts: the last part was matched over the end of the part before it.
    ['https://*.example.com/*/index.html', 'https://x.example.com/index.html', '/', false],
    ['https://*.example.com/*/index.html', 'https://x.example.com/v1/index.html', '/', true],
    ['*/*/', 'b/', '/', false],
    ['*@*@x', 'a@x', '@', false],
  ];
  for (const [pattern, text, stop, want] of cases) it(`${pattern} ~ ${text} → ${want}`, () => assert.equal(globMatches(pattern, text, stop), want));

  it('is linear on a hostile pattern', () => {
    const start = process.cpuUsage();
    globMatches(`${'*a'.repeat(500)}b`, 'a'.repeat(100_000), '/');
    const { user } = process.cpuUsage(start);
    assert.ok(user < 500_000, `${user} µs`);
  });
});
