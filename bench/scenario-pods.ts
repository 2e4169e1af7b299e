// Pods scenario: pod certificates on the real one-node cluster (test/env/cluster.ts), not run by default (root, the
// machine's one node). The operator runs as one pod from the chart; a managed-CA ClusterIssuer signs for
// certsmith.dev/bench. Then, N pods created at once (the pause image), twice:
//   - without any certificate: the node's own pace, as a baseline;
//   - each with a podCertificate projected volume: the kubelet makes the key, asks through a PodCertificateRequest,
//     waits for certsmith's answer and only then starts the container.
// Measured: seconds from the first create until all N are Running; per request, the signer's latency as a watch
// sees it (the request ADDED → its status Issued); the operator's API writes per request (the API server's own
// counters: PodCertificateRequest status writes, and the events it reported); the operator pod's RSS before, at the
// end, and its peak.
import { inBatches, apiWriteCounts, memoryMiB } from './measure.ts';
import { guardNodeAddress, leaderPod, operatorPid, startTimedCluster, sleep } from './scenario-node.ts';
import type { KubeObject } from '../src/api/meta.ts';
import type { PodCertificateRequest } from '../src/api/pod-certificate-request.ts';
import { createKubeClient, type KubeClient } from '../src/kube/client.ts';
import { Resources } from '../src/kube/resources.ts';
import { PAUSE_IMAGE_REF } from '../test/env/image.ts';
import { missingNodePrerequisites } from '../test/env/node.ts';
import { createHelm, installOperatorChart } from '../test/integration/helpers/helm.ts';
import { clusterIssuer, createNamespace, waitForReady } from '../test/integration/helpers/objects.ts';
import { waitFor } from '../test/integration/helpers/wait.ts';

const SIGNER = 'certsmith.dev/bench';
const IDLE_BEFORE_MS = 30_000;

export interface PodsRun {
  pods: number;
  /** First create → all N Running (polled every 250 ms). */
  secondsUntilAllRunning: number;
}

export interface PodsResult {
  baseline: PodsRun;
  withCertificates: PodsRun & {
    requests: number;
    /** Request ADDED → Issued, as one watch saw them (ms). */
    signerLatencyMs: { p50: number; p90: number; p99: number; max: number };
    /** The operator's writes per request (status writes and its own events). */
    writesPerRequest: number;
    /** Every write on those resources during the run, whoever made it (the kubelet's included), by verb and resource. */
    writesByKind: Record<string, number>;
  };
  operatorRssMiB: { idle: number; atAllRunning: number; peak: number };
}

const OPERATOR_WRITTEN = ['podcertificaterequests', 'events', 'secrets', 'configmaps', 'clustertrustbundles'];

export async function benchPods(opts: { count: number }): Promise<PodsResult> {
  const missing = missingNodePrerequisites();
  if (missing.length > 0) throw new Error(`the pods scenario needs what a node needs; missing: ${missing.join(', ')}`);
  const { cluster } = await startTimedCluster('10s');
  const guard = guardNodeAddress();
  const helm = await createHelm(cluster.cp.binDir);
  try {
    const client = createKubeClient({ kubeconfigPath: cluster.cp.kubeconfigPath, maxSockets: 64 });
    await installOperatorChart(helm, cluster.cp.kubeconfigPath, '--set', 'replicas=1');
    await client.create(
      Resources.clusterIssuers,
      clusterIssuer('bench', { ca: { managed: { commonName: 'bench pod CA' }, podCertificates: { signerName: SIGNER } } }),
    );
    await waitForReady(client, Resources.clusterIssuers, undefined, 'bench');
    const pid = await operatorPid(cluster, await leaderPod(client));
    await sleep(IDLE_BEFORE_MS);
    const idle = memoryMiB(pid).now;

    const baseline = await startPods(client, 'bench-plain', opts.count, false);
    console.error(`bench: pods: ${opts.count} pods without certificates Running in ${baseline.secondsUntilAllRunning} s`);
    await deletePods(cluster.cp.kubectl, 'bench-plain');

    const before = apiWriteCounts(cluster.cp.binDir, cluster.cp.kubeconfigPath, OPERATOR_WRITTEN);
    await createNamespace(client, 'bench-certs');
    const latencies = await watchSignerLatency(client, 'bench-certs');
    const run = await startPods(client, 'bench-certs', opts.count, true);
    const atAllRunning = memoryMiB(pid).now;
    const signed = latencies.stop();
    const after = apiWriteCounts(cluster.cp.binDir, cluster.cp.kubeconfigPath, OPERATOR_WRITTEN);
    const byKind = Object.fromEntries(
      Object.keys(after)
        .map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0)] as const)
        .filter(([, n]) => n !== 0),
    );
    // The API server's counters do not say who wrote. Only a signer may write a request's status (the `sign` verb), so
    // those writes are the operator's; of the events, the operator's are those it reported (source certsmith). The
    // rest are the kubelet's: its requests (POST), and the pods' events (PATCHed as they repeat).
    const statusWrites = Object.entries(byKind)
      .filter(
        ([k]) =>
          k.startsWith('APPLY podcertificaterequests/status') ||
          k.startsWith('PATCH podcertificaterequests/status') ||
          k.startsWith('PUT podcertificaterequests/status'),
      )
      .reduce((a, [, n]) => a + n, 0);
    const ownEvents = (await client.list(Resources.events, { namespace: 'bench-certs', fieldSelector: 'source=certsmith' })).items.length;
    const total = statusWrites + ownEvents;
    console.error(`bench: pods: ${opts.count} pods with certificates Running in ${run.secondsUntilAllRunning} s; ${signed.length} requests signed`);
    return {
      baseline,
      withCertificates: {
        ...run,
        requests: signed.length,
        signerLatencyMs: percentiles(signed),
        writesPerRequest: +(total / Math.max(1, signed.length)).toFixed(2),
        writesByKind: byKind,
      },
      operatorRssMiB: { idle, atAllRunning, peak: memoryMiB(pid).peak },
    };
  } finally {
    guard.stop();
    await helm.cleanup();
    await cluster.stop();
  }
}

/** Creates `count` pause pods at once (50 creates in flight) and waits until every one is Running. */
async function startPods(client: KubeClient, namespace: string, count: number, withCertificate: boolean): Promise<PodsRun> {
  if (!(await client.get(Resources.namespaces, undefined, namespace))) await createNamespace(client, namespace);
  await waitFor(`the default service account of ${namespace}`, async () => (await client.get(Resources.serviceAccounts, namespace, 'default')) ?? false);
  const names = Array.from({ length: count }, (_, i) => `pod-${String(i).padStart(4, '0')}`);
  const started = performance.now();
  await inBatches(names, 50, (name) => client.create(Resources.pods, podManifest(namespace, name, withCertificate)));
  await waitFor(
    `${count} pods Running in ${namespace}`,
    async () => {
      const { items } = await client.list<KubeObject & { status?: { phase?: string } }>(Resources.pods, { namespace });
      return items.filter((p) => p.status?.phase === 'Running').length === count;
    },
    { timeoutMs: 15 * 60_000, intervalMs: 250 },
  );
  return { pods: count, secondsUntilAllRunning: +((performance.now() - started) / 1000).toFixed(2) };
}

function podManifest(namespace: string, name: string, withCertificate: boolean): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace },
    spec: {
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 0,
      containers: [
        {
          name: 'pause',
          image: PAUSE_IMAGE_REF,
          imagePullPolicy: 'IfNotPresent',
          resources: { requests: { cpu: '1m', memory: '4Mi' } },
          ...(withCertificate ? { volumeMounts: [{ name: 'identity', mountPath: '/var/run/certsmith', readOnly: true }] } : {}),
        },
      ],
      ...(withCertificate
        ? {
            volumes: [
              {
                name: 'identity',
                projected: { sources: [{ podCertificate: { signerName: SIGNER, keyType: 'ECDSAP256', credentialBundlePath: 'credentials.pem' } }] },
              },
            ],
          }
        : {}),
    },
  } as KubeObject;
}

async function deletePods(kubectl: (...args: string[]) => Promise<string>, namespace: string): Promise<void> {
  await kubectl('delete', 'namespace', namespace, '--wait=true', '--timeout=300s');
}

/** Request ADDED → status Issued, per request, as one watch on the namespace sees them. */
async function watchSignerLatency(client: KubeClient, namespace: string): Promise<{ stop(): number[] }> {
  const listed = Promise.withResolvers<void>();
  const added = new Map<string, number>();
  const latencies: number[] = [];
  const abort = new AbortController();
  void (async () => {
    while (!abort.signal.aborted) {
      try {
        const { resourceVersion } = await client.list(Resources.podCertificateRequests, { namespace, limit: 1 });
        listed.resolve();
        await client.watch<PodCertificateRequest>(
          Resources.podCertificateRequests,
          { namespace, resourceVersion, timeoutSeconds: 600, signal: abort.signal },
          ({ type, object }) => {
            const name = object.metadata.name;
            if (type === 'ADDED' && !added.has(name)) added.set(name, performance.now());
            const issued = object.status?.conditions?.some((c) => c.type === 'Issued');
            const at = added.get(name);
            if (issued && at !== undefined) {
              latencies.push(performance.now() - at);
              added.delete(name);
            }
          },
        );
      } catch {
        // the watch ends with the abort; a broken one is started again
      }
    }
  })();
  await listed.promise;
  return {
    stop() {
      abort.abort();
      return latencies;
    },
  };
}

function percentiles(values: number[]): PodsResult['withCertificates']['signerLatencyMs'] {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => +(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0).toFixed(1);
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: at(1) };
}
