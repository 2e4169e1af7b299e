// A real control plane on loopback: etcd, kube-apiserver (secure port only, RBAC, client certificates) and
// kube-controller-manager, with a kubeconfig for an admin (system:masters) client. Everything lives in one temp
// directory that stop() removes.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { binaryPath, ensureBinaries, gatewayApiCrdsDir } from './binaries.ts';
import { createTestCA, writeServiceAccountKeys } from './certs.ts';
import { freePort } from './ports.ts';
import { addNodeAddress, NODE_ADDRESS, removeNodeAddress } from './node-host.ts';
import { removeOnExit, startProcess, waitUntil, type ManagedProcess } from './processes.ts';

const run = promisify(execFile);

export interface ControlPlaneOptions {
  /** Every *.yaml here is applied (server-side) and each CRD waited on until Established. */
  crdsDir?: string;
  /** Also install the Gateway API CRDs (standard channel, the pinned version) and wait until they are Established. */
  gatewayApi?: boolean;
  /** Where process logs go (default: inside the temp dir, removed on stop). */
  logDir?: string;
  /** Default true: garbage collection and namespace deletion need it; it adds ~5 s to the start. */
  withControllerManager?: boolean;
  extraApiserverArgs?: string[];
  /** etcd --quota-backend-bytes (etcd's default is 2 GiB; the scale benchmark stores ~5 GB of Secrets). */
  etcdQuotaBackendBytes?: number;
  /** kube-apiserver --feature-gates (comma-separated Name=bool). */
  featureGates?: string;
  /** kube-apiserver --runtime-config (comma-separated group/version=bool). ClusterTrustBundle is GA (v1) in 1.37 and on by default. */
  runtimeConfig?: string;
  /**
   * Serve the API on the node's address (node-host.ts's NODE_ADDRESS, put on loopback here and removed at stop)
   * instead of 127.0.0.1, so pods on a node (node.ts) reach it through the `kubernetes` Service. Also turns on the
   * ServiceAccount admission plugin (pods get their token) and gives the apiserver a client certificate for kubelet.
   */
  forNode?: boolean;
  /**
   * Default true: on SIGINT/SIGTERM kill the children and exit, unless another listener for the signal exists (then it
   * is left to call stop()). Children are killed on process exit in every case.
   */
  handleSignals?: boolean;
}

export interface ControlPlane {
  kubeconfigPath: string;
  /** https://127.0.0.1:PORT */
  server: string;
  binDir: string;
  /** Temp dir holding etcd's data, the certificates and the kubeconfig (and the logs without logDir). */
  dir: string;
  apiserverLog: string;
  caFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** Runs the pinned kubectl against this control plane; resolves to stdout, rejects with stderr in the message. */
  kubectl(...args: string[]): Promise<string>;
  /** Stops kube-apiserver (SIGTERM) and starts it again on the same port and etcd; resolves when /readyz is ok. */
  restartApiserver(): Promise<void>;
  /** Stops etcd (SIGTERM) and starts it again on the same ports and data; resolves when its /health is ok. */
  restartEtcd(): Promise<void>;
  /** Kills the children (SIGTERM, SIGKILL after 5 s), waits for them, removes dir. Idempotent. */
  stop(): Promise<void>;
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const started = Date.now();
  const mark = (what: string) => {
    if (process.env.CERTSMITH_TEST_VERBOSE) console.error(`[controlplane] ${what} at +${Date.now() - started} ms`);
  };
  const binDir = await ensureBinaries();
  const bin = (name: string) => binaryPath(binDir, name);
  // Fail before starting anything when a binary is missing.
  for (const name of ['etcd', 'kube-apiserver', 'kubectl', ...((opts.withControllerManager ?? true) ? ['kube-controller-manager'] : [])]) bin(name);
  // Likewise the Gateway API CRDs, when asked for.
  const gatewayCrds = opts.gatewayApi ? gatewayApiCrdsDir(binDir) : undefined;
  const dir = await mkdtemp(join(tmpdir(), 'certsmith-cp-'));
  const forgetDir = removeOnExit(dir);
  const logDir = opts.logDir ?? dir;
  await mkdir(logDir, { recursive: true });
  const pki = join(dir, 'pki');
  await mkdir(pki);
  const handleSignals = opts.handleSignals ?? true;
  const procs: ManagedProcess[] = [];
  const address = opts.forNode ? NODE_ADDRESS : '127.0.0.1';
  if (opts.forNode) {
    addNodeAddress();
    process.once('exit', removeNodeAddress);
  }

  const stopAll = async () => {
    for (const p of [...procs].reverse()) await p.stop();
    procs.length = 0;
    await rm(dir, { recursive: true, force: true });
    forgetDir();
    if (opts.forNode) {
      removeNodeAddress();
      process.removeListener('exit', removeNodeAddress);
    }
  };

  try {
    // etcd first: it boots while the certificates are generated.
    const [etcdClient, etcdPeer] = [await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const startEtcd = (slot = procs.length) => {
      const p = startProcess({
        name: 'etcd',
        command: bin('etcd'),
        args: [
          '--name=default',
          `--data-dir=${join(dir, 'etcd')}`,
          `--listen-client-urls=${etcdUrl}`,
          `--advertise-client-urls=${etcdUrl}`,
          `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
          `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
          `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
          '--unsafe-no-fsync',
          '--log-level=warn',
          ...(opts.etcdQuotaBackendBytes ? [`--quota-backend-bytes=${opts.etcdQuotaBackendBytes}`] : []),
        ],
        logFile: join(logDir, 'etcd.log'),
        handleSignals,
      });
      procs.splice(slot, 0, p);
      return p;
    };
    let etcd = startEtcd();
    const ca = await createTestCA(pki, 'certsmith test control plane CA');
    const serving = await ca.issue('apiserver', {
      commonName: 'kube-apiserver',
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
      ipAddresses: ['127.0.0.1', '10.0.0.1', ...(opts.forNode ? [NODE_ADDRESS] : [])],
      serverAuth: true,
    });
    const admin = await ca.issue('admin', { commonName: 'admin', organizations: ['system:masters'], serverAuth: false, clientAuth: true });
    const sa = await writeServiceAccountKeys(pki);

    await waitUntil(etcd, 'etcd /health', () => httpOk(`${etcdUrl}/health`));
    mark('etcd healthy');

    // kube-apiserver
    const apiPort = await freePort();
    const server = `https://${address}:${apiPort}`;
    const tls = { ca: readFileSync(ca.certFile), cert: readFileSync(admin.certFile), key: readFileSync(admin.keyFile) };
    const apiserverArgs = [
      `--etcd-servers=${etcdUrl}`,
      `--bind-address=${address}`,
      `--advertise-address=${address}`,
      // Loopback may not be published in the kubernetes Service's endpoints; only pods need them.
      `--endpoint-reconciler-type=${opts.forNode ? 'lease' : 'none'}`,
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dir, 'apiserver-certs')}`,
      `--tls-cert-file=${serving.certFile}`,
      `--tls-private-key-file=${serving.keyFile}`,
      `--client-ca-file=${ca.certFile}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${sa.pubFile}`,
      `--service-account-signing-key-file=${sa.keyFile}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--authorization-mode=RBAC',
      '--allow-privileged=true',
      // Without a node nothing mounts a token, and the plugin would make every test create service accounts first.
      ...(opts.forNode
        ? [`--kubelet-client-certificate=${admin.certFile}`, `--kubelet-client-key=${admin.keyFile}`, '--kubelet-preferred-address-types=InternalIP']
        : ['--disable-admission-plugins=ServiceAccount']),
      '--enable-priority-and-fairness=false',
      // Without it a SIGTERMed apiserver waits for open watches (clients hold them for minutes) and never exits in time.
      '--shutdown-watch-termination-grace-period=2s',
      ...(opts.featureGates ? [`--feature-gates=${opts.featureGates}`] : []),
      ...(opts.runtimeConfig ? [`--runtime-config=${opts.runtimeConfig}`] : []),
      ...(opts.extraApiserverArgs ?? []),
    ];
    const apiserverLog = join(logDir, 'kube-apiserver.log');
    // Keeps its slot in procs (after etcd, before the controller manager) so stop() always ends clients first:
    // a controller manager whose apiserver is already gone hangs in shutdown until SIGKILL.
    const startApiserver = async (slot = procs.length) => {
      const p = startProcess({ name: 'kube-apiserver', command: bin('kube-apiserver'), args: apiserverArgs, logFile: apiserverLog, handleSignals });
      procs.splice(slot, 0, p);
      await waitUntil(p, 'kube-apiserver /readyz', () => httpsOk(`${server}/readyz`, tls), 90_000);
      return p;
    };
    let apiserver = await startApiserver();
    mark('kube-apiserver ready');

    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfigPath,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- name: certsmith-test',
        '  cluster:',
        `    server: ${server}`,
        `    certificate-authority: ${ca.certFile}`,
        'users:',
        '- name: admin',
        '  user:',
        `    client-certificate: ${admin.certFile}`,
        `    client-key: ${admin.keyFile}`,
        'contexts:',
        '- name: certsmith-test',
        '  context:',
        '    cluster: certsmith-test',
        '    user: admin',
        'current-context: certsmith-test',
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    const kubectl = async (...args: string[]) => (await run(bin('kubectl'), ['--kubeconfig', kubeconfigPath, ...args], { maxBuffer: 64 * 2 ** 20 })).stdout;

    const startControllerManager = async () => {
      if (!(opts.withControllerManager ?? true)) return;
      const kcmPort = await freePort();
      const kcm = startProcess({
        name: 'kube-controller-manager',
        command: bin('kube-controller-manager'),
        args: [
          `--kubeconfig=${kubeconfigPath}`,
          `--authentication-kubeconfig=${kubeconfigPath}`,
          `--authorization-kubeconfig=${kubeconfigPath}`,
          '--leader-elect=false',
          '--controllers=*',
          `--service-account-private-key-file=${sa.keyFile}`,
          `--root-ca-file=${ca.certFile}`,
          // Each controller acts as its own service account, as in a real cluster (RBAC bootstrap roles apply).
          '--use-service-account-credentials=true',
          '--bind-address=127.0.0.1',
          `--secure-port=${kcmPort}`,
          `--cert-dir=${join(dir, 'kcm-certs')}`,
          '--cluster-name=certsmith-test',
        ],
        logFile: join(logDir, 'kube-controller-manager.log'),
        handleSignals,
      });
      procs.push(kcm);
      // /healthz is on the always-allowed paths, so no client certificate is needed; the serving cert is self-signed.
      await waitUntil(kcm, 'kube-controller-manager /healthz', () => httpsOk(`https://127.0.0.1:${kcmPort}/healthz`, { rejectUnauthorized: false }));
      mark('kube-controller-manager healthy');
      // The root-CA publisher writes kube-root-ca.crt into every namespace: proof the controllers run.
      await waitUntil(kcm, 'kube-controller-manager to publish kube-root-ca.crt', async () =>
        httpsOk(`${server}/api/v1/namespaces/default/configmaps/kube-root-ca.crt`, tls),
      );
      mark('kube-root-ca.crt published');
    };
    const installCrds = async () => {
      const dirs = [];
      if (opts.crdsDir && (await readdir(opts.crdsDir)).some((f) => f.endsWith('.yaml'))) dirs.push(opts.crdsDir);
      if (gatewayCrds) dirs.push(gatewayCrds);
      if (dirs.length === 0) return;
      for (const d of dirs) await kubectl('apply', '--server-side', '--field-manager=certsmith-test', '-f', d);
      await kubectl('wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s');
      mark('CRDs established');
    };
    // Independent of each other; the controller manager's start (~5 s) dominates.
    const results = await Promise.allSettled([startControllerManager(), installCrds()]);
    for (const r of results) if (r.status === 'rejected') throw r.reason;

    if (process.env.CERTSMITH_TEST_VERBOSE) console.error(`control plane ready in ${Date.now() - started} ms at ${server} (logs in ${logDir})`);
    return {
      kubeconfigPath,
      server,
      binDir,
      dir,
      apiserverLog,
      caFile: ca.certFile,
      clientCertFile: admin.certFile,
      clientKeyFile: admin.keyFile,
      kubectl,
      async restartApiserver() {
        const slot = procs.indexOf(apiserver);
        await apiserver.stop();
        procs.splice(slot, 1);
        apiserver = await startApiserver(slot);
      },
      async restartEtcd() {
        const slot = procs.indexOf(etcd);
        await etcd.stop();
        procs.splice(slot, 1);
        etcd = startEtcd(slot);
        await waitUntil(etcd, 'etcd /health', () => httpOk(`${etcdUrl}/health`));
      },
      stop: stopAll,
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

function httpOk(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function httpsOk(url: string, tls: { ca?: Buffer; cert?: Buffer; key?: Buffer; rejectUnauthorized?: boolean }): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { ...tls, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

/** Creates a namespace; one that already exists is fine. */
export async function createNamespace(cp: ControlPlane, name: string): Promise<void> {
  await cp.kubectl('create', 'namespace', name).catch((err: Error) => {
    if (!/AlreadyExists/.test(err.message)) throw err;
  });
}
