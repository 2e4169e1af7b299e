// The local sandbox: real control plane + Pebble + the operator, with the examples applied.
//   npm run sandbox              foreground; Ctrl-C stops everything
//   npm run sandbox -- --detach  returns once every example Certificate is Ready; writes .sandbox/env
//   npm run sandbox -- down      stops a detached sandbox
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Certificate } from '../src/api/certificate.ts';
import { findCondition } from '../src/api/conditions.ts';
import { createKubeClient } from '../src/kube/client.ts';
import { Resources } from '../src/kube/resources.ts';
import { ensureBinaries } from '../test/env/binaries.ts';
import { startControlPlane } from '../test/env/controlplane.ts';
import { startChallTestSrv, startPebble } from '../test/env/pebble.ts';
import { startOperator } from '../test/integration/helpers/operator.ts';

const root = join(import.meta.dirname, '..');
const dir = join(root, '.sandbox');
const pidFile = join(dir, 'pid');
const envFile = join(dir, 'env');
const args = process.argv.slice(2);
const say = (msg: string) => console.log(`sandbox: ${msg}`);

if (args[0] === 'down') await down();
else if (args.includes('--detach')) await detach();
else await runForeground(args.includes('--daemon'));

async function down(): Promise<void> {
  const pid = await readPid();
  if (!pid) {
    say('no detached sandbox is running');
    return;
  }
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(pid); i++) await sleep(200);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
  await rm(pidFile, { force: true });
  await rm(envFile, { force: true });
  say('stopped');
}

async function detach(): Promise<void> {
  const running = await readPid();
  if (running && alive(running)) {
    say(`already running (pid ${running}); source .sandbox/env, or stop it with: npm run sandbox -- down`);
    return;
  }
  await mkdir(dir, { recursive: true });
  await rm(envFile, { force: true });
  const logPath = join(dir, 'sandbox.log');
  const log = openSync(logPath, 'w');
  const child = spawn(process.execPath, [import.meta.filename, '--daemon'], { detached: true, stdio: ['ignore', log, log] });
  closeSync(log);
  await writeFile(pidFile, String(child.pid));
  child.unref();
  say(`starting in the background (pid ${child.pid}; log ${logPath})`);
  let shown = 0;
  for (;;) {
    const text = await readFile(logPath, 'utf8').catch(() => '');
    const lines = text.split('\n');
    for (const line of lines.slice(shown, -1)) console.log(line);
    shown = Math.max(shown, lines.length - 1);
    if (existsSync(envFile)) break;
    if (!alive(child.pid!)) {
      console.error('sandbox: the background sandbox exited before it was ready; see the log above');
      process.exit(1);
    }
    await sleep(500);
  }
  process.exit(0);
}

async function runForeground(daemon: boolean): Promise<void> {
  await mkdir(join(dir, 'logs'), { recursive: true });
  say('checking the control-plane binaries (the first run builds them from Go modules: tens of minutes)');
  const binDir = await ensureBinaries();
  say('starting etcd, kube-apiserver and kube-controller-manager');
  const cp = await startControlPlane({ crdsDir: join(root, 'crds'), logDir: join(dir, 'logs') });
  const cleanups: (() => Promise<unknown>)[] = [() => cp.stop()];
  const stopAll = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    await rm(envFile, { force: true });
    if (daemon) await rm(pidFile, { force: true });
  };
  let stopping = false;
  const onSignal = () => {
    if (stopping) return;
    stopping = true;
    say('stopping');
    void stopAll().then(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const kubeconfig = join(dir, 'kubeconfig');
    await copyFile(cp.kubeconfigPath, kubeconfig);
    say('starting Pebble (ACME test CA) and its DNS');
    const dns = await startChallTestSrv({ binDir });
    cleanups.push(() => dns.stop());
    const pebble = await startPebble({ binDir, dnsServer: dns.dnsAddress });
    cleanups.push(() => pebble.stop());
    await copyFile(pebble.caFile, join(dir, 'pebble-ca.pem'));
    say('starting the operator (log: .sandbox/logs/operator.log)');
    const operator = startOperator({ kubeconfigPath: kubeconfig, logDir: join(dir, 'logs'), args: ['--leader-elect=false'] });
    cleanups.push(() => operator.stop());
    const kubectl = join(binDir, 'kubectl');
    say('applying deploy/examples');
    const applied = spawnSync(kubectl, ['--kubeconfig', kubeconfig, 'apply', '--server-side', '-f', join(root, 'deploy/examples')], {
      encoding: 'utf8',
    });
    if (applied.status !== 0) throw new Error(`kubectl apply failed: ${applied.stderr}`);
    const client = createKubeClient({ kubeconfigPath: kubeconfig });
    const certs = await waitForCertificates(client);
    printSummary(certs, kubeconfig);
    await writeFile(
      envFile,
      [
        `export KUBECONFIG=${shellQuote(kubeconfig)}`,
        `export PATH=${shellQuote(binDir)}:"$PATH"`,
        `export ACME_DIRECTORY_URL=${shellQuote(pebble.directoryUrl)}`,
        `export ACME_CA_FILE=${shellQuote(join(dir, 'pebble-ca.pem'))}`,
        '',
      ].join('\n'),
    );
    say(daemon ? 'ready; running in the background (stop: npm run sandbox -- down)' : 'ready; press Ctrl-C to stop');
    await new Promise(() => {}); // until a signal
  } catch (err) {
    console.error(`sandbox: ${(err as Error).message}`);
    await stopAll();
    process.exit(1);
  }
}

async function waitForCertificates(client: ReturnType<typeof createKubeClient>): Promise<Certificate[]> {
  const deadline = Date.now() + 180_000;
  const seen = new Set<string>();
  for (;;) {
    const { items } = await client.list<Certificate>(Resources.certificates);
    for (const c of items) {
      const ready = findCondition(c.status?.conditions, 'Ready');
      const key = `${c.metadata.namespace}/${c.metadata.name}`;
      if (ready?.status === 'True' && !seen.has(key)) {
        seen.add(key);
        say(`  ready: Certificate ${key} → Secret ${c.spec?.secretName}`);
      }
    }
    if (items.length > 0 && items.every((c) => findCondition(c.status?.conditions, 'Ready')?.status === 'True')) return items;
    if (Date.now() > deadline) {
      for (const c of items) {
        const r = findCondition(c.status?.conditions, 'Ready');
        if (r?.status !== 'True') say(`  not ready: ${c.metadata.namespace}/${c.metadata.name}: ${r?.reason ?? 'no status'} ${r?.message ?? ''}`);
      }
      throw new Error('example Certificates did not all become Ready within 3 minutes; see .sandbox/logs/operator.log');
    }
    await sleep(500);
  }
}

function printSummary(certs: Certificate[], kubeconfig: string): void {
  const rows = certs
    .map((c) => [
      `${c.metadata.namespace}/${c.metadata.name}`,
      findCondition(c.status?.conditions, 'Ready')?.status ?? 'Unknown',
      c.status?.notAfter ?? '-',
      c.spec?.secretName ?? '-',
    ])
    .sort((a, b) => a[0]!.localeCompare(b[0]!));
  const header = ['CERTIFICATE', 'READY', 'NOT AFTER', 'SECRET'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((v, i) => v.padEnd(widths[i]!)).join('  ');
  console.log('\n' + fmt(header));
  for (const r of rows) console.log(fmt(r));
  console.log(`\nPoint kubectl at the sandbox:\n  source .sandbox/env      # KUBECONFIG, PATH with kubectl and helm, ACME_DIRECTORY_URL, ACME_CA_FILE`);
  console.log(`  kubectl get certificates -A\n  (kubeconfig: ${kubeconfig})\n`);
}

async function readPid(): Promise<number | undefined> {
  const text = await readFile(pidFile, 'utf8').catch(() => '');
  const pid = Number(text.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms));
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
