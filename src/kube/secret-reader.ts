// Reads Secrets the operator does not cache (e.g. a user's CA Secret): the managed-Secret informer first,
// then a GET remembered for a short while, so a burst of issuances costs one read.
import type { SecretObject } from '../api/secret.ts';
import type { Clock } from '../time/clock.ts';
import type { KubeClient } from './client.ts';
import { Resources } from './resources.ts';

export interface SecretReader {
  get(namespace: string, name: string): Promise<SecretObject | undefined>;
  /** Drop a remembered GET: the Secret is known to have changed (a watched CA Secret). */
  forget?(namespace: string, name: string): void;
}

export function createSecretReader(opts: {
  client: KubeClient;
  cached: (namespace: string, name: string) => SecretObject | undefined;
  clock: Clock;
  ttlMs?: number;
}): SecretReader {
  const ttl = opts.ttlMs ?? 30_000;
  const memo = new Map<string, { at: number; secret: SecretObject | undefined }>();
  return {
    async get(namespace, name) {
      const hit = opts.cached(namespace, name);
      if (hit) return hit;
      const key = `${namespace}/${name}`;
      const now = opts.clock.now().getTime();
      const m = memo.get(key);
      if (m && now - m.at < ttl) return m.secret;
      const secret = await opts.client.get<SecretObject>(Resources.secrets, namespace, name);
      memo.set(key, { at: now, secret });
      return secret;
    },
    forget(namespace, name) {
      memo.delete(`${namespace}/${name}`);
    },
  };
}
