// Reconciles a TrustBundle: gather (its sources, built into a bundle; its targets as they are) → plan (pure: which
// targets to write and remove) → act (write them to ConfigMaps, Secrets and a ClusterTrustBundle across the
// matching namespaces; remove those no longer wanted) → write status once, and tell what changed in events.
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { API_VERSION } from '../../api/meta.ts';
import { TrustBundleSpec, type TrustBundle, type TrustBundleStatus } from '../../api/trust-bundle.ts';
import { formatZodIssues } from '../../api/zod-issues.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { createOwnWrites } from '../../kube/own-writes.ts';
import { Resources } from '../../kube/resources.ts';
import type { Reconciler } from '../../runtime/controller.ts';
import type { Clock } from '../../time/clock.ts';
import { parseKey, type Store } from '../store.ts';
import { buildFromSources } from './build.ts';
import { describeTarget, planTargets, type GatheredTarget, type ManagedTarget, type TargetStep, type TrustBundleInputs } from './plan.ts';
import { trustBundleResult } from './result.ts';
import type { SourceDeps } from './sources.ts';
import { invalidSpecStatus, normalizeStatus } from './status.ts';
import { createTargetObjects } from './target-objects.ts';
import { desiredTargets, targetNamespaces, type DesiredTarget, type NamespaceObject, type TargetObject } from './targets.ts';

export interface TrustBundleReconcilerDeps {
  client: KubeClient;
  bundles: Store<TrustBundle>;
  namespaces: Store<NamespaceObject>;
  /** ConfigMaps and Secrets carrying the trust-bundle label (the informers select on it). */
  configMaps: Store<TargetObject>;
  secrets: Store<TargetObject>;
  /** Labelled ClusterTrustBundles; absent when the API server does not serve them. */
  clusterTrustBundles?: Store<TargetObject>;
  sources: SourceDeps;
  events: EventRecorder;
  clock: Clock;
  /** Sources are not watched (a user's ConfigMaps and Secrets): read them again this often. */
  recheckMs?: number;
  maxBytes?: number;
}

const RECHECK_MS = 5 * 60_000;

export function createTrustBundleReconciler(deps: TrustBundleReconcilerDeps): Reconciler {
  const own = createOwnWrites<TrustBundle>();
  const targets = createTargetObjects(deps);
  const recheckMs = deps.recheckMs ?? RECHECK_MS;

  return async function reconcileTrustBundle(key, ctx) {
    const { name } = parseKey(key);
    const log = ctx.log.child({ kind: 'TrustBundle', name });
    const bundle = own.freshest(undefined, name, deps.bundles.get(undefined, name));
    if (!bundle || bundle.metadata.deletionTimestamp) {
      // No finalizer: targets are found by their label, also after a restart (their informer enqueues the bundle).
      own.forget(undefined, name);
      ctx.signal.throwIfAborted();
      await removeTargets(targets.managedBy(name), log);
      return {};
    }
    const now = deps.clock.now();
    const { generation } = bundle.metadata;
    const parsed = TrustBundleSpec.safeParse(bundle.spec);
    if (!parsed.success) {
      ctx.signal.throwIfAborted();
      await writeStatus(bundle, invalidSpecStatus(bundle.status, formatZodIssues(parsed.error), generation, now), log);
      return {};
    }
    const inputs = await gather(name, parsed.data, bundle.status, now);
    const plan = planTargets(inputs);
    ctx.signal.throwIfAborted();
    const failedWrites = await writeTargets(plan.steps, log);
    await removeTargets(plan.remove, log);
    const result = trustBundleResult({ inputs, plan, failedWrites, prev: bundle.status, generation, now, recheckMs });
    await writeStatus(bundle, result.status, log);
    for (const e of result.events) await deps.events.record(bundle, e.type, e.reason, e.message);
    if (result.error !== undefined) throw result.error; // the work queue retries with backoff
    return { requeueAfterMs: result.requeueAfterMs };
  };

  async function gather(name: string, spec: TrustBundleSpec, prev: TrustBundleStatus | undefined, now: Date): Promise<TrustBundleInputs> {
    const build = await buildFromSources(spec, deps.sources, { now, maxBytes: deps.maxBytes });
    const gathered: GatheredTarget[] = [];
    for (const target of desiredTargets(name, spec, targetNamespaces(spec, deps.namespaces.list()))) {
      // Only a write needs what the cache cannot see: with no bundle built, nothing is written.
      gathered.push(build.bundle ? await lookupTarget(target) : { target, current: targets.cached(target) });
    }
    return { build, targets: gathered, managed: targets.managedBy(name), lastHash: prev?.bundleHash };
  }

  async function lookupTarget(target: DesiredTarget): Promise<GatheredTarget> {
    try {
      return { target, current: await targets.lookup(target) };
    } catch (readError) {
      return { target, readError };
    }
  }

  /** Applies the planned writes; one the API server refuses is kept for the status, and the others go ahead. */
  async function writeTargets(steps: readonly TargetStep[], log: Logger): Promise<Map<string, unknown>> {
    const failed = new Map<string, unknown>();
    for (const step of steps) {
      if (step.action !== 'write') continue;
      try {
        await targets.apply(step.target, step.body);
        log.info({ target: step.target.kind, namespace: step.target.namespace }, 'wrote target');
      } catch (err) {
        failed.set(describeTarget(step.target), err);
      }
    }
    return failed;
  }

  async function removeTargets(remove: readonly ManagedTarget[], log: Logger): Promise<void> {
    for (const m of remove) {
      await targets.remove(m);
      log.info({ target: m.kind, namespace: m.object.metadata.namespace }, 'removed target');
    }
  }

  async function writeStatus(bundle: TrustBundle, status: TrustBundleStatus, log: Logger): Promise<void> {
    if (isDeepStrictEqual(normalizeStatus(bundle.status), normalizeStatus(status))) return;
    const applied = await deps.client.apply<TrustBundle>(
      Resources.trustBundles,
      { apiVersion: API_VERSION, kind: 'TrustBundle', metadata: { name: bundle.metadata.name }, status },
      { subresource: 'status', force: true },
    );
    own.remember(applied);
    log.debug('status written');
  }
}
