// Annotated Ingresses on the real control plane, with kube-controller-manager, so garbage collection is real:
// Certificates per TLS entry, kept in step with the hosts, deleted with their entry or their Ingress (Secrets
// stay), conflicts and bad input told as events; HTTP-01 through Pebble routed by the Ingress's class or into the
// Ingress itself; the cert-manager migration switch off and on.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Certificate } from '../../src/api/certificate.ts';
import { findCondition } from '../../src/api/conditions.ts';
import type { KubeObject } from '../../src/api/meta.ts';
import type { IngressObject } from '../../src/controllers/certificates/acme/http01-objects.ts';
import type { IngressTls } from '../../src/controllers/shim/ingress.ts';
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
const NS = 'shim';
let cp: ControlPlane;
let dns: ChallTestSrv;
let pebble: Pebble;
let client: KubeClient;
let operator: OperatorProcess;
let logDir: string;
let operatorArgs: string[];

type Ingress = Omit<IngressObject, 'spec'> & { spec?: Omit<NonNullable<IngressObject['spec']>, 'tls'> & { tls?: IngressTls[] } };
interface Event extends KubeObject {
  type: string;
  reason: string;
  message: string;
}

function ingress(name: string, annotations: Record<string, string>, tls: IngressTls[], ingressClassName?: string): Ingress {
  const hosts = [...new Set(tls.flatMap((t) => t.hosts ?? []))];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: NS, annotations },
    spec: {
      ...(ingressClassName ? { ingressClassName } : {}),
      rules: hosts.map((host) => ({ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'app', port: { number: 80 } } } }] } })),
      tls,
    },
  };
}

const editIngress = (name: string, change: (i: Ingress) => Ingress) => editObject<Ingress>(client, Resources.ingresses, NS, name, change);

const getCert = (name: string) => client.get<Certificate>(Resources.certificates, NS, name);
const certExists = (name: string) => waitFor(`Certificate ${NS}/${name} to exist`, () => getCert(name));

async function eventsOn(name: string): Promise<Event[]> {
  const { items } = await client.list<Event>(Resources.events, { namespace: NS, fieldSelector: `involvedObject.kind=Ingress,involvedObject.name=${name}` });
  return items;
}

/** Waits for an event with that reason on the Ingress and returns it. */
function eventOn(name: string, reason: string, message?: RegExp): Promise<Event> {
  return waitFor(`a ${reason} event on Ingress ${name}`, async () =>
    (await eventsOn(name)).find((e) => e.reason === reason && (!message || message.test(e.message))),
  );
}

async function leafOf(secretName: string) {
  const s = await client.get<Secret>(Resources.secrets, NS, secretName);
  return describeCertificate(parseCertificatesPem(decode(s, 'tls.crt'))[0]!);
}

before(async () => {
  logDir = await mkdtemp(join(tmpdir(), 'certsmith-shim-'));
  cp = await startControlPlane({ crdsDir });
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
    '--default-issuer-name=test-ca',
  ];
  operator = startOperator({ kubeconfigPath: cp.kubeconfigPath, logDir, args: operatorArgs });
  await createTestIssuers(client, pebble, 'shim test root');
});

after(async () => {
  await operator?.stop();
  await pebble?.stop();
  await dns?.stop();
  await cp?.stop();
});

describe('an annotated Ingress', () => {
  let uid: string;

  it('gets one Certificate per TLS entry, owned by the Ingress, with the annotated fields, and both are issued', async () => {
    const created = await client.create(
      Resources.ingresses,
      ingress(
        'web',
        {
          'certsmith.dev/cluster-issuer': 'test-ca',
          'certsmith.dev/duration': '720h',
          'certsmith.dev/private-key-algorithm': 'RSA',
          'certsmith.dev/usages': 'digital signature,server auth',
        },
        [
          { hosts: ['web.shim.test', 'www.shim.test'], secretName: 'web-tls' },
          { hosts: ['api.shim.test'], secretName: 'api-tls' },
        ],
        'nginx',
      ),
    );
    uid = created.metadata.uid!;
    const web = await certExists('web-tls');
    assert.deepEqual(web.spec, {
      secretName: 'web-tls',
      issuerRef: { kind: 'ClusterIssuer', name: 'test-ca' },
      dnsNames: ['web.shim.test', 'www.shim.test'],
      duration: '720h',
      privateKey: { algorithm: 'RSA' },
      usages: ['digital signature', 'server auth'],
    });
    assert.deepEqual(web.metadata.ownerReferences, [
      { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'web', uid, controller: true, blockOwnerDeletion: true },
    ]);
    assert.equal(web.metadata.labels?.['certsmith.dev/owner-kind'], 'Ingress');
    assert.equal(web.metadata.labels?.['certsmith.dev/owner-name'], 'web');
    assert.equal(web.metadata.annotations?.['certsmith.dev/acme-http01-ingress-class'], 'nginx', 'the HTTP-01 route would go through the same class');
    assert.deepEqual((await certExists('api-tls')).spec?.dnsNames, ['api.shim.test']);
    await waitForReady(client, Resources.certificates, NS, 'web-tls');
    await waitForReady(client, Resources.certificates, NS, 'api-tls');
    assert.deepEqual((await leafOf('web-tls')).dnsNames, ['web.shim.test', 'www.shim.test']);
    await eventOn('web', 'CreateCertificate', /Created Certificate web-tls/);
    await eventOn('web', 'CreateCertificate', /Created Certificate api-tls/);
  });

  it('follows the hosts: a host added and one removed change the Certificate, which is issued again', async () => {
    await editIngress('web', (i) => {
      i.spec!.tls![0]!.hosts = ['web.shim.test', 'new.shim.test'];
      return i;
    });
    await waitFor('the Certificate to follow the hosts', async () => {
      const c = await getCert('web-tls');
      return JSON.stringify(c?.spec?.dnsNames) === JSON.stringify(['web.shim.test', 'new.shim.test']);
    });
    await waitForReady(client, Resources.certificates, NS, 'web-tls', (c, o) => c.status === 'True' && (o.status?.revision ?? 0) >= 2);
    assert.deepEqual((await leafOf('web-tls')).dnsNames?.sort(), ['new.shim.test', 'web.shim.test']);
    await eventOn('web', 'UpdateCertificate', /Updated Certificate web-tls/);
  });

  it('deletes the Certificate of a TLS entry that goes, and keeps its Secret', async () => {
    await editIngress('web', (i) => {
      i.spec!.tls = i.spec!.tls!.filter((t) => t.secretName !== 'api-tls');
      return i;
    });
    await waitFor('Certificate api-tls to be deleted', async () => (await getCert('api-tls')) === undefined);
    assert.ok(await client.get(Resources.secrets, NS, 'api-tls'), 'the Secret stays');
    await eventOn('web', 'DeleteCertificate', /Deleted Certificate api-tls: no TLS entry asks for it any more \(its Secret stays\)/);
  });

  it('deleting the Ingress garbage-collects its Certificates; the Secrets stay', async () => {
    await client.delete(Resources.ingresses, NS, 'web');
    await waitFor('the garbage collector to delete Certificate web-tls', async () => (await getCert('web-tls')) === undefined, { timeoutMs: 60_000 });
    assert.ok(await client.get(Resources.secrets, NS, 'web-tls'), 'the Secret stays');
  });

  it('kubernetes.io/tls-acme: "true" uses the default issuer of --default-issuer-name', async () => {
    await client.create(
      Resources.ingresses,
      ingress('acme-default', { 'kubernetes.io/tls-acme': 'true' }, [{ hosts: ['default.shim.test'], secretName: 'default-tls' }]),
    );
    const c = await certExists('default-tls');
    assert.deepEqual(c.spec?.issuerRef, { kind: 'ClusterIssuer', name: 'test-ca' });
    await waitForReady(client, Resources.certificates, NS, 'default-tls');
  });

  it('leaves alone a Certificate of the same name it does not own, says so on the Ingress, and takes the name once it is free', async () => {
    await client.create(
      Resources.certificates,
      certificate(NS, 'taken-tls', { secretName: 'taken-tls', issuerRef: { kind: 'ClusterIssuer', name: 'test-ca' }, dnsNames: ['mine.shim.test'] }),
    );
    await client.create(
      Resources.ingresses,
      ingress('taken', { 'certsmith.dev/cluster-issuer': 'test-ca' }, [{ hosts: ['taken.shim.test'], secretName: 'taken-tls' }]),
    );
    const e = await eventOn('taken', 'CertificateConflict');
    assert.equal(e.type, 'Warning');
    assert.match(e.message, /^Certificate taken-tls already exists and is not owned by Ingress taken \(it has no controller\): left alone/);
    const theirs = await getCert('taken-tls');
    assert.deepEqual(theirs?.spec?.dnsNames, ['mine.shim.test'], 'its spec is untouched');
    assert.equal(theirs?.metadata.ownerReferences, undefined, 'and it gained no owner');

    await client.delete(Resources.certificates, NS, 'taken-tls');
    await waitFor('the Ingress to make its own Certificate', async () => {
      const c = await getCert('taken-tls');
      return c?.metadata.ownerReferences?.[0]?.name === 'taken' && c.spec?.dnsNames?.[0] === 'taken.shim.test';
    });
  });
});

describe('bad input on an Ingress', () => {
  it('an unknown issuer: the Certificate is made and waits with IssuerNotFound; the Ingress says so', async () => {
    await client.create(
      Resources.ingresses,
      ingress('nowhere', { 'certsmith.dev/cluster-issuer': 'nope' }, [{ hosts: ['nowhere.shim.test'], secretName: 'nowhere-tls' }]),
    );
    const c = await waitForReady(client, Resources.certificates, NS, 'nowhere-tls', (cond) => cond.status === 'False' && cond.reason === 'IssuerNotFound');
    assert.match(findCondition(c.status?.conditions, 'Ready')!.message ?? '', /ClusterIssuer nope does not exist/);
    const e = await eventOn('nowhere', 'IssuerNotFound');
    assert.equal(e.message, 'ClusterIssuer nope does not exist: its Certificates wait for it');
  });

  it('malformed annotation values: no Certificate, a BadConfig event naming each annotation and value', async () => {
    await client.create(
      Resources.ingresses,
      ingress('malformed', { 'certsmith.dev/cluster-issuer': 'test-ca', 'certsmith.dev/duration': '90d', 'certsmith.dev/private-key-size': 'big' }, [
        { hosts: ['malformed.shim.test'], secretName: 'malformed-tls' },
      ]),
    );
    const e = await eventOn('malformed', 'BadConfig');
    assert.equal(e.type, 'Warning');
    assert.match(
      e.message,
      /^Certificates not changed: certsmith\.dev\/duration: "90d" is not a valid duration: use Go syntax.*; certsmith\.dev\/private-key-size: "big" is not a key size/,
    );
    assert.equal(await getCert('malformed-tls'), undefined);
  });

  it('malformed values on an Ingress that already has Certificates leave them as they are', async () => {
    await client.create(
      Resources.ingresses,
      ingress('steady', { 'certsmith.dev/cluster-issuer': 'test-ca' }, [{ hosts: ['steady.shim.test'], secretName: 'steady-tls' }]),
    );
    await waitForReady(client, Resources.certificates, NS, 'steady-tls');
    await editIngress('steady', (i) => {
      i.metadata.annotations = { ...i.metadata.annotations, 'certsmith.dev/renew-before-percentage': '150' };
      i.spec!.tls![0]!.hosts = ['steady.shim.test', 'more.shim.test'];
      return i;
    });
    await eventOn('steady', 'BadConfig', /certsmith\.dev\/renew-before-percentage: "150" is not a percentage/);
    assert.deepEqual((await getCert('steady-tls'))?.spec?.dnsNames, ['steady.shim.test'], 'nothing changes until the annotations are fixed');
  });

  it('a TLS entry without secretName is skipped with an event; the other entries get their Certificates', async () => {
    await client.create(
      Resources.ingresses,
      ingress('partial', { 'certsmith.dev/cluster-issuer': 'test-ca' }, [
        { hosts: ['nosecret.shim.test'] },
        { hosts: ['partial.shim.test'], secretName: 'partial-tls' },
      ]),
    );
    const e = await eventOn('partial', 'BadConfig');
    assert.match(
      e.message,
      /^spec\.tls\[0\] has no secretName \(hosts nosecret\.shim\.test\): name the Secret the certificate goes into; no Certificate was made for it$/,
    );
    await waitForReady(client, Resources.certificates, NS, 'partial-tls');
    const owned = (await client.list<Certificate>(Resources.certificates, { namespace: NS, labelSelector: 'certsmith.dev/owner-name=partial' })).items;
    assert.deepEqual(
      owned.map((c) => c.metadata.name),
      ['partial-tls'],
      'found through the owner label',
    );
  });

  it('a wildcard host with an HTTP-01-only issuer: the Certificate says NoSolver, and so does the Ingress', async () => {
    await client.create(
      Resources.ingresses,
      ingress('wild', { 'certsmith.dev/cluster-issuer': 'pebble' }, [{ hosts: ['*.wild.shim.test'], secretName: 'wild-tls' }]),
    );
    const c = await waitForReady(client, Resources.certificates, NS, 'wild-tls', (cond) => cond.status === 'False' && cond.reason === 'NoSolver');
    assert.match(findCondition(c.status?.conditions, 'Ready')!.message ?? '', /wildcard \*\.wild\.shim\.test can only be validated over DNS-01/);
    const e = await eventOn('wild', 'NoSolver');
    assert.match(e.message, /^Certificate wild-tls: wildcard \*\.wild\.shim\.test can only be validated over DNS-01, and no dns01 solver selects it/);
  });
});

describe('HTTP-01 through Pebble for an annotated Ingress', () => {
  /** Holds the challenge (the self-check fails while the name points nowhere) until `release` is called. */
  async function heldChallenge(ing: Ingress, host: string) {
    await dns.addA(host, ['127.0.0.2']);
    await client.create(Resources.ingresses, ing);
    const secretName = ing.spec!.tls![0]!.secretName!;
    const cert = await waitFor('the challenge to be presented', async () => {
      const c = await getCert(secretName);
      return c?.status?.acmeOrder?.challenges?.[0]?.state === 'presented' && findCondition(c.status.conditions, 'Issuing')?.message?.includes('self-check')
        ? c
        : undefined;
    });
    return { token: cert.status!.acmeOrder!.challenges![0]!.token, release: () => dns.clearA(host) };
  }

  it('is routed through a temporary Ingress of the same class, and the certificate is issued', async () => {
    const { token, release } = await heldChallenge(
      ingress('shop', { 'certsmith.dev/cluster-issuer': 'pebble' }, [{ hosts: ['shop.shim.test'], secretName: 'shop-tls' }], 'nginx'),
      'shop.shim.test',
    );
    const solverIngresses = (await client.list<IngressObject>(Resources.ingresses, { namespace: NS, labelSelector: 'certsmith.dev/acme-http01-solver=true' }))
      .items;
    assert.equal(solverIngresses.length, 1);
    const route = solverIngresses[0]!;
    assert.equal(route.spec?.ingressClassName, 'nginx', "the class of the user's Ingress, though the issuer names none");
    assert.equal(route.spec?.rules?.[0]?.host, 'shop.shim.test');
    assert.equal(route.spec?.rules?.[0]?.http?.paths[0]?.path, `/.well-known/acme-challenge/${token}`);
    assert.equal(route.metadata.ownerReferences?.[0]?.name, 'shop-tls', 'owned by the Certificate');

    await release();
    await waitForReady(client, Resources.certificates, NS, 'shop-tls', undefined, 90_000);
    const s = await client.get<Secret>(Resources.secrets, NS, 'shop-tls');
    const chain = parseCertificatesPem(decode(s, 'tls.crt'));
    assert.deepEqual(describeCertificate(chain[0]!).dnsNames, ['shop.shim.test']);
    const root = parseCertificatesPem(await pebble.rootsPem())[0]!;
    assert.ok(isSignedBy(chain[chain.length - 1]!, root), "the chain ends at Pebble's root");
    await waitFor(
      'the temporary Ingress to be gone',
      async () => (await client.list(Resources.ingresses, { namespace: NS, labelSelector: 'certsmith.dev/acme-http01-solver=true' })).items.length === 0,
    );
  });

  it('with certsmith.dev/acme-http01-edit-in-place the challenge path goes into the Ingress itself, and is removed after', async () => {
    const { token, release } = await heldChallenge(
      ingress('inplace', { 'certsmith.dev/cluster-issuer': 'pebble', 'certsmith.dev/acme-http01-edit-in-place': 'true' }, [
        { hosts: ['inplace.shim.test'], secretName: 'inplace-tls' },
      ]),
      'inplace.shim.test',
    );
    const during = await client.get<Ingress>(Resources.ingresses, NS, 'inplace');
    assert.deepEqual(
      during?.spec?.rules?.[0]?.http?.paths.map((p) => p.path),
      [`/.well-known/acme-challenge/${token}`, '/'],
    );
    assert.equal((await getCert('inplace-tls'))?.metadata.annotations?.['certsmith.dev/acme-http01-edit-in-place'], 'inplace');
    await release();
    await waitForReady(client, Resources.certificates, NS, 'inplace-tls', undefined, 90_000);
    await waitFor('the challenge path to be gone from the Ingress', async () => {
      const i = await client.get<Ingress>(Resources.ingresses, NS, 'inplace');
      return JSON.stringify(i?.spec?.rules?.[0]?.http?.paths.map((p) => p.path)) === JSON.stringify(['/']);
    });
  });
});

describe('migrating from cert-manager', () => {
  const legacy = () =>
    ingress(
      'legacy',
      { 'cert-manager.io/cluster-issuer': 'test-ca', 'cert-manager.io/duration': '240h', 'cert-manager.io/private-key-rotation-policy': 'Never' },
      [{ hosts: ['legacy.shim.test'], secretName: 'legacy-tls' }],
    );

  it("without --honour-cert-manager-annotations, cert-manager's annotations are not acted on", async () => {
    const reconciles = await reconcileCount(operator, 'ingresses');
    await client.create(Resources.ingresses, legacy());
    // An Ingress created after it, which the operator does act on, shows that it has come to both; two reconciles
    // counted, that it has finished with both (the queue hands out keys in order: the first is legacy's).
    await client.create(
      Resources.ingresses,
      ingress('marker', { 'certsmith.dev/cluster-issuer': 'test-ca' }, [{ hosts: ['marker.shim.test'], secretName: 'marker-tls' }]),
    );
    await certExists('marker-tls');
    await reconciledAgain(operator, 'ingresses', reconciles, 2);
    assert.equal(await getCert('legacy-tls'), undefined);
    assert.deepEqual(
      (await eventsOn('legacy')).map((e) => e.reason),
      [],
      'nor told about',
    );
  });

  it('with it, the same Ingress gets its Certificate, with the fields of cert-manager.io/ annotations', async () => {
    await operator.stop();
    operator = startOperator({
      kubeconfigPath: cp.kubeconfigPath,
      logDir,
      name: 'operator-honouring',
      args: [...operatorArgs, '--honour-cert-manager-annotations'],
    });
    const c = await certExists('legacy-tls');
    assert.deepEqual(c.spec, {
      secretName: 'legacy-tls',
      issuerRef: { kind: 'ClusterIssuer', name: 'test-ca' },
      dnsNames: ['legacy.shim.test'],
      duration: '240h',
      privateKey: { rotationPolicy: 'Never' },
    });
    assert.equal(c.metadata.ownerReferences?.[0]?.name, 'legacy');
    await waitForReady(client, Resources.certificates, NS, 'legacy-tls');
  });
});
