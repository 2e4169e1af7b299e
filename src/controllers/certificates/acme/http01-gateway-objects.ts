// The temporary HTTPRoute that routes a CA's HTTP-01 request through a Gateway to the operator. Pure.
//
// It attaches to the Gateway's plain-HTTP listener for the name (the CA always asks on port 80) and sends the one
// challenge path to the solver Service (http01-objects.ts), which the Ingress route shares.
import { GATEWAY_API_GROUP, type GatewayListener, type GatewayObject, type HttpRouteObject } from '../../../api/gateway-api.ts';
import { CERTIFICATE_NAME_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../../api/labels.ts';
import type { OwnerReference } from '../../../api/meta.ts';
import { challengePath, HTTP01_SOLVER_LABEL, SOLVER_SERVICE_NAME, SOLVER_SERVICE_PORT, temporaryIngressName } from './http01-objects.ts';

/** Same scheme as the temporary Ingress: one per Certificate and token, so a retried order never collides. */
export const temporaryHttpRouteName = temporaryIngressName;

const isIp = (identifier: string) => /^[\d.]+$|:/.test(identifier);

/**
 * How well a listener hostname covers the name: 3 exact, 2 wildcard (a suffix match, as Gateway API defines it:
 * *.example.com covers a.example.com and a.b.example.com, not example.com), 1 no hostname (every name), 0 none.
 */
function coverage(hostname: string | undefined, identifier: string): number {
  if (!hostname) return 1;
  const h = hostname.toLowerCase();
  const id = identifier.toLowerCase();
  if (isIp(identifier)) return 0;
  if (h === id) return 3;
  if (h.startsWith('*.') && id.endsWith(h.slice(1))) return 2;
  return 0;
}

/**
 * The Gateway's HTTP listener that serves the name: the most specific hostname wins (exact, then the longest
 * wildcard, then a listener for every name), the first in the Gateway's list among equals.
 */
export function http01Listener(gateway: GatewayObject, identifier: string): GatewayListener | undefined {
  let best: { listener: GatewayListener; rank: number; length: number } | undefined;
  for (const l of gateway.spec?.listeners ?? []) {
    if (l.protocol !== 'HTTP') continue;
    const rank = coverage(l.hostname, identifier);
    const length = l.hostname?.length ?? 0;
    if (rank === 0) continue;
    if (!best || rank > best.rank || (rank === best.rank && length > best.length)) best = { listener: l, rank, length };
  }
  return best?.listener;
}

export function temporaryHttpRoute(opts: {
  namespace: string;
  certificateName: string;
  owner: OwnerReference;
  gatewayName: string;
  listenerName: string;
  identifier: string;
  token: string;
}): HttpRouteObject {
  return {
    apiVersion: `${GATEWAY_API_GROUP}/v1`,
    kind: 'HTTPRoute',
    metadata: {
      name: temporaryHttpRouteName(opts.certificateName, opts.token),
      namespace: opts.namespace,
      labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [CERTIFICATE_NAME_LABEL]: opts.certificateName, [HTTP01_SOLVER_LABEL]: 'true' },
      ownerReferences: [opts.owner],
    },
    // The defaults the API server would fill in are spelled out, so the stored route compares equal to this one.
    spec: {
      parentRefs: [{ group: GATEWAY_API_GROUP, kind: 'Gateway', name: opts.gatewayName, sectionName: opts.listenerName }],
      // Route hostnames are DNS names: an IP identifier routes by path alone.
      ...(isIp(opts.identifier) ? {} : { hostnames: [opts.identifier] }),
      rules: [
        {
          matches: [{ path: { type: 'Exact', value: challengePath(opts.token) } }],
          backendRefs: [{ group: '', kind: 'Service', name: SOLVER_SERVICE_NAME, port: SOLVER_SERVICE_PORT, weight: 1 }],
        },
      ],
    },
  };
}
