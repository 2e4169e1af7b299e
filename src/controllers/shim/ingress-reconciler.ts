// Annotated Ingresses → Certificates, one per TLS entry (the shared steps are in owner-reconciler.ts).
import { planIngress, type Ingress } from './ingress.ts';
import { createShimReconciler, type ShimReconcilerDeps } from './owner-reconciler.ts';
import type { Store } from '../store.ts';

export function createIngressReconciler(deps: ShimReconcilerDeps & { ingresses: Store<Ingress> }) {
  return createShimReconciler(
    { kind: 'Ingress', defaultApiVersion: 'networking.k8s.io/v1', objects: deps.ingresses, plan: planIngress, asker: 'TLS entry' },
    deps,
  );
}
