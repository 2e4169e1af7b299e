// Small builders and readers for the objects integration tests create and check.
import type { Certificate, CertificateSpec } from '../../../src/api/certificate.ts';
import { findCondition } from '../../../src/api/conditions.ts';
import type { Issuer, IssuerSpec } from '../../../src/api/issuer.ts';
import { API_VERSION, type Condition, type KubeObject } from '../../../src/api/meta.ts';
import type { KubeClient } from '../../../src/kube/client.ts';
import { isConflict } from '../../../src/kube/errors.ts';
import { Resources, type Resource } from '../../../src/kube/resources.ts';
import { waitFor } from './wait.ts';

export interface Secret extends KubeObject {
  type?: string;
  data?: Record<string, string>;
}

export function certificate(namespace: string, name: string, spec: CertificateSpec): Certificate {
  return { apiVersion: API_VERSION, kind: 'Certificate', metadata: { name, namespace }, spec };
}

export function clusterIssuer(name: string, spec: IssuerSpec): Issuer {
  return { apiVersion: API_VERSION, kind: 'ClusterIssuer', metadata: { name }, spec };
}

export function issuer(namespace: string, name: string, spec: IssuerSpec): Issuer {
  return { apiVersion: API_VERSION, kind: 'Issuer', metadata: { name, namespace }, spec };
}

export async function createNamespace(client: KubeClient, name: string): Promise<void> {
  await client.create(Resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

/** Waits until the Ready condition, observed for the current generation, satisfies `test`. */
export async function waitForReady(
  client: KubeClient,
  resource: typeof Resources.certificates | typeof Resources.issuers | typeof Resources.clusterIssuers,
  namespace: string | undefined,
  name: string,
  test: (c: Condition, obj: KubeObject<unknown, { conditions?: Condition[]; revision?: number }>) => boolean = (c) => c.status === 'True',
  timeoutMs = 60_000,
) {
  return waitFor(
    `${resource.kind} ${namespace ? namespace + '/' : ''}${name} to reach the expected Ready condition`,
    async () => {
      const obj = await client.get<KubeObject<unknown, { conditions?: Condition[]; revision?: number }>>(resource, namespace, name);
      const c = findCondition(obj?.status?.conditions, 'Ready');
      if (!obj || !c) return undefined;
      if (c.observedGeneration !== obj.metadata.generation) throw new Error(`condition is for an older generation: ${JSON.stringify(c)}`);
      if (!test(c, obj)) throw new Error(`Ready is ${JSON.stringify(c)}`);
      return obj;
    },
    { timeoutMs },
  );
}

export function decode(secret: Secret | undefined, key: string): string {
  const v = secret?.data?.[key];
  if (v === undefined) throw new Error(`Secret ${secret?.metadata.name} has no ${key}`);
  return Buffer.from(v, 'base64').toString('utf8');
}

/**
 * Reads the object, changes it, and replaces it; retried when someone (the operator writing its status, a
 * controller) wrote the object in between, as kubectl edit would be. `change` gets a copy it may modify.
 */
export async function editObject<T extends KubeObject>(
  client: KubeClient,
  resource: Resource,
  namespace: string | undefined,
  name: string,
  change: (obj: T) => T,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const cur = await client.get<T>(resource, namespace, name);
    if (!cur) throw new Error(`${resource.kind} ${namespace ?? ''}/${name} does not exist`);
    try {
      await client.replace(resource, change(structuredClone(cur)));
      return;
    } catch (err) {
      if (!isConflict(err) || attempt >= 10) throw err;
    }
  }
}

/** editObject for the spec of a Certificate or an issuer. */
export function updateSpec<S>(
  client: KubeClient,
  resource: typeof Resources.certificates | typeof Resources.issuers | typeof Resources.clusterIssuers,
  namespace: string | undefined,
  name: string,
  change: (spec: S) => S,
): Promise<void> {
  return editObject<KubeObject<S>>(client, resource, namespace, name, (cur) => ({ ...cur, spec: change(cur.spec!) }));
}

/** Sets a namespace's labels (namespaceSelector tests). */
export function setNamespaceLabels(client: KubeClient, name: string, labels: Record<string, string>): Promise<void> {
  return editObject(client, Resources.namespaces, undefined, name, (ns) => ({ ...ns, metadata: { ...ns.metadata, labels } }));
}

/** Replaces some of a Secret's data keys, keeping the others (a user rotating a CA by hand). */
export function replaceSecretData(client: KubeClient, namespace: string, name: string, data: Record<string, string>): Promise<void> {
  return editObject<Secret>(client, Resources.secrets, namespace, name, (s) => ({ ...s, data: { ...s.data, ...data } }));
}
