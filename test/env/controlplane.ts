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
import { binaryPath, ensureBinaries } from './binaries.ts';
import { createTestCA, writeServiceAccountKeys } from './certs.ts';
import { freePort } from './ports.ts';
import { startProcess, waitUntil, type ManagedProcess } from './processes.ts';

const run = promisify(execFile);

export interface ControlPlaneOptions {
  crdsDir?: string;
  /** Where process logs go (default: inside the temp dir, removed on stop). */
  logDir?: string;
  withControllerManager?: boolean;
  extraApiserverArgs?: string[];
  /** Install SIGINT/SIGTERM handlers that kill the children (default true; the sandbox handles signals itself). */
  handleSignals?: boolean;
}

export interface ControlPlane {
  kubeconfigPath: string;
  server: string;
  binDir: string;
  dir: string;
  apiserverLog: string;
  caFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  kubectl(...args: string[]): Promise<string>;
  restartApiserver(): Promise<void>;
  stop(): Promise<void>;
}

export async function startControlPlane(opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const started = Date.now();
  const binDir = await ensureBinaries();
  const bin = (name: string) => binaryPath(binDir, name);
  const dir = await mkdtemp(join(tmpdir(), 'certsmith-cp-'));
  const logDir = opts.logDir ?? dir;
  await mkdir(logDir, { recursive: true });
  const pki = join(dir, 'pki');
  await mkdir(pki);
  const handleSignals = opts.handleSignals ?? true;
  const procs: ManagedProcess[] = [];

  const stopAll = async () => {
    for (const p of [...procs].reverse()) await p.stop();
    procs.length = 0;
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const ca = await createTestCA(pki, 'certsmith test control plane CA');
    const serving = await ca.issue('apiserver', {
      subject: { commonName: 'kube-apiserver' },
      dnsNames: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc'],
      ipAddresses: ['127.0.0.1', '10.0.0.1'],
      usages: ['digital signature', 'key encipherment', 'server auth'],
    });
    const admin = await ca.issue('admin', {
      subject: { commonName: 'admin', organizations: ['system:masters'] },
      usages: ['digital signature', 'key encipherment', 'client auth'],
    });
    const sa = await writeServiceAccountKeys(pki);

    // etcd
    const [etcdClient, etcdPeer] = [await freePort(), await freePort()];
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const etcd = startProcess({
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
      ],
      logFile: join(logDir, 'etcd.log'),
      handleSignals,
    });
    procs.push(etcd);
    await waitUntil(etcd, 'etcd /health', () => httpOk(`${etcdUrl}/health`));

    // kube-apiserver
    const apiPort = await freePort();
    const server = `https://127.0.0.1:${apiPort}`;
    const tls = { ca: readFileSync(ca.certFile), cert: readFileSync(admin.certFile), key: readFileSync(admin.keyFile) };
    const apiserverArgs = [
      `--etcd-servers=${etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      // Loopback may not be published in the kubernetes Service's endpoints; nothing here needs them.
      '--endpoint-reconciler-type=none',
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
      '--disable-admission-plugins=ServiceAccount',
      '--enable-priority-and-fairness=false',
      ...(opts.extraApiserverArgs ?? []),
    ];
    const apiserverLog = join(logDir, 'kube-apiserver.log');
    const startApiserver = async () => {
      const p = startProcess({ name: 'kube-apiserver', command: bin('kube-apiserver'), args: apiserverArgs, logFile: apiserverLog, handleSignals });
      procs.push(p);
      await waitUntil(p, 'kube-apiserver /readyz', () => httpsOk(`${server}/readyz`, tls), 90_000);
      return p;
    };
    let apiserver = await startApiserver();

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
    const kubectl = async (...args: string[]) =>
      (await run(bin('kubectl'), ['--kubeconfig', kubeconfigPath, ...args], { maxBuffer: 64 * 2 ** 20 })).stdout;

    if (opts.withControllerManager ?? true) {
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
          '--use-service-account-credentials=false',
          '--bind-address=127.0.0.1',
          `--secure-port=${await freePort()}`,
          `--cert-dir=${join(dir, 'kcm-certs')}`,
          '--cluster-name=certsmith-test',
        ],
        logFile: join(logDir, 'kube-controller-manager.log'),
        handleSignals,
      });
      procs.push(kcm);
      // The root-CA publisher writes kube-root-ca.crt into every namespace: proof the controllers run.
      await waitUntil(kcm, 'kube-controller-manager to publish kube-root-ca.crt', async () =>
        httpsOk(`${server}/api/v1/namespaces/default/configmaps/kube-root-ca.crt`, tls),
      );
    }

    if (opts.crdsDir && (await readdir(opts.crdsDir)).some((f) => f.endsWith('.yaml'))) {
      await kubectl('apply', '--server-side', '--field-manager=certsmith-test', '-f', opts.crdsDir);
      await kubectl('wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s');
    }

    if (process.env.CERTSMITH_TEST_VERBOSE) console.error(`control plane ready in ${Date.now() - started} ms at ${server}`);
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
        await apiserver.stop();
        procs.splice(procs.indexOf(apiserver), 1);
        apiserver = await startApiserver();
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

function httpsOk(url: string, tls: { ca: Buffer; cert: Buffer; key: Buffer }): Promise<boolean> {
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
