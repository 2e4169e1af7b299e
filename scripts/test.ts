// The test command (`npm test`): builds or reuses the control-plane binaries and images, checks generated files,
// types, formatting and lint, then runs unit, integration and end-to-end tests on the real control plane and node.
// Fails loudly on anything missing.
import { spawn, spawnSync } from 'node:child_process';
import { globSync, mkdirSync, openSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`certsmith tests need Node 24 (this is ${process.version}): run them through npm (npm test) after npm ci, which installs it`);
  process.exit(1);
}

function step(title: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): void {
  console.log(`\n=== ${title}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`=== ${title}: failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
}

const only = process.argv.slice(2);
step('control-plane binaries (cached after the first build)', 'bash', ['test/env/build-binaries.sh']);
step('system packages: BIND9, openssl, keytool, jemalloc, containerd, runc, CNI plugins, buildah (installed once)', 'bash', ['test/env/system-packages.sh']);
const files = only.length > 0 ? only : globSync(['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'test/e2e/**/*.test.ts'], { cwd: root }).sort();
// The end-to-end files that route through Traefik run after all the others, which gives its background build their time.
const needsTraefik = (f: string) => f.includes('e2e/') && f.includes('traefik');
if (files.some(needsTraefik)) buildTraefikInBackground();
// After the packages: the image build needs buildah, debootstrap and runc. Cached by its inputs (0.1 s warm).
step('operator and pause images (built from the Dockerfile with buildah; cached after the first build)', 'bash', [
  '-c',
  'bash test/env/build-image.sh pause && bash test/env/build-image.sh operator',
]);
step('generated CRDs are current', process.execPath, ['scripts/generate-crds.ts', '--check']);
step('typecheck', process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--noEmit']);
// biome.jsonc: the formatter's output and the linter's rules; any difference or finding fails (`npm run format` fixes the first).
step('format and lint (Biome)', join(root, 'node_modules/.bin/biome'), ['ci', '--error-on-warnings']);
// One file at a time: integration files each run a control plane (and some a node: one per machine at a time), and
// the machine has 2 cores.
const runTests = (title: string, list: string[]) =>
  list.length > 0 && step(title, process.execPath, ['--test', '--test-concurrency=1', '--test-reporter=spec', ...list]);
runTests(
  'tests',
  files.filter((f) => !needsTraefik(f)),
);
runTests('tests through Traefik (waits for its image if the background build is still running)', files.filter(needsTraefik));

/**
 * Traefik, the node tests' Ingress and Gateway API controller, takes about 20 minutes to build cold and is needed only
 * by test/e2e/traefik-http01.test.ts, which runs last: it builds here at the lowest CPU priority while the other
 * steps and tests run. That test's own build call waits on the same lock and then finds the image (or, if this build
 * failed, builds again and fails with the reason). Warm, this finishes in a second.
 */
function buildTraefikInBackground(): void {
  const cacheDir = process.env.CERTSMITH_CACHE_DIR ?? join(homedir(), '.cache', 'certsmith');
  mkdirSync(cacheDir, { recursive: true });
  const logFile = join(cacheDir, 'traefik-image-build.log');
  const out = openSync(logFile, 'w');
  console.log(`\n=== Traefik image: building in the background at low priority if not cached (log: ${logFile})`);
  const child = spawn('nice', ['-n', '19', 'bash', 'test/env/build-image.sh', 'traefik'], { cwd: root, stdio: ['ignore', out, out], detached: true });
  child.on('error', (err) => console.error(`=== Traefik image: could not start its build (${err.message}); the test that needs it will build it`));
  // Its own process group, so that an early exit of the tests also stops the go build under it.
  process.on('exit', () => {
    if (child.exitCode === null && child.pid) {
      try {
        process.kill(-child.pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
    }
  });
}
