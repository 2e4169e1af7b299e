// The product's promise on a real node: a managed CA rotates twice while mTLS server pods and a client pod built on
// certsmith/reload talk without pause, and not one request or handshake fails. The operator runs as a pod (the
// chart, the image built from the Dockerfile); the real kubelet projects the leaf Secrets and the TrustBundle
// ConfigMaps into the pods, each pod on its own sync schedule. Run with a short kubelet sync period and with
// kubelet's default one, whose worst case the operator's default propagation delay must cover.
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Issuer } from '../../src/api/issuer.ts';
import { API_VERSION, type KubeObject } from '../../src/api/meta.ts';
import type { TrustBundle } from '../../src/api/trust-bundle.ts';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { Resources } from '../../src/kube/resources.ts';
import { parseCertificatesPem } from '../../src/pki/index.ts';
import { applyManifests, startCluster, type Cluster } from '../env/cluster.ts';
import { podVolumeDir } from '../env/node.ts';
import { demoClient, demoCode, demoPods, demoServer, demoService, demoStats, type DemoPod, HTTPS_PORT } from '../env/demo-workload.ts';
import { createHelm, installOperatorChart, type Helm } from '../integration/helpers/helm.ts';
import {
  certificate,
  clusterIssuer,
  createNamespace,
  decode,
  setNamespaceLabels,
  updateSpec,
  waitForReady,
  type Secret,
} from '../integration/helpers/objects.ts';
import { waitFor } from '../integration/helpers/wait.ts';

const ISSUER = 'e2e-rotating';
const SERVER_NS = 'e2e-server';
const CLIENT_NS = 'e2e-client';
const SERVER_NAME = 'api.e2e-server.svc';
/** Requests per second from the client pod, over four loops (one closes its connection after every request). */
const RATE = 150;
/** Far from expiry until the test moves rotateBefore to start a rotation now. */
const CA_DURATION = '30m';
const IDLE_ROTATE_BEFORE = '1m';
const ROTATE_NOW = '29m';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}
interface ClientStats {
  ok: number;
  failed: number;
  errors: Record<string, number>;
  byGeneration: Record<string, number>;
  generation: number;
}
interface ServerStats {
  requests: number;
  handshakes: number;
  resumed: number;
  handshakeErrors: Record<string, number>;
}
type PodInfo = DemoPod;

const fingerprint = (der: Uint8Array) => createHash('sha256').update(der).digest('hex');
const fingerprintsOf = (pem: string) => parseCertificatesPem(pem).map(fingerprint).sort();
const hash = (s: string | undefined) => (s === undefined ? '' : createHash('sha256').update(s).digest('hex').slice(0, 16));

const CASES = [
  // kubelet re-syncs each pod every 10 s: the test's own delays cover that with room.
  { name: 'a 10 s kubelet sync period', syncFrequency: '10s', propagationDelay: '30s' as string | undefined, retireGracePeriod: '30s' },
  // kubelet's default: the operator's default propagation delay (2m) must cover its worst case; the grace period before
  // an old CA leaves the bundles must too (its default is 5m; 2m keeps the test shorter and still covers it).
  {
    name: "kubelet's default sync period (1m) and the operator's default propagation delay",
    syncFrequency: '1m',
    propagationDelay: undefined,
    retireGracePeriod: '2m',
  },
];

for (const c of CASES) {
  describe(`CA rotation with pods on a real node, ${c.name}`, () => {
    let cluster: Cluster;
    let client: KubeClient;
    let helm: Helm;
    const kubectl = (...args: string[]) => cluster.cp.kubectl(...args);
    const apply = (objects: Record<string, unknown>[]) => applyManifests(cluster.cp, objects, 'e2e');
    const podsOf = (ns: string, app: string) => demoPods(kubectl, ns, app);
    const stats = demoStats;
    /** What a pod's container sees in a mounted volume: kubelet's files, read from the host side of the bind mount. */
    const mounted = (pod: PodInfo, kind: 'secret' | 'configmap', volume: string, key: string) => {
      const file = join(podVolumeDir(pod.uid, kind, volume), key);
      return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
    };

    before(async () => {
      cluster = await startCluster({ withOperatorImage: true, node: { syncFrequency: c.syncFrequency } });
      client = createKubeClient({ kubeconfigPath: cluster.cp.kubeconfigPath });
      helm = await createHelm(cluster.cp.binDir);
      await installOperatorChart(helm, cluster.cp.kubeconfigPath, '--set', 'replicas=1');
    });
    after(async () => {
      await helm?.cleanup();
      await cluster?.stop();
    });

    it('two rotations under load: no failed request or handshake, every pod ends on the newest CA', { timeout: 30 * 60_000 }, async () => {
      try {
        await rotateTwiceUnderLoad();
      } catch (err) {
        // What the pods said is what explains a failure here.
        const logs = await Promise.all(
          [
            [SERVER_NS, 'api'],
            [CLIENT_NS, 'caller'],
            ['certsmith', 'certsmith'],
          ].map(async ([ns, d]) => `--- ${ns}/${d}:\n${await kubectl('logs', '-n', ns!, `deployment/${d}`, '--tail=15').catch((e: Error) => e.message)}`),
        );
        (err as Error).message += `\n${logs.join('\n')}`;
        throw err;
      }
    });

    // After the rotations (the CA is far from its next one): kubelet's timing, not a projector's, decides when each pod
    // sees a rotated key. With a 10 s sync only, to keep the run short; the mechanism does not depend on the period.
    if (c.syncFrequency === '10s') {
      it("two server pods mounting one SessionTicketKeys Secret resume each other's sessions, before and after a key rotation", async () => {
        await client.create(Resources.sessionTicketKeys, {
          apiVersion: API_VERSION,
          kind: 'SessionTicketKeys',
          metadata: { name: 'resume', namespace: SERVER_NS },
          spec: { secretName: 'resume-ticket-keys', rotationInterval: '40s', keep: 1 },
        });
        await waitFor(
          'the ticket-key Secret',
          async () => (await client.get<Secret>(Resources.secrets, SERVER_NS, 'resume-ticket-keys'))?.data?.['ticket.key'],
        );
        await client.create(
          Resources.certificates,
          certificate(SERVER_NS, 'host', {
            secretName: 'host-tls',
            commonName: 'e2e-host',
            duration: '1h',
            usages: ['digital signature', 'client auth'],
            issuerRef: { kind: 'ClusterIssuer', name: ISSUER },
          }),
        );
        const host = await waitForReady(client, Resources.certificates, SERVER_NS, 'host').then(() =>
          client.get<Secret>(Resources.secrets, SERVER_NS, 'host-tls'),
        );
        await apply([
          demoServer({
            namespace: SERVER_NS,
            name: 'resume',
            image: cluster.operatorImage!,
            replicas: 2,
            tlsSecret: 'server-tls',
            trustConfigMap: 'e2e-client-cas',
            trustKey: 'ca.crt',
            extraSecrets: { '/etc/certsmith/tickets': 'resume-ticket-keys' },
            env: { TICKET_DIR: '/etc/certsmith/tickets' },
          }),
        ]);
        await kubectl('rollout', 'status', 'deployment/resume', '-n', SERVER_NS, '--timeout=180s');
        const [a, b] = await podsOf(SERVER_NS, 'resume');
        const trust = decode(await client.get<Secret>(Resources.secrets, 'certsmith', `${ISSUER}-ca`), 'ca.crt');
        const options = { servername: SERVER_NAME, ca: trust, cert: decode(host, 'tls.crt'), key: decode(host, 'tls.key') };
        const generations = async () => Promise.all([a!, b!].map(async (p) => (await stats<{ ticketKeysGeneration: number }>(p)).ticketKeysGeneration));
        // Both pods on the same key generation, then a ticket from one resumes on the other.
        const resumesAcross = async (from: PodInfo, to: PodInfo, label: string) => {
          const tries: unknown[] = [];
          for (let attempt = 0; attempt < 5; attempt++) {
            await waitFor(
              `${label}: both pods on one key`,
              async () => {
                const [ga, gb] = await generations();
                return ga === gb;
              },
              { timeoutMs: 60_000, intervalMs: 500 },
            );
            const first = await resumableHandshake(from.ip, options);
            const second = first.session ? await resumableHandshake(to.ip, { ...options, session: first.session }) : undefined;
            if (second?.reused) return;
            tries.push({ ticket: !!first.session, reused: second?.reused });
          }
          assert.fail(`${label}: no session resumed on the other pod: ${JSON.stringify(tries)}`);
        };
        await resumesAcross(a!, b!, 'a → b');
        const before = await generations();
        await waitFor(
          'both pods to load the rotated key',
          async () => {
            const now = await generations();
            return now.every((g, i) => g > before[i]!);
          },
          { timeoutMs: 120_000, intervalMs: 1000 },
        );
        await resumesAcross(b!, a!, 'b → a after the rotation');
      });
    }

    async function rotateTwiceUnderLoad() {
      for (const ns of [SERVER_NS, CLIENT_NS]) await createNamespace(client, ns);
      await setNamespaceLabels(client, SERVER_NS, { 'e2e-role': 'server' });
      await setNamespaceLabels(client, CLIENT_NS, { 'e2e-role': 'client' });
      await client.create(
        Resources.clusterIssuers,
        clusterIssuer(ISSUER, {
          ca: {
            managed: {
              commonName: 'certsmith e2e rotating CA',
              duration: CA_DURATION,
              rotateBefore: IDLE_ROTATE_BEFORE,
              ...(c.propagationDelay ? { propagationDelay: c.propagationDelay } : {}),
              retireGracePeriod: c.retireGracePeriod,
              reissueWindow: '10s',
            },
          },
        }),
      );
      const ca1 = ((await waitForReady(client, Resources.clusterIssuers, undefined, ISSUER)) as Issuer).status!.caFingerprint!;
      const ca1Pem = decode(await client.get<Secret>(Resources.secrets, 'certsmith', `${ISSUER}-ca`), 'tls.crt');
      for (const [name, role] of [
        ['e2e-roots', 'client'],
        ['e2e-client-cas', 'server'],
      ] as const) {
        await client.create(Resources.trustBundles, {
          apiVersion: API_VERSION,
          kind: 'TrustBundle',
          metadata: { name },
          spec: {
            sources: [{ issuer: { kind: 'ClusterIssuer', name: ISSUER } }],
            target: { configMap: { key: 'ca.crt' }, namespaceSelector: { matchLabels: { 'e2e-role': role } } },
          },
        } as TrustBundle);
      }
      const issuerRef = { kind: 'ClusterIssuer' as const, name: ISSUER };
      await client.create(
        Resources.certificates,
        certificate(SERVER_NS, 'server', {
          secretName: 'server-tls',
          dnsNames: [SERVER_NAME],
          duration: '1h',
          usages: ['digital signature', 'key encipherment', 'server auth'],
          issuerRef,
        }),
      );
      await client.create(
        Resources.certificates,
        certificate(CLIENT_NS, 'client', {
          secretName: 'client-tls',
          commonName: 'e2e-client',
          duration: '1h',
          usages: ['digital signature', 'client auth'],
          issuerRef,
        }),
      );
      await waitForReady(client, Resources.certificates, SERVER_NS, 'server');
      await waitForReady(client, Resources.certificates, CLIENT_NS, 'client');
      for (const [ns, name] of [
        [CLIENT_NS, 'e2e-roots'],
        [SERVER_NS, 'e2e-client-cas'],
      ] as const) {
        await waitFor(`ConfigMap ${ns}/${name}`, async () => (await client.get<ConfigMap>(Resources.configMaps, ns, name))?.data?.['ca.crt'] !== undefined);
      }

      // The workloads: two server pods behind a Service, one client pod that names it through /etc/hosts.
      const image = cluster.operatorImage!;
      await apply([demoCode(SERVER_NS), demoCode(CLIENT_NS), demoService(SERVER_NS, 'api')]);
      const clusterIp = (await kubectl('get', 'service', 'api', '-n', SERVER_NS, '-o', 'jsonpath={.spec.clusterIP}')).trim();
      await apply([
        demoServer({ namespace: SERVER_NS, name: 'api', image, replicas: 2, tlsSecret: 'server-tls', trustConfigMap: 'e2e-client-cas', trustKey: 'ca.crt' }),
        demoClient({
          namespace: CLIENT_NS,
          name: 'caller',
          image,
          tlsSecret: 'client-tls',
          trustConfigMap: 'e2e-roots',
          trustKey: 'ca.crt',
          hostAliases: [{ ip: clusterIp, hostnames: [SERVER_NAME] }],
          env: { URL: `https://${SERVER_NAME}:${HTTPS_PORT}/`, RATE: String(RATE), WORKERS: '4' },
        }),
      ]);
      for (const [ns, name] of [
        [SERVER_NS, 'api'],
        [CLIENT_NS, 'caller'],
      ] as const)
        await kubectl('rollout', 'status', `deployment/${name}`, '-n', ns, '--timeout=180s');
      const servers = await podsOf(SERVER_NS, 'api');
      const [caller] = await podsOf(CLIENT_NS, 'caller');
      assert.equal(servers.length, 2);
      await waitFor("the client's first responses", async () => (await stats<ClientStats>(caller!)).ok > 50, { timeoutMs: 60_000 });

      // Every second: the issuer's phase, what the API holds, and what each pod's volume shows.
      const mounts = [
        ...servers.flatMap((p) => [
          {
            pod: p,
            what: `${p.name} tls`,
            api: async () => decode(await client.get<Secret>(Resources.secrets, SERVER_NS, 'server-tls'), 'tls.crt'),
            file: () => mounted(p, 'secret', 'tls', 'tls.crt'),
          },
          {
            pod: p,
            what: `${p.name} trust`,
            api: async () => (await client.get<ConfigMap>(Resources.configMaps, SERVER_NS, 'e2e-client-cas'))?.data?.['ca.crt'],
            file: () => mounted(p, 'configmap', 'trust', 'ca.crt'),
          },
        ]),
        {
          pod: caller!,
          what: 'caller tls',
          api: async () => decode(await client.get<Secret>(Resources.secrets, CLIENT_NS, 'client-tls'), 'tls.crt'),
          file: () => mounted(caller!, 'secret', 'tls', 'tls.crt'),
        },
        {
          pod: caller!,
          what: 'caller trust',
          api: async () => (await client.get<ConfigMap>(Resources.configMaps, CLIENT_NS, 'e2e-roots'))?.data?.['ca.crt'],
          file: () => mounted(caller!, 'configmap', 'trust', 'ca.crt'),
        },
      ];
      const phases: { at: number; phase: string }[] = [];
      /** Per mount: when the API first held a content, and when the pod's file first showed it. */
      const seen = new Map<string, { api: Map<string, number>; file: Map<string, number> }>(mounts.map((m) => [m.what, { api: new Map(), file: new Map() }]));
      let recording = true;
      /** Every CA that signed, and the issuer as last read: a phase can last less than a poll, a signer cannot. */
      const signers = new Set<string>();
      let latest: Issuer | undefined;
      const issuerPoller = (async () => {
        while (recording) {
          try {
            latest = await client.get<Issuer>(Resources.clusterIssuers, undefined, ISSUER);
            const phase = latest?.status?.ca?.phase;
            if (phase && phases.at(-1)?.phase !== phase) phases.push({ at: Date.now(), phase });
            if (latest?.status?.caFingerprint) signers.add(latest.status.caFingerprint);
          } catch {
            // the next round sees it
          }
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      const mountPoller = (async () => {
        while (recording) {
          try {
            for (const m of mounts) {
              const s = seen.get(m.what)!;
              const [a, f] = [hash(await m.api()), hash(m.file())];
              if (a && !s.api.has(a)) s.api.set(a, Date.now());
              if (f && !s.file.has(f)) s.file.set(f, Date.now());
            }
          } catch {
            // a read racing a write: the next round sees it
          }
          await new Promise((r) => setTimeout(r, 250));
        }
      })();
      const recorder = Promise.all([issuerPoller, mountPoller]);

      const t0 = Date.now();
      let rotateBefore = IDLE_ROTATE_BEFORE;
      const setRotateBefore = async (value: string) => {
        rotateBefore = value;
        await updateSpec(client, Resources.clusterIssuers, undefined, ISSUER, (spec: NonNullable<Issuer['spec']>) => ({
          ...spec,
          ca: { ...spec.ca!, managed: { ...spec.ca!.managed!, rotateBefore: value } },
        }));
      };
      try {
        // Rotation now; once the second one has started, back to far away, so there is no third.
        await setRotateBefore(ROTATE_NOW);
        await waitFor(
          'two rotations (three CAs have signed; one generation left, Stable)',
          async () => {
            if (rotateBefore === ROTATE_NOW && phases.filter((p) => p.phase === 'Publishing').length >= 2) await setRotateBefore(IDLE_ROTATE_BEFORE);
            return signers.size >= 3 && latest?.status?.ca?.phase === 'Stable' && latest.status.ca.generations?.length === 1;
          },
          { timeoutMs: 25 * 60_000, intervalMs: 500 },
        );
        assert.equal(signers.size, 3, 'exactly two rotations');
        // The last step reaches every pod: each volume shows what the API holds.
        await waitFor(
          "every pod's volumes to show the final content",
          async () => {
            for (const m of mounts) if (hash(await m.api()) !== hash(m.file())) return false;
            return true;
          },
          { timeoutMs: 5 * 60_000, intervalMs: 1000 },
        );
        // Traffic after the last change, so the final generation serves too.
        await new Promise((r) => setTimeout(r, 3_000));
      } finally {
        recording = false;
        await recorder;
      }

      const clientStats = await stats<ClientStats>(caller!);
      const serverStats = await Promise.all(servers.map((p) => stats<ServerStats>(p)));
      const lags = [...seen.entries()].flatMap(([what, s]) =>
        [...s.file.entries()].filter(([h]) => s.api.has(h)).map(([h, at]) => ({ what, lagMs: at - s.api.get(h)! })),
      );
      const worst = Math.max(...lags.map((l) => l.lagMs));
      const seconds = (Date.now() - t0) / 1000;
      console.log(
        `# rotation-pods (${c.syncFrequency}): client ${clientStats.ok} ok, ${clientStats.failed} failed over ~${seconds.toFixed(0)} s; ` +
          `servers ${serverStats.map((s) => `${s.handshakes} handshakes (${s.resumed} resumed), ${JSON.stringify(s.handshakeErrors)} failed`).join('; ')}`,
      );
      console.log(`# rotation-pods (${c.syncFrequency}): phases ${phases.map((p) => `${p.phase}@${((p.at - t0) / 1000).toFixed(0)}s`).join(' → ')}`);
      console.log(`# rotation-pods (${c.syncFrequency}): API → pod file lag, ms: ${lags.map((l) => `${l.what}=${l.lagMs}`).join(' ')}; worst ${worst} ms`);

      // Not one request or handshake failed.
      assert.equal(clientStats.failed, 0, `failed requests: ${JSON.stringify(clientStats.errors)}`);
      for (const s of serverStats) assert.deepEqual(s.handshakeErrors, {}, 'failed handshakes on a server');
      assert.ok(
        serverStats.every((s) => s.handshakes - s.resumed >= 100),
        'both server pods did full handshakes',
      );
      assert.ok(
        Object.keys(clientStats.byGeneration).length >= 3,
        `the client served requests on several trust generations: ${JSON.stringify(clientStats.byGeneration)}`,
      );
      // The delays the rotation ran with covered the real kubelet: every change reached every pod within them.
      const covered = c.propagationDelay ? parseSeconds(c.propagationDelay) * 1000 : 120_000;
      assert.ok(worst < covered, `worst API → pod lag ${worst} ms is within the propagation delay (${covered} ms)`);
      assert.ok(worst < parseSeconds(c.retireGracePeriod) * 1000, `and within the retire grace period`);

      // The end state: every bundle and pod holds the newest CA only; a client trusting only the first is refused.
      const final = (await client.get<Issuer>(Resources.clusterIssuers, undefined, ISSUER))!;
      const newest = final.status!.caFingerprint!;
      assert.notEqual(newest, ca1);
      assert.deepEqual(
        final.status?.ca?.generations?.map((g) => [g.fingerprint, g.role]),
        [[newest, 'signing']],
      );
      for (const p of servers) assert.deepEqual(fingerprintsOf(mounted(p, 'configmap', 'trust', 'ca.crt') ?? ''), [newest], `${p.name}'s client-CA pool`);
      assert.deepEqual(fingerprintsOf(mounted(caller!, 'configmap', 'trust', 'ca.crt') ?? ''), [newest], "the caller's roots");
      const newestPem = decode(await client.get<Secret>(Resources.secrets, 'certsmith', `${ISSUER}-ca`), 'tls.crt');
      const identity = { cert: mounted(caller!, 'secret', 'tls', 'tls.crt')!, key: mounted(caller!, 'secret', 'tls', 'tls.key')! };
      for (const p of servers) {
        const presented = await handshake(p.ip, [newestPem], identity);
        assert.ok(presented.verify(new X509Certificate(newestPem).publicKey), `${p.name} presents a certificate of the newest CA`);
        await assert.rejects(handshake(p.ip, [ca1Pem], identity), `${p.name} is not trusted by a client of the first CA only`);
      }
    }
  });
}

function parseSeconds(d: string): number {
  const m = /^(\d+)(s|m)$/.exec(d);
  if (!m) throw new Error(`unexpected duration ${d}`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
}

/** A fresh full handshake to a server pod with exactly the given trust; resolves to the server's leaf, or rejects. */
function handshake(ip: string, ca: string[], identity: { cert: string; key: string }): Promise<X509Certificate> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: ip, port: HTTPS_PORT, servername: SERVER_NAME, ca, cert: identity.cert, key: identity.key }, () => {
      const peer = socket.getPeerX509Certificate();
      socket.destroy();
      if (peer) resolve(peer);
      else reject(new Error('no peer certificate'));
    });
    socket.on('error', reject);
  });
}

/** A full or resumed handshake to a pod; resolves once the server's session ticket arrived (TLS 1.3 sends it after). */
function resumableHandshake(
  ip: string,
  options: { servername: string; ca: string; cert: string; key: string; session?: Buffer },
): Promise<{ reused: boolean; session?: Buffer }> {
  return new Promise((resolve, reject) => {
    let session: Buffer | undefined;
    let reused = false;
    const socket = connect({ host: ip, port: HTTPS_PORT, ...options });
    const done = () => {
      socket.destroy();
      resolve({ reused, ...(session ? { session } : {}) });
    };
    socket.on('session', (s: Buffer) => {
      session = s;
      done();
    });
    socket.on('secureConnect', () => {
      reused = socket.isSessionReused();
      // A resumed session may bring no new ticket: do not wait for one forever.
      setTimeout(done, 1_000);
    });
    socket.on('error', reject);
  });
}
