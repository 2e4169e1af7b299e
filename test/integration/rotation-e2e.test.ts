// The product's promise, end to end on the real control plane: a managed CA rotates twice while an mTLS server and
// client built with certsmith/reload talk without pause, and not one request or handshake fails. The operator
// issues both leaves and publishes the CA pools through TrustBundles; a kubelet-style projector mounts the Secrets
// and ConfigMaps into directories with the kubelet's `..data` swaps; the workloads read only those directories.
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import { request, createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, type TLSSocket } from 'node:tls';
import pino from 'pino';
import type { Issuer } from '../../src/api/issuer.ts';
import { REVISION_ANNOTATION } from '../../src/api/labels.ts';
import { API_VERSION, type KubeObject } from '../../src/api/meta.ts';
import type { TrustBundle } from '../../src/api/trust-bundle.ts';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { Resources } from '../../src/kube/resources.ts';
import { parseCertificatesPem } from '../../src/pki/index.ts';
import { httpsAgents, serverTLS, watchCAPool, watchKeyPair, type CAPool, type KeyPair, type ReloadingClient, type Source } from '../../src/reload/index.ts';
import { startControlPlane, type ControlPlane } from '../env/controlplane.ts';
import { certificate, clusterIssuer, createNamespace, decode, type Secret, setNamespaceLabels, waitForReady } from './helpers/objects.ts';
import { startOperator, type OperatorProcess } from './helpers/operator.ts';
import { startProjector, type Projector } from './helpers/projector.ts';
import { waitFor } from './helpers/wait.ts';

const crdsDir = join(import.meta.dirname, '..', '..', 'crds');
const log = pino({ level: process.env.CERTSMITH_TEST_VERBOSE ? 'debug' : 'silent' });
const ISSUER = 'e2e-rotating';
const SERVER_NS = 'e2e-server';
const CLIENT_NS = 'e2e-client';
const SERVER_NAME = 'api.e2e-server.svc';
/**
 * Concurrent request loops; one of them closes its connection after every request, and the agents cache no TLS
 * session, so full handshakes (both chains verified against the pools of the moment) never stop.
 */
const WORKERS = 4;
/** Paced so the load does not starve the operator and the API server on a 2-core machine. */
const TARGET_RATE = 400;

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

const fingerprint = (der: Uint8Array) => createHash('sha256').update(der).digest('hex');
const fingerprintsOf = (pem: string) => parseCertificatesPem(pem).map(fingerprint).sort();

let cp: ControlPlane;
let client: KubeClient;
let operator: OperatorProcess;
let workDir: string;
const cleanups: (() => Promise<void> | void)[] = [];

function trustBundle(name: string, role: string): TrustBundle {
  return {
    apiVersion: API_VERSION,
    kind: 'TrustBundle',
    metadata: { name },
    spec: {
      sources: [{ issuer: { kind: 'ClusterIssuer', name: ISSUER } }],
      target: { configMap: { key: 'ca.crt' }, namespaceSelector: { matchLabels: { 'e2e-role': role } } },
    },
  } as TrustBundle;
}

/** The issuer's phase every 100 ms, and each leaf's revision as the API server holds it. */
function startRecorder() {
  const phases: { at: number; phase: string }[] = [];
  const revisions = new Map<string, number[]>();
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      try {
        const i = await client.get<Issuer>(Resources.clusterIssuers, undefined, ISSUER);
        const phase = i?.status?.ca?.phase;
        if (phase && phases.at(-1)?.phase !== phase) phases.push({ at: Date.now(), phase });
        for (const [ns, secret] of [[SERVER_NS, 'server-tls'], [CLIENT_NS, 'client-tls']] as const) {
          const s = await client.get<Secret>(Resources.secrets, ns, secret);
          const r = Number(s?.metadata.annotations?.[REVISION_ANNOTATION]);
          const seen = revisions.get(secret) ?? [];
          if (seen.at(-1) !== r) seen.push(r);
          revisions.set(secret, seen);
        }
      } catch {
        // a read racing a write: the next round sees it
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    phases,
    revisions,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

interface LoadStats {
  ok: number;
  failed: number;
  errors: Map<string, number>;
  /** Responses per client trust generation. */
  byGeneration: Map<number, number>;
  startedAt: number;
  stoppedAt: number;
}

/** WORKERS loops of requests over the reloading client, paced to TARGET_RATE in total. */
function startLoad(port: number, httpClient: ReloadingClient<import('node:https').Agent>) {
  const stats: LoadStats = { ok: 0, failed: 0, errors: new Map(), byGeneration: new Map(), startedAt: performance.now(), stoppedAt: 0 };
  let stopped = false;
  const once = (worker: number) =>
    new Promise<void>((resolve) => {
      const generation = httpClient.generation();
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: `/?w=${worker}`,
          // Worker 1 sends no SNI (an IP): the server's default context answers it, kept current by attach().
          ...(worker === 1 ? {} : { servername: SERVER_NAME }),
          // Worker 0 forces a new connection, and so a handshake, every time.
          headers: worker === 0 ? { connection: 'close' } : {},
          agent: httpClient.agent(),
          timeout: 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            if (res.statusCode === 200 && Buffer.concat(chunks).toString() === 'hello e2e-client') {
              stats.ok++;
              stats.byGeneration.set(generation, (stats.byGeneration.get(generation) ?? 0) + 1);
            } else fail(`HTTP ${res.statusCode}`);
            resolve();
          });
          res.on('error', (err) => {
            fail(err.message);
            resolve();
          });
        },
      );
      const fail = (what: string) => {
        stats.failed++;
        stats.errors.set(what, (stats.errors.get(what) ?? 0) + 1);
      };
      req.on('timeout', () => req.destroy(new Error('request timed out')));
      req.on('error', (err: NodeJS.ErrnoException) => {
        fail(err.code ?? err.message);
        resolve();
      });
      req.end();
    });
  const loops = Array.from({ length: WORKERS }, async (_, worker) => {
    while (!stopped) {
      await once(worker);
      const ahead = (stats.ok + stats.failed) / TARGET_RATE - (performance.now() - stats.startedAt) / 1000;
      if (ahead > 0.005) await new Promise((r) => setTimeout(r, ahead * 1000));
    }
  });
  return {
    stats,
    async stop() {
      stopped = true;
      await Promise.all(loops);
      stats.stoppedAt = performance.now();
      return stats;
    },
  };
}

const certificatesOf = (pem: Buffer | undefined) => parseCertificatesPem(pem?.toString() ?? '').map((der) => new X509Certificate(der));
const issues = (ca: X509Certificate, leaf: X509Certificate) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey);

/**
 * Replays two mounts in the order of their `..data` swaps and checks, after every swap, that the leaf one side
 * holds chains to a CA the other side's pool holds: trust before use, and no CA dropped while still in use.
 */
function assertAlwaysTrusted(leafMount: Projector, trustMount: Projector, trustKey: string) {
  const swaps: { at: number; leaf?: X509Certificate | undefined; pool?: X509Certificate[] }[] = [
    ...leafMount.projections.map((p) => ({ at: p.swappedAt, leaf: certificatesOf(p.payload.get('tls.crt'))[0] })),
    ...trustMount.projections.map((p) => ({ at: p.swappedAt, pool: certificatesOf(p.payload.get(trustKey)) })),
  ].sort((a, b) => a.at - b.at);
  let leaf: X509Certificate | undefined;
  let pool: X509Certificate[] | undefined;
  for (const swap of swaps) {
    leaf = swap.leaf ?? leaf;
    pool = swap.pool ?? pool;
    if (leaf && pool) assert.ok(pool.some((ca) => issues(ca, leaf!)), `${leafMount.dir} held a leaf ${trustMount.dir} did not trust (serial ${leaf.serialNumber})`);
  }
}

/** The kubelet's layout: `..data` → the one timestamped directory left, visible files → `..data/<key>`. */
async function assertKubeletLayout(m: Projector, keys: string[]) {
  const target = await readlink(join(m.dir, '..data'));
  assert.match(target, /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\.\d{9}$/);
  assert.deepEqual((await readdir(m.dir)).sort(), ['..data', target, ...keys].sort(), `${m.dir}: the old directories were removed`);
  for (const key of keys) assert.equal(await readlink(join(m.dir, key)), join('..data', key));
  assert.equal(target, m.projections.at(-1)!.dir);
}

/** A fresh full handshake with exactly the given trust; resolves to the server's leaf, or rejects. */
function handshake(port: number, ca: string[], identity: KeyPair): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket: TLSSocket = connect({ host: '127.0.0.1', port, servername: SERVER_NAME, ca, cert: identity.certPem, key: identity.keyPem }, () => {
      const peer = socket.getPeerX509Certificate();
      socket.destroy();
      if (peer) resolve(peer);
      else reject(new Error('no peer certificate'));
    });
    socket.on('error', reject);
  });
}

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'certsmith-rotation-e2e-'));
  cp = await startControlPlane({ crdsDir, withControllerManager: false });
  client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath });
  for (const ns of ['certsmith', SERVER_NS, CLIENT_NS]) await createNamespace(client, ns);
  await setNamespaceLabels(client, SERVER_NS, { 'e2e-role': 'server' });
  await setNamespaceLabels(client, CLIENT_NS, { 'e2e-role': 'client' });
  operator = startOperator({ kubeconfigPath: cp.kubeconfigPath, logDir: workDir, args: ['--leader-elect=false'] });
});

after(async () => {
  for (const fn of cleanups.reverse()) await fn();
  await operator?.stop();
  await cp?.stop();
  if (workDir && !process.env.CERTSMITH_TEST_KEEP) await rm(workDir, { recursive: true, force: true });
});

describe('CA rotation end to end', () => {
  it('an mTLS server and client on certsmith/reload see no failed request while the CA rotates twice', async () => {
    // CA valid 75 s, a rotation when 50 s are left: every ~25 s. Each takes ~10 s (bundles synced + 3 s, re-issue
    // spread over 4 s, 3 s grace). A leaf of a new CA would renew itself only ~45 s after it was issued, so the
    // rotations are the only re-issuances.
    await client.create(
      Resources.clusterIssuers,
      clusterIssuer(ISSUER, {
        ca: {
          managed: {
            commonName: 'certsmith e2e rotating CA',
            duration: '75s',
            rotateBefore: '50s',
            propagationDelay: '3s',
            retireGracePeriod: '3s',
            reissueWindow: '4s',
          },
        },
      }),
    );
    const ready = (await waitForReady(client, Resources.clusterIssuers, undefined, ISSUER)) as Issuer;
    const ca1 = ready.status!.caFingerprint!;
    const ca1Pem = decode(await client.get<Secret>(Resources.secrets, 'certsmith', `${ISSUER}-ca`), 'tls.crt');
    await client.create(Resources.trustBundles, trustBundle('e2e-roots', 'client'));
    await client.create(Resources.trustBundles, trustBundle('e2e-client-cas', 'server'));
    const issuerRef = { kind: 'ClusterIssuer' as const, name: ISSUER };
    await client.create(
      Resources.certificates,
      certificate(SERVER_NS, 'server', { secretName: 'server-tls', dnsNames: [SERVER_NAME], ipAddresses: ['127.0.0.1'], duration: '1h', usages: ['digital signature', 'key encipherment', 'server auth'], issuerRef }),
    );
    await client.create(
      Resources.certificates,
      certificate(CLIENT_NS, 'client', { secretName: 'client-tls', commonName: 'e2e-client', duration: '1h', usages: ['digital signature', 'client auth'], issuerRef }),
    );
    await waitForReady(client, Resources.certificates, SERVER_NS, 'server');
    await waitForReady(client, Resources.certificates, CLIENT_NS, 'client');
    for (const [ns, name] of [[CLIENT_NS, 'e2e-roots'], [SERVER_NS, 'e2e-client-cas']] as const) {
      await waitFor(`ConfigMap ${ns}/${name} to hold the first CA`, async () => {
        const cm = await client.get<ConfigMap>(Resources.configMaps, ns, name);
        return cm?.data?.['ca.crt'] !== undefined && fingerprintsOf(cm.data['ca.crt']).join() === ca1;
      });
    }

    // The kubelet's part: one set of mounts for the server, one for the client.
    const mounts = {
      serverTls: startProjector({ client, log, kind: 'Secret', namespace: SERVER_NS, name: 'server-tls', dir: join(workDir, 'server', 'tls') }),
      serverTrust: startProjector({ client, log, kind: 'ConfigMap', namespace: SERVER_NS, name: 'e2e-client-cas', dir: join(workDir, 'server', 'trust') }),
      clientTls: startProjector({ client, log, kind: 'Secret', namespace: CLIENT_NS, name: 'client-tls', dir: join(workDir, 'client', 'tls') }),
      clientTrust: startProjector({ client, log, kind: 'ConfigMap', namespace: CLIENT_NS, name: 'e2e-roots', dir: join(workDir, 'client', 'trust') }),
    } satisfies Record<string, Projector>;
    cleanups.push(() => Promise.all(Object.values(mounts).map((m) => m.stop())).then(() => undefined));
    await Promise.all(Object.values(mounts).map((m) => m.ready()));

    // The workloads: they know only their directories.
    const rejected: string[] = [];
    const hooks = { rejected: (e: { source: string; code: string }) => void rejected.push(`${e.source}: ${e.code}`) };
    const serverCert = await watchKeyPair(mounts.serverTls.dir, { name: 'server tls', hooks });
    const clientCAs = await watchCAPool(mounts.serverTrust.dir, { name: 'server client-CAs', hooks });
    const identity = await watchKeyPair(mounts.clientTls.dir, { name: 'client tls', hooks });
    const rootCAs = await watchCAPool(mounts.clientTrust.dir, { name: 'client roots', hooks });
    const sources: Source<unknown>[] = [serverCert, clientCAs, identity, rootCAs];
    cleanups.push(() => sources.forEach((s) => s.close()));

    const tlsServer = serverTLS({ certificates: [serverCert], defaultCertificate: serverCert, clientCAs });
    let handshakes = 0;
    let resumed = 0;
    const handshakeErrors: string[] = [];
    const server: Server = createServer(tlsServer.options, (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      res.end(`hello ${peer.subject?.CN}`);
    });
    server.on('secureConnection', (s: TLSSocket) => {
      handshakes++;
      if (s.isSessionReused()) resumed++;
    });
    server.on('tlsClientError', (err: NodeJS.ErrnoException) => void handshakeErrors.push(err.code ?? err.message));
    server.keepAliveTimeout = 30_000;
    cleanups.push(tlsServer.attach(server));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())).then(() => undefined));
    const port = (server.address() as { port: number }).port;
    const retiredGenerations: number[] = [];
    const httpClient = httpsAgents({ rootCAs, identity, agentOptions: { keepAlive: true, maxSockets: WORKERS, maxCachedSessions: 0 }, hooks: { ...hooks, retired: (e) => void retiredGenerations.push(e.generation) } });
    cleanups.push(() => httpClient.close());

    const recorder = startRecorder();
    const load = startLoad(port, httpClient);
    const t0 = Date.now();
    let stats: LoadStats;
    try {
      // Two full rotations: Publishing → Reissuing → Stable, twice.
      const cycle = ['Publishing', 'Reissuing', 'Stable'];
      await waitFor(
        'two rotations (Publishing → Reissuing → Stable, twice)',
        () => {
          const seen = recorder.phases.map((p) => p.phase);
          const from = seen.indexOf('Publishing');
          return from >= 0 && seen.slice(from).join() === [...cycle, ...cycle].join();
        },
        { timeoutMs: 120_000, intervalMs: 100 },
      );
      // The last step reaches the mounts and the workloads: every pool holds the newest CA only.
      const final = (await client.get<Issuer>(Resources.clusterIssuers, undefined, ISSUER))!;
      const newest = final.status!.caFingerprint!;
      const poolIsNewest = (s: Source<CAPool>) => s.current().certificates.map((c) => fingerprint(c.raw)).join() === newest;
      await waitFor('the mounted pools to hold only the newest CA', () => poolIsNewest(rootCAs) && poolIsNewest(clientCAs), { timeoutMs: 15_000 });
      // Traffic after the last change, so the final generation serves too.
      await new Promise((r) => setTimeout(r, 1_000));
    } finally {
      stats = await load.stop();
      await recorder.stop();
    }

    const seconds = (stats.stoppedAt - stats.startedAt) / 1000;
    const rate = stats.ok / seconds;
    const phaseLog = recorder.phases.map((p) => `${p.phase}@${((p.at - t0) / 1000).toFixed(1)}s`).join(' → ');
    console.log(`# e2e rotation: ${stats.ok} requests ok, ${stats.failed} failed in ${seconds.toFixed(1)} s (${rate.toFixed(0)}/s); ` +
      `${handshakes} handshakes on the server (${resumed} resumed), ${handshakeErrors.length} failed`);
    console.log(`# e2e rotation: phases ${phaseLog}`);
    console.log(`# e2e rotation: revisions ${JSON.stringify(Object.fromEntries(recorder.revisions))}; client trust generations ${httpClient.generation()} ` +
      `(responses per generation ${JSON.stringify(Object.fromEntries(stats.byGeneration))}, retired ${retiredGenerations.join(',')}); ` +
      `projections ${Object.entries(mounts).map(([k, m]) => `${k}=${m.projections.length}`).join(' ')}`);

    // Not one request or handshake failed, at a real rate.
    assert.equal(stats.failed, 0, `failed requests: ${JSON.stringify(Object.fromEntries(stats.errors))}`);
    assert.deepEqual(handshakeErrors, [], 'failed handshakes on the server');
    assert.deepEqual(rejected, [], 'the workloads never read invalid material');
    assert.ok(rate >= 200, `${rate.toFixed(0)} requests per second`);
    assert.ok(handshakes - resumed >= 1_000, `${handshakes - resumed} full handshakes`);

    // New handshakes use the newest CA: the server's certificate chains to it, and to nothing older.
    const caSecret = await client.get<Secret>(Resources.secrets, 'certsmith', `${ISSUER}-ca`);
    const newestCa = new X509Certificate(decode(caSecret, 'tls.crt'));
    const newest = fingerprint(newestCa.raw);
    const final = (await client.get<Issuer>(Resources.clusterIssuers, undefined, ISSUER))!;
    assert.equal(final.status?.caFingerprint, newest);
    assert.deepEqual(final.status?.ca?.generations?.map((g) => [g.fingerprint, g.role]), [[newest, 'signing']]);
    const presented = await handshake(port, [newestCa.toString()], identity.current());
    assert.ok(presented.checkIssued(newestCa) && presented.verify(newestCa.publicKey), 'the server presents a certificate of the newest CA');
    assert.ok(identity.current().leaf.verify(newestCa.publicKey), 'the client presents a certificate of the newest CA');
    assert.notEqual(newest, ca1);
    await assert.rejects(handshake(port, [ca1Pem], identity.current()), 'a client trusting only the first CA no longer gets in');

    // The old CAs are gone from every bundle: the CA Secret, both TrustBundles, their ConfigMaps, the mounts.
    assert.deepEqual(fingerprintsOf(decode(caSecret, 'ca.crt')), [newest]);
    for (const name of ['e2e-roots', 'e2e-client-cas']) {
      const b = await client.get<TrustBundle>(Resources.trustBundles, undefined, name);
      assert.deepEqual(b?.status?.certificates?.map((c) => c.fingerprint), [newest], `TrustBundle ${name}`);
    }
    for (const [ns, name] of [[CLIENT_NS, 'e2e-roots'], [SERVER_NS, 'e2e-client-cas']] as const) {
      const cm = await client.get<ConfigMap>(Resources.configMaps, ns, name);
      assert.deepEqual(fingerprintsOf(cm?.data?.['ca.crt'] ?? ''), [newest], `ConfigMap ${ns}/${name}`);
    }
    for (const pool of [rootCAs, clientCAs]) assert.deepEqual(pool.current().certificates.map((c) => fingerprint(c.raw)), [newest], pool.name);

    // Each rotation re-issued each leaf exactly once: revisions r, r+1, r+2 and nothing else; the mounts saw the
    // same three certificates.
    for (const secret of ['server-tls', 'client-tls']) {
      const seen = recorder.revisions.get(secret)!;
      assert.deepEqual(seen, [seen[0]!, seen[0]! + 1, seen[0]! + 2], `${secret} revisions`);
    }
    for (const m of [mounts.serverTls, mounts.clientTls]) {
      const leaves = new Set(m.projections.map((p) => p.payload.get('tls.crt')!.toString()));
      assert.equal(leaves.size, 3, `${m.dir}: the first leaf and one per rotation`);
    }
    // At no moment did a mount hold a leaf its peer's mount did not trust.
    assertAlwaysTrusted(mounts.serverTls, mounts.clientTrust, 'ca.crt');
    assertAlwaysTrusted(mounts.clientTls, mounts.serverTrust, 'ca.crt');
    await assertKubeletLayout(mounts.serverTls, ['ca.crt', 'tls.crt', 'tls.key']);
    await assertKubeletLayout(mounts.clientTrust, ['ca.crt']);
    assert.equal(serverCert.generation(), 3);
    assert.equal(identity.generation(), 3);
    // Bundles: CA1 → CA1+CA2 → CA2 → CA2+CA3 → CA3.
    assert.equal(rootCAs.generation(), 5);
    assert.equal(clientCAs.generation(), 5);
  });
});
