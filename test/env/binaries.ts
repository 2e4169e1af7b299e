// Finds (and on first use builds) the control-plane binaries. A missing binary is a hard failure.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const script = join(import.meta.dirname, 'build-binaries.sh');

/** Runs build-binaries.sh (instant when cached; a cold build streams its progress) and returns the bin dir. */
export async function ensureBinaries(): Promise<string> {
  const override = process.env.CERTSMITH_BIN_DIR;
  if (override) return override;
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => process.stderr.write(d));
    child.on('error', reject);
    child.on('exit', (code) => {
      const binDir = out.trim().split('\n').pop() ?? '';
      if (code === 0 && binDir && existsSync(binDir)) resolve(binDir);
      else reject(new Error(`building the control-plane binaries failed (exit ${code}); run: bash test/env/build-binaries.sh`));
    });
  });
}

export function binaryPath(binDir: string, name: string): string {
  const p = join(binDir, name);
  if (!existsSync(p)) {
    throw new Error(`required binary "${name}" is missing from ${binDir}: run \`bash test/env/build-binaries.sh\` (it builds it from Go modules)`);
  }
  return p;
}
