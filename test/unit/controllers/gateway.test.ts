import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GatewayListener, GatewayObject } from '../../../src/api/gateway-api.ts';
import { gatewayTlsPlan, planGateway } from '../../../src/controllers/shim/gateway.ts';

function gateway(listeners: GatewayListener[]): GatewayObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'edge', namespace: 'web' },
    spec: { gatewayClassName: 'any', listeners },
  };
}
const https = (name: string, hostname: string | undefined, secret: string, extra: Partial<GatewayListener> = {}): GatewayListener => ({
  name,
  ...(hostname ? { hostname } : {}),
  port: 443,
  protocol: 'HTTPS',
  tls: { certificateRefs: [{ name: secret }] },
  ...extra,
});

describe('Gateway listeners → certificates', () => {
  const cases: {
    name: string;
    listeners: GatewayListener[];
    targets: { secretName: string; dnsNames: string[]; listeners: string[] }[];
    problems?: RegExp[];
  }[] = [
    {
      name: 'an HTTPS listener with a hostname gets a certificate for its Secret',
      listeners: [https('a', 'a.example.com', 'a-tls')],
      targets: [{ secretName: 'a-tls', dnsNames: ['a.example.com'], listeners: ['a'] }],
    },
    {
      name: 'listeners naming one Secret share one certificate with all their hostnames, sorted and without duplicates',
      listeners: [
        https('b', 'b.example.com', 'shared'),
        https('a', 'A.example.com', 'shared'),
        https('a-tls', 'a.example.com', 'shared', { protocol: 'TLS', port: 8443 }),
        https('c', 'c.example.com', 'c-tls'),
      ],
      targets: [
        { secretName: 'c-tls', dnsNames: ['c.example.com'], listeners: ['c'] },
        { secretName: 'shared', dnsNames: ['a.example.com', 'b.example.com'], listeners: ['b', 'a', 'a-tls'] },
      ],
    },
    {
      name: 'a TLS listener that terminates (mode given or defaulted) counts; Passthrough is not ours',
      listeners: [
        https('t', 't.example.com', 't-tls', { protocol: 'TLS', tls: { mode: 'Terminate', certificateRefs: [{ name: 't-tls' }] } }),
        https('p', 'p.example.com', 'p-tls', { protocol: 'TLS', tls: { mode: 'Passthrough' } }),
      ],
      targets: [{ secretName: 't-tls', dnsNames: ['t.example.com'], listeners: ['t'] }],
    },
    {
      name: 'HTTP, TCP and UDP listeners are ignored without a word',
      listeners: [
        { name: 'http', port: 80, protocol: 'HTTP', hostname: 'a.example.com' },
        { name: 'tcp', port: 5432, protocol: 'TCP' },
        { name: 'udp', port: 53, protocol: 'UDP' },
      ],
      targets: [],
    },
    {
      name: 'a wildcard hostname is kept as it is (validating it needs DNS-01, which the issuance checks)',
      listeners: [https('w', '*.example.com', 'wild')],
      targets: [{ secretName: 'wild', dnsNames: ['*.example.com'], listeners: ['w'] }],
    },
    {
      name: 'only the first certificateRef receives the certificate; an explicit core group and the own namespace are fine',
      listeners: [
        https('a', 'a.example.com', 'x', {
          tls: { certificateRefs: [{ group: 'core', kind: 'Secret', name: 'first', namespace: 'web' }, { name: 'second' }] },
        }),
      ],
      targets: [{ secretName: 'first', dnsNames: ['a.example.com'], listeners: ['a'] }],
    },
    {
      name: 'a terminating listener without a hostname is a problem, the others still get theirs',
      listeners: [https('nohost', undefined, 'n-tls'), https('a', 'a.example.com', 'a-tls')],
      targets: [{ secretName: 'a-tls', dnsNames: ['a.example.com'], listeners: ['a'] }],
      problems: [/^listener nohost has no hostname/],
    },
    {
      name: 'a terminating listener without certificateRefs is a problem',
      listeners: [https('a', 'a.example.com', 'x', { tls: {} }), https('b', 'b.example.com', 'x', { tls: { certificateRefs: [] } })],
      targets: [],
      problems: [/^listener a has no tls\.certificateRefs/, /^listener b has no tls\.certificateRefs/],
    },
    {
      name: 'a reference to something other than a core Secret is a problem',
      listeners: [https('a', 'a.example.com', 'x', { tls: { certificateRefs: [{ group: 'example.com', kind: 'Vault', name: 'v' }] } })],
      targets: [],
      problems: [/^listener a refers to Vault \(group example\.com\) v: only a core Secret/],
    },
    {
      name: 'a Secret in another namespace is a problem: certificates are written next to the Gateway',
      listeners: [https('a', 'a.example.com', 'x', { tls: { certificateRefs: [{ name: 'x', namespace: 'other' }] } })],
      targets: [],
      problems: [/^listener a refers to the Secret other\/x in another namespace.*\(web\)$/],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = gatewayTlsPlan(gateway(c.listeners));
      assert.deepEqual(plan.targets, c.targets);
      assert.equal(plan.problems.length, (c.problems ?? []).length, JSON.stringify(plan.problems));
      plan.problems.forEach((p, i) => assert.match(p.message, c.problems![i]!));
    });
  }

  it('a Gateway without listeners needs nothing', () => {
    assert.deepEqual(gatewayTlsPlan({ ...gateway([]), spec: { gatewayClassName: 'x' } }), { targets: [], problems: [] });
  });
});

describe('an annotated Gateway → Certificates', () => {
  const opts = { honourCertManager: false };
  const annotated = (annotations: Record<string, string>, listeners: GatewayListener[]): GatewayObject => ({
    ...gateway(listeners),
    metadata: { name: 'edge', namespace: 'web', annotations },
  });

  it('a Gateway without an issuer annotation is not ours', () => {
    assert.deepEqual(planGateway(gateway([https('a', 'a.example.com', 'a-tls')]), opts), { kind: 'notAnnotated' });
  });

  it('each Secret becomes a Certificate named after it, with the issuer, the field annotations and the Gateway as HTTP-01 hint', () => {
    const plan = planGateway(
      annotated({ 'certsmith.dev/cluster-issuer': 'le', 'certsmith.dev/duration': '720h', 'certsmith.dev/private-key-algorithm': 'RSA' }, [
        https('a', 'a.example.com', 'shared'),
        https('b', 'b.example.com', 'shared'),
        https('c', 'c.example.com', 'c-tls'),
      ]),
      opts,
    );
    assert.equal(plan.kind, 'planned');
    if (plan.kind !== 'planned') return;
    assert.deepEqual(plan.problems, []);
    assert.deepEqual(plan.certificates, [
      {
        name: 'c-tls',
        spec: {
          secretName: 'c-tls',
          issuerRef: { name: 'le', kind: 'ClusterIssuer' },
          dnsNames: ['c.example.com'],
          duration: '720h',
          privateKey: { algorithm: 'RSA' },
        },
        annotations: { 'certsmith.dev/acme-http01-gateway': 'edge' },
      },
      {
        name: 'shared',
        spec: {
          secretName: 'shared',
          issuerRef: { name: 'le', kind: 'ClusterIssuer' },
          dnsNames: ['a.example.com', 'b.example.com'],
          duration: '720h',
          privateKey: { algorithm: 'RSA' },
        },
        annotations: { 'certsmith.dev/acme-http01-gateway': 'edge' },
      },
    ]);
  });

  it('malformed annotation values make the whole Gateway invalid, naming each annotation and value', () => {
    const plan = planGateway(
      annotated({ 'certsmith.dev/issuer': 'ca', 'certsmith.dev/duration': 'soon', 'certsmith.dev/private-key-size': 'big' }, [
        https('a', 'a.example.com', 'a-tls'),
      ]),
      opts,
    );
    assert.equal(plan.kind, 'invalid');
    if (plan.kind !== 'invalid') return;
    assert.equal(plan.problems.length, 2);
    assert.match(plan.problems.join('\n'), /certsmith\.dev\/duration: .*soon/);
    assert.match(plan.problems.join('\n'), /certsmith\.dev\/private-key-size: "big"/);
  });

  it('listener problems and a Secret name a Certificate cannot have are told, the other listeners still get theirs', () => {
    const plan = planGateway(
      annotated({ 'certsmith.dev/issuer': 'ca' }, [
        https('nohost', undefined, 'n-tls'),
        https('bad', 'bad.example.com', 'Not_A_Name'),
        https('a', 'a.example.com', 'a-tls'),
      ]),
      opts,
    );
    assert.equal(plan.kind, 'planned');
    if (plan.kind !== 'planned') return;
    assert.deepEqual(
      plan.certificates.map((c) => c.name),
      ['a-tls'],
    );
    assert.equal(plan.problems.length, 2);
    assert.match(plan.problems[0]!, /^listener nohost has no hostname.*; no Certificate was made for it$/);
    assert.match(plan.problems[1]!, /^listener bad: secretName "Not_A_Name" is not a valid Secret name/);
  });

  it('edit-in-place has no meaning on a Gateway and says so', () => {
    const plan = planGateway(
      annotated({ 'certsmith.dev/issuer': 'ca', 'certsmith.dev/acme-http01-edit-in-place': 'true' }, [https('a', 'a.example.com', 'a-tls')]),
      opts,
    );
    assert.equal(plan.kind, 'planned');
    if (plan.kind !== 'planned') return;
    assert.equal(plan.certificates.length, 1);
    assert.match(plan.problems[0]!, /acme-http01-edit-in-place has no meaning on a Gateway/);
  });
});
