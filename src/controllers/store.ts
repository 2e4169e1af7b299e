import type { KubeObject } from '../api/meta.ts';

/** The read side of an informer, which is all a reconciler needs. */
export interface Store<T extends KubeObject> {
  get(namespace: string | undefined, name: string): T | undefined;
  list(namespace?: string): T[];
}

/** A store with the informer's named indexes. */
export interface IndexedStore<T extends KubeObject> extends Store<T> {
  byIndex(index: string, value: string): T[];
}

export function objectKey(namespace: string | undefined, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

export function parseKey(key: string): { namespace: string | undefined; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: undefined, name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}
