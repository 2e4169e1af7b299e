// Secure contexts keyed by the hash of what went into them: createSecureContext costs 0.5–40 ms (key parsing, CA
// store), far too much per handshake, and equal material must not build a second context.
import type { SecureContext } from 'node:tls';

export interface ContextCache<I> {
  get(input: I): SecureContext;
  /** Drops every context whose key is not in `keep`: old generations are no longer served. */
  retain(keep: Iterable<I>): void;
  size(): number;
}

export function createContextCache<I>(keyOf: (input: I) => string, build: (input: I) => SecureContext): ContextCache<I> {
  const contexts = new Map<string, SecureContext>();
  return {
    get(input) {
      const key = keyOf(input);
      let context = contexts.get(key);
      if (!context) {
        context = build(input);
        contexts.set(key, context);
      }
      return context;
    },
    retain(keep) {
      const wanted = new Set([...keep].map(keyOf));
      for (const key of contexts.keys()) if (!wanted.has(key)) contexts.delete(key);
    },
    size: () => contexts.size,
  };
}
