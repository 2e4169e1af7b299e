// What a TrustBundle reconcile writes and removes, decided from what it gathered. Pure: the reconciler reads the
// caches and sources before, and does the writes after.
import { TRUST_BUNDLE_HASH_ANNOTATION } from '../../api/trust-bundle.ts';
import type { BuildResult } from './build.ts';
import {
  holdsBundle,
  isManagedBy,
  TARGET_KINDS,
  targetObject,
  unwantedTargets,
  type BinaryFormats,
  type DesiredTarget,
  type TargetKind,
  type TargetObject,
} from './targets.ts';

/** A desired target as the reconcile found it. */
export interface GatheredTarget {
  target: DesiredTarget;
  /** The object of that name, from the cache or else the API server; undefined when there is none. */
  current?: TargetObject;
  /** Why it could not be looked up: reported like a refused write. */
  readError?: unknown;
}

/** An object carrying this bundle's marks. */
export interface ManagedTarget {
  kind: TargetKind;
  object: TargetObject;
}

export interface TrustBundleInputs {
  build: BuildResult;
  /** One per desired target, in the order of desiredTargets. */
  targets: GatheredTarget[];
  /** Every target this bundle manages now, wanted or not. */
  managed: ManagedTarget[];
  /** The hash of the last bundle written (status.bundleHash). */
  lastHash?: string;
}

export type TargetStep =
  | { action: 'write'; target: DesiredTarget; body: TargetObject }
  | { action: 'inSync'; target: DesiredTarget }
  /** An object of that name the bundle does not manage: left alone. */
  | { action: 'conflict'; target: DesiredTarget }
  | { action: 'unreadable'; target: DesiredTarget; error: unknown };

export interface TrustBundlePlan {
  /** One per desired target, in order; none when no bundle was built (targets keep the one they hold). */
  steps: TargetStep[];
  /** With no bundle built: the targets that still hold the last one written. */
  keptSynced: number;
  /** Targets in a namespace that stopped matching, or of a kind dropped from the spec. */
  remove: ManagedTarget[];
}

export function planTargets(i: TrustBundleInputs): TrustBundlePlan {
  const desired = i.targets.map((g) => g.target);
  const remove = TARGET_KINDS.flatMap((kind) =>
    unwantedTargets(
      kind,
      i.managed.filter((m) => m.kind === kind).map((m) => m.object),
      desired,
    ).map((object) => ({ kind, object })),
  );
  if (!i.build.bundle) {
    const holdsLast = ({ target: t, current: o }: GatheredTarget) =>
      !!o && isManagedBy(o, t.bundle ?? t.name) && o.metadata.annotations?.[TRUST_BUNDLE_HASH_ANNOTATION] === i.lastHash;
    return { steps: [], keptSynced: i.targets.filter(holdsLast).length, remove };
  }
  const { bundle, formats } = i.build;
  return { steps: i.targets.map((g) => stepFor(g, bundle.pem, bundle.hash, formats)), keptSynced: 0, remove };
}

function stepFor(g: GatheredTarget, pem: string, hash: string, allFormats: BinaryFormats): TargetStep {
  const { target, current } = g;
  if (g.readError !== undefined) return { action: 'unreadable', target, error: g.readError };
  if (current && !isManagedBy(current, target.bundle ?? target.name)) return { action: 'conflict', target };
  // A ClusterTrustBundle holds the PEM only.
  const formats = target.kind === 'ClusterTrustBundle' ? {} : allFormats;
  if (current && holdsBundle(current, target, pem, hash, formats)) return { action: 'inSync', target };
  const body = targetObject(target, pem, hash, formats);
  // Guards against writing over a change the cache has not seen yet.
  if (current?.metadata.resourceVersion) body.metadata.resourceVersion = current.metadata.resourceVersion;
  return { action: 'write', target, body };
}

/** How a target is named in messages and in the map of refused writes. */
export function describeTarget(t: DesiredTarget): string {
  return `${t.kind} ${t.namespace}/${t.name}`;
}
