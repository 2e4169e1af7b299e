// Checks the images for real: builds them (build-image.sh), starts a containerd of its own in a temporary directory
// (its own root, state, socket and runc root; no other containerd is touched), imports both archives with
// importImage, and runs them with runc through ctr. As root: node_modules/.bin/node test/env/image-check.ts
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ensureOperatorImage, ensurePauseImage, importImage } from './image.ts';
import { startProcess, waitUntil } from './processes.ts';

const execFileAsync = promisify(execFile);

const dir = mkdtempSync(join(tmpdir(), 'certsmith-image-check-'));
const socket = join(dir, 'containerd.sock');
const ctr = (...args: string[]) => ['--address', socket, '--namespace', 'k8s.io', ...args];
// runc's state and the stdio FIFOs in the temporary directory too (ctr's defaults are under /run/containerd).
const runFlags = ['--runc-root', join(dir, 'runc'), '--fifo-dir', join(dir, 'fifo')];

function check(ok: boolean, what: string, detail: string): void {
  if (!ok) throw new Error(`${what}: ${detail}`);
  console.log(`ok: ${what}`);
}

/** `ctr run --rm` of one command in a fresh container; its exit code and combined output. */
async function runIn(image: string, id: string, command: string[] = []): Promise<{ code: number; output: string }> {
  const args = ctr('run', '--rm', ...runFlags, image, id, ...command);
  try {
    const { stdout, stderr } = await execFileAsync('ctr', args, { timeout: 60_000 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

writeFileSync(
  join(dir, 'config.toml'),
  [
    'version = 2',
    `root = "${join(dir, 'root')}"`,
    `state = "${join(dir, 'state')}"`,
    // Images and runc only: no kubelet talks to this one.
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '[grpc]',
    `  address = "${socket}"`,
    '[ttrpc]',
    `  address = "${socket}.ttrpc"`,
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = "${join(dir, 'opt')}"`,
  ].join('\n'),
);

const containerd = startProcess({
  name: 'containerd',
  command: 'containerd',
  args: ['--config', join(dir, 'config.toml')],
  logFile: join(dir, 'containerd.log'),
});
try {
  const t0 = Date.now();
  const [operator, pause] = [await ensureOperatorImage(), await ensurePauseImage()];
  console.log(`images ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  for (const image of [operator, pause]) console.log(`  ${image.ref}: ${image.archive}`);

  await waitUntil(containerd, 'its socket answers', async () => {
    await execFileAsync('ctr', ctr('version'));
    return true;
  });
  for (const image of [pause, operator]) {
    const t = Date.now();
    await importImage('ctr', socket, image.archive);
    console.log(`imported ${image.ref} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
  }

  const version = await runIn(operator.ref, 'node-version', ['/nodejs/bin/node', '--version']);
  check(version.code === 0 && /^v24\./.test(version.output.trim()), '/nodejs/bin/node --version is v24.x', version.output);

  const probeScript = `console.log(JSON.stringify({
    uid: process.getuid(), gid: process.getgid(), cwd: process.cwd(), preload: process.env.LD_PRELOAD,
    jemalloc: require("node:fs").readFileSync("/proc/self/maps", "utf8").includes("libjemalloc.so.2"),
  }))`;
  const probe = await runIn(operator.ref, 'node-probe', ['/nodejs/bin/node', '-e', probeScript]);
  const seen = JSON.parse(probe.output.trim() || '{}') as Record<string, unknown>;
  check(seen.uid === 65532 && seen.gid === 65532, 'the operator image runs as 65532:65532', probe.output);
  check(seen.cwd === '/app', 'its working directory is /app', probe.output);
  check(seen.jemalloc === true, `LD_PRELOAD (${String(seen.preload)}) maps jemalloc into node`, probe.output);

  // The entrypoint as the chart runs it: with no cluster it must get as far as looking for one, which means
  // dist/ and the production node_modules load.
  const entry = await runIn(operator.ref, 'entrypoint');
  check(
    entry.code !== 0 && entry.output.includes('no Kubernetes cluster configured') && !entry.output.includes('ERR_MODULE_NOT_FOUND'),
    'the entrypoint starts the operator (which then finds no cluster)',
    entry.output,
  );

  // pause sleeps until SIGTERM and exits 0.
  const sandbox = spawn('ctr', ctr('run', '--rm', ...runFlags, pause.ref, 'sandbox'), { stdio: 'ignore' });
  const exited = new Promise<number | null>((resolve) => sandbox.once('exit', resolve));
  await new Promise((r) => setTimeout(r, 1500));
  check(sandbox.exitCode === null, 'pause keeps running', `exited with ${sandbox.exitCode}`);
  await execFileAsync('ctr', ctr('task', 'kill', '--signal', 'SIGTERM', 'sandbox'));
  const code = await exited;
  check(code === 0, 'pause exits 0 on SIGTERM', `exit ${code}`);
} finally {
  await containerd.stop(10_000);
  rmSync(dir, { recursive: true, force: true });
}
