// One cache view over two informers of a kind that select disjoint objects: with --shards, the managed Secrets of
// this replica's shards (a selection that changes) and those of no shard (CA, ACME account and ticket-key Secrets,
// which every replica reads). Readers and handlers see one store.
import type { KubeObject } from '../api/meta.ts';
import type { Informer } from './informer.ts';

export function unionInformer<T extends KubeObject>(fixed: Informer<T>, changing: Informer<T>): Informer<T> {
  return {
    start: async () => {
      await Promise.all([fixed.start(), changing.start()]);
    },
    stop() {
      fixed.stop();
      changing.stop();
    },
    hasSynced: () => fixed.hasSynced() && changing.hasSynced(),
    // An object moving from one selection to the other (labelled meanwhile) is in the newer one.
    get: (ns, name) => changing.get(ns, name) ?? fixed.get(ns, name),
    list: (ns) => dedupe([...changing.list(ns), ...fixed.list(ns)]),
    byIndex: (index, value) => dedupe([...changing.byIndex(index, value), ...fixed.byIndex(index, value)]),
    addHandler(handler) {
      const removers = [fixed.addHandler(handler), changing.addHandler(handler)];
      return () => {
        for (const r of removers) r();
      };
    },
    setLabelSelector: (selector) => changing.setLabelSelector(selector),
    setKeep: (keep) => changing.setKeep(keep),
  };
}

function dedupe<T extends KubeObject>(objects: T[]): T[] {
  const seen = new Set<string>();
  return objects.filter((o) => {
    const k = `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
