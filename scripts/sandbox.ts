// The local sandbox: a real control plane and a real node (containerd, kubelet, kube-scheduler, kube-proxy), the
// operator running as pods from the image built from the Dockerfile and installed by the chart, Pebble, the
// examples, ACME examples made at runtime (their directory URL, CA bundle and DNS server exist only once Pebble and
// BIND run), and a certsmith/reload demo: an mTLS server and client as pods on a CA that rotates every 10 minutes.
//   npm run sandbox              foreground; Ctrl-C stops everything
//   npm run sandbox -- --detach  returns once every example Certificate is Ready; writes .sandbox/env
//   npm run sandbox -- down      stops a detached sandbox
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createSocket, type Socket as DgramSocket } from 'node:dgram';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Certificate } from '../src/api/certificate.ts';
import { findCondition } from '../src/api/conditions.ts';
import type { AcmeSolver, Issuer } from '../src/api/issuer.ts';
import { API_VERSION, type KubeObject } from '../src/api/meta.ts';
import { parseServerAddress } from '../src/acme/dns01/address.ts';
import { exchangeTcp, exchangeUdp } from '../src/acme/dns01/transport.ts';
import { decodeMessage, isInZone } from '../src/acme/dns01/wire.ts';
import { createKubeClient } from '../src/kube/client.ts';
import { Resources } from '../src/kube/resources.ts';
import { ensureBinaries } from '../test/env/binaries.ts';
import { startBind, type Bind } from '../test/env/bind.ts';
import { startCluster } from '../test/env/cluster.ts';
import { demoClient, demoCode, demoServer, HTTPS_PORT } from '../test/env/demo-workload.ts';
import { NODE_ADDRESS } from '../test/env/node-host.ts';
import { startChallTestSrv, startPebble } from '../test/env/pebble.ts';
import { isAlive } from '../test/env/processes.ts';

const root = join(import.meta.dirname, '..');
const dir = join(root, '.sandbox');
const pidFile = join(dir, 'pid');
const envFile = join(dir, 'env');
const args = process.argv.slice(2);
const say = (msg: string) => console.log(`sandbox: ${msg}`);
/** The zone BIND serves for the DNS-01 example; every name in it answers A with the node's address, as challtestsrv does. */
const ZONE = 'sandbox.test';
const TSIG_KEY_NAME = 'sandbox-update';
/** The Secret (and Certificate) of the annotated Ingress example demo/shop. */
const SHOP_SECRET = 'shop-tls';
/**
 * Where the CA reaches HTTP-01 answers: a NodePort on the node's address that leads to the operator pods' solver
 * port, as an ingress controller or a load balancer on port 80 would. Every sandbox name resolves to the node.
 */
const SOLVER_NODE_PORT = 30089;
/** The reload demo's server, reachable from the host at the node's address. */
const DEMO_NODE_PORT = 30443;
const DEMO_SERVER_NAME = 'reload-demo.demo.svc';
/** The signer the rotating CA serves pod certificates under (ca.podCertificates of sandbox-rotating). */
const DEMO_POD_SIGNER = 'certsmith.dev/sandbox-rotating';

if (args[0] === 'down') await down();
else if (args.includes('--detach')) await detach();
else await runForeground(args.includes('--daemon'));

async function down(): Promise<void> {
  const pid = await readPid();
  if (!pid) {
    say('no detached sandbox is running');
    return;
  }
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && isAlive(pid); i++) await sleep(200);
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  await rm(pidFile, { force: true });
  await rm(envFile, { force: true });
  say('stopped');
}

async function detach(): Promise<void> {
  const running = await readPid();
  if (running && isAlive(running)) {
    say(`already running (pid ${running}); source .sandbox/env, or stop it with: npm run sandbox -- down`);
    return;
  }
  await mkdir(dir, { recursive: true });
  await rm(envFile, { force: true });
  const logPath = join(dir, 'sandbox.log');
  const log = openSync(logPath, 'w');
  const child = spawn(process.execPath, [import.meta.filename, '--daemon'], { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  await writeFile(pidFile, String(child.pid));
  child.unref();
  say(`starting in the background (pid ${child.pid}; log ${logPath})`);
  let shown = 0;
  for (;;) {
    const text = await readFile(logPath, 'utf8').catch(() => '');
    const lines = text.split('\n');
    for (const line of lines.slice(shown, -1)) console.log(line);
    shown = Math.max(shown, lines.length - 1);
    if (existsSync(envFile)) break;
    if (!isAlive(child.pid!)) {
      console.error('sandbox: the background sandbox exited before it was ready; see the log above');
      process.exit(1);
    }
    await sleep(500);
  }
  process.exit(0);
}

async function runForeground(daemon: boolean): Promise<void> {
  const started = Date.now();
  if (process.getuid?.() !== 0) {
    console.error('sandbox: the node (containerd, kubelet) needs root: run it as root');
    process.exit(1);
  }
  await mkdir(join(dir, 'logs'), { recursive: true });
  say('checking the control-plane binaries (the first run builds them from Go modules: tens of minutes)');
  const binDir = await ensureBinaries();
  const cleanups: (() => Promise<unknown>)[] = [];
  const stopAll = async () => {
    for (const c of cleanups.reverse()) await c().catch((err: Error) => say(`while stopping: ${err.message}`));
    await rm(envFile, { force: true });
    if (daemon) await rm(pidFile, { force: true });
  };
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    say('stopping');
    void stopAll().then(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    say('building the operator image from the Dockerfile (the first run also builds its Debian bases: minutes), then starting the control plane and the node');
    const cluster = await startCluster({ withOperatorImage: true, logDir: join(dir, 'logs') });
    cleanups.push(() => cluster.stop());
    const { cp } = cluster;
    const kubeconfig = join(dir, 'kubeconfig');
    await copyFile(cp.kubeconfigPath, kubeconfig);
    const kubectl = (...a: string[]) => {
      const r = spawnSync(join(binDir, 'kubectl'), ['--kubeconfig', kubeconfig, ...a], { encoding: 'utf8', input: '' });
      if (r.status !== 0) throw new Error(`kubectl ${a.join(' ')} failed: ${r.stderr}`);
      return r.stdout;
    };
    const applyObjects = (objects: unknown[]) => {
      const r = spawnSync(join(binDir, 'kubectl'), ['--kubeconfig', kubeconfig, 'apply', '--server-side', '-f', '-'], {
        input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }),
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`kubectl apply failed: ${r.stderr}`);
    };

    // DNS and Pebble on the node's address: the operator pods reach them there, and every name answers the node.
    say('starting Pebble (ACME test CA) and its DNS');
    const dns = await startChallTestSrv({ binDir, logDir: join(dir, 'logs'), listenHost: NODE_ADDRESS, defaultIPv4: NODE_ADDRESS });
    cleanups.push(() => dns.stop());
    const tsigSecret = randomBytes(32).toString('base64');
    const bind = await startBindIfPresent(tsigSecret);
    let resolver = dns.dnsAddress;
    if (bind) {
      cleanups.push(() => bind.stop());
      const split = await startSplitDns(ZONE, bind.address, dns.dnsAddress);
      cleanups.push(() => split.stop());
      resolver = split.address;
    }
    const pebble = await startPebble({
      binDir,
      listenHost: NODE_ADDRESS,
      httpPort: SOLVER_NODE_PORT,
      dnsServer: resolver,
      logDir: join(dir, 'logs'),
      retryAfter: { authz: 1, order: 1 },
    });
    cleanups.push(() => pebble.stop());
    await copyFile(pebble.caFile, join(dir, 'pebble-ca.pem'));

    say('installing the operator with the chart (helm install, the image built from the Dockerfile)');
    const values = {
      acme: {
        http01: { checkPort: SOLVER_NODE_PORT },
        recursiveNameservers: [resolver],
        // The zone's NS record names the node's port 53, where nothing listens: ask BIND itself whether a TXT is visible.
        ...(bind ? { dns01CheckNameservers: [bind.address] } : {}),
      },
    };
    await writeFile(join(dir, 'values.json'), JSON.stringify(values, null, 2));
    const helm = spawnSync(
      join(binDir, 'helm'),
      [
        'install',
        'certsmith',
        join(root, 'charts/certsmith'),
        '--namespace',
        'certsmith',
        '--create-namespace',
        '--kubeconfig',
        kubeconfig,
        '-f',
        join(dir, 'values.json'),
        '--wait',
        '--timeout=180s',
      ],
      {
        encoding: 'utf8',
        env: {
          ...process.env,
          HELM_CACHE_HOME: join(dir, 'helm', 'cache'),
          HELM_CONFIG_HOME: join(dir, 'helm', 'config'),
          HELM_DATA_HOME: join(dir, 'helm', 'data'),
        },
      },
    );
    if (helm.status !== 0) throw new Error(`helm install failed: ${helm.stderr}`);
    applyObjects([solverNodePort()]);

    say('applying deploy/examples');
    kubectl('apply', '--server-side', '-f', join(root, 'deploy/examples'));
    say(
      `applying the ACME examples: ClusterIssuer sandbox-acme (HTTP-01), Certificate demo/acme-web, annotated Ingress demo/shop${bind ? ', ClusterIssuer sandbox-acme-dns (DNS-01), Certificate demo/acme-wildcard' : ''}`,
    );
    applyObjects(
      acmeExamples({
        directoryUrl: pebble.directoryUrl,
        caPem: readFileSync(pebble.caFile, 'utf8'),
        ...(bind ? { dns01: { nameserver: bind.address, tsigSecret } } : {}),
      }),
    );
    say(
      'applying the certsmith/reload demo: ClusterIssuer sandbox-rotating (a CA rotated every 10 minutes, also signing pod certificates), TrustBundles demo-trust and demo-pod-trust, an mTLS server and two clients as pods (one with a pod certificate)',
    );
    applyObjects(reloadDemoObjects());
    applyObjects([demoCode('demo')]);
    applyObjects(reloadDemoWorkloads(cluster.operatorImage!));

    const client = createKubeClient({ kubeconfigPath: kubeconfig });
    // The Ingress's Certificate is made by the operator, so it is waited for by name.
    const certs = await waitForCertificates(client, [`demo/${SHOP_SECRET}`, 'demo/reload-demo', 'demo/reload-demo-client', 'demo/reload-demo-host']);
    for (const d of ['reload-demo', 'reload-demo-client', 'reload-demo-pod-client'])
      kubectl('rollout', 'status', `deployment/${d}`, '-n', 'demo', '--timeout=180s');
    await writeDemoClientFiles(kubectl);
    printSummary(certs, kubeconfig, kubectl);
    if (!bind) say(`the DNS-01 example (ClusterIssuer sandbox-acme-dns, Certificate demo/acme-wildcard) was skipped: BIND (named) is not available`);
    await writeFile(
      envFile,
      [
        `export KUBECONFIG=${shellQuote(kubeconfig)}`,
        `export PATH=${shellQuote(binDir)}:"$PATH"`,
        `export ACME_DIRECTORY_URL=${shellQuote(pebble.directoryUrl)}`,
        `export ACME_CA_FILE=${shellQuote(join(dir, 'pebble-ca.pem'))}`,
        '',
      ].join('\n'),
    );
    say(
      `ready in ${((Date.now() - started) / 1000).toFixed(0)} s; ${daemon ? 'running in the background (stop: npm run sandbox -- down)' : 'press Ctrl-C to stop'}`,
    );
    await new Promise(() => {}); // until a signal
  } catch (err) {
    console.error(`sandbox: ${(err as Error).message}`);
    await stopAll();
    process.exit(1);
  }
}

/** The operator pods' HTTP-01 solver port on the node's address, where Pebble validates. */
function solverNodePort(): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'sandbox-acme-solver-nodeport', namespace: 'certsmith' },
    spec: {
      type: 'NodePort',
      selector: { 'app.kubernetes.io/name': 'certsmith', 'app.kubernetes.io/instance': 'certsmith' },
      ports: [{ name: 'http', port: 80, targetPort: 'acme-http01', nodePort: SOLVER_NODE_PORT }],
    },
  } as KubeObject;
}

/**
 * The reload demo's certificates and trust: a managed CA that rotates every 10 minutes (2-hour generations, a
 * rotation when 1h50m are left, the default 2-minute propagation delay for the kubelet's one-minute sync), a server,
 * a client and a host certificate from it, and the TrustBundle both pods read their trust from. The same CA signs
 * pod certificates (signer certsmith.dev/sandbox-rotating) for a second client, which has no Secret at all: the
 * kubelet makes its key, and it reads its trust from a ClusterTrustBundle projection. Its certificates live 1 hour and
 * refresh at each rotation, which waits for them (so a rotation with that pod takes 10–20 minutes).
 */
function reloadDemoObjects(): KubeObject[] {
  const issuerRef = { kind: 'ClusterIssuer', name: 'sandbox-rotating' };
  const cert = (name: string, spec: Record<string, unknown>) => ({
    apiVersion: API_VERSION,
    kind: 'Certificate',
    metadata: { name, namespace: 'demo' },
    spec: { ...spec, issuerRef, duration: '24h' },
  });
  return [
    {
      apiVersion: API_VERSION,
      kind: 'ClusterIssuer',
      metadata: { name: 'sandbox-rotating' },
      spec: {
        ca: {
          managed: { commonName: 'certsmith sandbox rotating CA', duration: '2h', rotateBefore: '1h50m', retireGracePeriod: '2m', reissueWindow: '1m' },
          podCertificates: { maxDuration: '1h' },
        },
      },
    },
    {
      apiVersion: API_VERSION,
      kind: 'TrustBundle',
      metadata: { name: 'demo-trust' },
      spec: {
        sources: [{ issuer: issuerRef }],
        target: { configMap: { key: 'trust-bundle.pem' }, namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'demo' } } },
      },
    },
    {
      apiVersion: API_VERSION,
      kind: 'TrustBundle',
      metadata: { name: 'demo-pod-trust' },
      spec: { sources: [{ issuer: issuerRef }], target: { clusterTrustBundle: { signerName: DEMO_POD_SIGNER } } },
    },
    cert('reload-demo', { secretName: 'reload-demo-tls', dnsNames: [DEMO_SERVER_NAME], usages: ['digital signature', 'server auth'] }),
    cert('reload-demo-client', { secretName: 'reload-demo-client-tls', commonName: 'reload-demo-client', usages: ['digital signature', 'client auth'] }),
    cert('reload-demo-host', { secretName: 'reload-demo-host-tls', commonName: 'sandbox-host', usages: ['digital signature', 'client auth'] }),
  ] as KubeObject[];
}

function reloadDemoWorkloads(image: string): unknown[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'reload-demo', namespace: 'demo' },
      spec: {
        type: 'NodePort',
        selector: { app: 'reload-demo' },
        ports: [{ name: 'https', port: HTTPS_PORT, targetPort: HTTPS_PORT, nodePort: DEMO_NODE_PORT }],
      },
    },
    demoServer({
      namespace: 'demo',
      name: 'reload-demo',
      image,
      replicas: 2,
      tlsSecret: 'reload-demo-tls',
      trustConfigMap: 'demo-trust',
      trustKey: 'trust-bundle.pem',
    }),
    demoClient({
      namespace: 'demo',
      name: 'reload-demo-client',
      image,
      tlsSecret: 'reload-demo-client-tls',
      trustConfigMap: 'demo-trust',
      trustKey: 'trust-bundle.pem',
      // No cluster DNS on the node: the server's name is the node's address, where its NodePort listens.
      hostAliases: [{ ip: NODE_ADDRESS, hostnames: [DEMO_SERVER_NAME] }],
      env: { URL: `https://${DEMO_SERVER_NAME}:${DEMO_NODE_PORT}/` },
    }),
    demoClient({
      namespace: 'demo',
      name: 'reload-demo-pod-client',
      image,
      podCertificate: { signerName: DEMO_POD_SIGNER, keyType: 'ECDSAP256', maxExpirationSeconds: 3600 },
      trustSigner: DEMO_POD_SIGNER,
      trustKey: 'ca.crt',
      hostAliases: [{ ip: NODE_ADDRESS, hostnames: [DEMO_SERVER_NAME] }],
      env: { URL: `https://${DEMO_SERVER_NAME}:${DEMO_NODE_PORT}/` },
    }),
  ];
}

/** The host's client certificate for the demo, in .sandbox/demo/, for curl. */
async function writeDemoClientFiles(kubectl: (...a: string[]) => string): Promise<void> {
  const secret = JSON.parse(kubectl('get', 'secret', 'reload-demo-host-tls', '-n', 'demo', '-o', 'json')) as { data: Record<string, string> };
  await mkdir(join(dir, 'demo'), { recursive: true });
  for (const key of ['tls.crt', 'tls.key']) await writeFile(join(dir, 'demo', key), Buffer.from(secret.data[key]!, 'base64'), { mode: 0o600 });
}

async function waitForCertificates(client: ReturnType<typeof createKubeClient>, expected: string[]): Promise<Certificate[]> {
  const deadline = Date.now() + 300_000;
  const seen = new Set<string>();
  for (;;) {
    const { items } = await client.list<Certificate>(Resources.certificates);
    for (const c of items) {
      const ready = findCondition(c.status?.conditions, 'Ready');
      const key = `${c.metadata.namespace}/${c.metadata.name}`;
      if (ready?.status === 'True' && !seen.has(key)) {
        seen.add(key);
        say(`  ready: Certificate ${key} → Secret ${c.spec?.secretName}`);
      }
    }
    const present = expected.every((key) => items.some((c) => `${c.metadata.namespace}/${c.metadata.name}` === key));
    if (present && items.length > 0 && items.every((c) => findCondition(c.status?.conditions, 'Ready')?.status === 'True')) return items;
    if (Date.now() > deadline) {
      for (const c of items) {
        const r = findCondition(c.status?.conditions, 'Ready');
        if (r?.status !== 'True') say(`  not ready: ${c.metadata.namespace}/${c.metadata.name}: ${r?.reason ?? 'no status'} ${r?.message ?? ''}`);
      }
      throw new Error('example Certificates did not all become Ready within 5 minutes; see .sandbox/logs/operator.log');
    }
    await sleep(500);
  }
}

/** The Ingress (or other object) a Certificate was made for, from its controller reference. */
function madeFor(c: Certificate): string {
  const owner = c.metadata.ownerReferences?.find((o) => o.controller);
  return owner ? `${owner.kind}/${owner.name}` : '-';
}

function printSummary(certs: Certificate[], kubeconfig: string, kubectl: (...a: string[]) => string): void {
  const rows = certs
    .map((c) => [
      `${c.metadata.namespace}/${c.metadata.name}`,
      findCondition(c.status?.conditions, 'Ready')?.status ?? 'Unknown',
      c.status?.notAfter ?? '-',
      c.spec?.secretName ?? '-',
      c.spec?.issuerRef ? `${c.spec.issuerRef.kind ?? 'Issuer'}/${c.spec.issuerRef.name}` : '-',
      madeFor(c),
    ])
    .sort((a, b) => a[0]!.localeCompare(b[0]!));
  const header = ['CERTIFICATE', 'READY', 'NOT AFTER', 'SECRET', 'ISSUER', 'MADE FOR'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) =>
    r
      .map((v, i) => v.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  console.log('\n' + fmt(header));
  for (const r of rows) console.log(fmt(r));
  console.log(`\nThe node and the operator pods:\n${kubectl('get', 'nodes').trimEnd()}\n${kubectl('get', 'pods', '-n', 'certsmith').trimEnd()}`);
  console.log(`\nPoint kubectl at the sandbox:\n  source .sandbox/env      # KUBECONFIG, PATH with kubectl and helm, ACME_DIRECTORY_URL, ACME_CA_FILE`);
  console.log(`  kubectl get certificates -A\n  (kubeconfig: ${kubeconfig})`);
  console.log(
    `\nThe certsmith/reload demo (pods demo/reload-demo, an mTLS server; demo/reload-demo-client, its client; demo/reload-demo-pod-client,` +
      ` a client with a pod certificate and no Secret) serves on the` +
      ` node's address through CA rotations every 10 minutes:\n` +
      `  kubectl get configmap demo-trust -n demo -o jsonpath='{.data.trust-bundle\\.pem}' > .sandbox/demo/trust.pem\n` +
      `  curl --cacert .sandbox/demo/trust.pem --cert .sandbox/demo/tls.crt --key .sandbox/demo/tls.key \\\n` +
      `       --resolve ${DEMO_SERVER_NAME}:${DEMO_NODE_PORT}:${NODE_ADDRESS} https://${DEMO_SERVER_NAME}:${DEMO_NODE_PORT}/\n` +
      `  kubectl get clusterissuer sandbox-rotating -o jsonpath='{.status.ca.phase}'; kubectl logs -n demo deploy/reload-demo-client --tail=3\n` +
      `  kubectl get podcertificaterequests -n demo; kubectl logs -n demo deploy/reload-demo-pod-client --tail=3\n`,
  );
}

/**
 * BIND for the DNS-01 example, installed by the project's own script when missing (it needs root and apt-get);
 * undefined, said out loud, when named still cannot run: the sandbox then shows HTTP-01 only.
 */
async function startBindIfPresent(tsigSecret: string): Promise<Bind | undefined> {
  const installed = spawnSync('bash', [join(root, 'test/env/system-packages.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (installed.status !== 0) {
    say('BIND (named) is not installed and test/env/system-packages.sh could not install it: skipping the DNS-01 example');
    return undefined;
  }
  say(`starting BIND (named), primary for ${ZONE} with TSIG key ${TSIG_KEY_NAME}`);
  try {
    return await startBind({
      zones: [{ name: ZONE, records: [`* IN A ${NODE_ADDRESS}`], tsigKeys: [{ name: TSIG_KEY_NAME, algorithm: 'hmac-sha256', secret: tsigSecret }] }],
      logDir: join(dir, 'logs'),
      listenHost: NODE_ADDRESS,
    });
  } catch (err) {
    say(`BIND (named) did not start (${(err as Error).message}): skipping the DNS-01 example`);
    return undefined;
  }
}

/**
 * A DNS forwarder for Pebble and the operator pods, on the node's address: questions for `zone` go to BIND, all
 * others to challtestsrv, so the DNS-01 zone resolves and every other name still answers the node's address. UDP and TCP on one port: Pebble asks over TCP.
 * A question it cannot forward gets no answer (UDP) or a closed connection (TCP), as from a server that is down.
 */
async function startSplitDns(zone: string, zoneServer: string, otherServer: string): Promise<{ address: string; stop(): Promise<void> }> {
  const upstreamFor = (query: Uint8Array) => {
    const name = decodeMessage(query).questions[0]?.name;
    return parseServerAddress(name !== undefined && isInZone(name, zone) ? zoneServer : otherServer);
  };
  const answerUdp = (udp: DgramSocket) =>
    udp.on('message', (query, from) => {
      void Promise.resolve()
        .then(() => exchangeUdp(upstreamFor(query), query, 5_000))
        .then((answer) => udp.send(answer, from.port, from.address))
        .catch(() => {});
    });
  const connections = new Set<Socket>();
  const tcp = createServer((conn) => {
    connections.add(conn);
    conn.on('close', () => connections.delete(conn));
    conn.on('error', () => {});
    let pending = Buffer.alloc(0);
    conn.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const query = pending.subarray(2, 2 + pending.readUInt16BE(0));
        pending = pending.subarray(2 + query.length);
        void Promise.resolve()
          .then(() => exchangeTcp(upstreamFor(query), query, 5_000))
          .then((answer) => {
            const framed = Buffer.alloc(2 + answer.length);
            framed.writeUInt16BE(answer.length, 0);
            framed.set(answer, 2);
            conn.write(framed);
          })
          .catch(() => conn.destroy());
      }
    });
  });
  // One port for both: take a free TCP port, then the same UDP port (retried in the rare case UDP has it taken).
  let udp: DgramSocket | undefined;
  for (let attempt = 1; !udp; attempt++) {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(0, NODE_ADDRESS, () => resolve());
    });
    const port = (tcp.address() as AddressInfo).port;
    const candidate = createSocket('udp4');
    const bound = await new Promise<boolean>((resolve) => {
      candidate.once('error', () => resolve(false));
      candidate.bind(port, NODE_ADDRESS, () => resolve(true));
    });
    if (bound) udp = answerUdp(candidate);
    else {
      candidate.close();
      await new Promise((r) => tcp.close(r));
      if (attempt === 5) throw new Error('could not bind a DNS forwarder to one port for both UDP and TCP');
    }
  }
  const udpSocket = udp;
  return {
    address: `${NODE_ADDRESS}:${(tcp.address() as AddressInfo).port}`,
    async stop() {
      for (const c of connections) c.destroy();
      await new Promise((r) => tcp.close(r));
      await new Promise<void>((r) => udpSocket.close(() => r()));
    },
  };
}

/**
 * The ACME examples, built here because Pebble's directory URL and CA and BIND's port exist only at runtime:
 * an HTTP-01 ClusterIssuer, a Certificate and an annotated Ingress through it; with dns01, the TSIG Secret, an
 * RFC 2136 ClusterIssuer and a wildcard Certificate with its apex. Account keys and the TSIG Secret live in the
 * cluster-resource namespace.
 */
function acmeExamples(opts: { directoryUrl: string; caPem: string; dns01?: { nameserver: string; tsigSecret: string } }): KubeObject[] {
  const acme = (name: string, solvers: AcmeSolver[]): Issuer => ({
    apiVersion: API_VERSION,
    kind: 'ClusterIssuer',
    metadata: { name },
    spec: {
      acme: {
        server: opts.directoryUrl,
        caBundle: Buffer.from(opts.caPem).toString('base64'),
        privateKeySecretRef: { name: `${name}-account` },
        // Pebble picks a random profile for orders that name none; ask for its 90-day one so each run looks the same.
        profile: 'default',
        solvers,
      },
    },
  });
  const certificate = (name: string, issuer: string, dnsNames: string[]): Certificate => ({
    apiVersion: API_VERSION,
    kind: 'Certificate',
    metadata: { name, namespace: 'demo' },
    spec: { secretName: `${name}-tls`, dnsNames, issuerRef: { kind: 'ClusterIssuer', name: issuer } },
  });
  // An annotated Ingress: the operator makes its Certificate (demo/shop-tls). No ingress class, since the sandbox
  // runs no ingress controller: Pebble reaches the operator pods through the solver NodePort, as for acme-web.
  const shop = {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'shop', namespace: 'demo', annotations: { 'certsmith.dev/cluster-issuer': 'sandbox-acme' } },
    spec: {
      rules: [{ host: `shop.${ZONE}`, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'shop', port: { number: 80 } } } }] } }],
      tls: [{ hosts: [`shop.${ZONE}`], secretName: SHOP_SECRET }],
    },
  };
  const objects: KubeObject[] = [acme('sandbox-acme', [{ http01: {} }]), certificate('acme-web', 'sandbox-acme', [`web.${ZONE}`]), shop];
  if (opts.dns01) {
    const tsigSecret: KubeObject & { stringData: Record<string, string> } = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'sandbox-tsig', namespace: 'certsmith' },
      stringData: { secret: opts.dns01.tsigSecret },
    };
    objects.push(
      tsigSecret,
      acme('sandbox-acme-dns', [
        {
          dns01: {
            rfc2136: {
              nameserver: opts.dns01.nameserver,
              tsigKeyName: TSIG_KEY_NAME,
              tsigAlgorithm: 'HMACSHA256',
              tsigSecretSecretRef: { name: 'sandbox-tsig' },
            },
          },
        },
      ]),
      certificate('acme-wildcard', 'sandbox-acme-dns', [`*.${ZONE}`, ZONE]),
    );
  }
  return objects;
}

async function readPid(): Promise<number | undefined> {
  const text = await readFile(pidFile, 'utf8').catch(() => '');
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
