// The TrustBundle's conditions and status from what a reconcile found. Pure; messages hold no times that
// move, so an unchanged bundle gives an identical status and no write.
import { setCondition, toRfc3339 } from '../../api/conditions.ts';
import type { Condition } from '../../api/meta.ts';
import { TrustBundleCondition, TrustBundleReason, type TrustBundleStatus } from '../../api/trust-bundle.ts';
import type { ErrorCode } from '../../errors.ts';
import type { Bundle } from '../../trust/bundle.ts';
import { compareStrings } from '../../ordering.ts';

const reasonForCode: Partial<Record<ErrorCode, string>> = {
  SourceNotFound: TrustBundleReason.SourceNotFound,
  SourceNotAllowed: TrustBundleReason.SourceNotAllowed,
  PrivateKeyInSource: TrustBundleReason.PrivateKeyInSource,
  InvalidPEM: TrustBundleReason.InvalidPEM,
  BundleEmpty: TrustBundleReason.NoCertificates,
  BundleExpired: TrustBundleReason.AllExpired,
  BundleTooLarge: TrustBundleReason.TooLarge,
  InvalidSpec: TrustBundleReason.InvalidSpec,
};

export function buildFailedReason(code: ErrorCode): string {
  return reasonForCode[code] ?? TrustBundleReason.InvalidPEM;
}

/** A spec the API server let through but the operator cannot use: Ready says why; the rest of the status stays. */
export function invalidSpecStatus(prev: TrustBundleStatus | undefined, problem: string, generation: number | undefined, now: Date): TrustBundleStatus {
  const ready: Condition = {
    type: TrustBundleCondition.Ready,
    status: 'False',
    reason: TrustBundleReason.InvalidSpec,
    message: `Invalid spec: ${problem}`,
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
  };
  return { ...prev, conditions: setCondition(prev?.conditions, ready, now) };
}

export function readyCondition(built: Bundle | undefined, failure: { reason: string; message: string } | undefined, generation?: number): Condition {
  const base = { type: TrustBundleCondition.Ready, ...(generation !== undefined ? { observedGeneration: generation } : {}) };
  if (!built) return { ...base, status: 'False', reason: failure?.reason ?? TrustBundleReason.InvalidSpec, message: failure?.message ?? '' };
  const notes: string[] = [];
  if (built.expired > 0) notes.push(`${built.expired} expired (set filters.excludeExpired to leave them out)`);
  if (built.excluded.expired > 0) notes.push(`${built.excluded.expired} expired left out`);
  if (built.excluded.nonCA > 0) notes.push(`${built.excluded.nonCA} non-CA left out`);
  return {
    ...base,
    status: 'True',
    reason: TrustBundleReason.Built,
    message: `Bundle of ${built.certificates.length} certificate(s)${notes.length ? `; ${notes.join('; ')}` : ''}`,
  };
}

export interface SyncOutcome {
  built: boolean;
  total: number;
  synced: number;
  /** "ConfigMap ns/name" of objects in the way that the bundle does not manage. */
  conflicts: string[];
  /** "ConfigMap ns/name: why" of writes the API refused. */
  failed: string[];
}

export function syncedCondition(o: SyncOutcome, generation?: number): Condition {
  const base = { type: TrustBundleCondition.Synced, ...(generation !== undefined ? { observedGeneration: generation } : {}) };
  const list = (xs: string[]) => xs.slice(0, 5).join('; ') + (xs.length > 5 ? `; and ${xs.length - 5} more` : '');
  if (!o.built) {
    return { ...base, status: 'False', reason: TrustBundleReason.BundleNotReady, message: 'The bundle could not be built; targets keep what they hold' };
  }
  if (o.failed.length > 0) return { ...base, status: 'False', reason: TrustBundleReason.WriteFailed, message: `Could not write ${list(o.failed)}` };
  if (o.conflicts.length > 0) {
    return {
      ...base,
      status: 'False',
      reason: TrustBundleReason.TargetConflict,
      message: `Not managed by this TrustBundle, left alone: ${list(o.conflicts)}`,
    };
  }
  if (o.total === 0) {
    return { ...base, status: 'False', reason: TrustBundleReason.NoMatchingNamespaces, message: 'No namespace matches the namespace selector' };
  }
  return { ...base, status: 'True', reason: TrustBundleReason.Synced, message: `${o.synced} of ${o.total} target(s) hold the bundle` };
}

/** Status fields describing the bundle; when it could not be built, those of the last bundle written stay. */
export function bundleFields(built: Bundle | undefined, prev: TrustBundleStatus | undefined): Partial<TrustBundleStatus> {
  if (!built) {
    const { certificates, bundleHash, earliestExpiry } = prev ?? {};
    return { certificates, bundleHash, earliestExpiry };
  }
  return {
    certificates: built.certificates.map((c) => ({ fingerprint: c.fingerprint, subject: c.subject, notAfter: toRfc3339(c.notAfter) })),
    bundleHash: built.hash,
    earliestExpiry: toRfc3339(built.earliestExpiry),
  };
}

/** Key-sorted, without undefined fields: what the API server would store. */
export function normalizeStatus(s: TrustBundleStatus | undefined): unknown {
  return Object.fromEntries(
    Object.entries(s ?? {})
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => compareStrings(a, b)),
  );
}
