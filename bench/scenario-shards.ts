// Shards scenario (not run by default; `npm run bench -- shards [--count N]`, ~25 min at 30,000): on one control plane,
// first the API server's own write ceiling (a plain loop creating 3,000 small Secrets, 32 in flight), then N CA-issued
// ECDSA P-256 Certificates with one replica (--shards 1), then, those deleted, N more with three replicas (--shards 3).
// Each: seconds until all Ready (from the first create), API writes per issuance, each replica's peak RSS and its RSS
// idle 60 s after, and a restart: SIGTERM one replica, start it again, seconds until /readyz and until it works again
// (sharded: holds a shard and has reconciled it). Duplicate issuance: every Certificate must end at revision 1.
import { execFileSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Certificate } from '../src/api/certificate.ts';
import type { KubeObject } from '../src/api/meta.ts';
import { createKubeClient, type KubeClient } from '../src/kube/client.ts';
import { Resources } from '../src/kube/resources.ts';
import { shardLeaseName } from '../src/sharding/coordinator.ts';
import { startControlPlane, type ControlPlane } from '../test/env/controlplane.ts';
import { freePort } from '../test/env/ports.ts';
import { createCaClusterIssuer } from '../test/integration/helpers/issuers.ts';
import { certificate, createNamespace } from '../test/integration/helpers/objects.ts';
import { startOperator, type OperatorProcess } from '../test/integration/helpers/operator.ts';
import { OPERATOR_WORKERS, operatorImage, type IssuanceResult } from './issuance.ts';
import { apiWriteCounts, inBatches, memoryMiB, operatorWrites, scrapeOperator } from './measure.ts';

const CONTROL_PLANE_GOMEMLIMIT = '14GiB';
const ETCD_QUOTA_BYTES = 8 * 2 ** 30;
const CEILING_SECRETS = 3000;
const CREATE_CONCURRENCY = 32;
const IDLE_SECONDS = 60;

export interface ShardsRun
  extends Pick<IssuanceResult, 'certificates' | 'secondsToCreate' | 'secondsUntilAllReady' | 'issuancesPerSecond' | 'writesPerIssuance' | 'writesByKind'> {
  replicas: number;
  shards: number;
  /** Per replica: VmHWM through the issuance, VmRSS after IDLE_SECONDS idle. */
  rssMiB: Record<string, { peak: number; idle: number }>;
  /** Certificates whose revision is above 1 at the end: issued more than once. */
  issuedMoreThanOnce: number;
  restart: { replica: string; secondsUntilReady: number; secondsUntilWorking: number; rssAfterMiB: number };
}

export interface ShardsResult {
  certificates: number;
  apiServerCeiling: { secrets: number; concurrency: number; seconds: number; perSecond: number };
  one: ShardsRun;
  three: ShardsRun;
}

interface Replica {
  name: string;
  port: number;
  process: OperatorProcess;
}

export async function benchShards(opts: { count: number; crdsDir: string }): Promise<ShardsResult> {
  process.env.GOMEMLIMIT ??= CONTROL_PLANE_GOMEMLIMIT;
  const cp = await startControlPlane({ crdsDir: opts.crdsDir, etcdQuotaBackendBytes: ETCD_QUOTA_BYTES, withControllerManager: false });
  const logDir = await mkdtemp(join(tmpdir(), 'certsmith-bench-shards-'));
  const running: Replica[] = [];
  try {
    const client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath, maxSockets: 64 });
    for (const ns of ['certsmith', 'ceiling', 'one', 'three']) await createNamespace(client, ns);

    // The physical limit: how fast this API server takes plain creates of small objects.
    const ceilingStarted = performance.now();
    await inBatches(
      Array.from({ length: CEILING_SECRETS }, (_, i) => i),
      CREATE_CONCURRENCY,
      (i) =>
        client.create(Resources.secrets, {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { namespace: 'ceiling', name: `s-${i}` },
          data: { v: Buffer.from(String(i)).toString('base64') },
        }),
    );
    const ceilingSeconds = (performance.now() - ceilingStarted) / 1000;
    console.error(`bench: shards: ${CEILING_SECRETS} small Secrets in ${ceilingSeconds.toFixed(1)} s`);

    const start = async (name: string, shards: number): Promise<Replica> => {
      const port = await freePort();
      const process = startOperator({
        ...operatorImage(),
        kubeconfigPath: cp.kubeconfigPath,
        logDir,
        name,
        args: [
          `--leader-elect=${shards > 1}`,
          '--log-level=warn',
          `--workers=${OPERATOR_WORKERS}`,
          '--health-host=127.0.0.1',
          `--health-port=${port}`,
          `--shards=${shards}`,
        ],
      });
      const r = { name, port, process };
      running.push(r);
      return r;
    };
    const stopAll = async () => {
      await Promise.all(running.map((r) => r.process.stop()));
      running.length = 0;
    };

    // The CA, issued and served by a first replica that stays for the one-replica run.
    let replicas = [await start('one-a', 1)];
    await createCaClusterIssuer(client, 'certsmith', 'bench-ca', 180_000);
    await waitReady(replicas[0]!);

    const one = await measureRun({ cp, client, namespace: 'one', count: opts.count, replicas, shards: 1, restart: (r) => restart(r, 1) });
    await stopAll();
    // A clean slate for the sharded run: without kube-controller-manager, nothing else removes them.
    console.error('bench: shards: deleting the one-replica run’s Certificates and Secrets');
    execFileSync(join(cp.binDir, 'kubectl'), ['--kubeconfig', cp.kubeconfigPath, '-n', 'one', 'delete', 'certificates,secrets', '--all', '--wait=false'], {
      stdio: 'ignore',
      maxBuffer: 64 * 2 ** 20,
    });

    replicas = [await start('three-a', 3), await start('three-b', 3), await start('three-c', 3)];
    await Promise.all(replicas.map(waitReady));
    await waitBalanced(
      client,
      replicas.map((r) => r.name),
    );
    const three = await measureRun({ cp, client, namespace: 'three', count: opts.count, replicas, shards: 3, restart: (r) => restart(r, 3) });
    return {
      certificates: opts.count,
      apiServerCeiling: {
        secrets: CEILING_SECRETS,
        concurrency: CREATE_CONCURRENCY,
        seconds: +ceilingSeconds.toFixed(1),
        perSecond: Math.round(CEILING_SECRETS / ceilingSeconds),
      },
      one,
      three,
    };

    async function restart(r: Replica, shards: number): Promise<{ replica: Replica; secondsUntilReady: number; secondsUntilWorking: number }> {
      await r.process.stop();
      running.splice(running.indexOf(r), 1);
      const started = performance.now();
      const again = await start(r.name, shards);
      await waitReady(again);
      const secondsUntilReady = (performance.now() - started) / 1000;
      // Working: (sharded) holds a shard again, then has reconciled what it holds and its queue is empty.
      for (;;) {
        const samples = await scrapeOperator(again.port);
        const owned = samples.find((s) => s.name === 'certsmith_shards_owned')?.value ?? 0;
        const depth = samples.find((s) => s.name === 'certsmith_workqueue_depth' && s.labels.name === 'certificates')?.value;
        const reconciled = samples
          .filter((s) => s.name === 'certsmith_reconcile_total' && s.labels.controller === 'certificates')
          .reduce((a, s) => a + s.value, 0);
        if ((shards === 1 || owned >= 1) && depth === 0 && reconciled >= opts.count / shards / 2) break;
        if (performance.now() - started > 900_000) throw new Error(`${r.name} had not resynced 900 s after its restart`);
        await new Promise((res) => setTimeout(res, 500));
      }
      return { replica: again, secondsUntilReady, secondsUntilWorking: (performance.now() - started) / 1000 };
    }
  } finally {
    await Promise.all(running.map((r) => r.process.stop()));
    await cp.stop();
  }
}

async function waitReady(r: Replica): Promise<void> {
  const started = performance.now();
  for (;;) {
    if (r.process.exitCode() !== null) throw new Error(`${r.name} exited with ${r.process.exitCode()}: ${(await r.process.logs()).slice(-2000)}`);
    const ok = await fetch(`http://127.0.0.1:${r.port}/readyz`).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return;
    if (performance.now() - started > 300_000) throw new Error(`${r.name} was not ready after 300 s`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

async function waitBalanced(client: KubeClient, names: string[]): Promise<void> {
  const started = performance.now();
  for (;;) {
    const holders: string[] = [];
    for (let s = 0; s < names.length; s++) {
      const l = await client.get<KubeObject & { spec?: { holderIdentity?: string } }>(Resources.leases, 'certsmith', shardLeaseName('certsmith-operator', s));
      holders.push(l?.spec?.holderIdentity ?? '');
    }
    if (names.every((n) => holders.filter((h) => h === n).length === 1)) return;
    if (performance.now() - started > 120_000) throw new Error(`shards not balanced after 120 s: ${holders.join(', ')}`);
    await new Promise((res) => setTimeout(res, 500));
  }
}

/** Watches the namespace's Certificates (a poll of 30,000 would load the API server more than the operator does). */
function watchReady(client: KubeClient, namespace: string, signal: AbortSignal) {
  const ready = new Set<string>();
  const revisions = new Map<string, number>();
  let resourceVersion = '';
  const loop = (async () => {
    resourceVersion = (await client.list<Certificate>(Resources.certificates, { namespace, limit: 1 })).resourceVersion;
    while (!signal.aborted) {
      try {
        await client.watch<Certificate>(Resources.certificates, { namespace, resourceVersion, timeoutSeconds: 300, signal }, (e) => {
          resourceVersion = e.object.metadata.resourceVersion ?? resourceVersion;
          const c = e.object;
          const r = c.status?.conditions?.find((x) => x.type === 'Ready');
          if (r?.status === 'True' && r.observedGeneration === c.metadata.generation) ready.add(c.metadata.name);
          if (c.status?.revision !== undefined) revisions.set(c.metadata.name, c.status.revision);
        });
      } catch {
        if (!signal.aborted) await new Promise((res) => setTimeout(res, 200));
      }
    }
  })();
  return { ready, revisions, loop };
}

async function measureRun(o: {
  cp: ControlPlane;
  client: KubeClient;
  namespace: string;
  count: number;
  replicas: Replica[];
  shards: number;
  restart: (r: Replica) => Promise<{ replica: Replica; secondsUntilReady: number; secondsUntilWorking: number }>;
}): Promise<ShardsRun> {
  const { client, namespace, count } = o;
  const stopWatch = new AbortController();
  const watch = watchReady(client, namespace, stopWatch.signal);
  await new Promise((r) => setTimeout(r, 500));
  const writesBefore = apiWriteCounts(o.cp.binDir, o.cp.kubeconfigPath);
  const names = Array.from({ length: count }, (_, i) => `c-${String(i).padStart(5, '0')}`);
  const started = performance.now();
  await inBatches(names, 50, (n) =>
    client.create(
      Resources.certificates,
      certificate(namespace, n, {
        secretName: `${n}-tls`,
        dnsNames: [`${n}.bench.example.test`],
        privateKey: { algorithm: 'ECDSA', size: 256 },
        issuerRef: { kind: 'ClusterIssuer', name: 'bench-ca' },
      }),
    ),
  );
  const secondsToCreate = (performance.now() - started) / 1000;
  console.error(`bench: shards: ${o.replicas.length} replica(s): ${count} created in ${secondsToCreate.toFixed(1)} s`);
  let lastLog = 0;
  while (watch.ready.size < count) {
    const elapsed = (performance.now() - started) / 1000;
    if (elapsed - lastLog >= 30) {
      console.error(`bench: shards: ${o.replicas.length} replica(s): ${watch.ready.size}/${count} Ready after ${elapsed.toFixed(0)} s`);
      lastLog = elapsed;
    }
    if (elapsed > 3600) throw new Error(`only ${watch.ready.size}/${count} Ready after an hour`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const secondsUntilAllReady = (performance.now() - started) / 1000;
  console.error(`bench: shards: ${o.replicas.length} replica(s): all ${count} Ready in ${secondsUntilAllReady.toFixed(1)} s`);
  await new Promise((r) => setTimeout(r, 5000));
  const writes = operatorWrites(writesBefore, apiWriteCounts(o.cp.binDir, o.cp.kubeconfigPath), count);
  const peaks = Object.fromEntries(o.replicas.map((r) => [r.name, memoryMiB(r.process.pid()).peak]));
  await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
  const rssMiB = Object.fromEntries(o.replicas.map((r) => [r.name, { peak: peaks[r.name]!, idle: memoryMiB(r.process.pid()).now }]));
  console.error(`bench: shards: ${o.replicas.length} replica(s): RSS ${JSON.stringify(rssMiB)}`);
  const restarted = await o.restart(o.replicas.at(-1)!);
  o.replicas[o.replicas.length - 1] = restarted.replica;
  await new Promise((r) => setTimeout(r, 10_000));
  const rssAfterMiB = memoryMiB(restarted.replica.process.pid()).now;
  stopWatch.abort();
  await watch.loop.catch(() => {});
  return {
    replicas: o.replicas.length,
    shards: o.shards,
    certificates: count,
    secondsToCreate: +secondsToCreate.toFixed(1),
    secondsUntilAllReady: +secondsUntilAllReady.toFixed(1),
    issuancesPerSecond: +(count / secondsUntilAllReady).toFixed(1),
    ...writes,
    rssMiB,
    issuedMoreThanOnce: [...watch.revisions.values()].filter((r) => r > 1).length,
    restart: {
      replica: restarted.replica.name,
      secondsUntilReady: +restarted.secondsUntilReady.toFixed(1),
      secondsUntilWorking: +restarted.secondsUntilWorking.toFixed(1),
      rssAfterMiB,
    },
  };
}
