// `npm run bench`: 1,000 ECDSA P-256 Certificates from one CA issuer, created at once on the local control plane.
// Reports seconds until all are Ready, API writes per issuance (from the API server's own counters) and the
// operator's peak RSS. Results are printed as a table and written to bench/results/latest.json.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import type { Certificate } from '../src/api/certificate.ts';
import { findCondition } from '../src/api/conditions.ts';
import { createKubeClient } from '../src/kube/client.ts';
import { Resources } from '../src/kube/resources.ts';
import { startControlPlane } from '../test/env/controlplane.ts';
import { certificate, clusterIssuer, createNamespace, waitForReady } from '../test/integration/helpers/objects.ts';
import { startOperator } from '../test/integration/helpers/operator.ts';

const COUNT = Number(process.env.BENCH_COUNT ?? 1000);
const NS = 'bench';
const root = join(import.meta.dirname, '..');

const cp = await startControlPlane({ crdsDir: join(root, 'crds') });
const logDir = await mkdtemp(join(tmpdir(), 'certsmith-bench-'));
let operator: ReturnType<typeof startOperator> | undefined;
try {
  const client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath, maxSockets: 64 });
  await createNamespace(client, 'certsmith');
  await createNamespace(client, NS);
  operator = startOperator({ kubeconfigPath: cp.kubeconfigPath, logDir, args: ['--leader-elect=false', '--log-level=warn', '--workers=16'] });
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
  await waitForReady(client, Resources.certificates, 'certsmith', 'bench-ca');
  await client.create(Resources.clusterIssuers, clusterIssuer('bench-ca', { ca: { secretName: 'bench-ca' } }));
  await waitForReady(client, Resources.clusterIssuers, undefined, 'bench-ca');
  await new Promise((r) => setTimeout(r, 1000));

  const before = await writeCounts(cp.binDir, cp.kubeconfigPath);
  const started = performance.now();
  const names = Array.from({ length: COUNT }, (_, i) => `bench-${String(i).padStart(4, '0')}`);
  await inBatches(names, 50, (n) =>
    client.create(
      Resources.certificates,
      certificate(NS, n, {
        secretName: `${n}-tls`,
        dnsNames: [`${n}.bench.example.test`],
        privateKey: { algorithm: 'ECDSA', size: 256 },
        issuerRef: { kind: 'ClusterIssuer', name: 'bench-ca' },
      }),
    ),
  );
  const createdMs = performance.now() - started;
  let ready = 0;
  for (;;) {
    const { items } = await client.list<Certificate>(Resources.certificates, { namespace: NS });
    ready = items.filter((c) => findCondition(c.status?.conditions, 'Ready')?.status === 'True').length;
    if (ready === COUNT) break;
    if (performance.now() - started > 600_000) throw new Error(`only ${ready}/${COUNT} Ready after 10 minutes`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const allReadyS = (performance.now() - started) / 1000;
  // Let trailing no-op reconciles finish, so the write count includes any the design causes.
  await new Promise((r) => setTimeout(r, 5000));
  const after = await writeCounts(cp.binDir, cp.kubeconfigPath);
  const status = await readFile(`/proc/${operator.pid()}/status`, 'utf8');
  const peakRssMiB = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  const rssMiB = Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;

  const delta = (k: string) => (after[k] ?? 0) - (before[k] ?? 0);
  const operatorWrites = Object.keys(after).reduce((sum, k) => sum + delta(k), 0) - COUNT; // minus the bench's own creates
  const result = {
    date: new Date().toISOString(),
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}`,
    certificates: COUNT,
    secondsToCreate: +(createdMs / 1000).toFixed(2),
    secondsUntilAllReady: +allReadyS.toFixed(2),
    issuancesPerSecond: +(COUNT / allReadyS).toFixed(1),
    writesPerIssuance: +(operatorWrites / COUNT).toFixed(2),
    writesByKind: Object.fromEntries(Object.keys(after).sort().map((k) => [k, delta(k) - (k === 'POST certificates' ? COUNT : 0)])),
    operatorPeakRssMiB: +peakRssMiB.toFixed(1),
    operatorRssAfterMiB: +rssMiB.toFixed(1),
  };
  console.log(JSON.stringify(result, null, 2));
  await mkdir(join(root, 'bench/results'), { recursive: true });
  await writeFile(join(root, 'bench/results/latest.json'), JSON.stringify(result, null, 2) + '\n');
} finally {
  await operator?.stop();
  await cp.stop();
}

async function inBatches<T>(items: T[], size: number, fn: (t: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** Mutating requests on the resources the operator writes, from the API server's apiserver_request_total. */
async function writeCounts(binDir: string, kubeconfig: string): Promise<Record<string, number>> {
  const text = execFileSync(join(binDir, 'kubectl'), ['--kubeconfig', kubeconfig, 'get', '--raw', '/metrics'], {
    encoding: 'utf8',
    maxBuffer: 256 * 2 ** 20,
  });
  const counts: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (!['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE'].includes(labels.verb ?? '')) continue;
    if (!['certificates', 'secrets', 'events'].includes(labels.resource ?? '')) continue;
    const key = `${labels.verb} ${labels.resource}${labels.subresource ? '/' + labels.subresource : ''}`;
    counts[key] = (counts[key] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return counts;
}
