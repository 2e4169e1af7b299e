// The measured part every scenario shares: create N Certificates at once, wait until all are Ready, and read what it
// cost — API writes, operator memory and CPU, reconcile time per controller, and what the operator logged.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CertificateSpec } from '../src/api/certificate.ts';
import type { KubeClient } from '../src/kube/client.ts';
import { Resources } from '../src/kube/resources.ts';
import type { ControlPlane } from '../test/env/controlplane.ts';
import { certificate } from '../test/integration/helpers/objects.ts';
import type { OperatorProcess } from '../test/integration/helpers/operator.ts';
import {
  apiWriteCounts,
  childCpuSeconds,
  cpuDelta,
  inBatches,
  memoryMiB,
  metricDelta,
  operatorWrites,
  scrapeOperator,
  waitAllReady,
  type Progress,
  type Sample,
} from './measure.ts';

export interface IssuanceRun {
  cp: ControlPlane;
  client: KubeClient;
  operator: OperatorProcess;
  /** Port of the operator's /metrics. */
  metricsPort: number;
  namespace: string;
  count: number;
  /** The Certificate spec for the i-th name (secretName is set here). */
  spec(name: string): Omit<CertificateSpec, 'secretName'>;
}

export interface IssuanceResult {
  certificates: number;
  secondsToCreate: number;
  secondsUntilAllReady: number;
  issuancesPerSecond: number;
  writesPerIssuance: number;
  writesByKind: Record<string, number>;
  operatorPeakRssMiB: number;
  operatorRssAfterMiB: number;
  readyAt: Progress['readyAt'];
  breakdown: Breakdown;
  /** Warnings and errors the operator logged during the run, by message. */
  operatorLog: Record<string, number>;
  timeline: Progress['timeline'];
}

export interface Breakdown {
  /** CPU seconds of each process until all were Ready. */
  cpuSeconds: Record<string, number>;
  /** Per controller: reconciles, seconds spent in them (summed over workers), mean milliseconds. */
  reconciles: Record<string, { count: number; busySeconds: number; meanMs: number }>;
  reconcileResults: Record<string, number>;
  workqueueRetries: Record<string, number>;
  /** Requests to the ACME server by method and HTTP status, per Certificate. */
  acmeRequestsPerCertificate: Record<string, number>;
  issuanceMeanSeconds: Record<string, number>;
  ordersPlacedByOperator: number;
  /** Where the operator's memory sits at the end, from its own Node metrics. */
  memoryAtEndMiB: Record<string, number>;
}

export const OPERATOR_WORKERS = 16;
/** The compiled operator, as the image runs it (`npm run build`; run.ts builds it first): type stripping of the
 * sources at load costs about 25 MiB of RSS that production never pays. */
export const OPERATOR_ENTRY = join(import.meta.dirname, '..', 'dist', 'main.js');
/**
 * The operator as the image runs it (Dockerfile: ENTRYPOINT and ENV). A young generation of at most 2 × 4 MiB: V8's
 * default grows it to ~100 MiB under the issuance burst (peak RSS 160 → 275 MiB for 1,000 Certificates). The old
 * generation grows by 25 % over what survived the last full collection, not V8's adaptive 1.1–4 ×, so the slack an
 * issuance burst leaves is smaller. The collector exposed, for one last-resort collection when the operator falls idle
 * after a burst (src/runtime/memory-trim.ts). jemalloc preloaded: glibc's malloc keeps what a burst freed.
 * This machine's jemalloc stands in for the image's; a machine without it fails here, not with other figures.
 */
export function operatorImage(): { entry: string; nodeFlags: string[]; env: Record<string, string> } {
  return {
    entry: OPERATOR_ENTRY,
    nodeFlags: ['--max-semi-space-size=4', '--heap-growing-percent=25', '--expose-gc'],
    env: { LD_PRELOAD: localJemalloc() },
  };
}

const JEMALLOC = 'libjemalloc.so.2';
const LIBRARY_DIRS = ['/usr/lib/x86_64-linux-gnu', '/usr/lib/aarch64-linux-gnu', '/usr/lib64', '/usr/lib'];

/** Where this machine's jemalloc is (Debian's libjemalloc2). */
export function localJemalloc(): string {
  const found = LIBRARY_DIRS.map((dir) => join(dir, JEMALLOC)).find((path) => existsSync(path));
  if (!found)
    throw new Error(`${JEMALLOC} not found in ${LIBRARY_DIRS.join(', ')}: run \`bash test/env/system-packages.sh\` (installs the Debian package libjemalloc2)`);
  return found;
}

/** The flags every scenario runs the operator with: one replica, 16 workers, quiet logs, metrics on a known port. */
export function operatorArgs(metricsPort: number): string[] {
  return ['--leader-elect=false', '--log-level=warn', `--workers=${OPERATOR_WORKERS}`, '--health-host=127.0.0.1', `--health-port=${metricsPort}`];
}

export async function measureIssuance(run: IssuanceRun): Promise<IssuanceResult> {
  const { cp, client, operator, namespace, count } = run;
  const names = Array.from({ length: count }, (_, i) => `bench-${String(i).padStart(4, '0')}`);
  const logOffset = (await operator.logs()).length;
  const writesBefore = apiWriteCounts(cp.binDir, cp.kubeconfigPath);
  const metricsBefore = await scrapeOperator(run.metricsPort);
  const processNames = { [operator.pid()]: 'operator' };
  const cpuBefore = childCpuSeconds(processNames);

  const started = performance.now();
  await inBatches(names, 50, (n) => client.create(Resources.certificates, certificate(namespace, n, { secretName: `${n}-tls`, ...run.spec(n) })));
  const createdMs = performance.now() - started;
  const progress = await waitAllReady(client, namespace, count, started);
  const cpuAtReady = childCpuSeconds(processNames);
  // Let trailing no-op reconciles finish, so the write count includes any the design causes.
  await new Promise((r) => setTimeout(r, 5000));

  const writesAfter = apiWriteCounts(cp.binDir, cp.kubeconfigPath);
  const metricsAfter = await scrapeOperator(run.metricsPort);
  const memory = memoryMiB(operator.pid());
  return {
    certificates: count,
    secondsToCreate: +(createdMs / 1000).toFixed(2),
    secondsUntilAllReady: progress.secondsUntilAllReady,
    issuancesPerSecond: +(count / progress.secondsUntilAllReady).toFixed(1),
    ...operatorWrites(writesBefore, writesAfter, count),
    operatorPeakRssMiB: memory.peak,
    operatorRssAfterMiB: memory.now,
    readyAt: progress.readyAt,
    breakdown: breakdown(metricsBefore, metricsAfter, cpuDelta(cpuBefore, cpuAtReady), count),
    operatorLog: warningsByMessage((await operator.logs()).slice(logOffset)),
    timeline: progress.timeline,
  };
}

function breakdown(before: Sample[], after: Sample[], cpuSeconds: Record<string, number>, count: number): Breakdown {
  const sums = metricDelta(before, after, 'certsmith_reconcile_duration_seconds_sum', ['controller']);
  const counts = metricDelta(before, after, 'certsmith_reconcile_duration_seconds_count', ['controller']);
  const reconciles = Object.fromEntries(
    Object.keys(counts).map((c) => [
      c,
      { count: counts[c]!, busySeconds: +(sums[c] ?? 0).toFixed(1), meanMs: +(((sums[c] ?? 0) / counts[c]!) * 1000).toFixed(1) },
    ]),
  );
  const issuanceSum = metricDelta(before, after, 'certsmith_issuance_duration_seconds_sum', ['issuer_kind']);
  const issuanceCount = metricDelta(before, after, 'certsmith_issuance_duration_seconds_count', ['issuer_kind']);
  const acme = metricDelta(before, after, 'certsmith_acme_requests_total', ['method', 'status']);
  return {
    cpuSeconds,
    reconciles,
    reconcileResults: metricDelta(before, after, 'certsmith_reconcile_total', ['controller', 'result']),
    workqueueRetries: metricDelta(before, after, 'certsmith_workqueue_retries_total', ['name']),
    acmeRequestsPerCertificate: Object.fromEntries(Object.entries(acme).map(([k, v]) => [k, +(v / count).toFixed(2)])),
    issuanceMeanSeconds: Object.fromEntries(Object.keys(issuanceCount).map((k) => [k, +((issuanceSum[k] ?? 0) / issuanceCount[k]!).toFixed(2)])),
    ordersPlacedByOperator: Object.values(metricDelta(before, after, 'certsmith_acme_orders_total', [])).reduce((a, b) => a + b, 0),
    memoryAtEndMiB: memoryFromMetrics(after),
  };
}

/** pino lines at warn (40) or above, counted by message. */
function warningsByMessage(log: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of log.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string; code?: string; err?: { code?: string } };
      if ((entry.level ?? 0) < 40) continue;
      const code = entry.code ?? entry.err?.code;
      const key = `${entry.level! >= 50 ? 'error' : 'warn'}: ${entry.msg ?? '?'}${code ? ` (${code})` : ''}`;
      out[key] = (out[key] ?? 0) + 1;
    } catch {
      // not a log line (e.g. a stack trace on stderr)
    }
  }
  return out;
}

export function memoryFromMetrics(samples: Sample[]): Record<string, number> {
  const mib = (name: string) => +(samples.filter((x) => x.name === name).reduce((a, x) => a + x.value, 0) / 2 ** 20).toFixed(1);
  return {
    rss: mib('certsmith_process_resident_memory_bytes'),
    heapTotal: mib('certsmith_nodejs_heap_size_total_bytes'),
    heapUsed: mib('certsmith_nodejs_heap_size_used_bytes'),
    external: mib('certsmith_nodejs_external_memory_bytes'),
  };
}
