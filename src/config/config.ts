// Operator configuration: flags first, then environment, then defaults. Parsed once, at the edge.
import { hostname } from 'node:os';
import { z } from 'zod';
import { formatZodIssues } from '../api/zod-issues.ts';
import { CertsmithError } from '../errors.ts';
import { parseDuration } from '../time/duration.ts';

const bool = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);
const int = z.coerce.number().int();
// "a, b" → ['a', 'b']; empty → [].
const commaList = z
  .string()
  .default('')
  .transform((v) =>
    v
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  );
// "a:53,b:5353" → ['a:53', 'b:5353'].
const hostPortList = commaList;
// "a,b" → ['a', 'b'], each a namespace name (an RFC 1123 label).
const namespaceList = commaList.pipe(z.array(z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'each must be a namespace name')));
const goDuration = z.string().refine((v) => {
  try {
    return parseDuration(v) > 0;
  } catch {
    return false;
  }
}, 'must be a Go duration such as 30s, 10m or 24h');

export const ConfigSchema = z.object({
  kubeconfig: z.string().optional(),
  clusterResourceNamespace: z.string().min(1).default('certsmith'),
  operatorNamespace: z.string().min(1).optional(),
  leaderElect: bool.default(true),
  leaderElectionNamespace: z.string().optional(),
  leaderElectionId: z.string().default('certsmith-operator'),
  identity: z.string().default(`${hostname()}_${process.pid}`),
  healthHost: z.string().default('0.0.0.0'),
  healthPort: int.min(0).max(65535).default(9402),
  logLevel: z.enum(['trace', 'debug', 'info', 'warn', 'error']).default('info'),
  workers: int.min(1).max(64).default(8),
  resyncSeconds: int.min(0).default(600),
  acmeHttp01SolverHost: z.string().default('0.0.0.0'),
  acmeHttp01SolverPort: int.min(0).max(65535).default(8089),
  acmeHttp01CheckPort: int.min(1).max(65535).default(80),
  acmeHttp01SolverService: z.string().min(1).default('certsmith-acme-solver'),
  acmeRecursiveNameservers: hostPortList,
  acmeDns01CheckNameservers: hostPortList,
  acmeAriMaxCheckInterval: goDuration.default('24h'),
  defaultIssuerKind: z.enum(['Issuer', 'ClusterIssuer']).default('ClusterIssuer'),
  defaultIssuerName: z.string().optional(),
  honourCertManagerAnnotations: bool.default(false),
  issuancePolicyDefault: z.enum(['Allow', 'Deny']).default('Allow'),
  trustBundleSourceNamespaces: namespaceList,
  shards: int.min(1).max(256).default(1),
  podIp: z.string().optional(),
});
export type Config = z.infer<typeof ConfigSchema> & { leaderElectionNamespace: string; operatorNamespace: string };

const FLAGS: Record<string, { key: keyof z.infer<typeof ConfigSchema>; env: string; help: string; boolean?: true }> = {
  '--kubeconfig': { key: 'kubeconfig', env: 'KUBECONFIG', help: 'kubeconfig file (default: in-cluster, then ~/.kube/config)' },
  '--cluster-resource-namespace': {
    key: 'clusterResourceNamespace',
    env: 'CERTSMITH_CLUSTER_RESOURCE_NAMESPACE',
    help: 'namespace of the Secrets ClusterIssuers refer to (default certsmith)',
  },
  '--operator-namespace': {
    key: 'operatorNamespace',
    // As the downward API sets it (fieldRef metadata.namespace).
    env: 'POD_NAMESPACE',
    help: "namespace the operator's pods and its HTTP-01 solver Service run in (default: the cluster-resource namespace)",
  },
  '--leader-elect': { key: 'leaderElect', env: 'CERTSMITH_LEADER_ELECT', help: 'elect one active replica on a Lease (default true)', boolean: true },
  '--leader-election-namespace': {
    key: 'leaderElectionNamespace',
    env: 'CERTSMITH_LEADER_ELECTION_NAMESPACE',
    help: 'namespace of the Lease (default: the cluster-resource namespace)',
  },
  '--leader-election-id': { key: 'leaderElectionId', env: 'CERTSMITH_LEADER_ELECTION_ID', help: 'name of the Lease' },
  '--identity': { key: 'identity', env: 'POD_NAME', help: 'this replica in the Lease (default host_pid)' },
  '--health-host': { key: 'healthHost', env: 'CERTSMITH_HEALTH_HOST', help: 'address of /healthz, /readyz, /metrics' },
  '--health-port': { key: 'healthPort', env: 'CERTSMITH_HEALTH_PORT', help: 'port of /healthz, /readyz, /metrics (default 9402; 0 = any)' },
  '--log-level': { key: 'logLevel', env: 'CERTSMITH_LOG_LEVEL', help: 'trace|debug|info|warn|error' },
  '--workers': { key: 'workers', env: 'CERTSMITH_WORKERS', help: 'concurrent Certificate reconciles (default 8)' },
  '--resync-seconds': { key: 'resyncSeconds', env: 'CERTSMITH_RESYNC_SECONDS', help: 'full resync interval (default 600; 0 = off)' },
  '--acme-http01-solver-host': {
    key: 'acmeHttp01SolverHost',
    env: 'CERTSMITH_ACME_HTTP01_SOLVER_HOST',
    help: 'address every replica answers HTTP-01 challenges on (default 0.0.0.0)',
  },
  '--acme-http01-solver-port': {
    key: 'acmeHttp01SolverPort',
    env: 'CERTSMITH_ACME_HTTP01_SOLVER_PORT',
    help: 'port of the HTTP-01 challenge server (default 8089; 0 = any)',
  },
  '--acme-http01-check-port': {
    key: 'acmeHttp01CheckPort',
    env: 'CERTSMITH_ACME_HTTP01_CHECK_PORT',
    help: 'port the CA fetches HTTP-01 responses from, used by the self-check (default 80)',
  },
  '--acme-http01-solver-service': {
    key: 'acmeHttp01SolverService',
    env: 'CERTSMITH_ACME_HTTP01_SOLVER_SERVICE',
    help: "Service in the operator's namespace selecting the operator pods; its endpoints back HTTP-01 Ingress routes",
  },
  '--acme-recursive-nameservers': {
    key: 'acmeRecursiveNameservers',
    env: 'CERTSMITH_ACME_RECURSIVE_NAMESERVERS',
    help: 'host:port,... resolvers for self-checks and for finding zones (default: the system resolvers)',
  },
  '--acme-dns01-check-nameservers': {
    key: 'acmeDns01CheckNameservers',
    env: 'CERTSMITH_ACME_DNS01_CHECK_NAMESERVERS',
    help: "host:port,... servers asked whether a DNS-01 record is visible (default: the zone's authoritative servers)",
  },
  '--acme-ari-max-check-interval': {
    key: 'acmeAriMaxCheckInterval',
    env: 'CERTSMITH_ACME_ARI_MAX_CHECK_INTERVAL',
    help: "longest wait between two looks at a certificate's ACME renewal information, whatever the CA's Retry-After (default 24h)",
  },
  '--default-issuer-kind': {
    key: 'defaultIssuerKind',
    env: 'CERTSMITH_DEFAULT_ISSUER_KIND',
    help: "Issuer|ClusterIssuer of the default issuer (default ClusterIssuer; an Issuer is looked up in the Ingress's namespace)",
  },
  '--default-issuer-name': {
    key: 'defaultIssuerName',
    env: 'CERTSMITH_DEFAULT_ISSUER_NAME',
    help: 'issuer for Ingresses annotated kubernetes.io/tls-acme: "true" (default: none; that annotation is then ignored)',
  },
  '--honour-cert-manager-annotations': {
    key: 'honourCertManagerAnnotations',
    env: 'CERTSMITH_HONOUR_CERT_MANAGER_ANNOTATIONS',
    boolean: true,
    help: "act on cert-manager.io/issuer, cert-manager.io/cluster-issuer and cert-manager's field annotations on Ingresses, to switch without editing them (default false)",
  },
  '--issuance-policy-default': {
    key: 'issuancePolicyDefault',
    env: 'CERTSMITH_ISSUANCE_POLICY_DEFAULT',
    help: 'Allow|Deny: what happens to a Certificate whose issuer no IssuancePolicy governs (default Allow)',
  },
  '--shards': {
    key: 'shards',
    env: 'CERTSMITH_SHARDS',
    help: 'split Certificates, Ingresses and Gateways into N Lease-owned shards worked by all replicas; every replica must use the same N (default 1: the leader works all)',
  },
  '--pod-ip': {
    key: 'podIp',
    // As the downward API sets it (fieldRef status.podIP).
    env: 'POD_IP',
    help: "this replica's address, published to the other replicas with --shards so they can pass HTTP-01 requests on (default 127.0.0.1)",
  },
  '--trust-bundle-source-namespaces': {
    key: 'trustBundleSourceNamespaces',
    env: 'CERTSMITH_TRUST_BUNDLE_SOURCE_NAMESPACES',
    help: 'namespace,... TrustBundle sources may read besides the cluster-resource namespace (default: none)',
  },
};

export function usage(): string {
  const lines = Object.entries(FLAGS).map(([flag, f]) => `  ${flag.padEnd(34)} ${f.help} [$${f.env}]`);
  return ['Usage: certsmith-operator [flags]', '', 'Flags:', ...lines, '  --help                             this text'].join('\n');
}

/** Pure: argv and env in, Config out, or a ConfigInvalid error naming the bad flag. */
export function parseConfig(argv: readonly string[], env: Record<string, string | undefined>): Config {
  const raw: Record<string, unknown> = {};
  for (const f of Object.values(FLAGS)) {
    const v = env[f.env];
    if (v !== undefined && v !== '') raw[f.key] = v;
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const f = FLAGS[flag];
    if (!f) throw new CertsmithError('ConfigInvalid', `unknown flag ${flag}\n\n${usage()}`);
    // A boolean flag alone means true (--honour-cert-manager-annotations); "--flag false" still reads as before.
    const value = inline ?? (f.boolean && argv[i + 1] !== 'true' && argv[i + 1] !== 'false' ? 'true' : argv[++i]);
    if (value === undefined) throw new CertsmithError('ConfigInvalid', `flag ${flag} needs a value`);
    raw[f.key] = value;
  }
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const msg = formatZodIssues(parsed.error, (path) => flagFor(String(path[0])));
    throw new CertsmithError('ConfigInvalid', `invalid configuration: ${msg}`);
  }
  if (parsed.data.shards > 1 && !parsed.data.leaderElect) {
    // The cluster-wide work (issuers, CA rotation, TrustBundles, ticket keys, labelling) still needs one owner.
    throw new CertsmithError(
      'ConfigInvalid',
      'invalid configuration: --shards above 1 needs --leader-elect (the cluster-wide controllers keep a single owner)',
    );
  }
  return {
    ...parsed.data,
    leaderElectionNamespace: parsed.data.leaderElectionNamespace ?? parsed.data.clusterResourceNamespace,
    operatorNamespace: parsed.data.operatorNamespace ?? parsed.data.clusterResourceNamespace,
  };
}

function flagFor(key: string): string {
  return Object.entries(FLAGS).find(([, f]) => f.key === key)?.[0] ?? key;
}
