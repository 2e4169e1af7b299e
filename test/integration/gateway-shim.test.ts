// Annotated Gateways on the real control plane with the Gateway API CRDs (the pinned sigs.k8s.io/gateway-api
// release) and kube-controller-manager, so garbage collection is real: Certificates per Secret the terminating
// listeners name, following listeners as they come and go; HTTP-01 through Pebble with a temporary HTTPRoute on the
// Gateway's HTTP listener (no Gateway implementation runs here: Pebble reaches the operator's solver port directly,
// as it would through the Gateway); bad input told as events on the Gateway and conditions on the Certificates; and
// an operator that finds no Gateway API turns Gateway support off instead of failing.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Certificate } from '../../src/api/certificate.ts';
import { findCondition } from '../../src/api/conditions.ts';
import type { GatewayListener, GatewayObject, HttpRouteObject } from '../../src/api/gateway-api.ts';
import type { KubeObject } from '../../src/api/meta.ts';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { Resources } from '../../src/kube/resources.ts';
import { describeCertificate, isSignedBy, parseCertificatesPem } from '../../src/pki/index.ts';
import { startControlPlane, type ControlPlane } from '../env/controlplane.ts';
import { startChallTestSrv, startPebble, type ChallTestSrv, type Pebble } from '../env/pebble.ts';
import { freePort } from '../env/ports.ts';
import { certificate, createNamespace, decode, editObject, type Secret, waitForReady } from './helpers/objects.ts';
import { createTestIssuers } from './helpers/issuers.ts';
import { startOperator, type OperatorProcess } from './helpers/operator.ts';
import { reconcileCount, reconciledAgain } from './helpers/reconciles.ts';
import { waitFor } from './helpers/wait.ts';

const crdsDir = join(import.meta.dirname, '..', '..', 'crds');
const NS = 'gw';
const SOLVER_ROUTES = 'certsmith.dev/acme-http01-solver=true';
let cp: ControlPlane;
let dns: ChallTestSrv;
let pebble: Pebble;
let client: KubeClient;
let operator: OperatorProcess;
let logDir: string;
let operatorArgs: string[];

interface Event extends KubeObject {
  type: string;
  reason: string;
  message: string;
}

const http = (name: string, hostname?: string): GatewayListener => ({ name, port: 80, protocol: 'HTTP', ...(hostname ? { hostname } : {}) });
const https = (name: string, hostname: string | undefined, secretName: string): GatewayListener => ({
  name,
  port: 443,
  protocol: 'HTTPS',
  ...(hostname ? { hostname } : {}),
  tls: { mode: 'Terminate', certificateRefs: [{ kind: 'Secret', name: secretName }] },
});

function gateway(name: string, annotations: Record<string, string>, listeners: GatewayListener[]): GatewayObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name, namespace: NS, annotations },
    spec: { gatewayClassName: 'example', listeners },
  };
}

const editGateway = (name: string, change: (g: GatewayObject) => GatewayObject) => editObject<GatewayObject>(client, Resources.gateways, NS, name, change);

const getCert = (name: string) => client.get<Certificate>(Resources.certificates, NS, name);
const certExists = (name: string) => waitFor(`Certificate ${NS}/${name} to exist`, () => getCert(name));
const solverRoutes = async () => (await client.list<HttpRouteObject>(Resources.httpRoutes, { namespace: NS, labelSelector: SOLVER_ROUTES })).items;

async function eventsOn(name: string): Promise<Event[]> {
  const { items } = await client.list<Event>(Resources.events, { namespace: NS, fieldSelector: `involvedObject.kind=Gateway,involvedObject.name=${name}` });
  return items;
}

/** Waits for an event with that reason on the Gateway and returns it. */
function eventOn(name: string, reason: string, message?: RegExp): Promise<Event> {
  return waitFor(`a ${reason} event on Gateway ${name}`, async () =>
    (await eventsOn(name)).find((e) => e.reason === reason && (!message || message.test(e.message))),
  );
}

async function chainOf(secretName: string) {
  const s = await client.get<Secret>(Resources.secrets, NS, secretName);
  return parseCertificatesPem(decode(s, 'tls.crt'));
}

before(async () => {
  logDir = await mkdtemp(join(tmpdir(), 'certsmith-gateway-'));
  cp = await startControlPlane({ crdsDir, gatewayApi: true });
  dns = await startChallTestSrv({ binDir: cp.binDir, logDir });
  const solverPort = await freePort();
  pebble = await startPebble({ binDir: cp.binDir, httpPort: solverPort, dnsServer: dns.dnsAddress, logDir, retryAfter: { authz: 1, order: 1 } });
  client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath });
  await createNamespace(client, 'certsmith');
  await createNamespace(client, NS);
  // What the chart's solver Service would have: the operator pods as endpoints (no pods here, so one stand-in).
  await client.create(Resources.endpointSlices, {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'certsmith-acme-solver-pods', namespace: 'certsmith', labels: { 'kubernetes.io/service-name': 'certsmith-acme-solver' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: ['10.0.0.50'], conditions: { ready: true } }],
    ports: [{ name: 'http', port: 8089, protocol: 'TCP' }],
  } as KubeObject);
  operatorArgs = [
    '--leader-elect=false',
    '--acme-http01-solver-host=127.0.0.1',
    `--acme-http01-solver-port=${solverPort}`,
    `--acme-http01-check-port=${solverPort}`,
    `--acme-recursive-nameservers=${dns.dnsAddress}`,
  ];
  operator = startOperator({ kubeconfigPath: cp.kubeconfigPath, logDir, args: operatorArgs });
  await createTestIssuers(client, pebble, 'gateway test root');
});

after(async () => {
  await operator?.stop();
  await pebble?.stop();
  await dns?.stop();
  await cp?.stop();
});

describe('an annotated Gateway', () => {
  let uid: string;

  it('gets one Certificate per Secret its HTTPS listeners name, owned by the Gateway, with the routing hint, and they are issued', async () => {
    assert.match(await operator.logs(), /Gateway API found/);
    const created = await client.create(
      Resources.gateways,
      gateway('edge', { 'certsmith.dev/cluster-issuer': 'test-ca', 'certsmith.dev/duration': '720h' }, [
        http('http'),
        https('a', 'a.gw.test', 'a-tls'),
        https('b', 'b.gw.test', 'shared-tls'),
        https('c', 'c.gw.test', 'shared-tls'),
      ]),
    );
    uid = created.metadata.uid!;
    const a = await certExists('a-tls');
    assert.deepEqual(a.spec, { secretName: 'a-tls', issuerRef: { kind: 'ClusterIssuer', name: 'test-ca' }, dnsNames: ['a.gw.test'], duration: '720h' });
    assert.deepEqual(a.metadata.ownerReferences, [
      { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', name: 'edge', uid, controller: true, blockOwnerDeletion: true },
    ]);
    assert.equal(a.metadata.labels?.['certsmith.dev/owner-kind'], 'Gateway');
    assert.equal(a.metadata.annotations?.['certsmith.dev/acme-http01-gateway'], 'edge', 'HTTP-01 would go through this Gateway');
    const shared = await certExists('shared-tls');
    assert.deepEqual(shared.spec?.dnsNames, ['b.gw.test', 'c.gw.test'], 'listeners naming one Secret share its Certificate');
    await waitForReady(client, Resources.certificates, NS, 'a-tls');
    await waitForReady(client, Resources.certificates, NS, 'shared-tls');
    assert.deepEqual(describeCertificate((await chainOf('shared-tls'))[0]!).dnsNames.sort(), ['b.gw.test', 'c.gw.test']);
    await eventOn('edge', 'CreateCertificate', /Created Certificate a-tls/);
    await eventOn('edge', 'CreateCertificate', /Created Certificate shared-tls/);
    const certs = (await client.list<Certificate>(Resources.certificates, { namespace: NS, labelSelector: 'certsmith.dev/owner-name=edge' })).items;
    assert.deepEqual(certs.map((c) => c.metadata.name).sort(), ['a-tls', 'shared-tls'], 'nothing for the HTTP listener');
  });

  it('a listener added for a new Secret gets its own Certificate', async () => {
    await editGateway('edge', (g) => {
      g.spec!.listeners!.push(https('d', 'd.gw.test', 'd-tls'));
      return g;
    });
    assert.deepEqual((await certExists('d-tls')).spec?.dnsNames, ['d.gw.test']);
    await waitForReady(client, Resources.certificates, NS, 'd-tls');
    await eventOn('edge', 'CreateCertificate', /Created Certificate d-tls/);
  });

  it('a listener added for a Secret already in use adds its hostname to that Certificate, which is issued again', async () => {
    await editGateway('edge', (g) => {
      g.spec!.listeners!.push(https('e', 'e.gw.test', 'shared-tls'));
      return g;
    });
    await waitFor(
      'the shared Certificate to gain the name',
      async () => JSON.stringify((await getCert('shared-tls'))?.spec?.dnsNames) === JSON.stringify(['b.gw.test', 'c.gw.test', 'e.gw.test']),
    );
    await waitForReady(client, Resources.certificates, NS, 'shared-tls', (c, o) => c.status === 'True' && (o.status?.revision ?? 0) >= 2);
    assert.deepEqual(describeCertificate((await chainOf('shared-tls'))[0]!).dnsNames.sort(), ['b.gw.test', 'c.gw.test', 'e.gw.test']);
    await eventOn('edge', 'UpdateCertificate', /Updated Certificate shared-tls/);
  });

  it('a listener removed takes its name off the shared Certificate; the last listener of a Secret removed deletes its Certificate, not the Secret', async () => {
    await editGateway('edge', (g) => {
      g.spec!.listeners = g.spec!.listeners!.filter((l) => l.name !== 'b' && l.name !== 'a');
      return g;
    });
    await waitFor('Certificate a-tls to be deleted', async () => (await getCert('a-tls')) === undefined);
    assert.ok(await client.get(Resources.secrets, NS, 'a-tls'), 'the Secret stays');
    await waitFor(
      'the shared Certificate to lose the name',
      async () => JSON.stringify((await getCert('shared-tls'))?.spec?.dnsNames) === JSON.stringify(['c.gw.test', 'e.gw.test']),
    );
    await eventOn('edge', 'DeleteCertificate', /Deleted Certificate a-tls: no listener asks for it any more \(its Secret stays\)/);
  });

  it('a listener switched to Passthrough no longer needs a certificate', async () => {
    await editGateway('edge', (g) => {
      const d = g.spec!.listeners!.find((l) => l.name === 'd')!;
      d.protocol = 'TLS';
      d.tls = { mode: 'Passthrough' };
      return g;
    });
    await waitFor('Certificate d-tls to be deleted', async () => (await getCert('d-tls')) === undefined);
  });

  it('deleting the Gateway garbage-collects its Certificates; the Secrets stay', async () => {
    await client.delete(Resources.gateways, NS, 'edge');
    await waitFor('the garbage collector to delete Certificate shared-tls', async () => (await getCert('shared-tls')) === undefined, { timeoutMs: 60_000 });
    assert.ok(await client.get(Resources.secrets, NS, 'shared-tls'), 'the Secret stays');
  });
});

describe('HTTP-01 through Pebble for an annotated Gateway', () => {
  it('is routed by a temporary HTTPRoute on the Gateway’s HTTP listener, removed after, and the certificate is issued', async () => {
    const host = 'shop.gw.test';
    // The self-check fails while the name points nowhere: the challenge stays presented until released.
    await dns.addA(host, ['127.0.0.2']);
    await client.create(
      Resources.gateways,
      gateway('shop', { 'certsmith.dev/cluster-issuer': 'pebble' }, [http('plain'), http('other', 'elsewhere.gw.test'), https('https', host, 'shop-tls')]),
    );
    const cert = await waitFor('the challenge to be presented', async () => {
      const c = await getCert('shop-tls');
      return c?.status?.acmeOrder?.challenges?.[0]?.state === 'presented' && findCondition(c.status.conditions, 'Issuing')?.message?.includes('self-check')
        ? c
        : undefined;
    });
    const token = cert.status!.acmeOrder!.challenges![0]!.token;

    const routes = await solverRoutes();
    assert.equal(routes.length, 1, 'one temporary HTTPRoute');
    const route = routes[0]!;
    assert.deepEqual(
      route.spec?.parentRefs,
      [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'shop', sectionName: 'plain' }],
      'on the HTTP listener that serves the name',
    );
    assert.deepEqual(route.spec?.hostnames, [host]);
    assert.deepEqual(route.spec?.rules?.[0]?.matches, [{ path: { type: 'Exact', value: `/.well-known/acme-challenge/${token}` } }]);
    assert.deepEqual(route.spec?.rules?.[0]?.backendRefs, [{ group: '', kind: 'Service', name: 'certsmith-acme-solver', port: 8089, weight: 1 }]);
    assert.equal(route.metadata.ownerReferences?.[0]?.name, 'shop-tls', 'owned by the Certificate, so deleting it cleans up');
    const svc = await client.get<KubeObject & { spec?: { selector?: unknown } }>(Resources.services, NS, 'certsmith-acme-solver');
    assert.ok(svc, 'the solver Service the route points at');
    assert.equal(svc.spec?.selector, undefined);
    assert.deepEqual(
      (await client.get<KubeObject & { endpoints?: { addresses: string[] }[] }>(Resources.endpointSlices, NS, 'certsmith-acme-solver'))?.endpoints?.map(
        (e) => e.addresses[0],
      ),
      ['10.0.0.50'],
    );

    await dns.clearA(host);
    await waitForReady(client, Resources.certificates, NS, 'shop-tls', undefined, 90_000);
    const chain = await chainOf('shop-tls');
    assert.deepEqual(describeCertificate(chain[0]!).dnsNames, [host]);
    const root = parseCertificatesPem(await pebble.rootsPem())[0]!;
    assert.ok(isSignedBy(chain[chain.length - 1]!, root), "the chain ends at Pebble's root");
    await waitFor('the temporary HTTPRoute to be gone', async () => (await solverRoutes()).length === 0);
  });

  it('a Gateway without an HTTP listener for the name: the Certificate says the CA cannot reach the operator through it', async () => {
    await client.create(
      Resources.gateways,
      gateway('sealed', { 'certsmith.dev/cluster-issuer': 'pebble' }, [http('other', 'elsewhere.gw.test'), https('https', 'sealed.gw.test', 'sealed-tls')]),
    );
    const c = await waitFor('the Certificate to report the missing listener', async () => {
      const cert = await getCert('sealed-tls');
      const said = [findCondition(cert?.status?.conditions, 'Ready'), findCondition(cert?.status?.conditions, 'Issuing')]
        .map((x) => x?.message ?? '')
        .join('\n');
      return /has no HTTP listener/.test(said) ? cert : undefined;
    });
    const said = [findCondition(c.status?.conditions, 'Ready'), findCondition(c.status?.conditions, 'Issuing')].map((x) => x?.message ?? '').join('\n');
    assert.match(said, /the Gateway gw\/sealed has no HTTP listener for sealed\.gw\.test, so the CA's HTTP-01 request cannot reach the operator/);
    assert.deepEqual(await solverRoutes(), [], 'no route was made');
  });
});

describe('bad input on a Gateway', () => {
  it('an unknown issuer: the Certificate is made and waits with IssuerNotFound; the Gateway says so', async () => {
    await client.create(Resources.gateways, gateway('nowhere', { 'certsmith.dev/cluster-issuer': 'nope' }, [https('https', 'nowhere.gw.test', 'nowhere-tls')]));
    const c = await waitForReady(client, Resources.certificates, NS, 'nowhere-tls', (cond) => cond.status === 'False' && cond.reason === 'IssuerNotFound');
    assert.match(findCondition(c.status?.conditions, 'Ready')!.message ?? '', /ClusterIssuer nope does not exist/);
    const e = await eventOn('nowhere', 'IssuerNotFound');
    assert.equal(e.type, 'Warning');
    assert.equal(e.message, 'ClusterIssuer nope does not exist: its Certificates wait for it');
  });

  it('malformed annotation values: no Certificate, a BadConfig event naming each annotation and value', async () => {
    await client.create(
      Resources.gateways,
      gateway('malformed', { 'certsmith.dev/cluster-issuer': 'test-ca', 'certsmith.dev/renew-before': 'soon', 'certsmith.dev/private-key-algorithm': 'DSA' }, [
        https('https', 'malformed.gw.test', 'malformed-tls'),
      ]),
    );
    const e = await eventOn('malformed', 'BadConfig');
    assert.equal(e.type, 'Warning');
    assert.match(
      e.message,
      /^Certificates not changed: certsmith\.dev\/renew-before: .*"soon".*; certsmith\.dev\/private-key-algorithm: "DSA" is not supported: use RSA, ECDSA or Ed25519$/,
    );
    assert.equal(await getCert('malformed-tls'), undefined);
  });

  it('malformed values on a Gateway that already has Certificates leave them as they are until fixed', async () => {
    await client.create(Resources.gateways, gateway('steady', { 'certsmith.dev/cluster-issuer': 'test-ca' }, [https('https', 'steady.gw.test', 'steady-tls')]));
    await waitForReady(client, Resources.certificates, NS, 'steady-tls');
    await editGateway('steady', (g) => {
      g.metadata.annotations = { ...g.metadata.annotations, 'certsmith.dev/usages': 'server auth,teleportation' };
      g.spec!.listeners!.push(https('more', 'more.gw.test', 'steady-tls'));
      return g;
    });
    await eventOn('steady', 'BadConfig', /certsmith\.dev\/usages: "server auth,teleportation" has unknown usages "teleportation"/);
    assert.deepEqual((await getCert('steady-tls'))?.spec?.dnsNames, ['steady.gw.test'], 'nothing changes until the annotations are fixed');
    await editGateway('steady', (g) => {
      delete g.metadata.annotations!['certsmith.dev/usages'];
      return g;
    });
    await waitFor(
      'the fixed Gateway to be synced',
      async () => JSON.stringify((await getCert('steady-tls'))?.spec?.dnsNames) === JSON.stringify(['more.gw.test', 'steady.gw.test']),
    );
  });

  it('listeners that cannot get a certificate are told once each; the other listeners get theirs', async () => {
    await client.create(
      Resources.gateways,
      gateway('partial', { 'certsmith.dev/cluster-issuer': 'test-ca' }, [
        https('nohost', undefined, 'nohost-tls'),
        { name: 'elsewhere', port: 8443, protocol: 'HTTPS', hostname: 'elsewhere.gw.test', tls: { certificateRefs: [{ name: 'theirs', namespace: 'other' }] } },
        https('fine', 'fine.gw.test', 'fine-tls'),
      ]),
    );
    await waitForReady(client, Resources.certificates, NS, 'fine-tls');
    const noHost = await eventOn('partial', 'BadConfig', /nohost/);
    assert.equal(noHost.message, 'listener nohost has no hostname: a certificate needs the name it is for; no Certificate was made for it');
    const other = await eventOn('partial', 'BadConfig', /elsewhere/);
    assert.match(other.message, /^listener elsewhere refers to the Secret other\/theirs in another namespace/);
    const owned = (await client.list<Certificate>(Resources.certificates, { namespace: NS, labelSelector: 'certsmith.dev/owner-name=partial' })).items;
    assert.deepEqual(
      owned.map((c) => c.metadata.name),
      ['fine-tls'],
    );
    // A resync or an unrelated change must not repeat them: the change is reconciled (counted), and says nothing new.
    const reconciles = await reconcileCount(operator, 'gateways');
    await editGateway('partial', (g) => ({ ...g, metadata: { ...g.metadata, labels: { touched: 'yes' } } }));
    await reconciledAgain(operator, 'gateways', reconciles, 1);
    assert.equal((await eventsOn('partial')).filter((e) => e.reason === 'BadConfig').length, 2);
  });

  it('a wildcard hostname with an HTTP-01-only issuer: the Certificate says NoSolver, and so does the Gateway', async () => {
    await client.create(
      Resources.gateways,
      gateway('wild', { 'certsmith.dev/cluster-issuer': 'pebble' }, [http('http'), https('https', '*.wild.gw.test', 'wild-tls')]),
    );
    const c = await waitForReady(client, Resources.certificates, NS, 'wild-tls', (cond) => cond.status === 'False' && cond.reason === 'NoSolver');
    assert.match(
      findCondition(c.status?.conditions, 'Ready')!.message ?? '',
      /wildcard \*\.wild\.gw\.test can only be validated over DNS-01.*no order was placed/,
    );
    const e = await eventOn('wild', 'NoSolver');
    assert.equal(e.type, 'Warning');
    assert.match(e.message, /^Certificate wild-tls: wildcard \*\.wild\.gw\.test can only be validated over DNS-01/);
    assert.deepEqual(await solverRoutes(), [], 'no route for a name HTTP-01 cannot validate');
  });
});

describe('a cluster without Gateway API', () => {
  it('the operator turns Gateway support off, says so, and goes on issuing', async () => {
    await operator.stop();
    await cp.kubectl('delete', 'crd', 'gateways.gateway.networking.k8s.io', '--wait=true');
    operator = startOperator({ kubeconfigPath: cp.kubeconfigPath, logDir, name: 'operator-without-gateways', args: operatorArgs });
    await waitFor('the operator to say Gateway support is off', async () => /Gateway support is off/.test(await operator.logs()));
    await client.create(
      Resources.certificates,
      certificate(NS, 'plain', { secretName: 'plain-tls', issuerRef: { kind: 'ClusterIssuer', name: 'test-ca' }, dnsNames: ['plain.gw.test'] }),
    );
    await waitForReady(client, Resources.certificates, NS, 'plain');
    assert.doesNotMatch(await operator.logs(), /informer: 'gateways'|"informer":"gateways"/, 'no watch on Gateways was tried');
  });
});
