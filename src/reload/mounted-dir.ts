// Reading and watching a directory the kubelet keeps up to date (a Secret or ConfigMap volume). The kubelet writes a
// new timestamped directory, points a temporary symlink at it and renames that over `..data`; the visible files are
// symlinks through `..data`. So: watch the directory (the files themselves are never written), read all files from
// the one timestamped directory `..data` names (a consistent snapshot), and poll as well, because inotify events can
// be lost and some volume types (a `subPath` mount never updates at all) give none.
import { watch, type FSWatcher } from 'node:fs';
import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

export const DATA_LINK = '..data';

/** Reads `names` from `dir`; through `..data` when present, retrying when the link moved during the read. */
export async function readSnapshot(dir: string, names: readonly string[]): Promise<Map<string, Buffer>> {
  for (let attempt = 0; attempt < 4; attempt++) {
    const before = await dataTarget(dir);
    const base = before === undefined ? dir : join(dir, before);
    try {
      const files = new Map<string, Buffer>();
      for (const name of names) files.set(name, await readFile(join(base, name)));
      if ((await dataTarget(dir)) === before) return files;
    } catch (err) {
      // The kubelet deletes the old timestamped directory right after a swap: then read again from the new one.
      if ((await dataTarget(dir)) === before) throw err;
    }
  }
  throw new Error(`${dir} changed during every read`);
}

async function dataTarget(dir: string): Promise<string | undefined> {
  try {
    return await readlink(join(dir, DATA_LINK));
  } catch {
    return undefined; // a plain directory (local development): read the files directly
  }
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const systemTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms).unref(),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

export interface WatchOptions {
  /** Quiet time after the last event before reading: one swap produces several events. */
  debounceMs: number;
  /** Read this often even without events. 0 turns the poll off. */
  pollIntervalMs: number;
  timers: Timers;
}

/**
 * Calls `onChange` (never concurrently) after directory events settle and on every poll tick. Returns the stop
 * function. When the directory cannot be watched, the poll alone carries on.
 */
export function watchDirectory(dir: string, onChange: () => Promise<void>, options: WatchOptions): () => void {
  const { timers } = options;
  let debounce: unknown;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  const run = (): void => {
    if (stopped) return;
    if (running) {
      again = true; // a change arrived during a read: read once more afterwards
      return;
    }
    running = onChange().finally(() => {
      running = undefined;
      if (again) {
        again = false;
        run();
      }
    });
  };
  const schedule = (): void => {
    if (debounce !== undefined) timers.clearTimeout(debounce);
    debounce = timers.setTimeout(() => {
      debounce = undefined;
      run();
    }, options.debounceMs);
  };

  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, { persistent: false }, schedule);
    watcher.on('error', () => watcher?.close());
  } catch {
    watcher = undefined;
  }
  const poll = options.pollIntervalMs > 0 ? timers.setInterval(run, options.pollIntervalMs) : undefined;

  return () => {
    stopped = true;
    watcher?.close();
    if (debounce !== undefined) timers.clearTimeout(debounce);
    if (poll !== undefined) timers.clearInterval(poll);
  };
}
