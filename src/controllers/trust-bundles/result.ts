// What a TrustBundle reconcile reports once its writes are done: the status (written once), the events (a
// condition that changed, targets written or removed) and when to look again. Pure: the time is passed in.
import { findCondition, setCondition } from '../../api/conditions.ts';
import type { Condition } from '../../api/meta.ts';
import type { TrustBundleStatus } from '../../api/trust-bundle.ts';
import type { EventType } from '../../kube/events.ts';
import { describeTarget, type TrustBundleInputs, type TrustBundlePlan } from './plan.ts';
import { bundleFields, readyCondition, syncedCondition } from './status.ts';

export interface PlannedEvent {
  type: EventType;
  reason: string;
  message: string;
}

export interface TrustBundleResult {
  status: TrustBundleStatus;
  /** Recorded in order, after the status. */
  events: PlannedEvent[];
  /** The first target that could not be read or written: thrown last, so the work queue retries with backoff. */
  error?: unknown;
  requeueAfterMs: number;
}

export interface ResultInputs {
  inputs: TrustBundleInputs;
  plan: TrustBundlePlan;
  /** Writes the API server refused, by describeTarget. */
  failedWrites: ReadonlyMap<string, unknown>;
  prev: TrustBundleStatus | undefined;
  generation: number | undefined;
  now: Date;
  /** Sources are not watched: how long until they are read again. */
  recheckMs: number;
}

// A missing source is often one about to be created: look again sooner.
export const SOURCE_MISSING_RETRY_MS = 30_000;

export function trustBundleResult(r: ResultInputs): TrustBundleResult {
  const { build } = r.inputs;
  const sync = syncOutcome(r.plan, r.failedWrites);
  const ready = readyCondition(build.bundle, build.failure, r.generation);
  const synced = syncedCondition(
    { built: !!build.bundle, total: r.inputs.targets.length, synced: sync.synced, conflicts: sync.conflicts, failed: sync.failed },
    r.generation,
  );
  const status: TrustBundleStatus = {
    conditions: setCondition(setCondition(r.prev?.conditions, ready, r.now), synced, r.now),
    ...bundleFields(build.bundle, r.prev),
    targetsSynced: sync.synced,
    targetsTotal: r.inputs.targets.length,
  };
  const events = [...conditionEvents(r.prev, [ready, synced]), ...targetsUpdated(sync.written, r.plan.remove.length)];
  return { status, events, ...(sync.error !== undefined ? { error: sync.error } : {}), requeueAfterMs: requeueAfter(r) };
}

/** What the steps came to, in target order: how many hold the bundle now, and the conflicts and failures to tell. */
function syncOutcome(plan: TrustBundlePlan, failedWrites: ReadonlyMap<string, unknown>) {
  const out = { synced: plan.keptSynced, written: 0, conflicts: [] as string[], failed: [] as string[], error: undefined as unknown };
  for (const step of plan.steps) {
    const what = describeTarget(step.target);
    const error = step.action === 'unreadable' ? step.error : step.action === 'write' ? failedWrites.get(what) : undefined;
    if (error !== undefined) {
      out.failed.push(`${what}: ${(error as Error).message}`);
      out.error ??= error;
    } else if (step.action === 'conflict') {
      out.conflicts.push(what);
    } else {
      out.synced++;
      if (step.action === 'write') out.written++;
    }
  }
  return out;
}

/** An event for each condition whose status or reason changed. */
function conditionEvents(prev: TrustBundleStatus | undefined, conditions: readonly Condition[]): PlannedEvent[] {
  return conditions
    .filter((c) => {
      const before = findCondition(prev?.conditions, c.type);
      return before?.status !== c.status || before?.reason !== c.reason;
    })
    .map((c) => ({ type: c.status === 'True' ? 'Normal' : 'Warning', reason: c.reason ?? c.type, message: c.message ?? '' }));
}

function targetsUpdated(written: number, removed: number): PlannedEvent[] {
  if (written === 0 && removed === 0) return [];
  const parts = [written > 0 ? `wrote the bundle to ${written} target(s)` : '', removed > 0 ? `removed ${removed} target(s)` : ''];
  return [{ type: 'Normal', reason: 'TargetsUpdated', message: parts.filter(Boolean).join('; ') }];
}

function requeueAfter({ inputs: { build }, now, recheckMs }: ResultInputs): number {
  if (build.failure) return build.failure.code === 'SourceNotFound' ? SOURCE_MISSING_RETRY_MS : recheckMs;
  // Look again when the first certificate expires (a filter drops it, or the bundle becomes all-expired).
  const untilExpiry = build.bundle.earliestExpiry.getTime() - now.getTime() + 1000;
  return untilExpiry > 0 ? Math.min(recheckMs, untilExpiry) : recheckMs;
}
