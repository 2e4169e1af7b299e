// Runs the real operator as a child process against a test control plane, as it runs in a cluster.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..', '..', '..');

export interface OperatorProcess {
  logFile: string;
  pid(): number;
  /** The exit code once the process has exited by itself; null while it runs (or when a signal ended it). */
  exitCode(): number | null;
  logs(): Promise<string>;
  /** SIGTERM and wait for a clean exit. */
  stop(): Promise<number | null>;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
}

export function startOperator(opts: {
  kubeconfigPath: string;
  logDir: string;
  name?: string;
  args?: string[];
  /** The entry point; default the TypeScript source. The benchmark runs the compiled dist/main.js, as the image does. */
  entry?: string;
  /** Node flags before the entry point (the benchmark passes the image's). */
  nodeFlags?: string[];
  /** Environment on top of this process's (the benchmark passes the image's). */
  env?: Record<string, string>;
}): OperatorProcess {
  const name = opts.name ?? 'operator';
  const logFile = join(opts.logDir, `${name}.log`);
  const out = createWriteStream(logFile, { flags: 'a' });
  const child: ChildProcess = spawn(
    process.execPath,
    // Free ports unless a test names them (the last flag wins): replicas and other runs share this machine.
    [
      ...(opts.nodeFlags ?? []),
      opts.entry ?? join(root, 'src/main.ts'),
      '--kubeconfig',
      opts.kubeconfigPath,
      '--health-port',
      '0',
      '--acme-http01-solver-port',
      '0',
      '--identity',
      name,
      ...(opts.args ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } },
  );
  child.stdout!.pipe(out, { end: false });
  child.stderr!.pipe(out, { end: false });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', kill);
  return {
    logFile,
    pid: () => child.pid ?? -1,
    exitCode: () => child.exitCode,
    logs: () => readFile(logFile, 'utf8'),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(kill, 10_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill() {
      kill();
      await exited;
    },
  };
}
