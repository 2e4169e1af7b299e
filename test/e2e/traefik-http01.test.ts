// HTTP-01 the way a cluster answers it in production: Pebble validates by connecting to the Ingress controller's
// NodePort on the node, and Traefik (a pod, the image built from its Go module) routes the request to the operator
// pods (installed by the chart) through the solver Service and its EndpointSlice. Covered: a temporary Ingress, a
// user's Ingress edited in place, a temporary HTTPRoute on an annotated Gateway, and an annotated Ingress end to end,
// until Traefik serves HTTPS with the certificate the operator wrote.
//
// Each challenge is held first (the operator's self-check fails while the name points nowhere) so the test can fetch
// the challenge through Traefik itself; then Traefik's access log shows which router answered Pebble.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Certificate } from '../../src/api/certificate.ts';
import { findCondition } from '../../src/api/conditions.ts';
import type { KubeObject } from '../../src/api/meta.ts';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { Resources } from '../../src/kube/resources.ts';
import { applyManifests, startCluster, type Cluster } from '../env/cluster.ts';
import { ensureTraefikImage } from '../env/image.ts';
import { NODE_ADDRESS } from '../env/node-host.ts';
import { startChallTestSrv, startPebble, type ChallTestSrv, type Pebble } from '../env/pebble.ts';
import {
  parseAccessLog,
  traefikManifests,
  TRAEFIK_GATEWAY_CLASS,
  TRAEFIK_INGRESS_CLASS,
  TRAEFIK_NAMESPACE,
  TRAEFIK_WEB_PORT,
  TRAEFIK_WEBSECURE_PORT,
  type AccessLogEntry,
} from '../env/traefik.ts';
import { createHelm, installOperatorChart, type Helm } from '../integration/helpers/helm.ts';
import { certificate, clusterIssuer, createNamespace, waitForReady } from '../integration/helpers/objects.ts';
import { waitFor } from '../integration/helpers/wait.ts';

const NS = 'shop';
/** Where Pebble (httpPort) and the operator's self-check (checkPort) reach HTTP-01 answers: Traefik's web entry point. */
const WEB_NODE_PORT = 30080;
const WEBSECURE_NODE_PORT = 30443;
const CHALLENGE_PREFIX = '/.well-known/acme-challenge/';
const PEBBLE_USER_AGENT = /LetsEncrypt-Pebble-VA/;
const SOLVER_LABEL = 'certsmith.dev/acme-http01-solver=true';
/** An address in no pod's and no process's reach: the self-check fails there, holding the challenge. */
const NOWHERE = '127.0.0.2';

type Manifest = Record<string, unknown>;
interface IngressObject extends KubeObject {
  spec?: { ingressClassName?: string; rules?: { host?: string; http?: { paths: { path?: string }[] } }[] };
}

/** A small HTTP app to route to: answers every path with its name. Runs on Node from the operator's image. */
function backend(image: string): Manifest[] {
  const labels = { app: 'shop' };
  return [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'shop', namespace: NS },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            terminationGracePeriodSeconds: 1,
            securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532 },
            containers: [
              {
                name: 'shop',
                image,
                imagePullPolicy: 'IfNotPresent',
                command: ['/nodejs/bin/node', '-e', "require('node:http').createServer((q, s) => s.end('shop ' + q.url)).listen(8080)"],
                ports: [{ name: 'http', containerPort: 8080 }],
                readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'shop', namespace: NS },
      spec: { selector: labels, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
    },
  ];
}

function userIngress(name: string, host: string, annotations: Record<string, string> = {}, tlsSecret?: string): Manifest {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: NS, annotations },
    spec: {
      ingressClassName: TRAEFIK_INGRESS_CLASS,
      ...(tlsSecret ? { tls: [{ hosts: [host], secretName: tlsSecret }] } : {}),
      rules: [{ host, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'shop', port: { number: 80 } } } }] } }],
    },
  };
}

/** GET through Traefik's web entry point on the node, as the CA does: the node's address, the name in Host. */
function getThroughTraefik(host: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: NODE_ADDRESS, port: WEB_NODE_PORT, path, headers: { host }, timeout: 5_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET http://${host}${path} through Traefik timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** HTTPS through Traefik's websecure entry point, verified against `ca` for `host`: the certificate Traefik serves, and the body. */
function getHttps(host: string, ca: string): Promise<{ body: string; peerSubjectAltName: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: NODE_ADDRESS, port: WEBSECURE_NODE_PORT, servername: host, ca, timeout: 5_000 }, () => {
      const peerSubjectAltName = socket.getPeerCertificate().subjectaltname ?? '';
      socket.write(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      let raw = '';
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => (raw += d));
      socket.on('end', () => resolve({ body: raw.slice(raw.indexOf('\r\n\r\n') + 4), peerSubjectAltName }));
    });
    socket.on('timeout', () => socket.destroy(new Error(`HTTPS to ${host} through Traefik timed out`)));
    socket.on('error', reject);
  });
}

describe('HTTP-01 through Traefik on a real node', () => {
  let cluster: Cluster;
  let client: KubeClient;
  let helm: Helm;
  let dns: ChallTestSrv;
  let pebble: Pebble;
  let pebbleRoots: string;

  const kubectl = (...args: string[]) => cluster.cp.kubectl(...args);
  const apply = (objects: Manifest[]) => applyManifests(cluster.cp, objects, 'e2e');
  const getCert = (name: string) => client.get<Certificate>(Resources.certificates, NS, name);
  const accessLog = async (): Promise<AccessLogEntry[]> => parseAccessLog(await kubectl('logs', '-n', TRAEFIK_NAMESPACE, 'deployment/traefik'));
  const solverIngresses = async () => (await client.list<IngressObject>(Resources.ingresses, { namespace: NS, labelSelector: SOLVER_LABEL })).items;
  const solverRoutes = async () => (await client.list<KubeObject>(Resources.httpRoutes, { namespace: NS, labelSelector: SOLVER_LABEL })).items;

  /**
   * Points `host` nowhere, runs `create`, and waits until the Certificate's challenge is presented and held by the
   * failing self-check. Returns its token and a release that points the name back at the node.
   */
  async function held(certName: string, host: string, create: () => Promise<void>) {
    await dns.addA(host, [NOWHERE]);
    await create();
    const cert = await waitFor(
      `the challenge of ${certName} to be presented and held by the self-check`,
      async () => {
        const c = await getCert(certName);
        return c?.status?.acmeOrder?.challenges?.[0]?.state === 'presented' && findCondition(c.status.conditions, 'Issuing')?.message?.includes('self-check')
          ? c
          : undefined;
      },
      { timeoutMs: 90_000 },
    );
    const token = cert.status!.acmeOrder!.challenges![0]!.token;
    return { token, release: () => dns.clearA(host) };
  }

  /** The challenge answered through Traefik: what the CA will fetch (the key authorization starts with the token). */
  async function assertServedThroughTraefik(host: string, token: string) {
    const res = await waitFor(
      `Traefik to route ${CHALLENGE_PREFIX}${token} for ${host}`,
      async () => {
        const r = await getThroughTraefik(host, `${CHALLENGE_PREFIX}${token}`);
        // Until Traefik has loaded the edited Ingress, the user's own route answers this path, with a 200 too.
        return r.status === 200 && r.body.startsWith(`${token}.`) ? r : undefined;
      },
      { timeoutMs: 30_000 },
    );
    assert.match(res.body, new RegExp(`^${token}\\.[A-Za-z0-9_-]{43}$`), 'the key authorization, from an operator pod');
  }

  /** Pebble's own validation request, in Traefik's access log: answered 200 by the router `router` matches. */
  async function pebbleValidatedThrough(token: string, router: RegExp): Promise<AccessLogEntry> {
    const entry = await waitFor(`Pebble's request for ${token} in Traefik's access log`, async () =>
      (await accessLog()).find((e) => e.RequestPath === `${CHALLENGE_PREFIX}${token}` && PEBBLE_USER_AGENT.test(e['request_User-Agent'] ?? '')),
    );
    assert.equal(entry.DownstreamStatus, 200, "Traefik answered Pebble with the operator's 200");
    assert.match(entry.RouterName ?? '', router);
    return entry;
  }

  before(async () => {
    const traefik = await ensureTraefikImage();
    cluster = await startCluster({ withOperatorImage: true, gatewayApi: true, node: { extraImageArchives: [traefik.archive] } });
    client = createKubeClient({ kubeconfigPath: cluster.cp.kubeconfigPath });
    helm = await createHelm(cluster.cp.binDir);
    // Every name answers the node's address, where Traefik's NodePorts listen; Pebble validates on the web NodePort.
    dns = await startChallTestSrv({ binDir: cluster.cp.binDir, listenHost: NODE_ADDRESS, defaultIPv4: NODE_ADDRESS });
    pebble = await startPebble({
      binDir: cluster.cp.binDir,
      listenHost: NODE_ADDRESS,
      httpPort: WEB_NODE_PORT,
      dnsServer: dns.dnsAddress,
      retryAfter: { authz: 1, order: 1 },
    });
    pebbleRoots = await pebble.rootsPem();

    await apply(traefikManifests({ image: traefik.ref, webNodePort: WEB_NODE_PORT, websecureNodePort: WEBSECURE_NODE_PORT }));
    const values = join(cluster.cp.dir, 'certsmith-values.json');
    writeFileSync(values, JSON.stringify({ acme: { http01: { checkPort: WEB_NODE_PORT }, recursiveNameservers: [dns.dnsAddress] } }));
    await installOperatorChart(helm, cluster.cp.kubeconfigPath, '-f', values);
    await kubectl('rollout', 'status', 'deployment/traefik', '-n', TRAEFIK_NAMESPACE, '--timeout=120s');

    await createNamespace(client, NS);
    await apply(backend(cluster.operatorImage!));
    await kubectl('rollout', 'status', 'deployment/shop', '-n', NS, '--timeout=120s');
    const acme = (solver: Record<string, unknown>) => ({
      acme: {
        server: pebble.directoryUrl,
        caBundle: readFileSync(pebble.caFile).toString('base64'),
        privateKeySecretRef: { name: 'pebble-account' },
        solvers: [{ http01: solver }],
      },
    });
    await client.create(Resources.clusterIssuers, clusterIssuer('pebble-temporary-ingress', acme({ ingress: { ingressClassName: TRAEFIK_INGRESS_CLASS } })));
    await client.create(Resources.clusterIssuers, clusterIssuer('pebble-edit-in-place', acme({ ingress: { name: 'storefront' } })));
    // What annotated Ingresses and Gateways name: the route goes through the Ingress's class or the Gateway itself.
    await client.create(Resources.clusterIssuers, clusterIssuer('pebble', acme({})));
    for (const name of ['pebble-temporary-ingress', 'pebble-edit-in-place', 'pebble']) {
      await waitForReady(client, Resources.clusterIssuers, undefined, name, undefined, 60_000);
    }
  });

  after(async () => {
    await helm?.cleanup();
    await pebble?.stop();
    await dns?.stop();
    await cluster?.stop();
  });

  it("a temporary Ingress of the issuer's class: Traefik routes the CA to an operator pod, and the Ingress goes after", async () => {
    const host = 'direct.traefik.test';
    const { token, release } = await held('direct', host, async () => {
      await client.create(
        Resources.certificates,
        certificate(NS, 'direct', { secretName: 'direct-tls', dnsNames: [host], issuerRef: { kind: 'ClusterIssuer', name: 'pebble-temporary-ingress' } }),
      );
    });
    const [ing] = await solverIngresses();
    assert.equal(ing?.spec?.ingressClassName, TRAEFIK_INGRESS_CLASS);
    await assertServedThroughTraefik(host, token);
    await release();
    await waitForReady(client, Resources.certificates, NS, 'direct', undefined, 90_000);
    await pebbleValidatedThrough(token, new RegExp(`^${NS}-${ing!.metadata.name}-.*@kubernetes$`));
    await waitFor('the temporary Ingress to be gone', async () => (await solverIngresses()).length === 0);
  });

  it("a user's Ingress edited in place: the challenge path and the user's own path are both served, and the Ingress is restored", async () => {
    const host = 'storefront.traefik.test';
    await apply([userIngress('storefront', host)]);
    await waitFor("Traefik to serve the user's path", async () => (await getThroughTraefik(host, '/')).body === 'shop /');
    const { token, release } = await held('storefront', host, async () => {
      await client.create(
        Resources.certificates,
        certificate(NS, 'storefront', { secretName: 'storefront-tls', dnsNames: [host], issuerRef: { kind: 'ClusterIssuer', name: 'pebble-edit-in-place' } }),
      );
    });
    await assertServedThroughTraefik(host, token);
    assert.equal((await getThroughTraefik(host, '/cart')).body, 'shop /cart', 'the user path is still routed during the challenge');
    await release();
    await waitForReady(client, Resources.certificates, NS, 'storefront', undefined, 90_000);
    await pebbleValidatedThrough(token, new RegExp(`^${NS}-storefront-.*@kubernetes$`));
    await waitFor('the challenge path to be gone from the Ingress', async () => {
      const i = await client.get<IngressObject>(Resources.ingresses, NS, 'storefront');
      return JSON.stringify(i?.spec?.rules?.[0]?.http?.paths.map((p) => p.path)) === JSON.stringify(['/']);
    });
    await waitFor(
      "the challenge path to fall back to the user's route in Traefik",
      async () => (await getThroughTraefik(host, `${CHALLENGE_PREFIX}${token}`)).body === `shop ${CHALLENGE_PREFIX}${token}`,
    );
  });

  it('an annotated Ingress, end to end: validated through a temporary Ingress of its class, then served over HTTPS by Traefik with the issued certificate', async () => {
    const host = 'store.traefik.test';
    const { token, release } = await held('store-tls', host, async () => {
      await apply([userIngress('store', host, { 'certsmith.dev/cluster-issuer': 'pebble' }, 'store-tls')]);
    });
    const [ing] = await solverIngresses();
    assert.equal(ing?.spec?.ingressClassName, TRAEFIK_INGRESS_CLASS, "the class of the user's Ingress");
    await assertServedThroughTraefik(host, token);
    await release();
    await waitForReady(client, Resources.certificates, NS, 'store-tls', undefined, 90_000);
    await pebbleValidatedThrough(token, new RegExp(`^${NS}-${ing!.metadata.name}-.*@kubernetes$`));
    const res = await waitFor('Traefik to serve HTTPS with the issued certificate', () => getHttps(host, pebbleRoots).catch(() => undefined), {
      timeoutMs: 30_000,
    });
    assert.equal(res.body, 'shop /');
    assert.equal(res.peerSubjectAltName, `DNS:${host}`);
  });

  it('an annotated Gateway: validated through a temporary HTTPRoute on its HTTP listener, then its HTTPS listener serves the issued certificate', async () => {
    const host = 'edge.traefik.test';
    const { token, release } = await held('edge-tls', host, async () => {
      await apply([
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'Gateway',
          metadata: { name: 'edge', namespace: NS, annotations: { 'certsmith.dev/cluster-issuer': 'pebble' } },
          spec: {
            gatewayClassName: TRAEFIK_GATEWAY_CLASS,
            listeners: [
              { name: 'web', port: TRAEFIK_WEB_PORT, protocol: 'HTTP' },
              {
                name: 'websecure',
                port: TRAEFIK_WEBSECURE_PORT,
                protocol: 'HTTPS',
                hostname: host,
                tls: { mode: 'Terminate', certificateRefs: [{ kind: 'Secret', name: 'edge-tls' }] },
              },
            ],
          },
        },
        {
          apiVersion: 'gateway.networking.k8s.io/v1',
          kind: 'HTTPRoute',
          metadata: { name: 'edge-app', namespace: NS },
          spec: { parentRefs: [{ name: 'edge', sectionName: 'websecure' }], hostnames: [host], rules: [{ backendRefs: [{ name: 'shop', port: 80 }] }] },
        },
      ]);
    });
    const [route] = await solverRoutes();
    assert.ok(route, 'a temporary HTTPRoute');
    await assertServedThroughTraefik(host, token);
    await release();
    await waitForReady(client, Resources.certificates, NS, 'edge-tls', undefined, 90_000);
    await pebbleValidatedThrough(token, new RegExp(`^httproute-${NS}-${route.metadata.name}-.*@kubernetesgateway$`));
    await waitFor('the temporary HTTPRoute to be gone', async () => (await solverRoutes()).length === 0);
    const res = await waitFor('the Gateway to serve HTTPS with the issued certificate', () => getHttps(host, pebbleRoots).catch(() => undefined), {
      timeoutMs: 30_000,
    });
    assert.equal(res.body, 'shop /');
    assert.equal(res.peerSubjectAltName, `DNS:${host}`);
  });
});
