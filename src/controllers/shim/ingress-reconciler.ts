// Reconciles one Ingress: read it from the cache → plan its Certificates from its annotations and TLS entries (pure)
// → sync them → tell the user on the Ingress what was done and what could not be. Writes nothing to the Ingress.
import type { Logger } from 'pino';
import type { Issuer } from '../../api/issuer.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { parseKey, type Store } from '../store.ts';
import type { AnnotationOptions } from './annotations.ts';
import { issuerProblems, planIngress, type Ingress } from './ingress.ts';
import type { ShimOwner, ShimSync } from './sync.ts';

/** Event reasons on an Ingress. BadConfig and the Certificate verbs are cert-manager's, which migrating users know. */
export const IngressEventReason = {
  BadConfig: 'BadConfig',
  IssuerNotFound: 'IssuerNotFound',
  NoSolver: 'NoSolver',
  CertificateConflict: 'CertificateConflict',
  CreateCertificate: 'CreateCertificate',
  UpdateCertificate: 'UpdateCertificate',
  DeleteCertificate: 'DeleteCertificate',
} as const;

export interface IngressReconcilerDeps {
  ingresses: Store<Ingress>;
  issuers: Store<Issuer>;
  clusterIssuers: Store<Issuer>;
  sync: ShimSync;
  events: EventRecorder;
  annotations: AnnotationOptions;
  log: Logger;
}

export function createIngressReconciler(deps: IngressReconcilerDeps) {
  // Warnings already told per Ingress: a resync must not repeat them; a warning that goes and comes back is told again.
  const told = new Map<string, Set<string>>();

  async function warn(ingress: Ingress, key: string, warnings: { reason: string; message: string }[]) {
    const before = told.get(key) ?? new Set<string>();
    const now = new Set<string>();
    for (const w of warnings) {
      const id = `${w.reason}\n${w.message}`;
      now.add(id);
      if (!before.has(id)) await deps.events.record(ingress, 'Warning', w.reason, w.message);
    }
    if (now.size > 0) told.set(key, now);
    else told.delete(key);
  }

  return async function reconcileIngress(key: string): Promise<{ requeueAfterMs?: number }> {
    const { namespace, name } = parseKey(key);
    const ingress = deps.ingresses.get(namespace, name);
    // Gone or going: garbage collection removes its Certificates.
    if (!ingress || ingress.metadata.deletionTimestamp) {
      told.delete(key);
      return {};
    }
    const log = deps.log.child({ kind: 'Ingress', namespace, name });
    const plan = planIngress(ingress, deps.annotations);
    // Not (or no longer) annotated: its Certificates are left as they are, as cert-manager leaves them.
    if (plan.kind === 'notAnnotated') {
      told.delete(key);
      return {};
    }
    if (plan.kind === 'invalid') {
      await warn(ingress, key, [{ reason: IngressEventReason.BadConfig, message: `Certificates not changed: ${plan.problems.join('; ')}` }]);
      return {};
    }

    const owner: ShimOwner = {
      apiVersion: ingress.apiVersion ?? 'networking.k8s.io/v1',
      kind: 'Ingress',
      name,
      namespace: namespace ?? '',
      uid: ingress.metadata.uid!,
    };
    const outcome = await deps.sync.sync(owner, plan.certificates);
    for (const n of outcome.created) await deps.events.record(ingress, 'Normal', IngressEventReason.CreateCertificate, `Created Certificate ${n}`);
    for (const n of outcome.updated) await deps.events.record(ingress, 'Normal', IngressEventReason.UpdateCertificate, `Updated Certificate ${n}`);
    for (const n of outcome.deleted) await deps.events.record(ingress, 'Normal', IngressEventReason.DeleteCertificate, `Deleted Certificate ${n}: no TLS entry asks for it any more (its Secret stays)`);
    if (outcome.created.length + outcome.updated.length + outcome.deleted.length > 0) {
      log.info({ created: outcome.created, updated: outcome.updated, deleted: outcome.deleted }, 'synced certificates');
    }

    const conflicted = new Set(outcome.conflicts.map((c) => c.name));
    const synced = plan.certificates.filter((c) => !conflicted.has(c.name));
    const ref = synced[0]?.spec.issuerRef;
    const issuer = !ref ? undefined : ref.kind === 'ClusterIssuer' ? deps.clusterIssuers.get(undefined, ref.name) : deps.issuers.get(namespace, ref.name);
    await warn(ingress, key, [
      ...plan.problems.map((message) => ({ reason: IngressEventReason.BadConfig, message })),
      ...outcome.conflicts.map((c) => ({ reason: IngressEventReason.CertificateConflict, message: c.message })),
      ...issuerProblems(owner, synced, issuer),
    ]);
    return {};
  };
}
