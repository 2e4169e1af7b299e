// Reconciles a TrustBundle: read its sources, build the bundle (pure), write it (with its truststores) to a
// ConfigMap and/or Secret in every matching namespace and to a ClusterTrustBundle where it differs, remove the
// targets no longer wanted, and write status once.
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from 'pino';
import { findCondition, setCondition } from '../../api/conditions.ts';
import { API_VERSION, type Condition } from '../../api/meta.ts';
import {
  TRUST_BUNDLE_HASH_ANNOTATION,
  TrustBundleCondition,
  TrustBundleReason,
  TrustBundleSpec,
  type TrustBundle,
  type TrustBundleStatus,
} from '../../api/trust-bundle.ts';
import { formatZodIssues } from '../../api/zod-issues.ts';
import { errorCode } from '../../errors.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { createOwnWrites, type OwnWrites } from '../../kube/own-writes.ts';
import { Resources } from '../../kube/resources.ts';
import type { Clock } from '../../time/clock.ts';
import { buildBundle, type Bundle } from '../../trust/bundle.ts';
import { parseKey, type Store } from '../store.ts';
import { truststores } from './formats.ts';
import { readSources, type SourceDeps } from './sources.ts';
import { buildFailedReason, bundleFields, normalizeStatus, readyCondition, syncedCondition } from './status.ts';
import {
  desiredTargets,
  holdsBundle,
  isManagedBy,
  targetNamespaces,
  targetObject,
  unwantedTargets,
  type BinaryFormats,
  type DesiredTarget,
  type NamespaceObject,
  type TargetKind,
  type TargetObject,
} from './targets.ts';

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
  log: Logger;
  /** Sources are not watched (a user's ConfigMaps and Secrets): read them again this often. */
  recheckMs?: number;
  maxBytes?: number;
}

const RECHECK_MS = 5 * 60_000;
// A missing source is often one about to be created: look again sooner.
const SOURCE_MISSING_RETRY_MS = 30_000;
const KINDS: TargetKind[] = ['ConfigMap', 'Secret', 'ClusterTrustBundle'];
const NO_OBJECTS: Store<TargetObject> = { get: () => undefined, list: () => [] };

export function createTrustBundleReconciler(deps: TrustBundleReconcilerDeps) {
  const own = createOwnWrites<TrustBundle>();
  const ownTargets: Record<TargetKind, OwnWrites<TargetObject>> = {
    ConfigMap: createOwnWrites(),
    Secret: createOwnWrites(),
    ClusterTrustBundle: createOwnWrites(),
  };
  const stores: Record<TargetKind, Store<TargetObject>> = {
    ConfigMap: deps.configMaps,
    Secret: deps.secrets,
    ClusterTrustBundle: deps.clusterTrustBundles ?? NO_OBJECTS,
  };
  const resources = { ConfigMap: Resources.configMaps, Secret: Resources.secrets, ClusterTrustBundle: Resources.clusterTrustBundles };
  const resourceOf = (k: TargetKind) => resources[k];
  const recheckMs = deps.recheckMs ?? RECHECK_MS;
  const managedTargets = (kind: TargetKind, name: string) => stores[kind].list().filter((o) => isManagedBy(o, name));

  async function removeTargets(kind: TargetKind, objs: readonly TargetObject[], log: Logger): Promise<number> {
    for (const o of objs) {
      // The uid precondition: never delete an object that replaced the one we saw.
      await deps.client.delete(resourceOf(kind), o.metadata.namespace, o.metadata.name, { uid: o.metadata.uid });
      ownTargets[kind].forget(o.metadata.namespace, o.metadata.name);
      log.info({ target: kind, namespace: o.metadata.namespace }, 'removed target');
    }
    return objs.length;
  }

  return async function reconcileTrustBundle(key: string): Promise<{ requeueAfterMs?: number }> {
    const { name } = parseKey(key);
    const log = deps.log.child({ kind: 'TrustBundle', name });
    const bundle = own.freshest(undefined, name, deps.bundles.get(undefined, name));
    if (!bundle || bundle.metadata.deletionTimestamp) {
      // No finalizer: targets are found by their label, also after a restart (their informer enqueues the bundle).
      own.forget(undefined, name);
      for (const kind of KINDS) await removeTargets(kind, managedTargets(kind, name), log);
      return {};
    }
    const now = deps.clock.now();
    const generation = bundle.metadata.generation;
    const prev = bundle.status;
    const parsed = TrustBundleSpec.safeParse(bundle.spec);
    if (!parsed.success) {
      const ready: Condition = {
        type: TrustBundleCondition.Ready,
        status: 'False',
        reason: TrustBundleReason.InvalidSpec,
        message: `Invalid spec: ${formatZodIssues(parsed.error)}`,
        ...(generation !== undefined ? { observedGeneration: generation } : {}),
      };
      await writeStatus(bundle, { ...prev, conditions: setCondition(prev?.conditions, ready, now) }, log);
      return {};
    }
    const spec = parsed.data;

    let built: Bundle | undefined;
    let formats: BinaryFormats = {};
    let failure: { code: string; reason: string; message: string } | undefined;
    try {
      const materials = await readSources(spec, deps.sources);
      const b = buildBundle(materials, {
        now,
        excludeExpired: spec.filters?.excludeExpired,
        excludeNonCA: spec.filters?.excludeNonCA,
        maxBytes: deps.maxBytes,
      });
      formats = await truststores(spec, b.pem, deps.sources.objects);
      built = b;
    } catch (err) {
      const code = errorCode(err);
      if (code === undefined || code.startsWith('Kube')) throw err;
      failure = { code, reason: buildFailedReason(code), message: (err as Error).message };
    }

    const desired = desiredTargets(name, spec, targetNamespaces(spec, deps.namespaces.list()));
    const existing = (t: DesiredTarget) => ownTargets[t.kind].freshest(t.namespace, t.name, stores[t.kind].get(t.namespace, t.name));
    const conflicts: string[] = [];
    const failed: string[] = [];
    let firstError: unknown;
    let synced = 0;
    let written = 0;
    if (built) {
      for (const t of desired) {
        const what = `${t.kind} ${t.namespace}/${t.name}`;
        try {
          const result = await writeTarget(t, existing(t), built, t.kind === 'ClusterTrustBundle' ? {} : formats);
          if (result === 'conflict') conflicts.push(what);
          else synced++;
          if (result === 'written') {
            written++;
            log.info({ target: t.kind, namespace: t.namespace }, 'wrote target');
          }
        } catch (err) {
          failed.push(`${what}: ${(err as Error).message}`);
          firstError ??= err;
        }
      }
    } else {
      // Targets keep the last bundle; count those that still hold it.
      synced = desired.filter((t) => {
        const o = existing(t);
        return o && isManagedBy(o, t.bundle ?? t.name) && o.metadata.annotations?.[TRUST_BUNDLE_HASH_ANNOTATION] === prev?.bundleHash;
      }).length;
    }
    // Namespaces that stopped matching, and a target kind dropped from the spec, lose their targets.
    let removed = 0;
    for (const kind of KINDS) removed += await removeTargets(kind, unwantedTargets(kind, managedTargets(kind, name), desired), log);

    const ready = readyCondition(built, failure, generation);
    const syncedCond = syncedCondition({ built: !!built, total: desired.length, synced, conflicts, failed }, generation);
    const status: TrustBundleStatus = {
      conditions: setCondition(setCondition(prev?.conditions, ready, now), syncedCond, now),
      ...bundleFields(built, prev),
      targetsSynced: synced,
      targetsTotal: desired.length,
    };
    await writeStatus(bundle, status, log);
    for (const c of [ready, syncedCond]) {
      const before = findCondition(prev?.conditions, c.type);
      if (before?.status === c.status && before.reason === c.reason) continue;
      await deps.events.record(bundle, c.status === 'True' ? 'Normal' : 'Warning', c.reason ?? c.type, c.message ?? '');
    }
    if (written > 0 || removed > 0) {
      const parts = [written > 0 ? `wrote the bundle to ${written} target(s)` : '', removed > 0 ? `removed ${removed} target(s)` : ''];
      await deps.events.record(bundle, 'Normal', 'TargetsUpdated', parts.filter(Boolean).join('; '));
    }
    if (firstError !== undefined) throw firstError; // the work queue retries with backoff
    if (failure) return { requeueAfterMs: failure.code === 'SourceNotFound' ? SOURCE_MISSING_RETRY_MS : recheckMs };
    // Look again when the first certificate expires (a filter drops it, or the bundle becomes all-expired).
    const untilExpiry = built!.earliestExpiry.getTime() - now.getTime() + 1000;
    return { requeueAfterMs: untilExpiry > 0 ? Math.min(recheckMs, untilExpiry) : recheckMs };
  };

  /** 'conflict' leaves an object the bundle does not manage alone; 'written' when the API was asked to change it. */
  async function writeTarget(
    t: DesiredTarget,
    cached: TargetObject | undefined,
    built: Bundle,
    formats: BinaryFormats,
  ): Promise<'inSync' | 'written' | 'conflict'> {
    let current = cached;
    // The informer only sees labelled objects: an unlabelled one of the same name is looked up before writing,
    // because server-side apply would take it over.
    current ??= await deps.client.get<TargetObject>(resourceOf(t.kind), t.namespace, t.name);
    if (current && !isManagedBy(current, t.bundle ?? t.name)) return 'conflict';
    if (current && holdsBundle(current, t, built.pem, built.hash, formats)) return 'inSync';
    const body = targetObject(t, built.pem, built.hash, formats);
    // Guards against writing over a change the cache has not seen yet.
    if (current?.metadata.resourceVersion) body.metadata.resourceVersion = current.metadata.resourceVersion;
    const applied = await deps.client.apply(resourceOf(t.kind), body, { force: true });
    ownTargets[t.kind].remember(applied);
    return 'written';
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
