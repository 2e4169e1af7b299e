// With --shards, a replica caches only its shards' Secrets, but a CA's retire gate counts the leaves of every shard.
// This reads them from the API server, page by page, keeping only what the count reads; only while a CA retires,
// and at most once per `ttlMs` however many issuers ask.
import { CERTIFICATE_NAME_ANNOTATION, CERTIFICATE_NAME_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../api/labels.ts';
import type { SecretObject } from '../api/secret.ts';
import type { KubeClient } from '../kube/client.ts';
import { Resources } from '../kube/resources.ts';
import type { Clock } from '../time/clock.ts';

const PAGE_SIZE = 500;

export function createLeafSecretLister(deps: { client: KubeClient; clock: Clock; ttlMs?: number }): (needed: boolean) => Promise<readonly SecretObject[]> {
  const ttlMs = deps.ttlMs ?? 10_000;
  let last: { at: number; leaves: Promise<SecretObject[]> } | undefined;

  async function listAll(): Promise<SecretObject[]> {
    const out: SecretObject[] = [];
    let cont: string | undefined;
    do {
      const page = await deps.client.list<SecretObject>(Resources.secrets, {
        labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE},${CERTIFICATE_NAME_LABEL}`,
        limit: PAGE_SIZE,
        continue: cont,
      });
      for (const s of page.items) {
        const certName = s.metadata.annotations?.[CERTIFICATE_NAME_ANNOTATION];
        const ca = s.data?.['ca.crt'];
        const leaf = s.data?.['tls.crt'];
        if (!certName || !ca || !leaf) continue;
        out.push({
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: s.metadata.name, namespace: s.metadata.namespace, annotations: { [CERTIFICATE_NAME_ANNOTATION]: certName } },
          data: { 'ca.crt': ca, 'tls.crt': leaf },
        });
      }
      cont = page.continue;
    } while (cont);
    return out;
  }

  return (needed) => {
    if (!needed) return Promise.resolve([]);
    const now = deps.clock.now().getTime();
    if (!last || now - last.at > ttlMs) {
      const leaves = listAll();
      last = { at: now, leaves };
      // A failed read is not remembered: the next retire gate asks again.
      leaves.catch(() => {
        if (last?.leaves === leaves) last = undefined;
      });
    }
    return last.leaves;
  };
}
