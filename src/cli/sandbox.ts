// `certsmith sandbox [args]`: the local sandbox lives in a checkout's scripts/sandbox.ts (it builds the control
// plane from the test environment); this runs it with the same Node and hands over the terminal.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CertsmithError } from '../errors.ts';

/** src/cli/ and dist/cli/ both sit two levels below the checkout's root. */
export function sandboxScript(): string {
  return join(import.meta.dirname, '..', '..', 'scripts', 'sandbox.ts');
}

export async function sandboxCommand(args: readonly string[]): Promise<number> {
  const script = sandboxScript();
  if (!existsSync(script)) {
    throw new CertsmithError('ConfigInvalid', `the sandbox runs from a certsmith checkout: ${script} not found`);
  }
  const child = spawn(process.execPath, [script, ...args], { stdio: 'inherit' });
  // Ctrl-C reaches the child through the terminal's process group; do not die before it has cleaned up.
  const ignore = () => {};
  process.on('SIGINT', ignore);
  process.on('SIGTERM', () => child.kill('SIGTERM'));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', ignore);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}
