// `npm run bench [-- ca|acme|bundle|reload|handshakes ...] [--count N] [--breakdown]`: issuance and trust benchmarks,
// the cluster ones each on a fresh local control plane with its own operator, so writes and memory are per scenario.
//   ca          1,000 ECDSA P-256 Certificates from one CA issuer, created at once.
//   acme        500 Certificates through Pebble over HTTP-01 (PEBBLE_VA_NOSLEEP=1), created at once; target: all Ready
//               within 60 s, exactly one order per Certificate.
//   bundle      a TrustBundle with a ConfigMap target in 1,000 namespaces: seconds from a source change until all
//               targets hold it (target ≤ 10 s), and writes of a no-op resync (target 0). --count: namespaces.
//   reload      certsmith/reload: 200 kubelet-style certificate swaps, `..data` rename → first handshake presenting
//               the new certificate (target p99 ≤ 100 ms). --count: swaps.
//   handshakes  handshakes per second of the reload server helper against a static tls.createServer (target
//               ≥ 95 %), 10 s each in alternating rounds. --count: seconds each.
//   scale       memory at scale, not run by default (~20 min, ~17 GiB of memory for the control plane; `npm run bench
//               -- scale`): 10,000 CA Certificates plus 50,000 unrelated 100 KiB Secrets; operator RSS 5 s after the last
//               Ready and, synced and idle, 60 s later (target ≤ 150 MiB), then a restart: seconds until /readyz
//               and until a new Certificate is Ready. --count: Certificates (unrelated Secrets: 5 ×).
//   node        the operator as pods on the real one-node cluster, not run by default (root, the machine's one node,
//               ~20 min; `npm run bench -- node`): startCluster until the node is Ready (warm; the image step timed
//               apart), `helm install --wait` of the chart's defaults until 2 pods Ready, the leader's RSS idle and
//               after 1,000 CA Certificates (seconds until all Ready), leader pod killed → new Lease holder (3
//               samples), and Secret change → file in a pod with kubelet's syncFrequency 1m and 10s. --count:
//               Certificates.
//   shards      sharding, not run by default (~25 min at 30,000; `npm run bench -- shards`): on one control plane the
//               API server's write ceiling (3,000 small Secrets), then N CA Certificates with one replica, then N more
//               with three (--shards 3): seconds until all Ready, writes per issuance, each replica's peak and idle
//               RSS, a restart until working again, Certificates issued more than once. --count: Certificates
//               (default 30,000).
//   pods        pod certificates on the real one-node cluster, not run by default (root, the machine's one node;
//               `npm run bench -- pods`): N pause pods created at once, without and then with a podCertificate
//               volume: seconds until all Running, the signer's latency per request (p50/p90/p99), the operator's API
//               writes per request and its RSS. --count: pods (default 200).
// Reports seconds until all are Ready, API writes per issuance (from the API server's own counters) and the
// operator's peak RSS; ACME adds orders per Certificate counted at Pebble. Printed as JSON and a table, and written
// to bench/results/latest.json with the machine and date. Where the time went is printed when ACME misses its
// target, or always with --breakdown.
import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { OPERATOR_WORKERS, type IssuanceResult } from './issuance.ts';
import { benchAcme, type AcmeResult } from './scenario-acme.ts';
import { BUNDLE_TARGET_SECONDS, benchBundle, type BundleResult } from './scenario-bundle.ts';
import { benchCa } from './scenario-ca.ts';
import { benchHandshakes, HANDSHAKE_TARGET_RATIO, type HandshakeResult } from './scenario-handshakes.ts';
import { benchNode, type NodeResult } from './scenario-node.ts';
import { benchPods, type PodsResult } from './scenario-pods.ts';
import { benchReload, RELOAD_TARGET_P99_MS, type ReloadResult } from './scenario-reload.ts';
import { benchScale, SCALE_TARGET_RSS_MIB, type ScaleResult } from './scenario-scale.ts';
import { benchShards, type ShardsResult } from './scenario-shards.ts';

type Run = (o: {
  count: number;
  crdsDir: string;
}) => Promise<IssuanceResult | AcmeResult | BundleResult | ReloadResult | HandshakeResult | ScaleResult | NodeResult | PodsResult | ShardsResult>;
const SCENARIOS: Record<
  'ca' | 'acme' | 'bundle' | 'reload' | 'handshakes' | 'scale' | 'node' | 'pods' | 'shards',
  { defaultCount: number; unit: string; run: Run }
> = {
  ca: { defaultCount: 1000, unit: 'Certificates', run: benchCa },
  acme: { defaultCount: 500, unit: 'Certificates', run: benchAcme },
  bundle: { defaultCount: 1000, unit: 'namespaces', run: benchBundle },
  reload: { defaultCount: 200, unit: 'swaps', run: benchReload },
  handshakes: { defaultCount: 10, unit: 'seconds each', run: (o) => benchHandshakes({ secondsEach: o.count }) },
  scale: { defaultCount: 10_000, unit: 'Certificates', run: benchScale },
  node: { defaultCount: 1000, unit: 'Certificates', run: benchNode },
  pods: { defaultCount: 200, unit: 'pods', run: benchPods },
  shards: { defaultCount: 30_000, unit: 'Certificates', run: benchShards },
};
/** Only when named: the scale scenario takes ~20 minutes, ~5 GB of etcd and ~17 GiB for the control plane; the node
 * scenario needs root and the machine's one node. */
const NOT_BY_DEFAULT: ScenarioName[] = ['scale', 'node', 'pods', 'shards'];
type ScenarioName = keyof typeof SCENARIOS;
const ISSUANCE: ScenarioName[] = ['ca', 'acme'];
const ACME_TARGET_SECONDS = 60;

const root = join(import.meta.dirname, '..');
const { values, positionals } = parseArgs({ allowPositionals: true, options: { count: { type: 'string' }, breakdown: { type: 'boolean' } } });
const unknown = positionals.filter((p) => !(p in SCENARIOS));
if (unknown.length > 0) {
  console.error(`unknown scenario ${unknown.join(', ')}; usage: npm run bench [-- ${Object.keys(SCENARIOS).join('|')} ...] [--count N] [--breakdown]`);
  process.exit(2);
}
const countArg = values.count ?? process.env.BENCH_COUNT;
const count = countArg === undefined ? undefined : Number(countArg);
if (count !== undefined && !(Number.isInteger(count) && count > 0)) {
  console.error(`--count must be a positive integer, not ${countArg}`);
  process.exit(2);
}
const selected = (
  positionals.length > 0 ? [...new Set(positionals)] : Object.keys(SCENARIOS).filter((n) => !NOT_BY_DEFAULT.includes(n as ScenarioName))
) as ScenarioName[];

const machine = {
  cpuModel: cpus()[0]?.model ?? 'unknown',
  cores: cpus().length,
  memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
  node: process.version,
  kernel: release(),
  // A busy machine makes every number worse: say how busy it was.
  loadAverage1mAtStart: +loadavg()[0]!.toFixed(2),
};
// The operator runs compiled, as the image runs it.
console.error('bench: compiling the operator to dist/');
const built = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
if (built.status !== 0) {
  console.error('bench: compiling the operator failed');
  process.exit(1);
}
type Result = IssuanceResult | AcmeResult | BundleResult | ReloadResult | HandshakeResult | ScaleResult | NodeResult | PodsResult | ShardsResult;
const results: Partial<Record<ScenarioName, Result | { error: string }>> = {};
let failed = false;
for (const name of selected) {
  const scenario = SCENARIOS[name];
  console.error(`bench: ${name} with ${count ?? scenario.defaultCount} ${scenario.unit}`);
  try {
    const result = await scenario.run({ count: count ?? scenario.defaultCount, crdsDir: join(root, 'crds') });
    results[name] = result;
    const { timeline: _timeline, ...shown } = result as Partial<IssuanceResult>;
    console.log(JSON.stringify({ scenario: name, ...shown }, null, 2));
  } catch (err) {
    failed = true;
    results[name] = { error: (err as Error).stack ?? String(err) };
    console.error(`bench: ${name} failed: ${(err as Error).stack ?? String(err)}`);
  }
}

const report = { date: new Date().toISOString(), machine, scenarios: results };
await mkdir(join(root, 'bench/results'), { recursive: true });
await writeFile(join(root, 'bench/results/latest.json'), JSON.stringify(report, null, 2) + '\n');
console.log(`\n${machine.cores} × ${machine.cpuModel}, ${machine.memoryGiB} GiB, Node ${machine.node}, load ${machine.loadAverage1mAtStart} at start`);
const issuance = Object.fromEntries(ISSUANCE.filter((n) => results[n]).map((n) => [n, results[n]])) as Partial<
  Record<ScenarioName, IssuanceResult | AcmeResult | { error: string }>
>;
if (Object.keys(issuance).length > 0) console.log(table(issuance));
const trust = trustTable(results);
if (trust) console.log(`\n${trust}`);
const acme = results.acme;
if (acme && !('error' in acme) && 'orders' in acme) {
  if (acme.orders.perCertificate !== 1) console.log(`\nacme: ${acme.orders.atCa} orders for ${acme.certificates} Certificates: ${JSON.stringify(acme.orders)}`);
  if (acme.secondsUntilAllReady > ACME_TARGET_SECONDS)
    console.log(`\nacme missed the ${ACME_TARGET_SECONDS} s target; where the time went:\n${whereTimeWent(acme)}`);
  else if (values.breakdown) console.log(`\nacme, where the time went:\n${whereTimeWent(acme)}`);
}
const ca = results.ca;
if (values.breakdown && ca && !('error' in ca)) console.log(`\nca, where the time went:\n${whereTimeWent(ca as IssuanceResult)}`);
console.log('written to bench/results/latest.json');
process.exit(failed ? 1 : 0);

function table(rows: Partial<Record<ScenarioName, IssuanceResult | AcmeResult | { error: string }>>): string {
  const names = Object.keys(rows) as ScenarioName[];
  const cell = (r: (typeof rows)[ScenarioName], f: (x: IssuanceResult & Partial<AcmeResult>) => string) =>
    !r ? '' : 'error' in r ? 'failed' : f(r as IssuanceResult & Partial<AcmeResult>);
  const lines: [string, (x: IssuanceResult & Partial<AcmeResult>) => string][] = [
    ['Certificates', (x) => String(x.certificates)],
    [
      'seconds until all Ready',
      (x) => `${x.secondsUntilAllReady}${x.orders ? (x.secondsUntilAllReady <= ACME_TARGET_SECONDS ? ' (≤ 60 ✓)' : ' (> 60 ✗)') : ''}`,
    ],
    ['  50% / 90% Ready at (s)', (x) => `${x.readyAt.half} / ${x.readyAt.p90}`],
    ['issuances per second', (x) => String(x.issuancesPerSecond)],
    ['API writes per issuance', (x) => String(x.writesPerIssuance)],
    ['orders per Certificate', (x) => (x.orders ? `${x.orders.perCertificate}${x.orders.perCertificate === 1 ? ' ✓' : ' ✗'}` : '—')],
    ['operator peak RSS (MiB)', (x) => String(x.operatorPeakRssMiB)],
    ['operator CPU (s)', (x) => String(x.breakdown.cpuSeconds.operator ?? '?')],
  ];
  const body = lines.map(([label, f]) => [label, ...names.map((n) => cell(rows[n], f))]);
  const all = [['', ...names], ...body];
  const widths = all[0]!.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [fmt(all[0]!), widths.map((w) => '─'.repeat(w)).join('  '), ...body.map(fmt)].join('\n');
}

/** The trust, reload, scale and node scenarios, one line per number, each with its target. */
function trustTable(rows: typeof results): string | undefined {
  const lines: [string, string, string][] = [];
  const ok = (pass: boolean) => (pass ? ' ✓' : ' ✗');
  const failed = (name: ScenarioName) => {
    const r = rows[name];
    if (r && 'error' in r) lines.push([name, 'failed', '']);
    return !r || 'error' in r;
  };
  if (!failed('bundle')) {
    const b = rows.bundle as BundleResult;
    lines.push(
      ['bundle: namespaces (ConfigMap targets)', String(b.namespaces), ''],
      ['  first sync (s)', String(b.secondsInitialSync), ''],
      [
        '  source change → all targets updated (s)',
        `${b.secondsUntilAllUpdated}${ok(b.secondsUntilAllUpdated <= BUNDLE_TARGET_SECONDS)}`,
        `≤ ${BUNDLE_TARGET_SECONDS}`,
      ],
      ['    first / 50% / 90% updated at (s)', `${b.updatedAt.first} / ${b.updatedAt.half} / ${b.updatedAt.p90}`, ''],
      ['  writes for the change', String(Object.values(b.writesForChange).reduce((a, x) => a + x, 0)), ''],
      [`  writes on no-op resync (${b.noOpResync.idleSeconds} s idle + restart)`, `${b.noOpResync.total}${ok(b.noOpResync.total === 0)}`, '0'],
      ['  operator peak RSS (MiB)', String(b.operatorPeakRssMiB), ''],
    );
  }
  if (!failed('reload')) {
    const r = rows.reload as ReloadResult;
    lines.push(
      [`reload: swaps (debounce ${r.debounceMs} ms)`, String(r.swaps), ''],
      ['  swap → new certificate, median (ms)', String(r.latencyMs.median), ''],
      ['  swap → new certificate, p99 (ms)', `${r.latencyMs.p99}${ok(r.latencyMs.p99 <= RELOAD_TARGET_P99_MS)}`, `≤ ${RELOAD_TARGET_P99_MS}`],
      ['  swap → material reloaded, median / p99 (ms)', `${r.reloadedAfterMs.median} / ${r.reloadedAfterMs.p99}`, ''],
    );
  }
  if (!failed('scale')) {
    const s = rows.scale as ScaleResult;
    const m = s.afterBurst.metricsMiB;
    lines.push(
      [`scale: Certificates + unrelated Secrets (${s.unrelatedSecrets.kibEach} KiB)`, `${s.certificates} + ${s.unrelatedSecrets.count}`, ''],
      ['  unrelated Secrets created in (s)', `${s.unrelatedSecrets.secondsToCreate} (${s.unrelatedSecrets.perSecond}/s)`, ''],
      ['  seconds until all Ready', String(s.secondsUntilAllReady), ''],
      ['  operator RSS 5 s after the last Ready, at work (MiB)', String(s.afterBurst.rssMiB), ''],
      ['  operator RSS 60 s later, synced and idle (MiB)', `${s.settled.rssMiB}${ok(s.settled.rssMiB <= SCALE_TARGET_RSS_MIB)}`, `≤ ${SCALE_TARGET_RSS_MIB}`],
      ['  operator peak RSS (MiB)', String(s.afterBurst.peakRssMiB), ''],
      ['  heap used / total, external (MiB)', `${m.heapUsed} / ${m.heapTotal}, ${m.external}`, ''],
      ['  heap used / total 60 s later (MiB)', `${s.settled.metricsMiB.heapUsed} / ${s.settled.metricsMiB.heapTotal}`, ''],
      [
        '  control plane RSS (MiB)',
        Object.entries(s.controlPlaneRssMiB)
          .map(([k, v]) => `${k} ${v}`)
          .join(', '),
        '',
      ],
      ['  restart → /readyz (s)', String(s.restart.secondsUntilReady), ''],
      ['  new Certificate after restart → Ready (s)', String(s.restart.secondsNewCertificateReady), ''],
      ['  resync of every Certificate after restart (s; slowest /healthz, ms)', `${s.restart.secondsUntilResynced} (${s.restart.maxHealthzMs} ms)`, ''],
      [
        '  RSS at /readyz / 30 s after the resync / peak (MiB)',
        `${s.restart.rssAtReadyMiB} / ${s.restart.rssAfterSettleMiB}${ok(s.restart.rssAfterSettleMiB <= SCALE_TARGET_RSS_MIB)} / ${s.restart.peakRssMiB}`,
        `≤ ${SCALE_TARGET_RSS_MIB}`,
      ],
    );
  }
  if (!failed('handshakes')) {
    const h = rows.handshakes as HandshakeResult;
    lines.push(
      [`handshakes/s, ${h.concurrency} in flight, ${h.secondsEach} s each`, '', ''],
      ['  static tls.createServer', String(h.static.perSecond), ''],
      ['  reload serverTLS', String(h.reload.perSecond), ''],
      ['  reload / static, handshakes/s', `${(h.ratio * 100).toFixed(1)} %${ok(h.ratio >= HANDSHAKE_TARGET_RATIO)}`, `≥ ${HANDSHAKE_TARGET_RATIO * 100} %`],
      ['  server CPU per handshake, static / reload (µs)', `${h.static.serverCpuMicrosPerHandshake} / ${h.reload.serverCpuMicrosPerHandshake}`, ''],
      // The Node client costs about twice the server per handshake: on a small machine the clients, not the server,
      // set the rate, and the server's CPU per handshake is what bounds its own rate.
      ['  server busy, static / reload (cores)', `${h.static.serverBusy} / ${h.reload.serverBusy}`, ''],
      [
        '  reload / static, capacity by server CPU',
        `${(h.cpuRatio * 100).toFixed(1)} %${ok(h.cpuRatio >= HANDSHAKE_TARGET_RATIO)}`,
        `≥ ${HANDSHAKE_TARGET_RATIO * 100} %`,
      ],
    );
  }
  if (!failed('node')) {
    const n = rows.node as NodeResult;
    const mmm = (x: { min: number; median: number; max: number }, unit = 1) => [x.min, x.median, x.max].map((v) => +(v / unit).toFixed(1)).join(' / ');
    lines.push(
      ['node: image step, operator / pause, warm (s)', `${n.imageSeconds.operator} / ${n.imageSeconds.pause}`, ''],
      ...n.clusterStarts.map((c): [string, string, string] => {
        const ready = c.phases['node: node Ready'];
        return [`  startCluster, syncFrequency ${c.syncFrequency} (s; node Ready at)`, `${c.seconds} (${ready ?? '?'})`, ''];
      }),
      ['  helm install --wait → 2 pods Ready (s)', String(n.helmInstallSeconds), ''],
      ['  leader RSS idle 30 s after install (MiB; standby)', `${n.memory.idleRssMiB} (${n.memory.standbyIdleRssMiB})`, ''],
      [`  ${n.memory.certificates} CA Certificates → all Ready (s)`, String(n.memory.secondsUntilAllReady), ''],
      ['  leader RSS at all Ready / 60 s idle / peak (MiB)', `${n.memory.rssAtAllReadyMiB} / ${n.memory.rssAfterIdleMiB} / ${n.memory.peakRssMiB}`, ''],
      [`  leader pod killed → new Lease holder, min / median / max (s; lease ${n.leaderTakeover.leaseDurationSeconds} s)`, mmm(n.leaderTakeover.ms, 1000), ''],
      ...Object.entries(n.secretToFile).map(([sync, r]): [string, string, string] => [
        `  Secret change → file in pod, syncFrequency ${sync}, min / median / max (s; ${r.changes} changes)`,
        mmm(r, 1000),
        '',
      ]),
    );
    if (n.nodeAddressRestored > 0)
      lines.push(['  node address gone from loopback and put back (times; figures include the gaps)', String(n.nodeAddressRestored), '0']);
  }
  if (!failed('pods')) {
    const p = rows.pods as PodsResult;
    const c = p.withCertificates;
    lines.push(
      [`pods: ${p.baseline.pods} pause pods without certificates → all Running (s)`, String(p.baseline.secondsUntilAllRunning), ''],
      [`  ${c.pods} with a podCertificate volume → all Running (s)`, String(c.secondsUntilAllRunning), ''],
      [
        `  signer latency per request, p50 / p90 / p99 / max (ms; ${c.requests} requests)`,
        `${c.signerLatencyMs.p50} / ${c.signerLatencyMs.p90} / ${c.signerLatencyMs.p99} / ${c.signerLatencyMs.max}`,
        '',
      ],
      ['  operator API writes per request', String(c.writesPerRequest), '1'],
      ['  operator RSS idle / at all Running / peak (MiB)', `${p.operatorRssMiB.idle} / ${p.operatorRssMiB.atAllRunning} / ${p.operatorRssMiB.peak}`, ''],
    );
  }
  if (lines.length === 0) return undefined;
  const all: [string, string, string][] = [['', 'result', 'target'], ...lines];
  const w = [0, 1, 2].map((i) => Math.max(...all.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  return [fmt(all[0]!), w.map((x) => '─'.repeat(x)).join('  '), ...lines.map(fmt)].join('\n');
}

/** A few lines: the phases Certificates sat in, CPU by process, reconcile time by controller, ACME requests. */
function whereTimeWent(r: IssuanceResult): string {
  const b = r.breakdown;
  // Seconds each phase held at least one Certificate (summed Certificate-seconds, from the per-second timeline).
  const phaseSeconds: Record<string, number> = {};
  for (let i = 1; i < r.timeline.length; i++) {
    const dt = r.timeline[i]!.t - r.timeline[i - 1]!.t;
    for (const [p, n] of Object.entries(r.timeline[i - 1]!.phases)) if (p !== 'Ready') phaseSeconds[p] = (phaseSeconds[p] ?? 0) + n * dt;
  }
  const fmt = (o: Record<string, number>) =>
    Object.entries(o)
      .sort(([, a], [, b]) => b - a)
      .map(([k, v]) => `${k} ${+v.toFixed(1)}`)
      .join(', ');
  return [
    `  Certificate-seconds by phase: ${fmt(phaseSeconds)}`,
    `  first Ready at ${r.readyAt.first} s, half at ${r.readyAt.half} s, 90% at ${r.readyAt.p90} s`,
    `  CPU seconds by process: ${fmt(b.cpuSeconds)}`,
    `  reconciles: ${Object.entries(b.reconciles)
      .map(([c, v]) => `${c} ${v.count}× mean ${v.meanMs} ms (busy ${v.busySeconds} s over ${OPERATOR_WORKERS} workers)`)
      .join('; ')}`,
    `  reconcile results: ${fmt(b.reconcileResults)}; work-queue retries: ${fmt(b.workqueueRetries) || 'none'}`,
    `  ACME requests per Certificate: ${fmt(b.acmeRequestsPerCertificate) || 'none'}`,
    `  API writes per issuance by kind: ${fmt(Object.fromEntries(Object.entries(r.writesByKind).map(([k, v]) => [k, v / r.certificates])))}`,
    `  operator warnings: ${fmt(r.operatorLog) || 'none'}`,
  ].join('\n');
}
