// Reconciles one annotated owner (an Ingress or a Gateway): read it from the cache → plan its Certificates from its
// annotations (pure, per kind) → sync them → tell the user on the owner what was done and what could not be.
// Writes nothing to the owner.
import type { Logger } from 'pino';
import type { Issuer } from '../../api/issuer.ts';
import type { KubeObject } from '../../api/meta.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { parseKey, type Store } from '../store.ts';
import type { AnnotationOptions } from './annotations.ts';
import { issuerProblems } from './ingress.ts';
import type { ShimOwner, ShimPlan, ShimSync } from './sync.ts';

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

export interface ShimReconcilerDeps {
  issuers: Store<Issuer>;
  clusterIssuers: Store<Issuer>;
  sync: ShimSync;
  events: EventRecorder;
  annotations: AnnotationOptions;
  log: Logger;
}

/** What differs between owner kinds. */
export interface ShimOwnerKind<T extends KubeObject> {
  kind: 'Ingress' | 'Gateway';
  defaultApiVersion: string;
  objects: Store<T>;
  plan(owner: T, opts: AnnotationOptions): ShimPlan;
  /** What in the owner asks for a Certificate ("TLS entry", "listener"), for the delete event. */
  asker: string;
}

export function createShimReconciler<T extends KubeObject>(ownerKind: ShimOwnerKind<T>, deps: ShimReconcilerDeps) {
  // Warnings already told per owner: a resync must not repeat them; a warning that goes and comes back is told again.
  const told = new Map<string, Set<string>>();

  async function warn(owner: T, key: string, warnings: { reason: string; message: string }[]) {
    const before = told.get(key) ?? new Set<string>();
    const now = new Set<string>();
    for (const w of warnings) {
      const id = `${w.reason}\n${w.message}`;
      now.add(id);
      if (!before.has(id)) await deps.events.record(owner, 'Warning', w.reason, w.message);
    }
    if (now.size > 0) told.set(key, now);
    else told.delete(key);
  }

  return async function reconcileShimOwner(key: string): Promise<{ requeueAfterMs?: number }> {
    const { namespace, name } = parseKey(key);
    const obj = ownerKind.objects.get(namespace, name);
    // Gone or going: garbage collection removes its Certificates.
    if (!obj || obj.metadata.deletionTimestamp) {
      told.delete(key);
      return {};
    }
    const log = deps.log.child({ kind: ownerKind.kind, namespace, name });
    const plan = ownerKind.plan(obj, deps.annotations);
    // Not (or no longer) annotated: its Certificates are left as they are, as cert-manager leaves them.
    if (plan.kind === 'notAnnotated') {
      told.delete(key);
      return {};
    }
    if (plan.kind === 'invalid') {
      await warn(obj, key, [{ reason: ShimEventReason.BadConfig, message: `Certificates not changed: ${plan.problems.join('; ')}` }]);
      return {};
    }

    const owner: ShimOwner = {
      apiVersion: obj.apiVersion ?? ownerKind.defaultApiVersion,
      kind: ownerKind.kind,
      name,
      namespace: namespace ?? '',
      uid: obj.metadata.uid!,
    };
    const outcome = await deps.sync.sync(owner, plan.certificates);
    const record = (reason: string, message: string) => deps.events.record(obj, 'Normal', reason, message);
    for (const n of outcome.created) await record(ShimEventReason.CreateCertificate, `Created Certificate ${n}`);
    for (const n of outcome.updated) await record(ShimEventReason.UpdateCertificate, `Updated Certificate ${n}`);
    for (const n of outcome.deleted)
      await record(ShimEventReason.DeleteCertificate, `Deleted Certificate ${n}: no ${ownerKind.asker} asks for it any more (its Secret stays)`);
    if (outcome.created.length + outcome.updated.length + outcome.deleted.length > 0) {
      log.info({ created: outcome.created, updated: outcome.updated, deleted: outcome.deleted }, 'synced certificates');
    }

    const conflicted = new Set(outcome.conflicts.map((c) => c.name));
    const synced = plan.certificates.filter((c) => !conflicted.has(c.name));
    const ref = synced[0]?.spec.issuerRef;
    const issuer = !ref ? undefined : ref.kind === 'ClusterIssuer' ? deps.clusterIssuers.get(undefined, ref.name) : deps.issuers.get(namespace, ref.name);
    await warn(obj, key, [
      ...plan.problems.map((message) => ({ reason: ShimEventReason.BadConfig, message })),
      ...outcome.conflicts.map((c) => ({ reason: ShimEventReason.CertificateConflict, message: c.message })),
      ...issuerProblems(owner, synced, issuer),
    ]);
    return {};
  };
}
