// Watches exactly the CA Secrets that ca.secretName issuers name — one informer per Secret, selected by
// metadata.name in its namespace — so a replaced CA is noticed at once while memory stays one object per
// Secret (never a cache of every Secret in the cluster). Informers follow the set of names the issuers want.
import type { Logger } from 'pino';
import type { KubeClient } from '../../kube/client.ts';
import { createInformer, type Informer } from '../../kube/informer.ts';
import { Resources } from '../../kube/resources.ts';
import { withoutManagedFields } from '../../kube/trim.ts';
import type { SecretObject } from '../../api/secret.ts';

export interface UserCaSecretWatch {
  /** Watch exactly these Secrets (namespace, name): start the new ones, stop the ones no longer named. */
  sync(wanted: Iterable<readonly [string, string]>): void;
  /** The watched Secret, once its informer has listed; undefined otherwise (or when it does not exist). */
  get(namespace: string, name: string): SecretObject | undefined;
  watched(): string[];
  stop(): void;
}

export function createUserCaSecretWatch(deps: { client: KubeClient; log: Logger; onChange: (namespace: string, name: string) => void }): UserCaSecretWatch {
  const informers = new Map<string, Informer<SecretObject>>();
  let stopped = false;
  const keyOf = (ns: string, name: string) => `${ns}/${name}`;
  return {
    sync(wanted) {
      if (stopped) return;
      const want = new Map<string, readonly [string, string]>();
      for (const w of wanted) want.set(keyOf(w[0], w[1]), w);
      for (const [k, inf] of informers) {
        if (want.has(k)) continue;
        inf.stop();
        informers.delete(k);
      }
      for (const [k, [ns, name]] of want) {
        if (informers.has(k)) continue;
        const changed = () => deps.onChange(ns, name);
        const inf = createInformer<SecretObject>({
          client: deps.client,
          resource: Resources.secrets,
          namespace: ns,
          fieldSelector: `metadata.name=${name}`,
          log: deps.log,
          transform: withoutManagedFields,
          onAdd: changed,
          onUpdate: changed,
          onDelete: changed,
        });
        informers.set(k, inf);
        void inf.start().catch((err: Error) => deps.log.warn({ err: err.message, secret: k }, 'could not watch a CA Secret'));
      }
    },
    get(ns, name) {
      const inf = informers.get(keyOf(ns, name));
      return inf?.hasSynced() ? inf.get(ns, name) : undefined;
    },
    watched: () => [...informers.keys()].sort(),
    stop() {
      stopped = true;
      for (const inf of informers.values()) inf.stop();
      informers.clear();
    },
  };
}
