// Child processes of the test harness: each logs to a file, and none outlives the Node process that started it.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, rmSync } from 'node:fs';
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
const tempDirs = new Set<string>();
let hooked = false;

function killAllNow() {
  for (const p of live) {
    try {
      p.child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  // SIGKILL is delivered at once; files a dying child still holds open do not stop the removal on Linux.
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort while exiting
    }
  }
}

/** Removes `dir` when the Node process exits, unless forgotten first (stop() removes it itself). */
export function removeOnExit(dir: string): () => void {
  tempDirs.add(dir);
  return () => tempDirs.delete(dir);
}

let signalsHooked = false;

/** Kills every child on exit; with handleSignals, also on SIGINT/SIGTERM (then exits) unless another listener handles those. */
function hookExit(handleSignals: boolean) {
  if (!hooked) {
    hooked = true;
    process.once('exit', killAllNow);
  }
  if (handleSignals && !signalsHooked) {
    signalsHooked = true;
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.on(sig, () => {
        // Another handler (e.g. the sandbox's graceful stop) owns the signal: let it stop us; 'exit' still kills.
        if (process.listenerCount(sig) > 1) return;
        killAllNow();
        process.exit(sig === 'SIGINT' ? 130 : 143);
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
  let spawnError: Error | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    // Spawn failures (ENOENT, EACCES) emit 'error' and no 'exit'.
    child.once('error', (err) => {
      spawnError = err;
      resolve(null);
    });
  });
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
      const tail = text.split('\n').slice(-lines).join('\n');
      return spawnError ? `could not start ${opts.command}: ${spawnError.message}\n${tail}` : tail;
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
    if (p.child.exitCode !== null || p.child.signalCode !== null || p.child.pid === undefined) {
      throw new Error(`${p.name} exited (${p.child.exitCode ?? p.child.signalCode}) before ${what}; last log lines:\n${await p.logTail()}`);
    }
    try {
      if (await probe()) return;
      lastErr = 'not ready yet';
    } catch (err) {
      lastErr = (err as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(`${p.name}: timed out waiting for ${what} (${lastErr}); last log lines:\n${await p.logTail()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Whether a process with this pid exists (signal 0 checks without sending anything). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
