// Read-your-own-writes over an informer cache. After the operator writes an object, its cache may lag for a
// moment; deciding on the stale copy would issue twice or loop. Reconcilers look objects up through this.
import type { KubeObject } from '../api/meta.ts';

export interface OwnWrites<T extends KubeObject> {
  /** Remember the object as the API server returned it after a write. */
  remember(obj: T): void;
  /** The newer of the cached copy and the last written one (undefined if neither). */
  freshest(namespace: string | undefined, name: string, cached: T | undefined): T | undefined;
  forget(namespace: string | undefined, name: string): void;
}

export function createOwnWrites<T extends KubeObject>(): OwnWrites<T> {
  const written = new Map<string, T>();
  const key = (ns: string | undefined, name: string) => `${ns ?? ''}/${name}`;
  return {
    remember(obj) {
      written.set(key(obj.metadata.namespace, obj.metadata.name), obj);
    },
    freshest(ns, name, cached) {
      const k = key(ns, name);
      const mine = written.get(k);
      if (!mine) return cached;
      if (cached && !isOlder(cached.metadata.resourceVersion, mine.metadata.resourceVersion)) {
        written.delete(k); // the cache caught up
        return cached;
      }
      return mine;
    },
    forget(ns, name) {
      written.delete(key(ns, name));
    },
  };
}

/**
 * resourceVersions are opaque by contract, but every API server stores etcd revisions in them; compare
 * numerically when both are integers, and otherwise trust the cache.
 */
export function isOlder(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}
