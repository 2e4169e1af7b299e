// Annotated Gateways → Certificates, one per Secret its terminating listeners name (the shared steps are in
// owner-reconciler.ts; event reasons are the same as on an Ingress, one vocabulary for both).
import type { GatewayObject } from '../../api/gateway-api.ts';
import { planGateway } from './gateway.ts';
import { createShimReconciler, type ShimReconcilerDeps } from './owner-reconciler.ts';
import type { Store } from '../store.ts';

export function createGatewayReconciler(deps: ShimReconcilerDeps & { gateways: Store<GatewayObject> }) {
  return createShimReconciler(
    { kind: 'Gateway', defaultApiVersion: 'gateway.networking.k8s.io/v1', objects: deps.gateways, plan: planGateway, asker: 'listener' },
    deps,
  );
}
