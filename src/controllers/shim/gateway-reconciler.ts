// Reconciles one Gateway: read it from the cache → plan its Certificates from its annotations and listeners (pure)
// → sync them → tell the user on the Gateway what was done and what could not be. Writes nothing to the Gateway.
import type { Logger } from 'pino';
import type { GatewayObject } from '../../api/gateway-api.ts';
import type { Issuer } from '../../api/issuer.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { parseKey, type Store } from '../store.ts';
import type { AnnotationOptions } from './annotations.ts';
import { planGateway } from './gateway.ts';
import { issuerProblems } from './ingress.ts';
import type { ShimOwner, ShimSync } from './sync.ts';

/** Event reasons on a Gateway: the same as on an Ingress (cert-manager's), one vocabulary for both. */
export const GatewayEventReason = {
  BadConfig: 'BadConfig',
  CertificateConflict: 'CertificateConflict',
  CreateCertificate: 'CreateCertificate',
  UpdateCertificate: 'UpdateCertificate',
  DeleteCertificate: 'DeleteCertificate',
} as const;

export interface GatewayReconcilerDeps {
  gateways: Store<GatewayObject>;
  issuers: Store<Issuer>;
  clusterIssuers: Store<Issuer>;
  sync: ShimSync;
  events: EventRecorder;
  annotations: AnnotationOptions;
  log: Logger;
}

export function createGatewayReconciler(deps: GatewayReconcilerDeps) {
  // Warnings already told per Gateway: a resync must not repeat them; a warning that goes and comes back is told again.
  const told = new Map<string, Set<string>>();

  async function warn(gateway: GatewayObject, key: string, warnings: { reason: string; message: string }[]) {
    const before = told.get(key) ?? new Set<string>();
    const now = new Set<string>();
    for (const w of warnings) {
      const id = `${w.reason}\n${w.message}`;
      now.add(id);
      if (!before.has(id)) await deps.events.record(gateway, 'Warning', w.reason, w.message);
    }
    if (now.size > 0) told.set(key, now);
    else told.delete(key);
  }

  return async function reconcileGateway(key: string): Promise<{ requeueAfterMs?: number }> {
    const { namespace, name } = parseKey(key);
    const gateway = deps.gateways.get(namespace, name);
    // Gone or going: garbage collection removes its Certificates.
    if (!gateway || gateway.metadata.deletionTimestamp) {
      told.delete(key);
      return {};
    }
    const log = deps.log.child({ kind: 'Gateway', namespace, name });
    const plan = planGateway(gateway, deps.annotations);
    // Not (or no longer) annotated: its Certificates are left as they are, as for an Ingress.
    if (plan.kind === 'notAnnotated') {
      told.delete(key);
      return {};
    }
    if (plan.kind === 'invalid') {
      await warn(gateway, key, [{ reason: GatewayEventReason.BadConfig, message: `Certificates not changed: ${plan.problems.join('; ')}` }]);
      return {};
    }

    const owner: ShimOwner = {
      apiVersion: gateway.apiVersion ?? 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      name,
      namespace: namespace ?? '',
      uid: gateway.metadata.uid!,
    };
    const outcome = await deps.sync.sync(owner, plan.certificates);
    const record = (reason: string, message: string) => deps.events.record(gateway, 'Normal', reason, message);
    for (const n of outcome.created) await record(GatewayEventReason.CreateCertificate, `Created Certificate ${n}`);
    for (const n of outcome.updated) await record(GatewayEventReason.UpdateCertificate, `Updated Certificate ${n}`);
    for (const n of outcome.deleted) await record(GatewayEventReason.DeleteCertificate, `Deleted Certificate ${n}: no listener asks for it any more (its Secret stays)`);
    if (outcome.created.length + outcome.updated.length + outcome.deleted.length > 0) {
      log.info({ created: outcome.created, updated: outcome.updated, deleted: outcome.deleted }, 'synced certificates');
    }

    const conflicted = new Set(outcome.conflicts.map((c) => c.name));
    const synced = plan.certificates.filter((c) => !conflicted.has(c.name));
    const ref = synced[0]?.spec.issuerRef;
    const issuer = !ref ? undefined : ref.kind === 'ClusterIssuer' ? deps.clusterIssuers.get(undefined, ref.name) : deps.issuers.get(namespace, ref.name);
    await warn(gateway, key, [
      ...plan.problems.map((message) => ({ reason: GatewayEventReason.BadConfig, message })),
      ...outcome.conflicts.map((c) => ({ reason: GatewayEventReason.CertificateConflict, message: c.message })),
      ...issuerProblems(owner, synced, issuer),
    ]);
    return {};
  };
}
