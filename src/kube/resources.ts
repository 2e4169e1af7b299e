import { GROUP, VERSION } from '../api/meta.ts';

/** Where a kind lives in the API: enough to build its URL paths. */
export interface Resource {
  group: string; // '' for the core group
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
}

export const Resources = {
  certificates: { group: GROUP, version: VERSION, plural: 'certificates', kind: 'Certificate', namespaced: true },
  issuers: { group: GROUP, version: VERSION, plural: 'issuers', kind: 'Issuer', namespaced: true },
  clusterIssuers: { group: GROUP, version: VERSION, plural: 'clusterissuers', kind: 'ClusterIssuer', namespaced: false },
  secrets: { group: '', version: 'v1', plural: 'secrets', kind: 'Secret', namespaced: true },
  trustBundles: { group: GROUP, version: VERSION, plural: 'trustbundles', kind: 'TrustBundle', namespaced: false },
  sessionTicketKeys: { group: GROUP, version: VERSION, plural: 'sessionticketkeys', kind: 'SessionTicketKeys', namespaced: true },
  issuancePolicies: { group: GROUP, version: VERSION, plural: 'issuancepolicies', kind: 'IssuancePolicy', namespaced: false },
  configMaps: { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true },
  namespaces: { group: '', version: 'v1', plural: 'namespaces', kind: 'Namespace', namespaced: false },
  events: { group: '', version: 'v1', plural: 'events', kind: 'Event', namespaced: true },
  clusterTrustBundles: { group: 'certificates.k8s.io', version: 'v1', plural: 'clustertrustbundles', kind: 'ClusterTrustBundle', namespaced: false },
  podCertificateRequests: {
    group: 'certificates.k8s.io',
    version: 'v1',
    plural: 'podcertificaterequests',
    kind: 'PodCertificateRequest',
    namespaced: true,
  },
  pods: { group: '', version: 'v1', plural: 'pods', kind: 'Pod', namespaced: true },
  nodes: { group: '', version: 'v1', plural: 'nodes', kind: 'Node', namespaced: false },
  serviceAccounts: { group: '', version: 'v1', plural: 'serviceaccounts', kind: 'ServiceAccount', namespaced: true },
  leases: { group: 'coordination.k8s.io', version: 'v1', plural: 'leases', kind: 'Lease', namespaced: true },
  services: { group: '', version: 'v1', plural: 'services', kind: 'Service', namespaced: true },
  endpointSlices: { group: 'discovery.k8s.io', version: 'v1', plural: 'endpointslices', kind: 'EndpointSlice', namespaced: true },
  ingresses: { group: 'networking.k8s.io', version: 'v1', plural: 'ingresses', kind: 'Ingress', namespaced: true },
  // Gateway API: CRDs a cluster may not have (the manager checks before it watches Gateways).
  gateways: { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'gateways', kind: 'Gateway', namespaced: true },
  httpRoutes: { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes', kind: 'HTTPRoute', namespaced: true },
  customResourceDefinitions: {
    group: 'apiextensions.k8s.io',
    version: 'v1',
    plural: 'customresourcedefinitions',
    kind: 'CustomResourceDefinition',
    namespaced: false,
  },
} as const satisfies Record<string, Resource>;

export function apiVersionOf(r: Resource): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

/** URL path of a collection (name undefined) or of one object, optionally a subresource. */
export function resourcePath(r: Resource, namespace: string | undefined, name?: string, subresource?: string): string {
  const base = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  const ns = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const obj = name === undefined ? '' : `/${encodeURIComponent(name)}`;
  const sub = subresource ? `/${subresource}` : '';
  return `${base}${ns}/${r.plural}${obj}${sub}`;
}
