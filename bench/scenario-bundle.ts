// TrustBundle fan-out: one bundle (inline PEM source) with a ConfigMap target in N labelled namespaces, on a fresh
// control plane with one operator. Measures the first sync, the seconds from a source change (a CA added) until every
// target holds the new bundle (seen through a watch on the targets, so each ConfigMap's own arrival time counts), and
// the API writes of a resync that finds nothing to change: first 30 s with nothing changing, then a restarted
// operator that lists and reconciles everything again. Both must write nothing. Writes are the API server's counts of
// mutating requests on ConfigMaps, Secrets, TrustBundles and events, taken once kube-controller-manager has written
// its own kube-root-ca.crt into every new namespace, so what they count is the operator's.
import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findCondition } from '../src/api/conditions.ts';
import { API_VERSION, type KubeObject } from '../src/api/meta.ts';
import { TRUST_BUNDLE_LABEL, type TrustBundle, type TrustBundleSpec } from '../src/api/trust-bundle.ts';
import { createKubeClient, type KubeClient } from '../src/kube/client.ts';
import { isConflict } from '../src/kube/errors.ts';
import { Resources } from '../src/kube/resources.ts';
import { encodePem } from '../src/pki/index.ts';
import { createGeneration } from '../src/signers/managed-ca.ts';
import { startControlPlane } from '../test/env/controlplane.ts';
import { freePort } from '../test/env/ports.ts';
import { createNamespace } from '../test/integration/helpers/objects.ts';
import { startOperator, type OperatorProcess } from '../test/integration/helpers/operator.ts';
import { operatorArgs, operatorImage } from './issuance.ts';
import { apiWriteCounts, childCpuSeconds, cpuDelta, inBatches, memoryMiB, metricDelta, scrapeOperator } from './measure.ts';

const BUNDLE = 'bench';
const KEY = 'ca.crt';
const NS_LABEL = 'bench-trust';
/** The resources a TrustBundle's reconcile may write: targets, its own status, events. */
const BUNDLE_WRITES = ['configmaps', 'secrets', 'trustbundles', 'events'];
export const BUNDLE_TARGET_SECONDS = 10;
const IDLE_SECONDS = 30;

export interface BundleResult {
  namespaces: number;
  secondsToCreateNamespaces: number;
  /** From the TrustBundle's create until its status said every target synced. */
  secondsInitialSync: number;
  /** Waiting for kube-controller-manager's kube-root-ca.crt ConfigMaps in the new namespaces, not counted. */
  secondsWaitingForKubeRootCA: number;
  /** From the source change until the last target held the new bundle (each seen through the watch). */
  secondsUntilAllUpdated: number;
  /** When the first, half and 90 % of the targets held the new bundle, seconds after the change. */
  updatedAt: { first: number; half: number; p90: number; all: number };
  /** From the change until the bundle's status reported every target synced again. */
  secondsUntilStatusSynced: number;
  writesForChange: Record<string, number>;
  /** Writes over 30 s with nothing changing, then after an operator restart (a full resync). */
  noOpResync: { idleSeconds: number; idleWrites: Record<string, number>; restartWrites: Record<string, number>; total: number };
  operatorPeakRssMiB: number;
  operatorRssAfterMiB: number;
  cpuSecondsDuringChange: Record<string, number>;
  reconcilesDuringChange: Record<string, number>;
}

async function caPem(commonName: string): Promise<string> {
  const ca = await createGeneration({ commonName, durationMs: 30 * 86_400_000, key: { algorithm: 'ECDSA', size: 256 } }, new Date(Date.now() - 60_000));
  return encodePem('CERTIFICATE', ca.der);
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const delta = (a: Record<string, number>, b: Record<string, number>) =>
  Object.fromEntries(
    Object.keys(b)
      .map((k) => [k, (b[k] ?? 0) - (a[k] ?? 0)] as const)
      .filter(([, n]) => n !== 0),
  );
const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

export async function benchBundle(opts: { count: number; crdsDir: string }): Promise<BundleResult> {
  const count = opts.count;
  const cp = await startControlPlane({ crdsDir: opts.crdsDir });
  const logDir = await mkdtemp(join(tmpdir(), 'certsmith-bench-bundle-'));
  let operator: OperatorProcess | undefined;
  const watchAbort = new AbortController();
  try {
    const client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath, maxSockets: 64 });
    await createNamespace(client, 'certsmith');
    const metricsPort = await freePort();
    const start = () => startOperator({ ...operatorImage(), kubeconfigPath: cp.kubeconfigPath, logDir, args: operatorArgs(metricsPort) });
    operator = start();
    const writes = () => apiWriteCounts(cp.binDir, cp.kubeconfigPath, BUNDLE_WRITES);

    const names = Array.from({ length: count }, (_, i) => `trust-${String(i).padStart(4, '0')}`);
    let t = performance.now();
    await inBatches(names, 50, (name) =>
      client.create(Resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { [NS_LABEL]: 'yes' } } }),
    );
    const secondsToCreateNamespaces = +((performance.now() - t) / 1000).toFixed(2);

    const [first, second] = await Promise.all([caPem('bench trust CA 1'), caPem('bench trust CA 2')]);
    const spec = (inline: string): TrustBundleSpec => ({
      sources: [{ inline }],
      target: { configMap: { key: KEY }, namespaceSelector: { matchLabels: { [NS_LABEL]: 'yes' } } },
    });
    t = performance.now();
    await client.create<TrustBundle>(Resources.trustBundles, { apiVersion: API_VERSION, kind: 'TrustBundle', metadata: { name: BUNDLE }, spec: spec(first) });
    await waitSynced(client, count, 300_000);
    const secondsInitialSync = +((performance.now() - t) / 1000).toFixed(2);
    // kube-controller-manager writes a kube-root-ca.crt ConfigMap into every new namespace, at its own client's
    // rate (~20/s): wait until it is done, so every write counted from here on is the operator's.
    t = performance.now();
    const allNamespaces = (await client.list(Resources.namespaces)).items.length;
    await waitFor(
      async () =>
        (await client.list(Resources.configMaps, { fieldSelector: 'metadata.name=kube-root-ca.crt' })).items.length >= allNamespaces ? true : undefined,
      300_000,
      1000,
    );
    const secondsWaitingForKubeRootCA = +((performance.now() - t) / 1000).toFixed(1);
    await sleep(2000); // let the status write and its event settle before counting

    // Each target's content as the watch delivers it, and since when: arrival times are the API server's events,
    // not a poll's.
    const holds = new Map<string, { hash: string; since: number }>();
    const list = await client.list<ConfigMap>(Resources.configMaps, { labelSelector: `${TRUST_BUNDLE_LABEL}=${BUNDLE}` });
    for (const cm of list.items) holds.set(cm.metadata.namespace!, { hash: sha(cm.data?.[KEY] ?? ''), since: 0 });
    const initial = new Set([...holds.values()].map((h) => h.hash));
    if (holds.size !== count || initial.size !== 1) throw new Error(`after the first sync: ${holds.size} targets holding ${initial.size} contents`);
    void client
      .watch<ConfigMap>(
        Resources.configMaps,
        { labelSelector: `${TRUST_BUNDLE_LABEL}=${BUNDLE}`, resourceVersion: list.resourceVersion, timeoutSeconds: 600, signal: watchAbort.signal },
        (e) => {
          if (e.type !== 'ADDED' && e.type !== 'MODIFIED') return;
          const hash = sha(e.object.data?.[KEY] ?? '');
          const ns = e.object.metadata.namespace!;
          if (holds.get(ns)?.hash !== hash) holds.set(ns, { hash, since: performance.now() });
        },
      )
      .catch(() => undefined);
    const updated = () => [...holds.values()].filter((h) => !initial.has(h.hash));

    const writesBefore = writes();
    const metricsBefore = await scrapeOperator(metricsPort);
    const processNames = { [operator.pid()]: 'operator' };
    const cpuBefore = childCpuSeconds(processNames);
    const changedAt = performance.now();
    await replaceSpec(client, spec(first + second));
    await waitFor(() => (updated().length >= count ? true : undefined), 120_000);
    const secondsUntilAllUpdated = +((performance.now() - changedAt) / 1000).toFixed(2);
    const contents = new Set(updated().map((h) => h.hash));
    if (contents.size !== 1) throw new Error(`targets hold ${contents.size} different new bundles`);
    await waitSynced(client, count, 60_000, 2);
    const secondsUntilStatusSynced = +((performance.now() - changedAt) / 1000).toFixed(2);
    const cpuAfter = childCpuSeconds(processNames);
    await sleep(3000);
    const writesAfterChange = writes();
    const metricsAfter = await scrapeOperator(metricsPort);
    const arrivals = updated()
      .map((h) => (h.since - changedAt) / 1000)
      .sort((a, b) => a - b);
    const at = (q: number) => +arrivals[Math.min(arrivals.length - 1, Math.max(0, Math.ceil(q * count) - 1))]!.toFixed(2);

    // No-op resync: nothing changes for 30 s; then the operator restarts, lists everything and reconciles again.
    await sleep(IDLE_SECONDS * 1000);
    const writesAfterIdle = writes();
    const memory = memoryMiB(operator.pid());
    await operator.stop();
    const restartMetricsPort = metricsPort;
    operator = start();
    await waitFor(async () => {
      try {
        const m = await scrapeOperator(restartMetricsPort);
        return m.some((s) => s.name === 'certsmith_reconcile_total' && s.labels.controller === 'trustbundles' && s.value > 0) ? true : undefined;
      } catch {
        return undefined; // not listening yet
      }
    }, 60_000);
    await sleep(5000);
    const writesAfterRestart = writes();
    const idleWrites = delta(writesAfterChange, writesAfterIdle);
    const restartWrites = delta(writesAfterIdle, writesAfterRestart);

    return {
      namespaces: count,
      secondsToCreateNamespaces,
      secondsInitialSync,
      secondsWaitingForKubeRootCA,
      secondsUntilAllUpdated,
      updatedAt: { first: at(1 / count), half: at(0.5), p90: at(0.9), all: at(1) },
      secondsUntilStatusSynced,
      // Minus the bench's own PUT of the TrustBundle.
      writesForChange: Object.fromEntries(
        Object.entries(delta(writesBefore, writesAfterChange))
          .map(([k, v]) => [k, k === 'PUT trustbundles' ? v - 1 : v] as const)
          .filter(([, v]) => v !== 0),
      ),
      noOpResync: { idleSeconds: IDLE_SECONDS, idleWrites, restartWrites, total: sum(idleWrites) + sum(restartWrites) },
      operatorPeakRssMiB: memory.peak,
      operatorRssAfterMiB: memory.now,
      cpuSecondsDuringChange: cpuDelta(cpuBefore, cpuAfter),
      reconcilesDuringChange: metricDelta(metricsBefore, metricsAfter, 'certsmith_reconcile_total', ['controller', 'result']),
    };
  } finally {
    watchAbort.abort();
    await operator?.stop();
    await cp.stop();
  }
}

async function replaceSpec(client: KubeClient, spec: TrustBundleSpec): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const cur = await client.get<TrustBundle>(Resources.trustBundles, undefined, BUNDLE);
    try {
      await client.replace(Resources.trustBundles, { ...cur!, spec });
      return;
    } catch (err) {
      if (!isConflict(err) || attempt >= 10) throw err;
    }
  }
}

/** Until the bundle's status (for its current generation) says all `count` targets hold it. */
async function waitSynced(client: KubeClient, count: number, timeoutMs: number, minGeneration = 1): Promise<void> {
  await waitFor(async () => {
    const b = await client.get<TrustBundle>(Resources.trustBundles, undefined, BUNDLE);
    const synced = findCondition(b?.status?.conditions, 'Synced');
    const gen = b?.metadata.generation ?? 0;
    if (gen < minGeneration || synced?.status !== 'True' || synced.observedGeneration !== gen) return undefined;
    return b?.status?.targetsSynced === count && b.status.targetsTotal === count ? true : undefined;
  }, timeoutMs);
}

async function waitFor<T>(poll: () => T | undefined | Promise<T | undefined>, timeoutMs: number, everyMs = 50): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const v = await poll();
    if (v !== undefined) return v;
    if (performance.now() > deadline) throw new Error(`not reached within ${timeoutMs / 1000} s`);
    await sleep(everyMs);
  }
}
