// IssuancePolicy on the real control plane: a team namespace limited to its own zone, another namespace refused, a
// policy change taking effect, and the same check for Certificates made from annotated Ingresses and Gateways.
// Nothing a policy refuses is signed: no Secret appears.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Certificate } from '../../src/api/certificate.ts';
import { findCondition } from '../../src/api/conditions.ts';
import type { GatewayObject } from '../../src/api/gateway-api.ts';
import type { IssuancePolicy, IssuancePolicySpec } from '../../src/api/issuance-policy.ts';
import { API_VERSION, type KubeObject } from '../../src/api/meta.ts';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { Resources } from '../../src/kube/resources.ts';
import { startControlPlane, type ControlPlane } from '../env/controlplane.ts';
import { certificate, editObject, type Secret, waitForReady } from './helpers/objects.ts';
import { startOperator, type OperatorProcess } from './helpers/operator.ts';
import { waitFor } from './helpers/wait.ts';

const crdsDir = join(import.meta.dirname, '..', '..', 'crds');
let cp: ControlPlane;
let client: KubeClient;
let operator: OperatorProcess;

const shared = { kind: 'ClusterIssuer' as const, name: 'shared' };

function policy(name: string, spec: IssuancePolicySpec): IssuancePolicy {
  return { apiVersion: API_VERSION, kind: 'IssuancePolicy', metadata: { name }, spec };
}

const teamA = policy('team-a', {
  issuers: [shared],
  namespaces: { names: ['team-a'] },
  allowed: { dnsZones: ['team-a.example.test'], maxDuration: '2160h' },
});

async function denied(ns: string, name: string, message: RegExp) {
  const c = await waitForReady(client, Resources.certificates, ns, name, (cond) => cond.status === 'False' && cond.reason === 'PolicyDenied');
  assert.match(findCondition(c.status?.conditions, 'Ready')?.message ?? '', message);
  assert.equal(await client.get<Secret>(Resources.secrets, ns, (c as Certificate).spec!.secretName), undefined, 'nothing was signed');
  const { items } = await client.list<KubeObject & { reason?: string }>(Resources.events, {
    namespace: ns,
    fieldSelector: `involvedObject.kind=Certificate,involvedObject.name=${name}`,
  });
  assert.ok(
    items.some((e) => e.reason === 'PolicyDenied'),
    'a PolicyDenied event',
  );
}

before(async () => {
  const logDir = await mkdtemp(join(tmpdir(), 'certsmith-policy-'));
  cp = await startControlPlane({ crdsDir, gatewayApi: true });
  client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath });
  for (const [name, labels] of [
    ['certsmith', {}],
    ['team-a', { team: 'a' }],
    ['team-b', { team: 'b' }],
  ] as const) {
    await client.create(Resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  }
  operator = startOperator({ kubeconfigPath: cp.kubeconfigPath, logDir, args: ['--leader-elect=false'] });
  await client.create(Resources.clusterIssuers, { apiVersion: API_VERSION, kind: 'ClusterIssuer', metadata: { name: 'shared' }, spec: { selfSigned: {} } });
  await waitForReady(client, Resources.clusterIssuers, undefined, 'shared');
  await client.create(Resources.issuancePolicies, teamA);
});

after(async () => {
  await operator?.stop();
  await cp?.stop();
});

describe('admission', () => {
  const cases: { name: string; spec: Record<string, unknown>; message: RegExp }[] = [
    { name: 'an IP range that is no CIDR', spec: { ...teamA.spec, allowed: { ipRanges: ['10.0.0.0/33'] } }, message: /CIDR/ },
    {
      name: 'a DNS pattern with a wildcard in the middle',
      spec: { ...teamA.spec, allowed: { dnsNames: ['a.*.example.test'] } },
      message: /lower-case DNS name/,
    },
    { name: 'namespaces with neither names nor selector', spec: { ...teamA.spec, namespaces: {} }, message: /names, selector, or both/ },
    { name: 'no issuers', spec: { ...teamA.spec, issuers: [] }, message: /issuers/ },
  ];
  for (const c of cases) {
    it(`refuses ${c.name}`, async () => {
      await assert.rejects(client.create(Resources.issuancePolicies, policy('bad', c.spec as IssuancePolicySpec)), (err: Error) => {
        assert.match(err.message, c.message);
        return true;
      });
    });
  }
});

describe('Certificates', () => {
  it('a team namespace gets a name in its own zone', async () => {
    await client.create(
      Resources.certificates,
      certificate('team-a', 'api', { secretName: 'api-tls', issuerRef: shared, dnsNames: ['api.team-a.example.test'] }),
    );
    await waitForReady(client, Resources.certificates, 'team-a', 'api');
  });

  it('a name outside its zone is refused with the rule and the field, and nothing is signed', async () => {
    await client.create(
      Resources.certificates,
      certificate('team-a', 'evil', { secretName: 'evil-tls', issuerRef: shared, dnsNames: ['api.team-a.example.test', 'www.bank.example.test'] }),
    );
    await denied('team-a', 'evil', /IssuancePolicy team-a: spec\.dnsNames\[1\] "www\.bank\.example\.test" is not allowed/);
  });

  it('a lifetime above the maximum is refused', async () => {
    await client.create(
      Resources.certificates,
      certificate('team-a', 'long', { secretName: 'long-tls', issuerRef: shared, dnsNames: ['long.team-a.example.test'], duration: '8760h' }),
    );
    await denied('team-a', 'long', /longer than spec\.allowed\.maxDuration 2160h/);
  });

  it('another namespace may not use the issuer, until a policy selects it by its labels', async () => {
    await client.create(
      Resources.certificates,
      certificate('team-b', 'web', { secretName: 'web-tls', issuerRef: shared, dnsNames: ['web.team-b.example.test'] }),
    );
    await denied('team-b', 'web', /namespace team-b may not use ClusterIssuer shared/);
    await client.create(
      Resources.issuancePolicies,
      policy('team-b', { issuers: [shared], namespaces: { selector: { matchLabels: { team: 'b' } } }, allowed: { dnsZones: ['team-b.example.test'] } }),
    );
    await waitForReady(client, Resources.certificates, 'team-b', 'web');
  });
});

describe('Certificates made from annotated objects', () => {
  it('an Ingress asking for a name outside the zone gets a refused Certificate and no Secret', async () => {
    await client.create(Resources.ingresses, {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'shop', namespace: 'team-a', annotations: { 'certsmith.dev/cluster-issuer': 'shared' } },
      spec: {
        rules: [
          {
            host: 'shop.bank.example.test',
            http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'shop', port: { number: 80 } } } }] },
          },
        ],
        tls: [{ hosts: ['shop.bank.example.test'], secretName: 'shop-tls' }],
      },
    } as KubeObject);
    await waitFor('the Ingress Certificate', () => client.get<Certificate>(Resources.certificates, 'team-a', 'shop-tls'));
    await denied('team-a', 'shop-tls', /spec\.dnsNames\[0\] "shop\.bank\.example\.test" is not allowed/);
  });

  it('a Gateway listener asking for a name outside the zone gets a refused Certificate and no Secret', async () => {
    const gw: GatewayObject = {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'edge', namespace: 'team-a', annotations: { 'certsmith.dev/cluster-issuer': 'shared' } },
      spec: {
        gatewayClassName: 'example',
        listeners: [
          {
            name: 'https',
            hostname: 'edge.bank.example.test',
            port: 443,
            protocol: 'HTTPS',
            tls: { mode: 'Terminate', certificateRefs: [{ kind: 'Secret', name: 'edge-tls' }] },
          },
        ],
      },
    };
    await client.create(Resources.gateways, gw);
    await waitFor('the Gateway Certificate', () => client.get<Certificate>(Resources.certificates, 'team-a', 'edge-tls'));
    await denied('team-a', 'edge-tls', /spec\.dnsNames\[0\] "edge\.bank\.example\.test" is not allowed/);
  });

  it('widening the policy lets the Ingress Certificate through', async () => {
    await editObject<IssuancePolicy>(client, Resources.issuancePolicies, undefined, 'team-a', (p) => ({
      ...p,
      spec: { ...p.spec!, allowed: { ...p.spec!.allowed, dnsZones: ['team-a.example.test', 'bank.example.test'] } },
    }));
    await waitForReady(client, Resources.certificates, 'team-a', 'shop-tls');
    await waitForReady(client, Resources.certificates, 'team-a', 'evil');
  });
});
