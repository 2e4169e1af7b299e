// `npm run bench [-- ca|acme ...] [--count N] [--breakdown]`: issuance benchmarks, each on a fresh local control
// plane with its own operator, so writes and memory are per scenario.
//   ca    1,000 ECDSA P-256 Certificates from one CA issuer, created at once.
//   acme  500 Certificates through Pebble over HTTP-01 (PEBBLE_VA_NOSLEEP=1), created at once; target: all Ready
//         within 60 s, exactly one order per Certificate.
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
import { benchCa } from './scenario-ca.ts';

const SCENARIOS = {
  ca: { defaultCount: 1000, run: benchCa },
  acme: { defaultCount: 500, run: benchAcme },
} as const;
type ScenarioName = keyof typeof SCENARIOS;
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
const selected = (positionals.length > 0 ? [...new Set(positionals)] : Object.keys(SCENARIOS)) as ScenarioName[];

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
const results: Partial<Record<ScenarioName, IssuanceResult | AcmeResult | { error: string }>> = {};
let failed = false;
for (const name of selected) {
  const scenario = SCENARIOS[name];
  console.error(`bench: ${name} with ${count ?? scenario.defaultCount} Certificates`);
  try {
    const result = await scenario.run({ count: count ?? scenario.defaultCount, crdsDir: join(root, 'crds') });
    results[name] = result;
    const { timeline: _timeline, ...shown } = result;
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
console.log(table(results));
const acme = results.acme;
if (acme && !('error' in acme) && 'orders' in acme) {
  if (acme.orders.perCertificate !== 1) console.log(`\nacme: ${acme.orders.atCa} orders for ${acme.certificates} Certificates: ${JSON.stringify(acme.orders)}`);
  if (acme.secondsUntilAllReady > ACME_TARGET_SECONDS) console.log(`\nacme missed the ${ACME_TARGET_SECONDS} s target; where the time went:\n${whereTimeWent(acme)}`);
  else if (values.breakdown) console.log(`\nacme, where the time went:\n${whereTimeWent(acme)}`);
}
const ca = results.ca;
if (values.breakdown && ca && !('error' in ca)) console.log(`\nca, where the time went:\n${whereTimeWent(ca)}`);
console.log('written to bench/results/latest.json');
process.exit(failed ? 1 : 0);

function table(rows: typeof results): string {
  const names = Object.keys(rows) as ScenarioName[];
  const cell = (r: (typeof rows)[ScenarioName], f: (x: IssuanceResult & Partial<AcmeResult>) => string) =>
    !r ? '' : 'error' in r ? 'failed' : f(r as IssuanceResult & Partial<AcmeResult>);
  const lines: [string, (x: IssuanceResult & Partial<AcmeResult>) => string][] = [
    ['Certificates', (x) => String(x.certificates)],
    ['seconds until all Ready', (x) => `${x.secondsUntilAllReady}${x.orders ? (x.secondsUntilAllReady <= ACME_TARGET_SECONDS ? ' (≤ 60 ✓)' : ' (> 60 ✗)') : ''}`],
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
    `  reconciles: ${Object.entries(b.reconciles).map(([c, v]) => `${c} ${v.count}× mean ${v.meanMs} ms (busy ${v.busySeconds} s over ${OPERATOR_WORKERS} workers)`).join('; ')}`,
    `  reconcile results: ${fmt(b.reconcileResults)}; work-queue retries: ${fmt(b.workqueueRetries) || 'none'}`,
    `  ACME requests per Certificate: ${fmt(b.acmeRequestsPerCertificate) || 'none'}`,
    `  API writes per issuance by kind: ${fmt(Object.fromEntries(Object.entries(r.writesByKind).map(([k, v]) => [k, v / r.certificates])))}`,
    `  operator warnings: ${fmt(r.operatorLog) || 'none'}`,
  ].join('\n');
}
