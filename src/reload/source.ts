// A Source: the last good material of one mounted directory. Each read whose bytes differ from the last read is
// parsed; a good and different read becomes the next generation, a bad one is reported and the previous material
// stays in use.
import { readSnapshot, systemTimers, watchDirectory, type Timers } from './mounted-dir.ts';
import { contentHash } from './parse.ts';
import type { ReloadHooks, Source, Verdict } from './types.ts';

export interface WatchDirOptions {
  /** Name in hooks and errors; the directory by default. */
  name?: string;
  hooks?: ReloadHooks;
  /** Default 10 ms (DEFAULT_DEBOUNCE_MS). */
  debounceMs?: number;
  /** Default 60 s; 0 turns it off. A safety net for lost events, not the main path. */
  pollIntervalMs?: number;
  timers?: Timers;
}

/**
 * Quiet time after the last directory event before reading. Short on purpose: the kubelet renames `..data` once per
 * update, and every read goes through that one link, so a read during the burst of events (new directory, rename,
 * removal of the old one) sees either the old update or the new one whole, and a read still running when an event
 * arrives is followed by another. A longer wait only delays the new certificate: at 100 ms the median from swap to
 * first new handshake was 119 ms and the p99 312 ms (`npm run bench -- reload`).
 */
export const DEFAULT_DEBOUNCE_MS = 10;

export interface SourceSpec<T> extends WatchDirOptions {
  dir: string;
  files: readonly string[];
  /** A function of the bytes alone: it is called again only when they change. */
  parse(files: ReadonlyMap<string, Buffer>): Verdict<T & { hash: string }>;
}

export class ReloadError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'ReloadError';
    this.code = code;
  }
}

/** Reads the directory once (throwing a ReloadError when that read is not good), then keeps watching it. */
export async function openSource<T extends { hash: string }>(spec: SourceSpec<T>): Promise<Source<T>> {
  const name = spec.name ?? spec.dir;
  const hooks = spec.hooks ?? {};
  const read = reader(spec);
  const first = await read();
  if (!first.ok) throw new ReloadError(first.code, `${name}: ${first.reason}`);

  let value = first.value;
  let generation = 1;
  const listeners = new Set<(value: T, generation: number) => void>();
  call(() => hooks.reloaded?.({ source: name, generation, hash: value.hash }));

  const refresh = async (): Promise<void> => {
    const verdict = await read();
    if (!verdict.ok) {
      call(() => hooks.rejected?.({ source: name, code: verdict.code, reason: verdict.reason, keptGeneration: generation }));
      return;
    }
    if (verdict.value.hash === value.hash) return; // a poll tick or an unrelated event
    value = verdict.value;
    generation += 1;
    call(() => hooks.reloaded?.({ source: name, generation, hash: value.hash }));
    for (const listener of listeners) call(() => listener(value, generation));
  };

  const stop = watchDirectory(spec.dir, refresh, {
    debounceMs: spec.debounceMs ?? DEFAULT_DEBOUNCE_MS,
    pollIntervalMs: spec.pollIntervalMs ?? 60_000,
    timers: spec.timers ?? systemTimers,
  });

  return {
    name,
    current: () => value,
    generation: () => generation,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    refresh,
    close: stop,
  };
}

/**
 * Reads the files and parses them, unless they are the bytes of the last read: then that read's verdict stands. The
 * poll reads every minute, and parsing a large bundle again (thousands of certificates) would only cost CPU.
 */
function reader<T>(spec: SourceSpec<T>): () => Promise<Verdict<T & { hash: string }>> {
  let last: { digest: string; verdict: Verdict<T & { hash: string }> } | undefined;
  return async () => {
    try {
      const files = await readSnapshot(spec.dir, spec.files);
      const digest = contentHash(files);
      if (last?.digest !== digest) last = { digest, verdict: spec.parse(files) };
      return last.verdict;
    } catch (err) {
      return { ok: false, code: 'Unreadable', reason: (err as NodeJS.ErrnoException).code ?? String(err) };
    }
  };
}

// Hooks and listeners belong to the caller; one that throws must not stop the reload or the others.
function call(fn: () => void): void {
  try {
    fn();
  } catch {
    /* ignored on purpose */
  }
}
