// Runs the pinned helm with a private home (cache, config, data), so tests never read or write the user's.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chartDir } from '../../../deploy/render.ts';
import { binaryPath } from '../../env/binaries.ts';

const run = promisify(execFile);

export interface Helm {
  (...args: string[]): Promise<string>;
  /** Removes the private home. */
  cleanup(): Promise<void>;
}

export async function createHelm(binDir: string): Promise<Helm> {
  const home = await mkdtemp(join(tmpdir(), 'certsmith-helm-'));
  const env = {
    ...process.env,
    HELM_CACHE_HOME: join(home, 'cache'),
    HELM_CONFIG_HOME: join(home, 'config'),
    HELM_DATA_HOME: join(home, 'data'),
  };
  const helm = async (...args: string[]) => {
    try {
      return (await run(binaryPath(binDir, 'helm'), args, { env, maxBuffer: 64 * 2 ** 20 })).stdout;
    } catch (err) {
      const e = err as Error & { stderr?: string; stdout?: string };
      throw new Error(`helm ${args.join(' ')} failed: ${e.stderr || e.message}\n${e.stdout ?? ''}`);
    }
  };
  return Object.assign(helm, { cleanup: () => rm(home, { recursive: true, force: true }) });
}

/** `helm install` of charts/certsmith as release certsmith in namespace certsmith, waiting for it; `args` adds flags (--set, -f). */
export function installOperatorChart(helm: Helm, kubeconfigPath: string, ...args: string[]): Promise<string> {
  return helm(
    'install',
    'certsmith',
    chartDir,
    '--namespace',
    'certsmith',
    '--create-namespace',
    '--kubeconfig',
    kubeconfigPath,
    ...args,
    '--wait',
    '--timeout=180s',
  );
}
