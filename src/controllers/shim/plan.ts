// What an annotated owner's reconcile does with its Certificates, decided from what its annotations ask for and
// what exists: which to apply, which to delete, the warnings to tell on the owner, and then the events for what
// was done. Pure: the reconciler reads the caches before and writes after.
import type { Certificate, IssuerRef } from '../../api/certificate.ts';
import type { Issuer } from '../../api/issuer.ts';
import type { EventType } from '../../kube/events.ts';
import { issuerProblems } from './ingress.ts';
import { conflictMessage, isOwnedBy, isUpToDate, shimCertificate, type ShimOwner, type ShimPlan } from './sync.ts';

/** Event reasons on an owner. BadConfig and the Certificate verbs are cert-manager's, which migrating users know. */
export const ShimEventReason = {
  BadConfig: 'BadConfig',
  IssuerNotFound: 'IssuerNotFound',
  NoSolver: 'NoSolver',
  CertificateConflict: 'CertificateConflict',
  CreateCertificate: 'CreateCertificate',
  UpdateCertificate: 'UpdateCertificate',
  DeleteCertificate: 'DeleteCertificate',
} as const;

export interface PlannedEvent {
  type: EventType;
  reason: string;
  message: string;
}

export interface Warning {
  reason: string;
  message: string;
}

/** What the reconcile found for an owner whose annotations were read. */
export interface FoundCertificates {
  /** Each Certificate asked for, by name, as it is now; undefined (or absent) when there is none. */
  existing: ReadonlyMap<string, Certificate | undefined>;
  /** The Certificates in the owner's namespace, from the cache. */
  inNamespace: readonly Certificate[];
  /** The issuers the Certificates name, by issuerKey; undefined when missing. */
  issuers: ReadonlyMap<string, Issuer | undefined>;
}

export interface OwnerSyncPlan {
  /** New Certificates, and owned ones that say something else, in the owner's order. */
  apply: { certificate: Certificate; existing?: Certificate }[];
  /** Owned Certificates the owner no longer asks for. */
  delete: Certificate[];
  /** To tell on the owner, each once while it lasts. */
  warnings: Warning[];
}

/** What the writes did, by Certificate name. */
export interface SyncDone {
  created: string[];
  updated: string[];
  deleted: string[];
}

/** How a gathered issuer is looked up: the kind and the name (an Issuer is in the owner's namespace). */
export function issuerKey(ref: IssuerRef): string {
  return `${ref.kind === 'ClusterIssuer' ? 'ClusterIssuer' : 'Issuer'}/${ref.name}`;
}

/** What an owner's annotations ask for, when it has them. */
export type AnnotatedShimPlan = Exclude<ShimPlan, { kind: 'notAnnotated' }>;

export function planOwnerSync(owner: ShimOwner, asked: AnnotatedShimPlan, found: FoundCertificates): OwnerSyncPlan {
  // Wrong annotations: nothing is created, changed or deleted until they are fixed.
  if (asked.kind === 'invalid') {
    return { apply: [], delete: [], warnings: [{ reason: ShimEventReason.BadConfig, message: `Certificates not changed: ${asked.problems.join('; ')}` }] };
  }
  const apply: OwnerSyncPlan['apply'] = [];
  const conflicts: (Warning & { name: string })[] = [];
  for (const d of asked.certificates) {
    const existing = found.existing.get(d.name);
    if (existing && !isOwnedBy(existing, owner)) {
      conflicts.push({ name: d.name, reason: ShimEventReason.CertificateConflict, message: conflictMessage(owner, existing) });
      continue;
    }
    // Being deleted (foreground, or by a person): its deletion re-queues the owner, which then recreates it.
    if (existing?.metadata.deletionTimestamp) continue;
    const certificate = shimCertificate(owner, d);
    if (existing && isUpToDate(existing, certificate)) continue;
    apply.push({ certificate, ...(existing ? { existing } : {}) });
  }
  const wanted = new Set(asked.certificates.map((d) => d.name));
  const conflicted = new Set(conflicts.map((c) => c.name));
  const synced = asked.certificates.filter((c) => !conflicted.has(c.name));
  const ref = synced[0]?.spec.issuerRef;
  return {
    apply,
    delete: found.inNamespace.filter((c) => isOwnedBy(c, owner) && !c.metadata.deletionTimestamp && !wanted.has(c.metadata.name)),
    warnings: [
      ...asked.problems.map((message) => ({ reason: ShimEventReason.BadConfig, message })),
      ...conflicts.map(({ reason, message }) => ({ reason, message })),
      ...issuerProblems(owner, synced, ref ? found.issuers.get(issuerKey(ref)) : undefined),
    ],
  };
}

/** One Normal event per Certificate created, updated or deleted; `asker` is what in the owner asks for one. */
export function syncEvents(done: SyncDone, asker: string): PlannedEvent[] {
  const event = (reason: string, message: string): PlannedEvent => ({ type: 'Normal', reason, message });
  return [
    ...done.created.map((n) => event(ShimEventReason.CreateCertificate, `Created Certificate ${n}`)),
    ...done.updated.map((n) => event(ShimEventReason.UpdateCertificate, `Updated Certificate ${n}`)),
    ...done.deleted.map((n) => event(ShimEventReason.DeleteCertificate, `Deleted Certificate ${n}: no ${asker} asks for it any more (its Secret stays)`)),
  ];
}
