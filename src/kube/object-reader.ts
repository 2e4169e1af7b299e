// Reads objects the operator does not cache (a user's ConfigMaps and Secrets named as TrustBundle sources):
// a GET or a label-selected LIST, remembered for a short while so a burst of reconciles costs one read.
import type { KubeObject } from '../api/meta.ts';
import type { Clock } from '../time/clock.ts';
import type { KubeClient } from './client.ts';
import type { Resource } from './resources.ts';
import { compareStrings } from '../ordering.ts';

export interface DataObject extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

export interface ObjectReader {
  get(r: Resource, namespace: string, name: string): Promise<DataObject | undefined>;
  /** Every object in the namespace matching the label selector (API syntax), sorted by name. */
  list(r: Resource, namespace: string, labelSelector: string): Promise<DataObject[]>;
}

export function createObjectReader(opts: { client: KubeClient; clock: Clock; ttlMs?: number }): ObjectReader {
  const ttl = opts.ttlMs ?? 30_000;
  const memo = new Map<string, { at: number; value: Promise<unknown> }>();
  function remembered<T>(key: string, read: () => Promise<T>): Promise<T> {
    const now = opts.clock.now().getTime();
    const m = memo.get(key);
    if (m && now - m.at < ttl) return m.value as Promise<T>;
    // Drop expired entries as we go, so sources no bundle names any more do not stay in memory.
    for (const [k, v] of memo) if (now - v.at >= ttl) memo.delete(k);
    const value = read();
    memo.set(key, { at: now, value });
    value.catch(() => memo.delete(key)); // a failed read is not remembered
    return value;
  }
  return {
    get: (r, namespace, name) => remembered(`get ${r.plural} ${namespace}/${name}`, () => opts.client.get<DataObject>(r, namespace, name)),
    list: (r, namespace, labelSelector) =>
      remembered(`list ${r.plural} ${namespace} ${labelSelector}`, async () => {
        const items: DataObject[] = [];
        let cont: string | undefined;
        do {
          const page = await opts.client.list<DataObject>(r, { namespace, labelSelector, limit: 500, continue: cont });
          items.push(...page.items);
          cont = page.continue;
        } while (cont);
        return items.sort((a, b) => compareStrings(a.metadata.name, b.metadata.name));
      }),
  };
}
