// Whether the API server serves a resource at all: for optional APIs (Gateway API) whose CRDs a cluster may not
// have. Asked once, at startup; a watch on a resource that is not served would only fail and retry forever.
import type { KubeClient } from './client.ts';
import { errorCode } from '../errors.ts';
import type { Resource } from './resources.ts';

export type Served = { served: true } | { served: false; reason: 'NotServed' | 'Forbidden' | 'Unreachable'; why: string };

/**
 * Lists one object cluster-wide: 404 means the resource is not served (its CRD is not installed), 403 that the
 * operator may not read it. Both are answers; other errors (the API server is unreachable) are retried, as every
 * informer does, until `attempts` run out.
 */
export async function probeResource(client: KubeClient, r: Resource, opts: { attempts?: number; delayMs?: number } = {}): Promise<Served> {
  const attempts = opts.attempts ?? 5;
  for (let i = 1; ; i++) {
    try {
      await client.list(r, { limit: 1 });
      return { served: true };
    } catch (err) {
      const code = errorCode(err);
      if (code === 'KubeNotFound') return { served: false, reason: 'NotServed', why: 'not served by the API server (its CRD is not installed)' };
      if (code === 'KubeForbidden') return { served: false, reason: 'Forbidden', why: `not readable by the operator: ${(err as Error).message}` };
      if (i >= attempts) return { served: false, reason: 'Unreachable', why: `could not be asked about: ${(err as Error).message}` };
      await new Promise((resolve) => setTimeout(resolve, (opts.delayMs ?? 1000) * i));
    }
  }
}

/** The resources of the list the API server does not serve (their CRDs are not installed), as `plural.group`. */
export async function notServed(client: KubeClient, resources: readonly Resource[]): Promise<string[]> {
  const missing: string[] = [];
  for (const r of resources) {
    const s = await probeResource(client, r);
    if (!s.served && s.reason === 'NotServed') missing.push(`${r.plural}.${r.group}`);
  }
  return missing;
}
