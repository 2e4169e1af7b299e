// Finds (and on first use builds) the control-plane binaries. A missing binary is a hard failure, never a skip.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';

const script = join(import.meta.dirname, 'build-binaries.sh');
const buildHint = 'run `bash test/env/build-binaries.sh` (it builds the pinned versions from Go modules)';

let pending: Promise<string> | undefined;

/**
 * Returns the bin dir holding the pinned binaries. With `build` (default true) it runs build-binaries.sh, which is
 * instant when cached and streams a cold build's progress to stderr; with `build: false` it only looks in the cache.
 * CERTSMITH_BIN_DIR overrides both.
 */
export function ensureBinaries(opts: { build?: boolean } = {}): Promise<string> {
  const override = process.env.CERTSMITH_BIN_DIR;
  if (override) return Promise.resolve(override);
  if (opts.build === false) return Promise.resolve(cachedBinDir());
  pending ??= runBuild().catch((err: unknown) => {
    pending = undefined;
    throw err;
  });
  return pending;
}

/** Absolute path of one binary; throws an error naming it (and how to build it) when it is absent. */
export function binaryPath(binDir: string, name: string): string {
  const p = join(binDir, name);
  if (!existsSync(p)) {
    throw new Error(`required binary "${name}" is missing from ${binDir}: ${buildHint}`);
  }
  return p;
}

/**
 * The Gateway API CRDs (standard channel) build-binaries.sh copies from the pinned sigs.k8s.io/gateway-api module into
 * the cache, beside the bin dir. Throws, naming the fix, when they are not there: a test that asks for them must not
 * run without them. CERTSMITH_GATEWAY_API_CRDS_DIR overrides.
 */
export function gatewayApiCrdsDir(binDir: string): string {
  const dir = process.env.CERTSMITH_GATEWAY_API_CRDS_DIR ?? join(dirname(binDir), 'gateway-api-crds');
  if (!existsSync(join(dir, '.complete'))) {
    throw new Error(`the Gateway API CRDs are missing (no ${join(dir, '.complete')}): ${buildHint}`);
  }
  return dir;
}

// Mirrors the cache layout of build-binaries.sh: <cache root>/<first 12 hex of sha256(versions.env)>/bin.
function cachedBinDir(): string {
  const hash = createHash('sha256')
    .update(readFileSync(join(import.meta.dirname, 'versions.env')))
    .digest('hex')
    .slice(0, 12);
  const dir = join(process.env.CERTSMITH_CACHE_DIR ?? join(homedir(), '.cache', 'certsmith'), hash);
  if (!existsSync(join(dir, '.complete'))) {
    throw new Error(`the control-plane binaries are not built (no ${join(dir, '.complete')}): ${buildHint}`);
  }
  return join(dir, 'bin');
}

function runBuild(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // Prefix each line so a cold build's progress is recognisable among test output.
    createInterface({ input: child.stderr }).on('line', (line) => process.stderr.write(`[build-binaries] ${line}\n`));
    child.on('error', (err) => reject(new Error(`could not run ${script}: ${err.message}`)));
    child.on('close', (code) => {
      const binDir = out.trim().split('\n').pop() ?? '';
      if (code === 0 && binDir && existsSync(binDir)) resolve(binDir);
      else reject(new Error(`building the control-plane binaries failed (exit ${code}); see the [build-binaries] lines above, then ${buildHint}`));
    });
  });
}
