// Reconciles one annotated owner (an Ingress or a Gateway): read it from the cache → read what its annotations ask
// for (pure, per kind) → gather the Certificates and issuers they name → plan (pure: what to apply, delete and
// warn about) → sync the Certificates → tell the user on the owner what was done and what could not be.
// Writes nothing to the owner.
import type { Certificate } from '../../api/certificate.ts';
import type { Issuer } from '../../api/issuer.ts';
import type { KubeObject } from '../../api/meta.ts';
import type { EventRecorder } from '../../kube/events.ts';
import type { Reconciler } from '../../runtime/controller.ts';
import { parseKey, type Store } from '../store.ts';
import type { AnnotationOptions } from './annotations.ts';
import type { ShimCertificates } from './certificates.ts';
import { issuerKey, planOwnerSync, syncEvents, type FoundCertificates, type Warning } from './plan.ts';
import type { ShimOwner, ShimPlan } from './sync.ts';

export interface ShimReconcilerDeps {
  issuers: Store<Issuer>;
  clusterIssuers: Store<Issuer>;
  certificates: ShimCertificates;
  events: EventRecorder;
  annotations: AnnotationOptions;
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

export function createShimReconciler<T extends KubeObject>(ownerKind: ShimOwnerKind<T>, deps: ShimReconcilerDeps): Reconciler {
  // Warnings already told per owner: a resync must not repeat them; a warning that goes and comes back is told again.
  const told = new Map<string, Set<string>>();

  return async function reconcileShimOwner(key, ctx) {
    const { namespace, name } = parseKey(key);
    const obj = ownerKind.objects.get(namespace, name);
    // Gone or going: garbage collection removes its Certificates.
    if (!obj || obj.metadata.deletionTimestamp) return forgetWarnings(key);
    const asked = ownerKind.plan(obj, deps.annotations);
    // Not (or no longer) annotated: its Certificates are left as they are, as cert-manager leaves them.
    if (asked.kind === 'notAnnotated') return forgetWarnings(key);
    const log = ctx.log.child({ kind: ownerKind.kind, namespace, name });
    const owner = shimOwner(obj, namespace ?? '', name);
    const plan = planOwnerSync(owner, asked, await gather(owner, asked));
    ctx.signal.throwIfAborted();
    const done = await deps.certificates.sync(owner.namespace, plan);
    for (const e of syncEvents(done, ownerKind.asker)) await deps.events.record(obj, e.type, e.reason, e.message);
    if (done.created.length + done.updated.length + done.deleted.length > 0) log.info(done, 'synced certificates');
    await warn(obj, key, plan.warnings);
    return {};
  };

  function shimOwner(obj: T, namespace: string, name: string): ShimOwner {
    return { apiVersion: obj.apiVersion ?? ownerKind.defaultApiVersion, kind: ownerKind.kind, name, namespace, uid: obj.metadata.uid! };
  }

  async function gather(owner: ShimOwner, asked: ShimPlan): Promise<FoundCertificates> {
    // Wrong annotations change nothing: there is nothing to look up.
    if (asked.kind !== 'planned') return NOTHING_FOUND;
    const existing = new Map<string, Certificate | undefined>();
    const issuers = new Map<string, Issuer | undefined>();
    for (const { name, spec } of asked.certificates) {
      existing.set(name, await deps.certificates.lookup(owner.namespace, name));
      const ref = spec.issuerRef;
      issuers.set(issuerKey(ref), ref.kind === 'ClusterIssuer' ? deps.clusterIssuers.get(undefined, ref.name) : deps.issuers.get(owner.namespace, ref.name));
    }
    return { existing, inNamespace: deps.certificates.list(owner.namespace), issuers };
  }

  function forgetWarnings(key: string) {
    told.delete(key);
    return {};
  }

  async function warn(owner: T, key: string, warnings: readonly Warning[]) {
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
}

const NOTHING_FOUND: FoundCertificates = { existing: new Map(), inNamespace: [], issuers: new Map() };
