// Node scenario: the operator as pods on the real one-node cluster (test/env/cluster.ts), not run by default (needs
// root, and the machine's one node). Measures
//   - startCluster until the node is Ready and kube-proxy and kube-scheduler are healthy, warm (binaries and images
//     built), with the phases the harness marks; the image step (ensureOperatorImage, ensurePauseImage) timed first;
//   - `helm install` of charts/certsmith with its defaults (2 replicas, leader election) and --wait, until 2 pods Ready;
//   - the leader's RSS idle 30 s after the install, then N Certificates from a CA ClusterIssuer (a SelfSigned root)
//     created at once: seconds until all are Ready, and the same leader's RSS 60 s later (VmRSS of the container's
//     task, read from the host);
//   - the leader pod killed (its container SIGKILLed, the pod force-deleted) until another pod holds the Lease, 3 times;
//   - a Secret change until the file kubelet projected into a pod shows it, with kubelet's default syncFrequency (1m)
//     and, on a second cluster, 10s.
// Each cluster is stopped in a finally. Only one node runs per machine: a start waits while another process owns it.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chartDir } from '../deploy/render.ts';
import type { KubeObject } from '../src/api/meta.ts';
import { createKubeClient, type KubeClient } from '../src/kube/client.ts';
import { Resources, type Resource } from '../src/kube/resources.ts';
import { startCluster, type Cluster } from '../test/env/cluster.ts';
import { ensureOperatorImage, ensurePauseImage, PAUSE_IMAGE_REF } from '../test/env/image.ts';
import { missingNodePrerequisites, OWNER_FILE, podVolumeDir } from '../test/env/node.ts';
import { addNodeAddress, NODE_ADDRESS } from '../test/env/node-host.ts';
import { isAlive } from '../test/env/processes.ts';
import { createHelm } from '../test/integration/helpers/helm.ts';
import { createCaClusterIssuer } from '../test/integration/helpers/issuers.ts';
import { certificate, createNamespace, type Secret } from '../test/integration/helpers/objects.ts';
import { waitFor } from '../test/integration/helpers/wait.ts';
import { inBatches, memoryMiB, waitAllReady } from './measure.ts';

const RELEASE_NS = 'certsmith';
const LEASE = 'certsmith-operator';
const OPERATOR_LABELS = 'app.kubernetes.io/name=certsmith';
const BENCH_NS = 'bench';
const MOUNT_NS = 'bench-mount';
const REPLICAS = 2;
const TAKEOVER_SAMPLES = 3;
const IDLE_AFTER_INSTALL_MS = 30_000;
const IDLE_AFTER_BURST_MS = 60_000;
/** kubelet's syncFrequency → Secret changes measured with it. */
const SYNC_PERIODS = [
  { syncFrequency: '1m', periodMs: 60_000, changes: 5 },
  { syncFrequency: '10s', periodMs: 10_000, changes: 10 },
] as const;
const FILE_POLL_MS = 100;
const NODE_FREE_POLL_MS = 30_000;
const NODE_FREE_TIMEOUT_MS = 40 * 60_000;

const PODS: Resource = { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true };

type Pod = KubeObject<unknown, { phase?: string; containerStatuses?: { name: string; ready: boolean; containerID?: string }[] }>;
type Lease = KubeObject<{ holderIdentity?: string; renewTime?: string; acquireTime?: string; leaseDurationSeconds?: number }>;

export interface MinMedianMax {
  min: number;
  median: number;
  max: number;
}

export interface ClusterStart {
  syncFrequency: string;
  /** startCluster, images already built: control plane, node, images imported, node Ready, proxy and scheduler healthy. */
  seconds: number;
  /** Seconds since the call when the harness marked each step (controlplane: …, node: …). */
  phases: Record<string, number>;
}

export interface NodeResult {
  /** ensureOperatorImage and ensurePauseImage before the first start (warm: they only hash their inputs). */
  imageSeconds: { operator: number; pause: number };
  clusterStarts: ClusterStart[];
  /** `helm install --wait` of the chart's defaults until the Deployment has 2 Ready pods. */
  helmInstallSeconds: number;
  memory: {
    /** The leader's VmRSS 30 s after the install. */
    idleRssMiB: number;
    /** The standby's, at the same time. */
    standbyIdleRssMiB: number;
    certificates: number;
    secondsUntilAllReady: number;
    /** The leader's VmRSS when the last Certificate was Ready, 60 s later, and its VmHWM then. */
    rssAtAllReadyMiB: number;
    rssAfterIdleMiB: number;
    peakRssMiB: number;
  };
  leaderTakeover: {
    leaseDurationSeconds: number;
    /** Kill → another pod named in the Lease (polled every 100 ms). */
    ms: MinMedianMax;
    /** Per kill: the above; the dead leader's last renewTime → the new holder's acquireTime (both from the Lease);
     * kill → the Deployment back at 2 Ready pods, waited for after the takeover (so never less than it). */
    samples: { ms: number; lastRenewToAcquireMs: number; replacementReadySeconds: number }[];
  };
  /** Per kubelet syncFrequency: the Secret's write → the projected file showing the new value (polled every 100 ms). */
  secretToFile: Record<string, MinMedianMax & { changes: number; samplesMs: number[] }>;
  /** Times the node's address had gone from loopback and was put back (see guardNodeAddress); 0 on a quiet machine. */
  nodeAddressRestored: number;
}

export async function benchNode(opts: { count: number }): Promise<NodeResult> {
  const missing = missingNodePrerequisites();
  if (missing.length > 0) throw new Error(`the node scenario needs what a node needs; missing: ${missing.join(', ')}`);

  // The image step on its own: startCluster then finds both archives resolved (image.ts remembers them).
  const operatorImageSeconds = await seconds(() => ensureOperatorImage());
  const pauseImageSeconds = await seconds(() => ensurePauseImage());

  // First cluster, kubelet's default sync: the operator installed, its memory, takeovers, and the Secret sync.
  const withOperator = await onDefaultSyncCluster(SYNC_PERIODS[0], opts.count);
  // Second cluster, a shorter sync: the Secret sync only (and a second start).
  const shortSync = SYNC_PERIODS[1];
  const { cluster, start } = await startTimedCluster(shortSync.syncFrequency);
  const guard = guardNodeAddress();
  let shortSyncFile: NodeResult['secretToFile'][string];
  let restored = 0;
  try {
    shortSyncFile = await measureSecretToFile(createKubeClient({ kubeconfigPath: cluster.cp.kubeconfigPath }), shortSync);
  } finally {
    restored = guard.stop();
    await cluster.stop();
  }

  return {
    imageSeconds: { operator: operatorImageSeconds, pause: pauseImageSeconds },
    clusterStarts: [withOperator.start, start],
    helmInstallSeconds: withOperator.helmInstallSeconds,
    memory: withOperator.memory,
    leaderTakeover: withOperator.leaderTakeover,
    secretToFile: { [SYNC_PERIODS[0].syncFrequency]: withOperator.secretToFile, [shortSync.syncFrequency]: shortSyncFile },
    nodeAddressRestored: withOperator.nodeAddressRestored + restored,
  };
}

async function onDefaultSyncCluster(period: (typeof SYNC_PERIODS)[number], count: number) {
  const { cluster, start } = await startTimedCluster(period.syncFrequency);
  const guard = guardNodeAddress();
  const helm = await createHelm(cluster.cp.binDir);
  try {
    const client = createKubeClient({ kubeconfigPath: cluster.cp.kubeconfigPath, maxSockets: 64 });
    const started = performance.now();
    await helm(
      'install',
      'certsmith',
      chartDir,
      '--namespace',
      RELEASE_NS,
      '--create-namespace',
      '--kubeconfig',
      cluster.cp.kubeconfigPath,
      '--wait',
      '--timeout=300s',
    );
    await waitAvailable(cluster, client);
    const helmInstallSeconds = +((performance.now() - started) / 1000).toFixed(1);
    console.error(`bench: node: helm install to ${REPLICAS} Ready pods in ${helmInstallSeconds} s`);
    // Memory first, on the leader the install elected; the takeovers then replace it.
    const memory = await measureMemory(cluster, client, count);
    const leaderTakeover = await measureTakeovers(cluster, client);
    const secretToFile = await measureSecretToFile(client, period);
    return { start, helmInstallSeconds, memory, leaderTakeover, secretToFile, nodeAddressRestored: guard.stop() };
  } finally {
    guard.stop();
    await helm.cleanup();
    await cluster.stop();
  }
}

/**
 * Every control plane started for a node puts NODE_ADDRESS on loopback and removes it when it stops, even while
 * another one (a test run beside this benchmark; only the node itself is one per machine) still serves on it: its
 * API server then refuses every connection, from kubelet, the operator pods and this benchmark alike. Checked every
 * second and put back, counted so the result says when its figures include such a gap. stop() before the cluster's
 * own stop, which removes the address for good; it returns the count.
 */
export function guardNodeAddress(): { stop(): number } {
  let restored = 0;
  const timer = setInterval(() => {
    const lo = execFileSync('ip', ['-o', '-4', 'addr', 'show', 'dev', 'lo'], { encoding: 'utf8' });
    if (lo.includes(` ${NODE_ADDRESS}/32 `)) return;
    addNodeAddress();
    restored++;
    console.error(`bench: node: ${NODE_ADDRESS} had gone from loopback (another control plane stopped); put it back`);
  }, 1000);
  return {
    stop() {
      clearInterval(timer);
      return restored;
    },
  };
}

async function seconds(fn: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await fn();
  return +((performance.now() - started) / 1000).toFixed(2);
}

/** Waits while another live process owns the machine's node (a test run, a sandbox), then starts a cluster. */
async function waitForFreeNode(): Promise<void> {
  const deadline = Date.now() + NODE_FREE_TIMEOUT_MS;
  for (;;) {
    let owner = 0;
    try {
      owner = Number(readFileSync(OWNER_FILE, 'utf8').trim());
    } catch {
      return; // no owner
    }
    if (!(Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner))) return;
    if (Date.now() > deadline) throw new Error(`the node is still owned by pid ${owner} after ${NODE_FREE_TIMEOUT_MS / 60_000} min`);
    console.error(`bench: node: pid ${owner} owns the machine's node; waiting`);
    await sleep(NODE_FREE_POLL_MS);
  }
}

/**
 * startCluster with the operator image, timed, with the steps the harness marks when CERTSMITH_TEST_VERBOSE is set
 * (its `[controlplane] … at +N ms` and `[node] … at +N ms` lines, taken off stderr and timed from this call).
 */
export async function startTimedCluster(syncFrequency: string): Promise<{ cluster: Cluster; start: ClusterStart }> {
  await waitForFreeNode();
  const phases: Record<string, number> = {};
  const verbose = process.env.CERTSMITH_TEST_VERBOSE;
  const consoleError = console.error;
  const started = performance.now();
  const at = () => +((performance.now() - started) / 1000).toFixed(2);
  process.env.CERTSMITH_TEST_VERBOSE = '1';
  console.error = (...args: unknown[]) => {
    const line = typeof args[0] === 'string' ? args[0] : '';
    const mark = /^\[(controlplane|node)\] (.+) at \+\d+ ms$/.exec(line);
    if (mark) phases[`${mark[1]}: ${mark[2]}`] = at();
    else if (!/^(control plane|node \S+) ready in \d+ ms/.test(line)) consoleError(...args);
  };
  let cluster: Cluster;
  try {
    cluster = await startCluster({ withOperatorImage: true, node: { syncFrequency } });
  } finally {
    console.error = consoleError;
    if (verbose === undefined) delete process.env.CERTSMITH_TEST_VERBOSE;
    else process.env.CERTSMITH_TEST_VERBOSE = verbose;
  }
  const start = { syncFrequency, seconds: at(), phases };
  console.error(`bench: node: cluster (syncFrequency ${syncFrequency}) started in ${start.seconds} s`);
  return { cluster, start };
}

async function operatorPods(client: KubeClient): Promise<Pod[]> {
  return (await client.list<Pod>(PODS, { namespace: RELEASE_NS, labelSelector: OPERATOR_LABELS })).items;
}

const isReady = (p: Pod) => p.status?.phase === 'Running' && (p.status.containerStatuses ?? []).length > 0 && p.status.containerStatuses!.every((c) => c.ready);

/** The Deployment rolled out and exactly REPLICAS operator pods, all Ready. */
async function waitAvailable(cluster: Cluster, client: KubeClient): Promise<void> {
  await cluster.cp.kubectl('rollout', 'status', 'deployment/certsmith', '-n', RELEASE_NS, '--timeout=300s');
  await waitFor(
    `${REPLICAS} operator pods Ready`,
    async () => {
      const pods = await operatorPods(client);
      return pods.length === REPLICAS && pods.every(isReady);
    },
    { timeoutMs: 300_000, intervalMs: 200 },
  );
}

async function lease(client: KubeClient): Promise<Lease | undefined> {
  return client.get<Lease>(Resources.leases, RELEASE_NS, LEASE);
}

export async function leaderPod(client: KubeClient): Promise<Pod> {
  const holder = await waitFor('a Lease holder', async () => (await lease(client))?.spec?.holderIdentity || undefined, { timeoutMs: 120_000 });
  const pod = (await operatorPods(client)).find((p) => p.metadata.name === holder);
  if (!pod) throw new Error(`the Lease holder ${holder} is none of the operator pods`);
  return pod;
}

function containerId(pod: Pod): string {
  const status = pod.status?.containerStatuses?.find((c) => c.name === 'operator') ?? pod.status?.containerStatuses?.[0];
  const id = status?.containerID?.replace(/^containerd:\/\//, '');
  if (!id) throw new Error(`pod ${pod.metadata.name} has no container ID yet`);
  return id;
}

/** The host pid of the operator in a pod: its container's task (the image's entry point is node itself). */
export async function operatorPid(cluster: Cluster, pod: Pod): Promise<number> {
  const id = containerId(pod);
  // TASK  PID  STATUS
  const row = (await cluster.node.ctr('tasks', 'ls'))
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .find((f) => f[0] === id);
  const pid = Number(row?.[1]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no running task for container ${id} of ${pod.metadata.name}`);
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  if (!argv.includes('dist/main.js')) throw new Error(`pid ${pid} of ${pod.metadata.name} is not the operator: ${argv.join(' ')}`);
  return pid;
}

async function measureMemory(cluster: Cluster, client: KubeClient, count: number): Promise<NodeResult['memory']> {
  await sleep(IDLE_AFTER_INSTALL_MS);
  const leader = await leaderPod(client);
  const standby = (await operatorPods(client)).find((p) => p.metadata.name !== leader.metadata.name);
  if (!standby) throw new Error('no standby pod');
  const leaderPid = await operatorPid(cluster, leader);
  const idleRssMiB = memoryMiB(leaderPid).now;
  const standbyIdleRssMiB = memoryMiB(await operatorPid(cluster, standby)).now;
  console.error(`bench: node: idle RSS leader ${idleRssMiB} MiB, standby ${standbyIdleRssMiB} MiB`);

  // A SelfSigned root in the release namespace (the cluster resource namespace), a CA ClusterIssuer on it.
  await createCaClusterIssuer(client, RELEASE_NS, 'bench-ca');
  await createNamespace(client, BENCH_NS);

  const names = Array.from({ length: count }, (_, i) => `bench-${String(i).padStart(4, '0')}`);
  const started = performance.now();
  await inBatches(names, 50, (n) =>
    client.create(
      Resources.certificates,
      certificate(BENCH_NS, n, {
        secretName: `${n}-tls`,
        dnsNames: [`${n}.bench.example.test`],
        privateKey: { algorithm: 'ECDSA', size: 256 },
        issuerRef: { kind: 'ClusterIssuer', name: 'bench-ca' },
      }),
    ),
  );
  const progress = await waitAllReady(client, BENCH_NS, count, started, 900_000);
  if ((await lease(client))?.spec?.holderIdentity !== leader.metadata.name) throw new Error('the leader changed during the burst');
  const rssAtAllReadyMiB = memoryMiB(leaderPid).now;
  console.error(`bench: node: ${count} Certificates Ready in ${progress.secondsUntilAllReady} s; leader RSS ${rssAtAllReadyMiB} MiB`);
  await sleep(IDLE_AFTER_BURST_MS);
  const after = memoryMiB(leaderPid);
  return {
    idleRssMiB,
    standbyIdleRssMiB,
    certificates: count,
    secondsUntilAllReady: progress.secondsUntilAllReady,
    rssAtAllReadyMiB,
    rssAfterIdleMiB: after.now,
    peakRssMiB: after.peak,
  };
}

/**
 * A crash of the leader: its container SIGKILLed (the Lease is not released) and its pod force-deleted, so nothing
 * comes back under its identity; then the standby must wait out the Lease. The Deployment's replacement is waited for
 * before the next sample, so each kill finds a Ready standby.
 */
async function measureTakeovers(cluster: Cluster, client: KubeClient): Promise<NodeResult['leaderTakeover']> {
  const samples: NodeResult['leaderTakeover']['samples'] = [];
  let leaseDurationSeconds = 0;
  for (let i = 0; i < TAKEOVER_SAMPLES; i++) {
    await waitAvailable(cluster, client);
    const leader = await leaderPod(client);
    const id = containerId(leader);
    const killed = performance.now();
    await cluster.node.ctr('tasks', 'kill', '--signal', 'SIGKILL', id);
    // Read after the kill: its renewTime is the dead leader's last renewal, which the standby must wait out.
    const before = await lease(client);
    leaseDurationSeconds = before?.spec?.leaseDurationSeconds ?? 0;
    await cluster.cp.kubectl('delete', 'pod', leader.metadata.name, '-n', RELEASE_NS, '--grace-period=0', '--force', '--wait=false');
    const next = await waitFor(
      'another pod to hold the Lease',
      async () => {
        const l = await lease(client);
        const h = l?.spec?.holderIdentity;
        return h && h !== leader.metadata.name ? l : undefined;
      },
      { timeoutMs: 120_000, intervalMs: FILE_POLL_MS },
    );
    const ms = Math.round(performance.now() - killed);
    const lastRenewToAcquireMs = Date.parse(next.spec!.acquireTime!) - Date.parse(before!.spec!.renewTime!);
    await waitAvailable(cluster, client);
    const replacementReadySeconds = +((performance.now() - killed) / 1000).toFixed(1);
    samples.push({ ms, lastRenewToAcquireMs, replacementReadySeconds });
    console.error(`bench: node: leader ${leader.metadata.name} killed; ${next.spec!.holderIdentity} held the Lease after ${ms} ms`);
  }
  return { leaseDurationSeconds, ms: minMedianMax(samples.map((s) => s.ms)), samples };
}

/**
 * A pause pod mounting a Secret, and the Secret changed `changes` times: ms from the API write until the file kubelet
 * projected shows the new value, read from the host. kubelet rewrites the volume when it syncs the pod again (every
 * syncFrequency plus up to half of it in jitter), so a write just after a sync waits a whole period: each write waits
 * for the previous one to land and then a delay spread evenly over the period, so the writes fall at evenly spaced
 * points of the sync cycle rather than all just after a sync (which would measure only the worst case).
 */
async function measureSecretToFile(
  client: KubeClient,
  opts: { syncFrequency: string; periodMs: number; changes: number },
): Promise<MinMedianMax & { changes: number; samplesMs: number[] }> {
  const value = (i: number) => `value-${i}`;
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  await createNamespace(client, MOUNT_NS);
  let secret = await client.create<Secret>(Resources.secrets, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'mounted', namespace: MOUNT_NS },
    data: { value: b64(value(0)) },
  });
  const pod = await client.create<Pod>(PODS, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'mounter', namespace: MOUNT_NS },
    spec: {
      // kubelet sets up only the volumes a container mounts.
      containers: [
        { name: 'pause', image: PAUSE_IMAGE_REF, imagePullPolicy: 'Never', volumeMounts: [{ name: 'secret', mountPath: '/secret', readOnly: true }] },
      ],
      volumes: [{ name: 'secret', secret: { secretName: 'mounted' } }],
      automountServiceAccountToken: false,
      terminationGracePeriodSeconds: 0,
    },
  });
  await waitFor('the mounting pod Running', async () => (await client.get<Pod>(PODS, MOUNT_NS, 'mounter'))?.status?.phase === 'Running', {
    timeoutMs: 120_000,
  });
  const file = join(podVolumeDir(pod.metadata.uid!, 'secret', 'secret'), 'value');
  const shows = (v: string) => {
    try {
      return readFileSync(file, 'utf8') === v;
    } catch {
      return false; // between kubelet's rename steps, or not there yet
    }
  };
  await waitFor('the projected file', () => shows(value(0)), { timeoutMs: 60_000, intervalMs: FILE_POLL_MS });

  const samplesMs: number[] = [];
  for (let i = 1; i <= opts.changes; i++) {
    await sleep(((i - 0.5) / opts.changes) * opts.periodMs);
    const written = performance.now();
    secret = await client.replace<Secret>(Resources.secrets, { ...secret, data: { value: b64(value(i)) } });
    await waitFor(`the projected file to show change ${i}`, () => shows(value(i)), { timeoutMs: 3 * opts.periodMs + 60_000, intervalMs: FILE_POLL_MS });
    samplesMs.push(Math.round(performance.now() - written));
    console.error(`bench: node: syncFrequency ${opts.syncFrequency}: change ${i}/${opts.changes} in the file after ${samplesMs.at(-1)} ms`);
  }
  return { changes: opts.changes, ...minMedianMax(samplesMs), samplesMs };
}

function minMedianMax(values: number[]): MinMedianMax {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
  return { min: v[0]!, median: Math.round(median), max: v.at(-1)! };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
