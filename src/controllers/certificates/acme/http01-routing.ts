// Puts the HTTP-01 route through an ingress controller (or a Gateway) in place for one challenge, and takes it down
// after. Objects the operator did not create are never changed, except the one path it adds to (and removes from)
// an Ingress the solver names for edit-in-place.
import { isDeepStrictEqual } from 'node:util';
import { GATEWAY_HTTP01_ANNOTATION, type GatewayObject, type HttpRouteObject } from '../../../api/gateway-api.ts';
import type { AcmeSolver } from '../../../api/issuer.ts';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../../api/labels.ts';
import type { KubeObject } from '../../../api/meta.ts';
import { CertsmithError, isCertsmithError } from '../../../errors.ts';
import type { KubeClient } from '../../../kube/client.ts';
import { Resources, type Resource } from '../../../kube/resources.ts';
import type { ChallengeContext } from './challenges.ts';
import type { Http01Routing } from './challenge-solvers.ts';
import { http01Listener, temporaryHttpRoute, temporaryHttpRouteName } from './http01-gateway-objects.ts';
import {
  endpointsOf,
  ingressRouteOf,
  solverEndpointSlice,
  solverService,
  temporaryIngress,
  temporaryIngressName,
  withChallengePath,
  withoutChallengePath,
  type EndpointSliceObject,
  type IngressObject,
} from './http01-objects.ts';

export function createHttp01Routing(opts: {
  kube: KubeClient;
  /** Where the operator's own solver Service lives (the chart creates it, selecting the operator's pods). */
  operatorNamespace: string;
  solverServiceName: string;
  /** Port of the challenge server on each operator pod. */
  solverPort: number;
}): Http01Routing {
  const { kube } = opts;

  async function applyOwned<T extends KubeObject>(resource: Resource, desired: T, same: (a: T, b: T) => boolean): Promise<void> {
    const ns = desired.metadata.namespace!;
    const current = await kube.get<T>(resource, ns, desired.metadata.name);
    if (current && current.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) {
      throw new CertsmithError(
        'ResourceConflict',
        `${resource.kind} ${ns}/${desired.metadata.name} exists and is not managed by certsmith; the HTTP-01 route needs that name: rename or remove it`,
      );
    }
    if (current && same(current, desired)) return;
    await kube.apply(resource, desired, { force: true });
  }

  async function operatorEndpoints() {
    const { items } = await kube.list<EndpointSliceObject>(Resources.endpointSlices, {
      namespace: opts.operatorNamespace,
      labelSelector: `kubernetes.io/service-name=${opts.solverServiceName}`,
    });
    const endpoints = endpointsOf(items);
    if (endpoints.length === 0) {
      throw new CertsmithError(
        'Http01NoEndpoints',
        `the operator's solver Service ${opts.operatorNamespace}/${opts.solverServiceName} has no endpoints, so an ingress could not reach any replica: check that it exists and selects the operator's pods`,
      );
    }
    return endpoints;
  }

  /** A Certificate made for a Gateway: a temporary HTTPRoute on the Gateway's HTTP listener for the name. */
  async function ensureGatewayRoute(ctx: ChallengeContext, gatewayName: string): Promise<void> {
    const cert = ctx.certificate;
    const ns = cert.metadata.namespace!;
    const ch = ctx.challenge;
    const gateway = await kube.get<GatewayObject>(Resources.gateways, ns, gatewayName);
    if (!gateway) throw new CertsmithError('InvalidSpec', `the Gateway ${ns}/${gatewayName} that should carry the HTTP-01 route does not exist`);
    const listener = http01Listener(gateway, ch.identifier);
    if (!listener) {
      throw new CertsmithError(
        'InvalidSpec',
        `the Gateway ${ns}/${gatewayName} has no HTTP listener for ${ch.identifier}, so the CA's HTTP-01 request cannot reach the operator: add a listener with protocol HTTP on port 80 for that name, or validate it over DNS-01`,
      );
    }
    const desired = temporaryHttpRoute({
      namespace: ns,
      certificateName: cert.metadata.name,
      owner: { apiVersion: cert.apiVersion, kind: 'Certificate', name: cert.metadata.name, uid: cert.metadata.uid!, blockOwnerDeletion: true },
      gatewayName,
      listenerName: listener.name,
      identifier: ch.identifier,
      token: ch.token,
    });
    await applyOwned<HttpRouteObject>(Resources.httpRoutes, desired, (a, b) => isDeepStrictEqual(a.spec, b.spec));
  }

  async function removeGatewayRoute(ctx: ChallengeContext): Promise<void> {
    const ns = ctx.certificate.metadata.namespace!;
    const name = temporaryHttpRouteName(ctx.certificate.metadata.name, ctx.challenge.token);
    const current = await kube.get<HttpRouteObject>(Resources.httpRoutes, ns, name);
    if (current?.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE) await kube.delete(Resources.httpRoutes, ns, name, { uid: current.metadata.uid! });
  }

  /**
   * A refusal here most likely means the chart was installed without these rules (rbac.acmeHttp01Routing=false):
   * say that, rather than a bare 403 for one object.
   */
  async function permitted(ns: string, step: () => Promise<void>): Promise<void> {
    try {
      await step();
    } catch (err) {
      if (!isCertsmithError(err, 'KubeForbidden')) throw err;
      throw new CertsmithError(
        'Http01RoutingForbidden',
        `the operator may not write the HTTP-01 route (Service, EndpointSlice, Ingress or HTTPRoute) in ${ns}: install the chart with rbac.acmeHttp01Routing=true, or validate these names with DNS-01 (${err.message})`,
        { cause: err },
      );
    }
  }

  async function ensureRoute(ctx: ChallengeContext, solver: NonNullable<AcmeSolver['http01']>): Promise<void> {
    const cert = ctx.certificate;
    const ns = cert.metadata.namespace!;
    const endpoints = await operatorEndpoints();
    await applyOwned(Resources.services, solverService(ns, opts.solverPort), (a, b) => JSON.stringify(a.spec?.ports) === JSON.stringify(b.spec?.ports));
    await applyOwned(
      Resources.endpointSlices,
      solverEndpointSlice(ns, opts.solverPort, endpoints),
      (a, b) => JSON.stringify([a.endpoints, a.ports]) === JSON.stringify([b.endpoints, b.ports]),
    );
    // The Gateway the Certificate was made for serves its names: route through it rather than an Ingress.
    const gatewayName = cert.metadata.annotations?.[GATEWAY_HTTP01_ANNOTATION];
    if (gatewayName) return ensureGatewayRoute(ctx, gatewayName);
    const ch = ctx.challenge;
    const route = ingressRouteOf(cert.metadata.annotations, solver);
    const editName = route.editInPlace;
    if (editName) {
      const ingress = await kube.get<IngressObject>(Resources.ingresses, ns, editName);
      if (!ingress)
        throw new CertsmithError('InvalidSpec', `the Ingress ${ns}/${editName} the HTTP-01 challenge path goes into (edit in place) does not exist`);
      const next = withChallengePath(ingress, ch.identifier, ch.token);
      if (next !== ingress) await kube.replace(Resources.ingresses, next);
      return;
    }
    const desired = temporaryIngress({
      namespace: ns,
      certificateName: cert.metadata.name,
      owner: { apiVersion: cert.apiVersion, kind: 'Certificate', name: cert.metadata.name, uid: cert.metadata.uid!, blockOwnerDeletion: true },
      identifier: ch.identifier,
      token: ch.token,
      ingressClassName: route.ingressClassName,
    });
    await applyOwned(Resources.ingresses, desired, (a, b) => JSON.stringify(a.spec) === JSON.stringify(b.spec));
  }

  async function removeRoute(ctx: ChallengeContext, solver: NonNullable<AcmeSolver['http01']>): Promise<void> {
    if (ctx.certificate.metadata.annotations?.[GATEWAY_HTTP01_ANNOTATION]) return removeGatewayRoute(ctx);
    const ns = ctx.certificate.metadata.namespace!;
    const editName = ingressRouteOf(ctx.certificate.metadata.annotations, solver).editInPlace;
    if (editName) {
      const ingress = await kube.get<IngressObject>(Resources.ingresses, ns, editName);
      if (!ingress) return;
      const next = withoutChallengePath(ingress, ctx.challenge.token);
      if (JSON.stringify(next.spec) !== JSON.stringify(ingress.spec)) await kube.replace(Resources.ingresses, next);
      return;
    }
    const name = temporaryIngressName(ctx.certificate.metadata.name, ctx.challenge.token);
    const current = await kube.get<IngressObject>(Resources.ingresses, ns, name);
    if (current?.metadata.labels?.[MANAGED_BY_LABEL] === MANAGED_BY_VALUE) await kube.delete(Resources.ingresses, ns, name, { uid: current.metadata.uid! });
  }

  return {
    ensure: (ctx, solver) => permitted(ctx.certificate.metadata.namespace!, () => ensureRoute(ctx, solver)),
    remove: (ctx, solver) => permitted(ctx.certificate.metadata.namespace!, () => removeRoute(ctx, solver)),
  };
}
