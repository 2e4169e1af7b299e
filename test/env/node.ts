// A real one-node cluster on this machine, beside a control plane started with `nodeAddress: NODE_ADDRESS`:
// containerd (Debian's, as a child process with its own root, state and socket), kubelet, kube-scheduler and
// kube-proxy (iptables mode), pods on a CNI bridge that can reach this machine and each other and nothing beyond.
// One node per machine at a time; stop() — or the exit hook when a run fails or is interrupted, or the next start
// after a run was killed — puts the machine back as it was (node-host.ts).
import { execFile } from 'node:child_process';
import { request } from 'node:https';
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { binaryPath } from './binaries.ts';
import { importImage } from './image.ts';
import type { ControlPlane } from './controlplane.ts';
import { installEgressDrop, NODE_ADDRESS, nodeLeftovers, POD_BRIDGE, POD_CIDR, saveSysctls, setSysctl, teardownNodeSync } from './node-host.ts';
import { freePort } from './ports.ts';
import { isAlive, startProcess, waitUntil, type ManagedProcess } from './processes.ts';

const run = promisify(execFile);

export const NODE_NAME = 'certsmith-node';
/** Fixed and short: containerd's shim sockets live below it, and a killed run's leftovers are found here. */
export const NODE_DIR = '/var/lib/certsmith-node';
/** The pid of the process whose node runs, while one does. */
export const OWNER_FILE = '/var/lib/certsmith-node.owner';
/** The kernel settings from before the first node, until teardown writes them back. */
export const SYSCTL_FILE = '/var/lib/certsmith-node.sysctls.json';
const CNI_BIN_DIR = '/usr/lib/cni';
/** kubelet's default; a test asks for a shorter one to check what the operator's defaults must cover either way. */
export const DEFAULT_SYNC_FREQUENCY = '1m';

export interface NodeOptions {
  /** kubelet's syncFrequency (how often it re-syncs a pod, and so a mounted Secret): default 1m, as kubelet's. */
  syncFrequency?: string;
  /** OCI or docker archives to import into containerd before kubelet starts (the pause image among them). */
  imageArchives: string[];
  /** Where the node's processes log (default: below the node's directory, removed on stop). */
  logDir?: string;
}

export interface KubeNode {
  name: string;
  address: string;
  podCidr: string;
  containerdSocket: string;
  logDir: string;
  /** Runs Debian's ctr against this node's containerd, in the k8s.io namespace. */
  ctr(...args: string[]): Promise<string>;
  /** Imports an image archive into the node's containerd; pods then run it with imagePullPolicy Never or IfNotPresent. */
  importImage(archive: string): Promise<void>;
  /** Stops kubelet, kube-proxy, kube-scheduler, the pods and containerd, and undoes every change to the machine. */
  stop(): Promise<void>;
}

/** Whether this machine has what a node needs, as a list of what is missing (empty when all is there). */
export function missingNodePrerequisites(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (kubelet and containerd need it)');
  for (const cmd of ['containerd', 'runc', 'ctr', 'iptables', 'ip6tables', 'iptables-save', 'ip']) {
    if (!onPath(cmd)) missing.push(cmd);
  }
  for (const plugin of ['bridge', 'host-local', 'loopback', 'portmap']) {
    if (!existsSync(join(CNI_BIN_DIR, plugin))) missing.push(join(CNI_BIN_DIR, plugin));
  }
  if (!existsSync('/proc/sys/net/bridge/bridge-nf-call-iptables')) missing.push('the br_netfilter kernel module');
  return missing;
}

function onPath(cmd: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/sbin'];
  return dirs.some((d) => d && existsSync(join(d, cmd)));
}

function claimMachine(): void {
  if (existsSync(OWNER_FILE)) {
    const pid = Number(readFileSync(OWNER_FILE, 'utf8').trim());
    if (pid !== process.pid && Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
      throw new Error(
        `a certsmith node already runs on this machine (owned by pid ${pid}; a detached sandbox? \`npm run sandbox -- down\`): one node at a time`,
      );
    }
  }
  // A run that was killed left its node behind: take it down first.
  teardownNodeSync(NODE_DIR, SYSCTL_FILE);
  writeFileSync(OWNER_FILE, String(process.pid));
}

function releaseMachine(): void {
  try {
    if (readFileSync(OWNER_FILE, 'utf8').trim() === String(process.pid)) unlinkSync(OWNER_FILE);
  } catch {
    // not ours or gone
  }
}

/**
 * Where kubelet projects a pod's Secret or ConfigMap volume: the files the container sees through its bind mount,
 * readable from the host.
 */
export function podVolumeDir(podUid: string, kind: 'secret' | 'configmap' | 'projected', volume: string): string {
  return join(NODE_DIR, 'kubelet', 'pods', podUid, 'volumes', `kubernetes.io~${kind}`, volume);
}

export function containerdConfig(dir: string, socket: string): string {
  return `version = 2
root = "${dir}/containerd/root"
state = "${dir}/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.tasks-service-other", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "${socket}"

[ttrpc]
  address = "${socket}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "${dir}/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "registry.k8s.io/pause:3.10"
  # Root here lacks CAP_SYS_RESOURCE: without this the pause container's oom_score_adj of -998 fails every sandbox.
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_BIN_DIR}"
    conf_dir = "${dir}/cni/net.d"
    max_conf_num = 1
`;
}

export function cniConfig(dir: string): string {
  return JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'certsmith',
      plugins: [
        {
          type: 'bridge',
          bridge: POD_BRIDGE,
          isGateway: true,
          // Nothing leaves the machine, so nothing needs masquerading.
          ipMasq: false,
          // A pod reaching itself through a Service.
          hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: POD_CIDR }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(dir, 'cni', 'ipam') },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  );
}

export function kubeletConfig(o: { dir: string; socket: string; caFile: string; port: number; healthzPort: number; syncFrequency: string }): string {
  return JSON.stringify(
    {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      address: NODE_ADDRESS,
      port: o.port,
      readOnlyPort: 0,
      healthzBindAddress: '127.0.0.1',
      healthzPort: o.healthzPort,
      authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: o.caFile } },
      authorization: { mode: 'Webhook' },
      containerRuntimeEndpoint: `unix://${o.socket}`,
      // The machine has cgroup v1 and no systemd as PID 1.
      failCgroupV1: false,
      cgroupDriver: 'cgroupfs',
      failSwapOn: false,
      syncFrequency: o.syncFrequency,
      podCIDR: POD_CIDR,
      podLogsDir: join(o.dir, 'pod-logs'),
      volumePluginDir: join(o.dir, 'volume-plugins'),
      // Imported images cannot be pulled again: never collect them, never evict for disk.
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%', 'nodefs.inodesFree': '1%' },
      serializeImagePulls: false,
      resolvConf: '',
      shutdownGracePeriod: '0s',
      // The pod-certificate benchmark starts 200 pods at once; the /24 pod range holds 253.
      maxPods: 240,
    },
    null,
    2,
  );
}

export function kubeProxyConfig(o: { kubeconfig: string; healthzPort: number; metricsPort: number }): string {
  return JSON.stringify(
    {
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      mode: 'iptables',
      clientConnection: { kubeconfig: o.kubeconfig },
      hostnameOverride: NODE_NAME,
      clusterCIDR: POD_CIDR,
      healthzBindAddress: `127.0.0.1:${o.healthzPort}`,
      metricsBindAddress: `127.0.0.1:${o.metricsPort}`,
      nodePortAddresses: [`${NODE_ADDRESS}/32`],
      // Zero leaves the machine's conntrack settings as they are.
      conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
      iptables: { localhostNodePorts: false, masqueradeAll: false, syncPeriod: '30s', minSyncPeriod: '0s' },
    },
    null,
    2,
  );
}

export async function startNode(cp: ControlPlane, opts: NodeOptions): Promise<KubeNode> {
  const started = Date.now();
  const mark = (what: string) => {
    if (process.env.CERTSMITH_TEST_VERBOSE) console.error(`[node] ${what} at +${Date.now() - started} ms`);
  };
  const missing = missingNodePrerequisites();
  if (missing.length > 0) {
    throw new Error(`a node cannot start here; missing: ${missing.join(', ')} (run \`bash test/env/system-packages.sh\` as root)`);
  }
  if (!cp.server.includes(NODE_ADDRESS)) {
    throw new Error(`the control plane serves on ${cp.server}; start it with nodeAddress: NODE_ADDRESS so pods reach it`);
  }
  const bin = (name: string) => binaryPath(cp.binDir, name);
  for (const b of ['kubelet', 'kube-scheduler', 'kube-proxy']) bin(b);

  claimMachine();
  const dir = NODE_DIR;
  const logDir = opts.logDir ?? join(dir, 'logs');
  for (const d of [dir, logDir, join(dir, 'cni', 'net.d'), join(dir, 'kubelet'), join(dir, 'pod-logs')]) mkdirSync(d, { recursive: true });
  const socket = join(dir, 'containerd.sock');
  const procs: ManagedProcess[] = [];
  let stopped = false;
  const teardown = () => {
    if (stopped) return;
    stopped = true;
    teardownNodeSync(dir, SYSCTL_FILE);
    releaseMachine();
  };
  // A failed or interrupted run: processes.ts SIGKILLs the children on exit; this puts the machine back.
  process.once('exit', teardown);

  const ctr = async (...args: string[]) => (await run('ctr', ['--address', socket, '-n', 'k8s.io', ...args], { maxBuffer: 16 * 2 ** 20 })).stdout;

  try {
    saveSysctls(SYSCTL_FILE);
    setSysctl('net/bridge/bridge-nf-call-iptables', '1');
    setSysctl('net/bridge/bridge-nf-call-ip6tables', '1');
    installEgressDrop();

    writeFileSync(join(dir, 'containerd.toml'), containerdConfig(dir, socket));
    writeFileSync(join(dir, 'cni', 'net.d', '10-certsmith.conflist'), cniConfig(dir));
    const containerd = startProcess({
      name: 'containerd',
      command: 'containerd',
      args: ['--config', join(dir, 'containerd.toml'), '--log-level', 'warn'],
      logFile: join(logDir, 'containerd.log'),
    });
    procs.push(containerd);
    await waitUntil(containerd, 'containerd to answer', async () => {
      await run('ctr', ['--address', socket, 'version'], { timeout: 5000 });
      return true;
    });
    mark('containerd up');
    for (const archive of opts.imageArchives) await importImage('ctr', socket, archive);
    mark('images imported');

    const kubeletPort = await freePort();
    const kubeletHealthz = await freePort();
    writeFileSync(
      join(dir, 'kubelet.json'),
      kubeletConfig({
        dir,
        socket,
        caFile: cp.caFile,
        port: kubeletPort,
        healthzPort: kubeletHealthz,
        syncFrequency: opts.syncFrequency ?? DEFAULT_SYNC_FREQUENCY,
      }),
    );
    const kubelet = startProcess({
      name: 'kubelet',
      command: bin('kubelet'),
      args: [
        `--config=${join(dir, 'kubelet.json')}`,
        `--kubeconfig=${cp.kubeconfigPath}`,
        `--root-dir=${join(dir, 'kubelet')}`,
        `--cert-dir=${join(dir, 'kubelet', 'pki')}`,
        `--hostname-override=${NODE_NAME}`,
        `--node-ip=${NODE_ADDRESS}`,
        '--v=1',
      ],
      logFile: join(logDir, 'kubelet.log'),
    });
    procs.push(kubelet);

    const schedulerPort = await freePort();
    const scheduler = startProcess({
      name: 'kube-scheduler',
      command: bin('kube-scheduler'),
      args: [
        `--kubeconfig=${cp.kubeconfigPath}`,
        `--authentication-kubeconfig=${cp.kubeconfigPath}`,
        `--authorization-kubeconfig=${cp.kubeconfigPath}`,
        '--leader-elect=false',
        '--bind-address=127.0.0.1',
        `--secure-port=${schedulerPort}`,
        // Its serving certificate below the node's directory: teardown finds the node's processes by that path.
        `--cert-dir=${join(dir, 'kube-scheduler')}`,
      ],
      logFile: join(logDir, 'kube-scheduler.log'),
    });
    procs.push(scheduler);

    const proxyHealthz = await freePort();
    writeFileSync(join(dir, 'kube-proxy.json'), kubeProxyConfig({ kubeconfig: cp.kubeconfigPath, healthzPort: proxyHealthz, metricsPort: await freePort() }));
    const proxy = startProcess({
      name: 'kube-proxy',
      command: bin('kube-proxy'),
      args: [`--config=${join(dir, 'kube-proxy.json')}`],
      logFile: join(logDir, 'kube-proxy.log'),
    });
    procs.push(proxy);

    await waitUntil(
      kubelet,
      `Node ${NODE_NAME} Ready`,
      async () => {
        const out = await cp.kubectl('get', 'node', NODE_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}');
        return out.trim() === 'True';
      },
      90_000,
    );
    mark('node Ready');
    await waitUntil(
      proxy,
      'kube-proxy healthy',
      async () => {
        const res = await fetch(`http://127.0.0.1:${proxyHealthz}/healthz`);
        return res.ok;
      },
      60_000,
    );
    await waitUntil(scheduler, 'kube-scheduler healthy', () => httpsOkInsecure(`https://127.0.0.1:${schedulerPort}/healthz`), 60_000);
    mark('node up');
    if (process.env.CERTSMITH_TEST_VERBOSE) console.error(`node ${NODE_NAME} ready in ${Date.now() - started} ms (logs in ${logDir})`);

    return {
      name: NODE_NAME,
      address: NODE_ADDRESS,
      podCidr: POD_CIDR,
      containerdSocket: socket,
      logDir,
      ctr,
      importImage: (archive) => importImage('ctr', socket, archive),
      async stop() {
        if (stopped) return;
        // Clients before containerd; SIGTERM lets kubelet and kube-proxy exit cleanly, teardown takes the rest.
        for (const p of [...procs].reverse()) await p.stop(3000);
        process.removeListener('exit', teardown);
        teardown();
        const left = nodeLeftovers(dir, SYSCTL_FILE);
        if (left.length > 0) throw new Error(`node teardown left: ${left.join('; ')}`);
      },
    };
  } catch (err) {
    for (const p of [...procs].reverse()) await p.stop(3000).catch(() => undefined);
    process.removeListener('exit', teardown);
    teardown();
    throw err;
  }
}

function httpsOkInsecure(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { rejectUnauthorized: false, timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
