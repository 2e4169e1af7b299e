// The operator's reconcile counters, read from its /metrics: a test that checks that nothing happened waits until
// the operator has looked a counted number of times, instead of sleeping and hoping it did.
import type { KubeObject } from '../../../src/api/meta.ts';
import type { KubeClient } from '../../../src/kube/client.ts';
import { isConflict } from '../../../src/kube/errors.ts';
import type { Resource } from '../../../src/kube/resources.ts';
import type { OperatorProcess } from './operator.ts';
import { waitFor } from './wait.ts';

/** The controllers' names, as in certsmith_reconcile_total{controller}. */
export type ControllerName = 'certificates' | 'issuers' | 'clusterissuers' | 'ingresses' | 'gateways' | 'trustbundles' | 'sessionticketkeys';

async function healthPort(operator: OperatorProcess): Promise<string> {
  return waitFor('the operator to log its health port', async () => /"port":(\d+),"msg":"health server listening"/.exec(await operator.logs())?.[1]);
}

/** Reconciles the controller has finished, whatever their result. */
export async function reconcileCount(operator: OperatorProcess, controller: ControllerName): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${await healthPort(operator)}/metrics`)).text();
  const series = new RegExp(`^certsmith_reconcile_total\\{[^}]*controller="${controller}"[^}]*\\} (\\d+)`, 'gm');
  return [...text.matchAll(series)].reduce((n, m) => n + Number(m[1]), 0);
}

/** Waits until the controller has finished `times` more reconciles than `since` (waited for: a loaded machine is late). */
export async function reconciledAgain(operator: OperatorProcess, controller: ControllerName, since: number, times: number, timeoutMs = 30_000): Promise<void> {
  await waitFor(`${times} more ${controller} reconciles`, async () => (await reconcileCount(operator, controller)) >= since + times, {
    timeoutMs,
    intervalMs: 100,
  });
}

/**
 * Sets an annotation no controller reads, so the operator's informer sees an update and reconciles the object again
 * with the same inputs; returns the object as written (its resourceVersion is the one to compare later).
 */
export async function touch<T extends KubeObject>(client: KubeClient, resource: Resource, namespace: string | undefined, name: string): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const cur = await client.get<T>(resource, namespace, name);
    if (!cur) throw new Error(`${resource.kind} ${namespace ?? ''}/${name} does not exist`);
    const annotations = { ...cur.metadata.annotations, 'test.certsmith.dev/touched': new Date().toISOString() };
    try {
      return await client.replace(resource, { ...cur, metadata: { ...cur.metadata, annotations } });
    } catch (err) {
      if (!isConflict(err) || attempt >= 10) throw err;
    }
  }
}
