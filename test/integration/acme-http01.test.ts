// ACME issuance over HTTP-01 against a real Pebble. pebble-challtestsrv answers every name with 127.0.0.1 and
// Pebble validates on the operator's own challenge port, so the CA's requests reach the operator's solver server
// as they would through an ingress. Pebble rejects 5% of nonces here (its default), so badNonce retries are real.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Certificate, CertificateSpec } from '../../src/api/certificate.ts';
import { findCondition, toRfc3339 } from '../../src/api/conditions.ts';
import type { AcmeIssuer, Issuer } from '../../src/api/issuer.ts';
import { API_VERSION, type KubeObject } from '../../src/api/meta.ts';
import type { IngressObject } from '../../src/controllers/certificates/acme/http01-objects.ts';
import { certIdOf } from '../../src/acme/ari.ts';
import { createAcmeClient, type AcmeIdentifier, type AcmeOrder } from '../../src/acme/client.ts';
import { requestDigest } from '../../src/acme/order-plan.ts';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { Resources } from '../../src/kube/resources.ts';
import { createCsr, describeCertificate, generatePrivateKey, isSignedBy, parseCertificatesPem } from '../../src/pki/index.ts';
import { startControlPlane, type ControlPlane } from '../env/controlplane.ts';
import { startChallTestSrv, startPebble, type ChallTestSrv, type Pebble } from '../env/pebble.ts';
import { freePort } from '../env/ports.ts';
import { certificate, clusterIssuer, createNamespace, decode, waitForReady, type Secret } from './helpers/objects.ts';
import { startOperator, type OperatorProcess } from './helpers/operator.ts';
import { waitFor } from './helpers/wait.ts';

const crdsDir = join(import.meta.dirname, '..', '..', 'crds');
const NS = 'acme';
let cp: ControlPlane;
let dns: ChallTestSrv;
let pebble: Pebble;
let client: KubeClient;
let operator: OperatorProcess;
let logDir: string;
let operatorArgs: string[];
let solverPort: number;

/**
 * Every issuer names a profile: Pebble picks a random one for an order that names none, and here one of them lasts
 * 45 s, whose certificate Pebble's ARI window asks to renew at once (one order more than a test counts).
 */
function acmeSpec(pebbleInstance: Pebble, keySecret: string, extra: Partial<AcmeIssuer> = {}): AcmeIssuer {
  return {
    server: pebbleInstance.directoryUrl,
    email: 'ops@example.test',
    caBundle: readFileSync(pebbleInstance.caFile).toString('base64'),
    privateKeySecretRef: { name: keySecret },
    solvers: [{ http01: {} }],
    profile: 'default',
    ...extra,
  };
}

async function issue(name: string, spec: Partial<CertificateSpec>, issuerName = 'pebble') {
  await client.create(
    Resources.certificates,
    certificate(NS, name, { secretName: `${name}-tls`, issuerRef: { kind: 'ClusterIssuer', name: issuerName }, ...spec }),
  );
  return (await waitForReady(client, Resources.certificates, NS, name, undefined, 90_000)) as Certificate;
}

async function chainOf(secretName: string) {
  const s = await client.get<Secret>(Resources.secrets, NS, secretName);
  return parseCertificatesPem(decode(s, 'tls.crt'));
}

/** An ACME client on the account whose key the operator stored, as a dead operator's would be. */
async function accountClient(keySecret = 'pebble-account', p = pebble) {
  const s = await client.get<Secret>(Resources.secrets, 'certsmith', keySecret);
  return createAcmeClient({ directoryUrl: p.directoryUrl, accountKeyPem: decode(s, 'tls.key'), caPem: readFileSync(p.caFile, 'utf8') });
}

/** The account's orders at Pebble, through the account key the operator stored; only those naming `name` if given. */
async function orderCount(name?: string, keySecret = 'pebble-account', p = pebble): Promise<number> {
  const acme = await accountClient(keySecret, p);
  try {
    await acme.registerAccount({});
    const urls = await acme.listOrders();
    if (!name) return urls.length;
    const orders = await Promise.all(urls.map((u) => acme.getOrder(u)));
    return orders.filter((o) => o.identifiers.some((i) => i.value === name)).length;
  } finally {
    acme.close();
  }
}

before(async () => {
  logDir = await mkdtemp(join(tmpdir(), 'certsmith-acme-'));
  cp = await startControlPlane({ crdsDir });
  dns = await startChallTestSrv({ binDir: cp.binDir, logDir });
  solverPort = await freePort();
  pebble = await startPebble({
    binDir: cp.binDir,
    httpPort: solverPort,
    dnsServer: dns.dnsAddress,
    logDir,
    env: { PEBBLE_WFE_NONCEREJECT: '5' },
    retryAfter: { authz: 1, order: 1 },
    profiles: {
      default: { description: '90 days', validityPeriod: 7_776_000 },
      shortlived: { description: '45 seconds', validityPeriod: 45 },
    },
  });
  client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath });
  await createNamespace(client, 'certsmith');
  await createNamespace(client, NS);
  operatorArgs = [
    '--leader-elect=false',
    // Loopback only, so a name pointed at 127.0.0.2 finds nothing listening.
    '--acme-http01-solver-host=127.0.0.1',
    `--acme-http01-solver-port=${solverPort}`,
    `--acme-http01-check-port=${solverPort}`,
    `--acme-recursive-nameservers=${dns.dnsAddress}`,
    '--acme-ari-max-check-interval=2s',
  ];
  operator = startOperator({ kubeconfigPath: cp.kubeconfigPath, logDir, args: operatorArgs });
  await client.create(Resources.clusterIssuers, clusterIssuer('pebble', { acme: acmeSpec(pebble, 'pebble-account') }));
});

after(async () => {
  await operator?.stop();
  await pebble?.stop();
  await dns?.stop();
  await cp?.stop();
});

/** Holds the challenge (the self-check fails while the name points nowhere) until `release` is called. */
async function heldChallenge(certName: string, host: string, issuerName: string) {
  await dns.addA(host, ['127.0.0.2']);
  await client.create(
    Resources.certificates,
    certificate(NS, certName, { secretName: `${certName}-tls`, issuerRef: { kind: 'ClusterIssuer', name: issuerName }, dnsNames: [host] }),
  );
  const cert = await waitFor('the challenge to be presented', async () => {
    const c = await client.get<Certificate>(Resources.certificates, NS, certName);
    return c?.status?.acmeOrder?.challenges?.[0]?.state === 'presented' && findCondition(c.status.conditions, 'Issuing')?.message?.includes('self-check')
      ? c
      : undefined;
  });
  const order = cert.status!.acmeOrder!;
  return { token: order.challenges![0]!.token, orderURL: order.orderURL, release: () => dns.clearA(host) };
}

describe('the ACME account', () => {
  it('is registered with a key the operator generates and keeps in a Secret it manages', async () => {
    const iss = await waitForReady(client, Resources.clusterIssuers, undefined, 'pebble', undefined, 30_000);
    const ready = findCondition(iss.status?.conditions, 'Ready')!;
    assert.equal(ready.reason, 'ACMEAccountRegistered');
    const status = (iss as Issuer).status!.acme!;
    assert.match(status.uri ?? '', /^https:\/\/127\.0\.0\.1:\d+\//);
    assert.equal(status.lastRegisteredEmail, 'ops@example.test');
    const key = await client.get<Secret>(Resources.secrets, 'certsmith', 'pebble-account');
    assert.equal(key?.metadata.labels?.['app.kubernetes.io/managed-by'], 'certsmith');
    assert.match(decode(key, 'tls.key'), /BEGIN PRIVATE KEY/);
  });

  it("is never a Certificate's Secret: a Certificate naming it is refused and the key stays as it was", async () => {
    const before = (await client.get<Secret>(Resources.secrets, 'certsmith', 'pebble-account'))!;
    const spec = { secretName: 'pebble-account', issuerRef: { kind: 'ClusterIssuer' as const, name: 'pebble' }, dnsNames: ['steal.example.test'] };
    await client.create(Resources.certificates, certificate('certsmith', 'steal-account', spec));
    const c = await waitForReady(client, Resources.certificates, 'certsmith', 'steal-account', (cond) => cond.status === 'False');
    const ready = findCondition(c.status?.conditions, 'Ready')!;
    assert.equal(ready.reason, 'SecretConflict');
    assert.match(ready.message ?? '', /Secret pebble-account is one of certsmith's own \(it holds acme-account-key\)/);
    assert.equal((await client.get<Certificate>(Resources.certificates, 'certsmith', 'steal-account'))?.status?.acmeOrder, undefined, 'no order was placed');
    const afterwards = (await client.get<Secret>(Resources.secrets, 'certsmith', 'pebble-account'))!;
    assert.equal(afterwards.metadata.resourceVersion, before.metadata.resourceVersion);
    await client.delete(Resources.certificates, 'certsmith', 'steal-account');
  });
});

describe('HTTP-01', () => {
  it('issues a certificate for one name, chained to the CA root, with no ca.crt', async () => {
    await issue('one', { dnsNames: ['one.acme.test'] });
    const chain = await chainOf('one-tls');
    const leaf = describeCertificate(chain[0]!);
    assert.deepEqual(leaf.dnsNames, ['one.acme.test']);
    const root = parseCertificatesPem(await pebble.rootsPem())[0]!;
    assert.ok(isSignedBy(chain[0]!, chain[1]!), 'the leaf is signed by the intermediate that follows it');
    assert.ok(isSignedBy(chain[chain.length - 1]!, root), "the chain ends at Pebble's root");
    const s = await client.get<Secret>(Resources.secrets, NS, 'one-tls');
    assert.equal(s?.data?.['ca.crt'], undefined, 'an ACME CA hands out no root to put in ca.crt');
    assert.equal(await orderCount('one.acme.test'), 1, 'exactly one order');
  });

  it('validates several names and an IP address in one order, one order per certificate', async () => {
    await Promise.all([
      issue('multi', { dnsNames: ['a.acme.test', 'b.acme.test', 'c.acme.test'], ipAddresses: ['127.0.0.1'] }),
      issue('multi-2', { dnsNames: ['d.acme.test'] }),
      issue('multi-3', { dnsNames: ['e.acme.test', 'f.acme.test'] }),
    ]);
    const leaf = describeCertificate((await chainOf('multi-tls'))[0]!);
    assert.deepEqual(leaf.dnsNames.sort(), ['a.acme.test', 'b.acme.test', 'c.acme.test']);
    assert.deepEqual(leaf.ipAddresses, ['127.0.0.1']);
    for (const n of ['a.acme.test', 'd.acme.test', 'e.acme.test']) assert.equal(await orderCount(n), 1, `one order for ${n}`);
  });

  it('renews a certificate of a short-lived profile before it expires', async () => {
    await client.create(Resources.clusterIssuers, clusterIssuer('pebble-short', { acme: acmeSpec(pebble, 'pebble-account', { profile: 'shortlived' }) }));
    await waitForReady(client, Resources.clusterIssuers, undefined, 'pebble-short');
    const first = await issue('short', { dnsNames: ['short.acme.test'] }, 'pebble-short');
    const leaf1 = describeCertificate((await chainOf('short-tls'))[0]!);
    assert.ok(leaf1.notAfter.getTime() - leaf1.notBefore.getTime() <= 46_000, 'the profile set a 45 s lifetime');
    const renewed = await waitForReady(
      client,
      Resources.certificates,
      NS,
      'short',
      (c, o) => c.status === 'True' && (o.status?.revision ?? 0) > (first.status?.revision ?? 0),
      60_000,
    );
    const leaf2 = describeCertificate((await chainOf('short-tls'))[0]!);
    assert.ok(leaf2.notBefore < leaf1.notAfter, 'renewed before the first certificate expired');
    assert.ok((renewed.status?.revision ?? 0) >= 2);
    await client.delete(Resources.certificates, NS, 'short');
  });

  it('renews inside a renewal window the CA moved (ARI), and the renewal order names the certificate it replaces', async () => {
    await issue('ari', { dnsNames: ['ari.acme.test'] });
    const pem = decode(await client.get<Secret>(Resources.secrets, NS, 'ari-tls'), 'tls.crt');
    const first = parseCertificatesPem(pem)[0]!;
    const certID = certIdOf(first, describeCertificate(first).authorityKeyId);
    await waitFor('the renewal information to be in status', async () => {
      const c = await client.get<Certificate>(Resources.certificates, NS, 'ari');
      return c?.status?.renewalInfo?.certID === certID;
    });
    const start = new Date(Date.now() + 3_000);
    const end = new Date(Date.now() + 8_000);
    await pebble.setRenewalInfo(pem, { start, end });
    await waitForReady(client, Resources.certificates, NS, 'ari', (c, o) => c.status === 'True' && (o.status?.revision ?? 0) >= 2, 40_000);
    const second = describeCertificate((await chainOf('ari-tls'))[0]!);
    // Pebble sets notBefore when it issues: after the window opened, and not long after it closed.
    assert.ok(second.notBefore.getTime() >= start.getTime() - 1_000, `renewed at ${second.notBefore.toISOString()}, window opened ${start.toISOString()}`);
    assert.ok(second.notBefore.getTime() <= end.getTime() + 30_000, `renewed at ${second.notBefore.toISOString()}, window closed ${end.toISOString()}`);
    // The newest order of the account is the renewal: it must name the certificate it replaces.
    const acme = await accountClient();
    try {
      await acme.registerAccount({});
      const orders = await Promise.all((await acme.listOrders()).map((u) => acme.getOrder(u)));
      const replacing = orders.filter((o) => (o as { replaces?: string }).replaces === certID);
      // Pebble looks the certID up by the serial's hex without the DER's leading zero byte, so it cannot match the
      // (RFC-correct) certID of a serial whose first byte is 0x80 or more and refuses the order; the operator then
      // places it without `replaces` rather than not renewing.
      const pebbleCanMatch = Number.parseInt(describeCertificate(first).serialNumber.slice(0, 2), 16) < 0x80;
      if (pebbleCanMatch) {
        assert.equal(replacing.length, 1, 'one order replaces the first certificate');
      } else {
        assert.equal(replacing.length, 0);
        assert.match(await operator.logs(), /refused the renewal order naming the certificate it replaces/);
      }
    } finally {
      acme.close();
    }
  });
});

describe('HTTP-01 routed through an Ingress', () => {
  const path = (token: string) => `/.well-known/acme-challenge/${token}`;
  before(async () => {
    // What the chart's solver Service would have: the operator pods as endpoints (no pods here, so one stand-in).
    await client.create(Resources.endpointSlices, {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'certsmith-acme-solver-pods', namespace: 'certsmith', labels: { 'kubernetes.io/service-name': 'certsmith-acme-solver' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.0.0.50'], conditions: { ready: true } }],
      ports: [{ name: 'http', port: 8089, protocol: 'TCP' }],
    } as KubeObject);
  });

  it('creates the solver Service, its EndpointSlice and a temporary Ingress, and removes the Ingress when done', async () => {
    await client.create(
      Resources.clusterIssuers,
      clusterIssuer('pebble-ingress', { acme: acmeSpec(pebble, 'pebble-account', { solvers: [{ http01: { ingress: { ingressClassName: 'nginx' } } }] }) }),
    );
    await waitForReady(client, Resources.clusterIssuers, undefined, 'pebble-ingress');
    const { token, release } = await heldChallenge('routed', 'routed.acme.test', 'pebble-ingress');
    const ingresses = (await client.list<IngressObject>(Resources.ingresses, { namespace: NS, labelSelector: 'certsmith.dev/acme-http01-solver=true' })).items;
    assert.equal(ingresses.length, 1);
    const ing = ingresses[0]!;
    assert.equal(ing.spec?.ingressClassName, 'nginx');
    assert.deepEqual(ing.spec?.rules, [
      {
        host: 'routed.acme.test',
        http: { paths: [{ path: path(token), pathType: 'Exact', backend: { service: { name: 'certsmith-acme-solver', port: { number: 8089 } } } }] },
      },
    ]);
    assert.equal(ing.metadata.ownerReferences?.[0]?.name, 'routed', 'owned by the Certificate, so deleting it cleans up');
    const svc = await client.get<KubeObject & { spec?: { selector?: unknown } }>(Resources.services, NS, 'certsmith-acme-solver');
    assert.equal(svc?.spec?.selector, undefined, 'no selector: its endpoints are the operator pods in another namespace');
    const slice = await client.get<KubeObject & { endpoints?: { addresses: string[] }[] }>(Resources.endpointSlices, NS, 'certsmith-acme-solver');
    assert.deepEqual(
      slice?.endpoints?.map((e) => e.addresses[0]),
      ['10.0.0.50'],
    );

    await release();
    await waitForReady(client, Resources.certificates, NS, 'routed', undefined, 60_000);
    await waitFor(
      'the temporary Ingress to be gone',
      async () => (await client.list(Resources.ingresses, { namespace: NS, labelSelector: 'certsmith.dev/acme-http01-solver=true' })).items.length === 0,
    );
  });

  it("edits a user's Ingress in place: adds the challenge path, then restores the Ingress as it was", async () => {
    const original: IngressObject = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'shop', namespace: NS },
      spec: {
        rules: [{ host: 'shop.acme.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'shop', port: { number: 80 } } } }] } }],
      },
    };
    await client.create(Resources.ingresses, original);
    await client.create(
      Resources.clusterIssuers,
      clusterIssuer('pebble-inplace', { acme: acmeSpec(pebble, 'pebble-account', { solvers: [{ http01: { ingress: { name: 'shop' } } }] }) }),
    );
    await waitForReady(client, Resources.clusterIssuers, undefined, 'pebble-inplace');
    const { token, release } = await heldChallenge('shop', 'shop.acme.test', 'pebble-inplace');
    const during = await client.get<IngressObject>(Resources.ingresses, NS, 'shop');
    assert.deepEqual(
      during?.spec?.rules?.[0]?.http?.paths.map((p) => p.path),
      [path(token), '/'],
      'the challenge path comes first, the user path stays',
    );
    await release();
    await waitForReady(client, Resources.certificates, NS, 'shop', undefined, 60_000);
    await waitFor('the Ingress to be as it was', async () => {
      const after = await client.get<IngressObject>(Resources.ingresses, NS, 'shop');
      return JSON.stringify(after?.spec?.rules) === JSON.stringify(original.spec?.rules);
    });
  });
});

describe('restarts', () => {
  it('an operator killed in the middle of an order resumes the same order', async () => {
    // Held before it is submitted: a challenge submitted while no process listens fails, and rightly needs a new order.
    const { orderURL, release } = await heldChallenge('resume', 'resume.acme.test', 'pebble');
    await operator.kill();
    operator = startOperator({ kubeconfigPath: cp.kubeconfigPath, logDir, name: 'operator-2', args: operatorArgs });
    await release();
    const c = (await waitForReady(client, Resources.certificates, NS, 'resume', undefined, 60_000)) as Certificate;
    assert.equal(c.status?.acmeOrder, undefined, 'the order is done');
    assert.equal(await orderCount('resume.acme.test'), 1, `only the order placed before the kill (${orderURL})`);
  });

  it("an order placed but never recorded (the operator died between the CA's answer and the status write) is found among the account's orders and taken up", async () => {
    await operator.kill();
    const name = 'orphan.acme.test';
    const identifiers: AcmeIdentifier[] = [{ type: 'dns', value: name }];
    const requestedAt = toRfc3339(new Date());
    // The order the dead operator placed, through the same account.
    const acme = await accountClient();
    let orphan: string;
    try {
      await acme.registerAccount({});
      orphan = (await acme.newOrder({ identifiers, profile: 'default' })).url;
    } finally {
      acme.close();
    }
    // And the status it left: the intent, written before it asked the CA, with no order URL.
    const issuer = await client.get<Issuer>(Resources.clusterIssuers, undefined, 'pebble');
    await client.create(
      Resources.certificates,
      certificate(NS, 'orphan', { secretName: 'orphan-tls', issuerRef: { kind: 'ClusterIssuer', name: 'pebble' }, dnsNames: [name] }),
    );
    const digest = requestDigest(`ClusterIssuer/pebble ${issuer!.status!.acme!.uri}`, pebble.directoryUrl, identifiers, 'default');
    await client.apply<Certificate>(
      Resources.certificates,
      {
        apiVersion: API_VERSION,
        kind: 'Certificate',
        metadata: { name: 'orphan', namespace: NS },
        status: { acmeOrder: { state: 'ordering', requestDigest: digest, issuer: 'ClusterIssuer/pebble', requestedAt } },
      },
      { subresource: 'status', force: true },
    );
    operator = startOperator({ kubeconfigPath: cp.kubeconfigPath, logDir, name: 'operator-3', args: operatorArgs });
    const taken = await waitFor(
      'the order to be recorded',
      async () => (await client.get<Certificate>(Resources.certificates, NS, 'orphan'))?.status?.acmeOrder?.orderURL,
      {
        intervalMs: 20,
        timeoutMs: 60_000,
      },
    );
    assert.equal(taken, orphan, 'the order in status is the one placed before the restart');
    await waitForReady(client, Resources.certificates, NS, 'orphan', undefined, 60_000);
    assert.equal(await orderCount(name), 1, 'no other order was placed');
  });

  it('a valid order whose key Secret is gone is given up, not resumed: the next attempt places a new order', async () => {
    await waitForReady(client, Resources.clusterIssuers, undefined, 'pebble');
    await operator.kill();
    const name = 'lostkey.acme.test';
    const identifiers: AcmeIdentifier[] = [{ type: 'dns', value: name }];
    const requestedAt = toRfc3339(new Date());
    // An order taken to valid through the same account, finalized with a key no Secret holds: what a dead operator
    // leaves when the order's key Secret is deleted afterwards. The operator's challenge port is free meanwhile, so
    // the CA's HTTP-01 request is answered from here.
    const acme = await accountClient();
    const answers = new Map<string, string>();
    const solver = createServer((req, res) => {
      const answer = answers.get(req.url?.split('/').pop() ?? '');
      res.writeHead(answer ? 200 : 404).end(answer ?? '');
    });
    await new Promise<void>((resolve) => solver.listen(solverPort, '127.0.0.1', resolve));
    let order: AcmeOrder;
    try {
      await acme.registerAccount({});
      order = await acme.newOrder({ identifiers, profile: 'default' });
      for (const url of order.authorizations) {
        const challenge = (await acme.getAuthorization(url)).challenges.find((c) => c.type === 'http-01')!;
        answers.set(challenge.token, await acme.keyAuthorization(challenge));
        await acme.submitChallenge(challenge.url);
      }
      const url = order.url;
      const ready = await waitFor('the order to be ready', async () => ((await acme.getOrder(url)).status === 'ready' ? acme.getOrder(url) : undefined));
      const csr = await createCsr({
        privateKey: await generatePrivateKey({ algorithm: 'ECDSA', size: 256 }),
        subject: {},
        dnsNames: [name],
        ipAddresses: [],
        uris: [],
        emailAddresses: [],
      });
      await acme.finalize({ url, finalize: ready.finalize }, csr);
      order = await waitFor('the order to be valid', async () => {
        const o = await acme.getOrder(url);
        return o.status === 'valid' ? o : undefined;
      });
    } finally {
      acme.close();
      await new Promise((resolve) => solver.close(resolve));
    }
    const issuer = await client.get<Issuer>(Resources.clusterIssuers, undefined, 'pebble');
    await client.create(
      Resources.certificates,
      certificate(NS, 'lostkey', { secretName: 'lostkey-tls', issuerRef: { kind: 'ClusterIssuer', name: 'pebble' }, dnsNames: [name] }),
    );
    const acmeOrder = {
      state: 'valid',
      orderURL: order.url,
      certificateURL: order.certificate!,
      requestDigest: requestDigest(`ClusterIssuer/pebble ${issuer!.status!.acme!.uri}`, pebble.directoryUrl, identifiers, 'default'),
      issuer: 'ClusterIssuer/pebble',
      requestedAt,
      keySecretName: 'lostkey-order-key-gone',
    };
    await client.apply<Certificate>(
      Resources.certificates,
      { apiVersion: API_VERSION, kind: 'Certificate', metadata: { name: 'lostkey', namespace: NS }, status: { acmeOrder } },
      { subresource: 'status', force: true },
    );
    operator = startOperator({ kubeconfigPath: cp.kubeconfigPath, logDir, name: 'operator-4', args: operatorArgs });
    const c = await waitForReady(client, Resources.certificates, NS, 'lostkey', (cond) => cond.status === 'False' && cond.reason === 'Failed');
    const status = (c as Certificate).status!;
    assert.match(findCondition(status.conditions, 'Ready')!.message ?? '', /private key of order .* was lost .*a new order will be placed/);
    assert.equal(status.acmeOrder, undefined, 'the order is dropped from status, so the next attempt places a new one');
    assert.equal(status.failedIssuanceAttempts, 1);
    assert.ok(status.nextRetryTime, 'the next attempt waits out a backoff');
    assert.equal(await orderCount(name), 1, 'no new order before the backoff ends');
  });

  it('a CA restarted mid-order (its accounts and orders forgotten) ends with a certificate from the new CA', async () => {
    await client.create(
      Resources.certificates,
      certificate(NS, 'amnesia', { secretName: 'amnesia-tls', issuerRef: { kind: 'ClusterIssuer', name: 'pebble' }, dnsNames: ['amnesia.acme.test'] }),
    );
    await waitFor(
      'an order to be in progress',
      async () => (await client.get<Certificate>(Resources.certificates, NS, 'amnesia'))?.status?.acmeOrder?.orderURL,
      {
        intervalMs: 20,
      },
    );
    await pebble.restart();
    await waitForReady(client, Resources.certificates, NS, 'amnesia', undefined, 90_000);
    const chain = await chainOf('amnesia-tls');
    const root = parseCertificatesPem(await pebble.rootsPem())[0]!;
    assert.ok(isSignedBy(chain[chain.length - 1]!, root), "the chain ends at the restarted CA's new root");
  });
});

describe('bad input', () => {
  it('a wildcard without a dns01 solver is refused before any order is placed', async () => {
    await client.create(
      Resources.certificates,
      certificate(NS, 'wild', { secretName: 'wild-tls', issuerRef: { kind: 'ClusterIssuer', name: 'pebble' }, dnsNames: ['*.wild.acme.test'] }),
    );
    const c = await waitForReady(client, Resources.certificates, NS, 'wild', (cond) => cond.status === 'False' && cond.reason === 'NoSolver');
    assert.match(
      findCondition(c.status?.conditions, 'Ready')!.message ?? '',
      /wildcard \*\.wild\.acme\.test can only be validated over DNS-01.*no order was placed/,
    );
    assert.equal((c as Certificate).status?.acmeOrder, undefined);
    assert.equal(await orderCount('wild.acme.test'), 0);
  });

  it('a name no solver selects is refused before any order is placed', async () => {
    await client.create(
      Resources.clusterIssuers,
      clusterIssuer('pebble-picky', { acme: acmeSpec(pebble, 'pebble-account', { solvers: [{ selector: { dnsNames: ['picky.acme.test'] }, http01: {} }] }) }),
    );
    await waitForReady(client, Resources.clusterIssuers, undefined, 'pebble-picky');
    await client.create(
      Resources.certificates,
      certificate(NS, 'unpicked', { secretName: 'unpicked-tls', issuerRef: { kind: 'ClusterIssuer', name: 'pebble-picky' }, dnsNames: ['other.acme.test'] }),
    );
    const c = await waitForReady(client, Resources.certificates, NS, 'unpicked', (cond) => cond.status === 'False' && cond.reason === 'NoSolver');
    assert.match(findCondition(c.status?.conditions, 'Ready')!.message ?? '', /no solver of the issuer selects other\.acme\.test/);
  });

  it('a commonName outside the names is refused: an ACME CA only certifies validated names', async () => {
    await client.create(
      Resources.certificates,
      certificate(NS, 'cn', {
        secretName: 'cn-tls',
        issuerRef: { kind: 'ClusterIssuer', name: 'pebble' },
        commonName: 'elsewhere.acme.test',
        dnsNames: ['cn.acme.test'],
      }),
    );
    const c = await waitForReady(client, Resources.certificates, NS, 'cn', (cond) => cond.status === 'False' && cond.reason === 'InvalidSpec');
    assert.match(findCondition(c.status?.conditions, 'Ready')!.message ?? '', /commonName "elsewhere\.acme\.test" must also be listed in dnsNames/);
  });

  it('a self-check that cannot fetch the challenge holds the order back and says why, before the CA is asked', async () => {
    await dns.addA('unreachable.acme.test', ['127.0.0.2']);
    await client.create(
      Resources.certificates,
      certificate(NS, 'held', { secretName: 'held-tls', issuerRef: { kind: 'ClusterIssuer', name: 'pebble' }, dnsNames: ['unreachable.acme.test'] }),
    );
    const c = await waitFor('the self-check to report', async () => {
      const cert = await client.get<Certificate>(Resources.certificates, NS, 'held');
      const issuing = findCondition(cert?.status?.conditions, 'Issuing');
      return issuing?.message?.includes('self-check') ? cert : undefined;
    });
    assert.match(
      findCondition(c.status?.conditions, 'Issuing')!.message ?? '',
      /unreachable\.acme\.test: self-check: http:\/\/unreachable\.acme\.test:\d+\/\.well-known\/acme-challenge\/\S+ could not be fetched \(ECONNREFUSED\)/,
    );
    assert.deepEqual(
      c.status?.acmeOrder?.challenges?.map((ch) => ch.state),
      ['presented'],
      'the CA was not asked to validate',
    );
    assert.equal(c.status?.failedIssuanceAttempts, undefined);
    await client.delete(Resources.certificates, NS, 'held');
  });

  it('a validation the CA fails is reported with its reason and backs off by the failed-validation schedule', async () => {
    await dns.addA('refused.acme.test', ['127.0.0.2']);
    await client.create(
      Resources.clusterIssuers,
      clusterIssuer('pebble-nocheck', { acme: acmeSpec(pebble, 'pebble-account', { solvers: [{ http01: { selfCheck: false } }] }) }),
    );
    await waitForReady(client, Resources.clusterIssuers, undefined, 'pebble-nocheck');
    await client.create(
      Resources.certificates,
      certificate(NS, 'refused', { secretName: 'refused-tls', issuerRef: { kind: 'ClusterIssuer', name: 'pebble-nocheck' }, dnsNames: ['refused.acme.test'] }),
    );
    const c = (await waitForReady(
      client,
      Resources.certificates,
      NS,
      'refused',
      (cond) => cond.status === 'False' && cond.reason === 'Failed',
      60_000,
    )) as Certificate;
    assert.match(findCondition(c.status?.conditions, 'Ready')!.message ?? '', /the CA could not validate refused\.acme\.test \(http-01\): .*127\.0\.0\.2/);
    assert.equal(c.status?.failedIssuanceAttempts, 1);
    const waitMs = Date.parse(c.status!.nextRetryTime!) - Date.parse(c.status!.lastFailureTime!);
    assert.equal(waitMs, 5 * 60_000, 'the first retry waits 5 minutes');
    assert.equal(c.status?.acmeOrder, undefined, 'the failed order is dropped');
  });

  it('an unreachable directory leaves the issuer not Ready with a message naming it', async () => {
    await client.create(
      Resources.clusterIssuers,
      clusterIssuer('nowhere', { acme: { ...acmeSpec(pebble, 'nowhere-account'), server: 'https://127.0.0.1:1/dir' } }),
    );
    const iss = await waitForReady(client, Resources.clusterIssuers, undefined, 'nowhere', (c) => c.status === 'False');
    const ready = findCondition(iss.status?.conditions, 'Ready')!;
    assert.equal(ready.reason, 'ACMEServerUnreachable');
    assert.match(ready.message ?? '', /cannot reach the ACME server 127\.0\.0\.1:1 \(ECONNREFUSED\)/);
  });

  it('a server whose TLS certificate is not trusted says to set caBundle', async () => {
    const { caBundle: _none, ...untrusted } = acmeSpec(pebble, 'untrusted-account');
    await client.create(Resources.clusterIssuers, clusterIssuer('untrusted', { acme: untrusted }));
    const iss = await waitForReady(client, Resources.clusterIssuers, undefined, 'untrusted', (c) => c.status === 'False');
    assert.match(findCondition(iss.status?.conditions, 'Ready')!.message ?? '', /not trusted — set caBundle/);
  });
});

describe('external account binding and chains (a second CA)', () => {
  let special: Pebble;
  const eabKey = Buffer.from('certsmith-test-eab-hmac-key-0123456789abcdef').toString('base64url');
  before(async () => {
    special = await startPebble({
      binDir: cp.binDir,
      httpPort: pebble.httpPort,
      dnsServer: dns.dnsAddress,
      logDir: join(logDir, 'special'),
      eabKeys: { 'kid-1': eabKey },
      env: { PEBBLE_ALTERNATE_ROOTS: '1' },
      retryAfter: { authz: 1, order: 1 },
    });
    await client.create(Resources.secrets, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'eab', namespace: 'certsmith' },
      data: { secret: Buffer.from(eabKey).toString('base64'), wrong: Buffer.from(Buffer.from('not the key').toString('base64url')).toString('base64') },
    } as Secret);
  });
  after(async () => special?.stop());

  it('a CA that requires EAB refuses an account without it, and the issuer says so', async () => {
    await client.create(Resources.clusterIssuers, clusterIssuer('eab-missing', { acme: acmeSpec(special, 'eab-missing-account') }));
    const iss = await waitForReady(client, Resources.clusterIssuers, undefined, 'eab-missing', (c) => c.status === 'False');
    assert.equal(findCondition(iss.status?.conditions, 'Ready')!.reason, 'ACMEAccountRejected');
    assert.match(findCondition(iss.status?.conditions, 'Ready')!.message ?? '', /externalAccountRequired/);
  });

  it('a wrong EAB key is refused, and the issuer says so', async () => {
    await client.create(
      Resources.clusterIssuers,
      clusterIssuer('eab-wrong', {
        acme: acmeSpec(special, 'eab-wrong-account', { externalAccountBinding: { keyID: 'kid-1', keySecretRef: { name: 'eab', key: 'wrong' } } }),
      }),
    );
    const iss = await waitForReady(client, Resources.clusterIssuers, undefined, 'eab-wrong', (c) => c.status === 'False');
    assert.match(findCondition(iss.status?.conditions, 'Ready')!.message ?? '', /the ACME server refused POST \S+: unauthorized: external account binding/);
  });

  it('with the right EAB key the account registers, and preferredChain picks the alternate root', async () => {
    const alternateRoot = describeCertificate(parseCertificatesPem(await special.rootsPem(1))[0]!);
    await client.create(
      Resources.clusterIssuers,
      clusterIssuer('eab-right', {
        acme: acmeSpec(special, 'eab-right-account', {
          externalAccountBinding: { keyID: 'kid-1', keySecretRef: { name: 'eab' } },
          preferredChain: alternateRoot.commonName!,
        }),
      }),
    );
    await waitForReady(client, Resources.clusterIssuers, undefined, 'eab-right', undefined, 30_000);
    await issue('chain', { dnsNames: ['chain.acme.test'] }, 'eab-right');
    const chain = await chainOf('chain-tls');
    const top = describeCertificate(chain[chain.length - 1]!);
    assert.equal(top.issuer.includes(alternateRoot.commonName!), true, `the chain leads to ${alternateRoot.commonName}, not the default root`);
  });
});
