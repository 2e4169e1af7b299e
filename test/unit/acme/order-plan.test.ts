import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AcmeSolver } from '../../../src/api/issuer.ts';
import type { AcmeIdentifier } from '../../../src/acme/client.ts';
import {
  acmeSpecProblems,
  authorizationName,
  dns01RecordName,
  type OrderRequest,
  orderIdentifiers,
  planSolvers,
  requestDigest,
} from '../../../src/acme/order-plan.ts';

const request = (patch: Partial<OrderRequest> = {}): OrderRequest => ({
  dnsNames: ['www.example.com'],
  ipAddresses: [],
  uris: [],
  emailAddresses: [],
  isCA: false,
  ...patch,
});
const dns = (value: string): AcmeIdentifier => ({ type: 'dns', value });
const ip = (value: string): AcmeIdentifier => ({ type: 'ip', value });

describe('acmeSpecProblems', () => {
  const cases: { name: string; req: OrderRequest; problems: RegExp[] }[] = [
    { name: 'finds nothing wrong with DNS names only', req: request(), problems: [] },
    { name: 'finds nothing wrong with IP addresses only', req: request({ dnsNames: [], ipAddresses: ['192.0.2.1'] }), problems: [] },
    { name: 'accepts a commonName that is one of the dnsNames', req: request({ commonName: 'www.example.com' }), problems: [] },
    { name: 'accepts a commonName that differs from a dnsName only in case', req: request({ commonName: 'WWW.Example.com' }), problems: [] },
    { name: 'accepts a commonName that is one of the ipAddresses', req: request({ ipAddresses: ['192.0.2.1'], commonName: '192.0.2.1' }), problems: [] },
    {
      name: 'accepts a commonName that spells an IPv6 address of ipAddresses differently',
      req: request({ ipAddresses: ['2001:DB8:0::1'], commonName: '2001:db8::1' }),
      problems: [],
    },
    { name: 'refuses isCA', req: request({ isCA: true }), problems: [/^isCA cannot be requested from an ACME issuer/] },
    { name: 'refuses uris', req: request({ uris: ['spiffe://cluster.local/ns/a/sa/b'] }), problems: [/^uris cannot be requested/] },
    { name: 'refuses emailAddresses', req: request({ emailAddresses: ['ops@example.com'] }), problems: [/^emailAddresses cannot be requested/] },
    { name: 'needs at least one DNS name or IP address', req: request({ dnsNames: [] }), problems: [/needs at least one of dnsNames or ipAddresses/] },
    {
      name: 'refuses a commonName that is not among the names, quoting it',
      req: request({ commonName: 'other.example.com' }),
      problems: [/^commonName "other\.example\.com" must also be listed in dnsNames or ipAddresses/],
    },
    {
      name: 'reports every problem, in a fixed order',
      req: request({ dnsNames: [], isCA: true, uris: ['urn:x'], emailAddresses: ['a@b.c'], commonName: 'cn' }),
      problems: [/^isCA/, /^uris/, /^emailAddresses/, /at least one of dnsNames/, /^commonName "cn"/],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const problems = acmeSpecProblems(c.req);
      assert.equal(problems.length, c.problems.length, problems.join('\n'));
      c.problems.forEach((re, i) => assert.match(problems[i]!, re));
    });
  }
});

describe('orderIdentifiers', () => {
  const cases: { name: string; req: Partial<OrderRequest>; expected: AcmeIdentifier[] }[] = [
    { name: 'orders one DNS name as it is', req: { dnsNames: ['www.example.com'] }, expected: [dns('www.example.com')] },
    {
      name: 'lower-cases DNS names and drops duplicates that differ only in case',
      req: { dnsNames: ['WWW.example.com', 'www.EXAMPLE.com', 'www.example.com'] },
      expected: [dns('www.example.com')],
    },
    {
      name: 'sorts DNS names, keeping wildcards as they are',
      req: { dnsNames: ['www.example.com', '*.example.com', 'api.example.com', 'example.com'] },
      expected: [dns('*.example.com'), dns('api.example.com'), dns('example.com'), dns('www.example.com')],
    },
    {
      name: 'puts DNS names before IP addresses, each sorted and deduplicated',
      req: { dnsNames: ['b.example.com', 'a.example.com'], ipAddresses: ['198.51.100.7', '192.0.2.1', '198.51.100.7'] },
      expected: [dns('a.example.com'), dns('b.example.com'), ip('192.0.2.1'), ip('198.51.100.7')],
    },
    {
      // RFC 8738 section 3: an IPv6 identifier is written as RFC 5952 section 4 spells it; the CA names its
      // authorization that way, so the order must too.
      name: 'spells IPv6 addresses the RFC 5952 way and drops the duplicates that leaves',
      req: { dnsNames: [], ipAddresses: ['2001:DB8:0:0::1', '2001:db8::1', '192.0.2.1'] },
      expected: [ip('192.0.2.1'), ip('2001:db8::1')],
    },
    { name: 'orders nothing for nothing', req: { dnsNames: [] }, expected: [] },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(orderIdentifiers(request(c.req)), c.expected));

  it('is the same whatever order the spec lists names in', () => {
    const a = orderIdentifiers(request({ dnsNames: ['a.example.com', 'b.example.com'], ipAddresses: ['192.0.2.2', '192.0.2.1'] }));
    const b = orderIdentifiers(request({ dnsNames: ['B.example.com', 'a.example.com'], ipAddresses: ['192.0.2.1', '192.0.2.2'] }));
    assert.deepEqual(a, b);
  });
});

describe('requestDigest', () => {
  const base = {
    issuerId: 'ClusterIssuer/letsencrypt https://acme.example/acct/1',
    server: 'https://acme.example/directory',
    identifiers: [dns('a.example.com'), dns('b.example.com'), ip('192.0.2.1')],
    profile: 'tlsserver' as string | undefined,
  };
  const digest = (p: Partial<typeof base> = {}) => {
    const d = { ...base, ...p };
    return requestDigest(d.issuerId, d.server, d.identifiers, d.profile);
  };

  it('is 32 lower-case hex characters', () => assert.match(digest(), /^[0-9a-f]{32}$/));

  it('is the same for the same request, built afresh', () => {
    assert.equal(digest(), digest({ identifiers: base.identifiers.map((i) => ({ ...i })) }));
  });

  const changes: { name: string; patch: Partial<typeof base> }[] = [
    { name: 'changes with the issuer (or its account)', patch: { issuerId: 'ClusterIssuer/letsencrypt https://acme.example/acct/2' } },
    { name: 'changes with the server', patch: { server: 'https://acme-staging.example/directory' } },
    { name: 'changes when a name is added', patch: { identifiers: [...base.identifiers, dns('c.example.com')] } },
    { name: 'changes when a name is dropped', patch: { identifiers: base.identifiers.slice(1) } },
    { name: 'changes when a name becomes a wildcard', patch: { identifiers: [dns('*.example.com'), ...base.identifiers.slice(1)] } },
    { name: 'changes when the same value is an IP address instead of a DNS name', patch: { identifiers: [ip('a.example.com'), ...base.identifiers.slice(1)] } },
    { name: 'changes with the profile', patch: { profile: 'shortlived' } },
    { name: 'changes when the profile is dropped', patch: { profile: undefined } },
    // The parts are kept apart, so moving text from one to the next is a different request.
    { name: 'changes when text moves between issuer and server', patch: { issuerId: `${base.issuerId}h`, server: base.server.slice(1) } },
  ];
  for (const c of changes) it(c.name, () => assert.notEqual(digest(c.patch), digest()));

  it('treats no profile and an empty profile alike', () => assert.equal(digest({ profile: undefined }), digest({ profile: '' })));
});

describe('planSolvers', () => {
  const http01: AcmeSolver = { http01: {} };
  const dns01Zone: AcmeSolver = { dns01: { webhook: { url: 'https://dns.example.net/hook' } }, selector: { dnsZones: ['example.com'] } };

  it('chooses a solver for every identifier, keyed by its value', () => {
    const plan = planSolvers([dns('*.example.com'), dns('www.example.com'), ip('192.0.2.1')], [http01, dns01Zone], {});
    assert.equal(plan.ok, true);
    if (!plan.ok) return;
    assert.deepEqual(
      [...plan.solvers],
      [
        ['*.example.com', { index: 1, type: 'dns-01' }],
        ['www.example.com', { index: 1, type: 'dns-01' }],
        ['192.0.2.1', { index: 0, type: 'http-01' }],
      ],
    );
  });

  it('refuses the whole plan when one identifier has no solver, naming it', () => {
    const plan = planSolvers([dns('www.example.com'), dns('*.example.org')], [http01, dns01Zone], {});
    assert.deepEqual(plan, {
      ok: false,
      message:
        'wildcard *.example.org can only be validated over DNS-01, and no dns01 solver selects it: add a dns01 solver (or widen a selector) on the issuer',
    });
  });

  it('joins the reasons of every identifier without a solver', () => {
    const plan = planSolvers([dns('a.example.org'), dns('www.example.com'), dns('b.example.org')], [dns01Zone], {});
    assert.equal(plan.ok, false);
    if (plan.ok) return;
    const reasons = plan.message.split('; ');
    assert.equal(reasons.length, 2);
    assert.match(reasons[0]!, /selects a\.example\.org/);
    assert.match(reasons[1]!, /selects b\.example\.org/);
  });

  it('passes the Certificate labels to the selection', () => {
    const labelled: AcmeSolver = { dns01: { webhook: { url: 'https://dns.example.net/hook' } }, selector: { matchLabels: { team: 'web' } } };
    const withLabel = planSolvers([dns('www.example.com')], [http01, labelled], { team: 'web' });
    const without = planSolvers([dns('www.example.com')], [http01, labelled], {});
    assert.deepEqual(withLabel.ok && withLabel.solvers.get('www.example.com'), { index: 1, type: 'dns-01' });
    assert.deepEqual(without.ok && without.solvers.get('www.example.com'), { index: 0, type: 'http-01' });
  });
});

describe('authorizationName', () => {
  const cases: { name: string; authz: { identifier: AcmeIdentifier; wildcard?: boolean }; expected: string }[] = [
    { name: 'is the identifier value for a plain authorization', authz: { identifier: dns('www.example.com') }, expected: 'www.example.com' },
    { name: 'is the value when wildcard is false', authz: { identifier: dns('www.example.com'), wildcard: false }, expected: 'www.example.com' },
    { name: 'puts "*." back in front for a wildcard authorization', authz: { identifier: dns('example.com'), wildcard: true }, expected: '*.example.com' },
    { name: 'is the address for an IP authorization', authz: { identifier: ip('192.0.2.1') }, expected: '192.0.2.1' },
  ];
  for (const c of cases) it(c.name, () => assert.equal(authorizationName(c.authz), c.expected));

  it('gives back the names orderIdentifiers ordered, so the solver plan finds them', () => {
    const ids = orderIdentifiers(request({ dnsNames: ['*.example.com', 'example.com'], ipAddresses: ['192.0.2.1'] }));
    // How the CA answers: a wildcard identifier comes back without "*." and flagged.
    const authzs = ids.map((i) => (i.value.startsWith('*.') ? { identifier: { ...i, value: i.value.slice(2) }, wildcard: true } : { identifier: i }));
    assert.deepEqual(
      authzs.map(authorizationName),
      ids.map((i) => i.value),
    );
  });
});

describe('dns01RecordName', () => {
  const cases: { name: string; input: string; expected: string }[] = [
    { name: 'prefixes _acme-challenge and makes the name absolute', input: 'www.example.com', expected: '_acme-challenge.www.example.com.' },
    { name: 'uses the base name of a wildcard', input: '*.example.com', expected: '_acme-challenge.example.com.' },
    { name: 'does not double a trailing dot', input: 'example.com.', expected: '_acme-challenge.example.com.' },
    { name: 'works for a wildcard with a trailing dot', input: '*.example.com.', expected: '_acme-challenge.example.com.' },
  ];
  for (const c of cases) it(c.name, () => assert.equal(dns01RecordName(c.input), c.expected));

  it('is the same record for a wildcard and its base name, as RFC 8555 8.4 has it', () => {
    assert.equal(dns01RecordName('*.example.com'), dns01RecordName('example.com'));
  });
});
