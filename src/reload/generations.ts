// Client side, generic: one connection pool (an https.Agent, an undici Agent, …) per trust generation. Pools reuse
// sockets and resume TLS sessions by host alone, never asking the trust again, so a changed CA pool or client
// certificate must come with a new pool; the old one is retired once its requests are done.
import type { ReloadHooks, Source } from './types.ts';

export interface GenerationsOptions<A> {
  /** Each accepted change of any of these starts a new generation. */
  sources: readonly Source<unknown>[];
  /** Builds the pool for the material as it is now. */
  create(generation: number): A;
  /** Resolves when the old pool has finished its in-flight requests and is closed. */
  retire(pool: A): Promise<void>;
  hooks?: ReloadHooks;
}

export interface Generations<A> {
  /** The pool to use for a new request: ask at each request, do not keep it. */
  current(): A;
  generation(): number;
  /** Stops following changes and retires the current pool (and waits for pools still retiring). */
  close(): Promise<void>;
}

export function rotateByGeneration<A>(options: GenerationsOptions<A>): Generations<A> {
  let generation = 1;
  let pool = options.create(generation);
  const retiring = new Set<Promise<void>>();

  const retire = (old: A, oldGeneration: number): void => {
    const done = options
      .retire(old)
      .catch(() => undefined)
      .then(() => {
        retiring.delete(done);
        try {
          options.hooks?.retired?.({ generation: oldGeneration });
        } catch {
          /* a hook never breaks the rotation */
        }
      });
    retiring.add(done);
  };

  const next = (): void => {
    const old = pool;
    generation += 1;
    pool = options.create(generation);
    retire(old, generation - 1);
  };
  const unsubscribe = options.sources.map((source) => source.subscribe(next));

  return {
    current: () => pool,
    generation: () => generation,
    async close() {
      unsubscribe.forEach((fn) => fn());
      retire(pool, generation);
      await Promise.all([...retiring]);
    },
  };
}
