// Child processes of the test harness: each logs to a file, and none outlives the Node process that started it.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';

export interface ManagedProcess {
  name: string;
  logFile: string;
  child: ChildProcess;
  exited: Promise<number | null>;
  stop(graceMs?: number): Promise<void>;
  logTail(lines?: number): Promise<string>;
}

const live = new Set<ManagedProcess>();
let hooked = false;

function killAllNow() {
  for (const p of live) {
    try {
      p.child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Kills every child on exit; with handleSignals, also on SIGINT/SIGTERM (then exits). */
function hookExit(handleSignals: boolean) {
  if (hooked) return;
  hooked = true;
  process.once('exit', killAllNow);
  if (handleSignals) {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        killAllNow();
        process.exit(130);
      });
    }
  }
}

export function startProcess(opts: {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  handleSignals?: boolean;
}): ManagedProcess {
  hookExit(opts.handleSignals ?? true);
  const fd = openSync(opts.logFile, 'a');
  const child = spawn(opts.command, opts.args, { stdio: ['ignore', fd, fd], env: { ...process.env, ...opts.env } });
  closeSync(fd);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const p: ManagedProcess = {
    name: opts.name,
    logFile: opts.logFile,
    child,
    exited,
    async stop(graceMs = 5000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(t);
      }
      live.delete(p);
    },
    async logTail(lines = 30) {
      const text = await readFile(opts.logFile, 'utf8').catch(() => '');
      return text.split('\n').slice(-lines).join('\n');
    },
  };
  live.add(p);
  void exited.then(() => live.delete(p));
  return p;
}

/** Polls `probe` until it returns true; fails early, with the log tail, if the process dies. */
export async function waitUntil(p: ManagedProcess, what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr = '';
  for (;;) {
    if (p.child.exitCode !== null || p.child.signalCode !== null) {
      throw new Error(`${p.name} exited (${p.child.exitCode ?? p.child.signalCode}) before ${what}; last log lines:\n${await p.logTail()}`);
    }
    try {
      if (await probe()) return;
    } catch (err) {
      lastErr = (err as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(`${p.name}: timed out waiting for ${what} (${lastErr}); last log lines:\n${await p.logTail()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}
