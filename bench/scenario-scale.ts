// Scale scenario (memory at scale): N CA-issued ECDSA P-256 Certificates with their N Secrets, plus 5 × N unrelated,
// unlabelled Secrets of 100 KiB of random data each spread over 50 namespaces. Reports the operator's RSS 5 s after
// the last Ready (still at work: trailing reconciles, the burst's garbage) and once synced and idle 60 s later (target
// ≤ 150 MiB; after the idle collection, src/runtime/memory-trim.ts), its peak, where the memory sits (its own Node
// metrics), and after a restart: seconds until /readyz (caches synced), seconds until a Certificate created after the
// restart is Ready, seconds until the restart's reconcile of every Certificate drained and the slowest /healthz
// meanwhile, and RSS 30 s after that.
//
// The control plane is set up to hold ~5 GB of Secrets on one machine: no kube-controller-manager (nothing here needs
// garbage collection; its unfiltered Secret informer took 3.6 GiB at 25,000 Secrets and made kube-apiserver keep a
// serialized copy of each for its watch, 10.7 GiB in all), and a soft memory limit for the Go processes so their
// collector works harder rather than doubling the heap. kube-apiserver keeps its watch cache: without one, the
// operator's label-selected list of Secrets is read from etcd whole (5 GB) and took kube-apiserver to 17.6 GiB.
const CONTROL_PLANE_GOMEMLIMIT = '14GiB';
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKubeClient } from '../src/kube/client.ts';
import { Resources } from '../src/kube/resources.ts';
import { startControlPlane } from '../test/env/controlplane.ts';
import { freePort } from '../test/env/ports.ts';
import { certificate, clusterIssuer, createNamespace, waitForReady } from '../test/integration/helpers/objects.ts';
import { startOperator, type OperatorProcess } from '../test/integration/helpers/operator.ts';
import { measureIssuance, memoryFromMetrics, operatorArgs, operatorImage, type IssuanceResult } from './issuance.ts';
import { childRssMiB, inBatches, memoryMiB, scrapeOperator } from './measure.ts';

export const SCALE_TARGET_RSS_MIB = 150;
const NS = 'bench';
const UNRELATED_NAMESPACES = 50;
const UNRELATED_PER_CERTIFICATE = 5;
const UNRELATED_BYTES = 100 * 1024;
const CREATE_CONCURRENCY = 32;
// ~5 GB of Secrets: etcd's default 2 GiB quota would raise NOSPACE.
const ETCD_QUOTA_BYTES = 8 * 2 ** 30;

export interface ScaleResult extends IssuanceResult {
  unrelatedSecrets: { count: number; kibEach: number; namespaces: number; concurrency: number; secondsToCreate: number; perSecond: number };
  /** Operator memory 5 s after the last Certificate was Ready, still at work: VmRSS, VmHWM, and its Node metrics. */
  afterBurst: { rssMiB: number; peakRssMiB: number; metricsMiB: Record<string, number> };
  /** The same 60 s later, idle: what it holds in steady state. */
  settled: { rssMiB: number; metricsMiB: Record<string, number> };
  /** RSS of the control plane's processes after the sync (MiB). */
  controlPlaneRssMiB: Record<string, number>;
  restart: {
    /** SIGTERM until the old process exited. */
    secondsToStop: number;
    /** Start of the new process until /readyz answers 200 (every informer listed and synced). */
    secondsUntilReady: number;
    rssAtReadyMiB: number;
    /** A Certificate created right after /readyz: seconds until it is Ready. */
    secondsNewCertificateReady: number;
    /** /readyz until the restart's reconcile of every Certificate has drained the work queue. */
    secondsUntilResynced: number;
    /** The slowest /healthz answer while that queue drained (asked every second). */
    maxHealthzMs: number;
    /** 30 s after the queue drained: the operator idle, as it stays until the next renewal. */
    rssAfterSettleMiB: number;
    peakRssMiB: number;
    metricsMiB: Record<string, number>;
  };
}

export async function benchScale(opts: { count: number; crdsDir: string }): Promise<ScaleResult> {
  process.env.GOMEMLIMIT ??= CONTROL_PLANE_GOMEMLIMIT; // inherited by the control plane's processes
  const cp = await startControlPlane({
    crdsDir: opts.crdsDir,
    etcdQuotaBackendBytes: ETCD_QUOTA_BYTES,
    withControllerManager: false,
  });
  const logDir = await mkdtemp(join(tmpdir(), 'certsmith-bench-scale-'));
  const operators: OperatorProcess[] = [];
  try {
    const client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath, maxSockets: 64 });
    await createNamespace(client, 'certsmith');
    await createNamespace(client, NS);
    const unrelatedNamespaces = Array.from({ length: UNRELATED_NAMESPACES }, (_, i) => `unrelated-${String(i).padStart(2, '0')}`);
    for (const ns of unrelatedNamespaces) await createNamespace(client, ns);

    // The unrelated Secrets, before the operator starts: its first list sees the whole cluster.
    const unrelated = opts.count * UNRELATED_PER_CERTIFICATE;
    const indexes = Array.from({ length: unrelated }, (_, i) => i);
    const createStarted = performance.now();
    let created = 0;
    await inBatches(indexes, CREATE_CONCURRENCY, async (i) => {
      await client.create(Resources.secrets, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { namespace: unrelatedNamespaces[i % UNRELATED_NAMESPACES]!, name: `unrelated-${String(i).padStart(5, '0')}` },
        type: 'Opaque',
        data: { blob: randomBytes(UNRELATED_BYTES).toString('base64') },
      });
      if (++created % 5000 === 0)
        console.error(`bench: scale: ${created}/${unrelated} unrelated Secrets after ${((performance.now() - createStarted) / 1000).toFixed(0)} s`);
    });
    const createSeconds = (performance.now() - createStarted) / 1000;
    console.error(`bench: scale: ${unrelated} unrelated Secrets of ${UNRELATED_BYTES / 1024} KiB in ${createSeconds.toFixed(1)} s`);

    const metricsPort = await freePort();
    const start = (name: string) => {
      const op = startOperator({ ...operatorImage(), kubeconfigPath: cp.kubeconfigPath, logDir, name, args: operatorArgs(metricsPort) });
      operators.push(op);
      return op;
    };
    const operator = start('operator');
    await client.create(Resources.clusterIssuers, clusterIssuer('selfsigned', { selfSigned: {} }));
    await client.create(
      Resources.certificates,
      certificate('certsmith', 'bench-ca', {
        secretName: 'bench-ca',
        isCA: true,
        commonName: 'bench CA',
        issuerRef: { kind: 'ClusterIssuer', name: 'selfsigned' },
      }),
    );
    await waitForReady(client, Resources.certificates, 'certsmith', 'bench-ca', undefined, 180_000);
    await client.create(Resources.clusterIssuers, clusterIssuer('bench-ca', { ca: { secretName: 'bench-ca' } }));
    await waitForReady(client, Resources.clusterIssuers, undefined, 'bench-ca', undefined, 180_000);
    await new Promise((r) => setTimeout(r, 1000));

    const spec = (n: string) => ({
      dnsNames: [`${n}.bench.example.test`],
      privateKey: { algorithm: 'ECDSA' as const, size: 256 },
      issuerRef: { kind: 'ClusterIssuer' as const, name: 'bench-ca' },
    });
    const issuance = await measureIssuance({ cp, client, operator, metricsPort, namespace: NS, count: opts.count, spec });
    const synced = memoryMiB(operator.pid());
    const syncedMetrics = memoryFromMetrics(await scrapeOperator(metricsPort));
    console.error(`bench: scale: all ${opts.count} Ready in ${issuance.secondsUntilAllReady} s; operator RSS ${synced.now} MiB, peak ${synced.peak} MiB`);
    const controlPlaneRssMiB = childRssMiB();
    await new Promise((r) => setTimeout(r, 60_000));
    const idle = { rssMiB: memoryMiB(operator.pid()).now, metricsMiB: memoryFromMetrics(await scrapeOperator(metricsPort)) };
    console.error(`bench: scale: operator RSS ${idle.rssMiB} MiB after 60 s idle`);

    // Restart: SIGTERM, then a new process on the same metrics port.
    const stopStarted = performance.now();
    await operator.stop();
    const secondsToStop = (performance.now() - stopStarted) / 1000;
    const restarted = performance.now();
    const again = start('operator-restarted');
    for (;;) {
      if (again.exitCode() !== null) throw new Error(`the restarted operator exited with ${again.exitCode()}: ${(await again.logs()).slice(-2000)}`);
      const ok = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (performance.now() - restarted > 300_000) throw new Error('the restarted operator was not ready after 300 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    const secondsUntilReady = (performance.now() - restarted) / 1000;
    const rssAtReady = memoryMiB(again.pid()).now;
    const newStarted = performance.now();
    const name = 'after-restart';
    await client.create(Resources.certificates, certificate(NS, name, { secretName: `${name}-tls`, ...spec(name) }));
    await waitForReady(client, Resources.certificates, NS, name, undefined, 300_000);
    const secondsNewCertificateReady = (performance.now() - newStarted) / 1000;
    // Every Certificate is reconciled once after a start. Liveness probes and the Lease must be answered meanwhile.
    let maxHealthzMs = 0;
    for (;;) {
      const asked = performance.now();
      const ok = await fetch(`http://127.0.0.1:${metricsPort}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      maxHealthzMs = Math.max(maxHealthzMs, performance.now() - asked);
      if (!ok) throw new Error('the restarted operator failed /healthz');
      const depth = (await scrapeOperator(metricsPort)).find((x) => x.name === 'certsmith_workqueue_depth' && x.labels.name === 'certificates')?.value;
      if (depth === 0) break;
      if (performance.now() - restarted > 600_000) throw new Error('the restarted operator had not reconciled every Certificate after 600 s');
      await new Promise((r) => setTimeout(r, 1000));
    }
    const secondsUntilResynced = (performance.now() - restarted) / 1000 - secondsUntilReady;
    await new Promise((r) => setTimeout(r, 30_000));
    const settled = memoryMiB(again.pid());
    const restartMetrics = memoryFromMetrics(await scrapeOperator(metricsPort));

    return {
      ...issuance,
      unrelatedSecrets: {
        count: unrelated,
        kibEach: UNRELATED_BYTES / 1024,
        namespaces: UNRELATED_NAMESPACES,
        concurrency: CREATE_CONCURRENCY,
        secondsToCreate: +createSeconds.toFixed(1),
        perSecond: +(unrelated / createSeconds).toFixed(1),
      },
      afterBurst: { rssMiB: synced.now, peakRssMiB: synced.peak, metricsMiB: syncedMetrics },
      settled: idle,
      controlPlaneRssMiB,
      restart: {
        secondsToStop: +secondsToStop.toFixed(2),
        secondsUntilReady: +secondsUntilReady.toFixed(2),
        rssAtReadyMiB: rssAtReady,
        secondsNewCertificateReady: +secondsNewCertificateReady.toFixed(2),
        secondsUntilResynced: +secondsUntilResynced.toFixed(1),
        maxHealthzMs: Math.round(maxHealthzMs),
        rssAfterSettleMiB: settled.now,
        peakRssMiB: settled.peak,
        metricsMiB: restartMetrics,
      },
    };
  } finally {
    for (const op of operators) await op.stop();
    await cp.stop();
  }
}
