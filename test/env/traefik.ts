// Traefik as the node's Ingress and Gateway API controller, installed as a cluster admin would: a namespace, a
// ServiceAccount with Traefik's documented RBAC, a Deployment of the image build-image.sh makes from Traefik's Go
// module, a NodePort Service on the node's address, and the IngressClass and GatewayClass naming its controllers.
// Only manifests here: tests apply them and wait with kubectl.

type Manifest = Record<string, unknown>;

export const TRAEFIK_NAMESPACE = 'traefik';
export const TRAEFIK_INGRESS_CLASS = 'traefik';
export const TRAEFIK_GATEWAY_CLASS = 'traefik';
/** Container ports of Traefik's entry points. A Gateway listener's port must be one of these (Traefik maps it to the entry point). */
export const TRAEFIK_WEB_PORT = 8000;
export const TRAEFIK_WEBSECURE_PORT = 8443;
const PING_PORT = 8080;

export interface TraefikOptions {
  image: string;
  /** NodePorts of the web (HTTP) and websecure (HTTPS) entry points on the node's address. */
  webNodePort: number;
  websecureNodePort: number;
}

export function traefikManifests(o: TraefikOptions): Manifest[] {
  const labels = { 'app.kubernetes.io/name': 'traefik' };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: TRAEFIK_NAMESPACE } },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'traefik', namespace: TRAEFIK_NAMESPACE } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'traefik' },
      // The union of Traefik's documented roles for its kubernetesingress and kubernetesgateway providers, plus nodes:
      // the Ingress provider's cluster-scope informer lists them (for NodePort backends), and waits forever without.
      rules: [
        { apiGroups: [''], resources: ['namespaces'], verbs: ['list', 'watch'] },
        { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: [''], resources: ['services', 'secrets', 'configmaps'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['networking.k8s.io'], resources: ['ingresses', 'ingressclasses'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['networking.k8s.io'], resources: ['ingresses/status'], verbs: ['update'] },
        {
          apiGroups: ['gateway.networking.k8s.io'],
          resources: ['gatewayclasses', 'gateways', 'httproutes', 'grpcroutes', 'tcproutes', 'tlsroutes', 'referencegrants', 'backendtlspolicies'],
          verbs: ['get', 'list', 'watch'],
        },
        {
          apiGroups: ['gateway.networking.k8s.io'],
          resources: [
            'gatewayclasses/status',
            'gateways/status',
            'httproutes/status',
            'grpcroutes/status',
            'tcproutes/status',
            'tlsroutes/status',
            'referencegrants/status',
            'backendtlspolicies/status',
          ],
          verbs: ['update'],
        },
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'traefik' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'traefik' },
      subjects: [{ kind: 'ServiceAccount', name: 'traefik', namespace: TRAEFIK_NAMESPACE }],
    },
    {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'IngressClass',
      metadata: { name: TRAEFIK_INGRESS_CLASS },
      spec: { controller: 'traefik.io/ingress-controller' },
    },
    {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'GatewayClass',
      metadata: { name: TRAEFIK_GATEWAY_CLASS },
      spec: { controllerName: 'traefik.io/gateway-controller' },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'traefik', namespace: TRAEFIK_NAMESPACE, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: 'traefik',
            enableServiceLinks: false,
            terminationGracePeriodSeconds: 5,
            securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532 },
            containers: [
              {
                name: 'traefik',
                image: o.image,
                imagePullPolicy: 'Never',
                args: [
                  `--entrypoints.web.address=:${TRAEFIK_WEB_PORT}`,
                  `--entrypoints.websecure.address=:${TRAEFIK_WEBSECURE_PORT}`,
                  // Every router on websecure terminates TLS, with the certificates of the Ingresses' tls entries.
                  '--entrypoints.websecure.http.tls=true',
                  `--entrypoints.ping.address=:${PING_PORT}`,
                  '--ping=true',
                  '--ping.entrypoint=ping',
                  '--providers.kubernetesingress=true',
                  '--providers.kubernetesgateway=true',
                  // Apply each change at once rather than batching for 2 s: the challenge routes live for seconds.
                  '--providers.providersthrottleduration=0s',
                  '--accesslog=true',
                  '--accesslog.format=json',
                  '--accesslog.fields.headers.defaultmode=drop',
                  '--accesslog.fields.headers.names.User-Agent=keep',
                  '--log.level=INFO',
                  '--global.checknewversion=false',
                  '--global.sendanonymoususage=false',
                ],
                ports: [
                  { name: 'web', containerPort: TRAEFIK_WEB_PORT },
                  { name: 'websecure', containerPort: TRAEFIK_WEBSECURE_PORT },
                  { name: 'ping', containerPort: PING_PORT },
                ],
                readinessProbe: { httpGet: { path: '/ping', port: 'ping' }, periodSeconds: 2 },
                securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              },
            ],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'traefik', namespace: TRAEFIK_NAMESPACE },
      spec: {
        type: 'NodePort',
        selector: labels,
        ports: [
          { name: 'web', port: 80, targetPort: 'web', nodePort: o.webNodePort },
          { name: 'websecure', port: 443, targetPort: 'websecure', nodePort: o.websecureNodePort },
        ],
      },
    },
  ];
}

/** One line of Traefik's JSON access log, the fields the tests read. */
export interface AccessLogEntry {
  RequestHost?: string;
  RequestPath?: string;
  RouterName?: string;
  ServiceName?: string;
  DownstreamStatus?: number;
  'request_User-Agent'?: string;
}

/** The access-log entries among Traefik's output (its own log lines are JSON too, without RequestPath). */
export function parseAccessLog(output: string): AccessLogEntry[] {
  const entries: AccessLogEntry[] = [];
  for (const line of output.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const e = JSON.parse(line) as AccessLogEntry;
      if (typeof e.RequestPath === 'string') entries.push(e);
    } catch {
      // A log line that is not JSON.
    }
  }
  return entries;
}
