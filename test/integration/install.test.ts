// Installing and operating certsmith: the Helm chart (lint, template, install, upgrade, uninstall) on the real
// control plane, its RBAC proven with `kubectl auth can-i` and by running the real operator as the chart's service
// account, the CRDs with kubectl, deploy/ in sync with the chart, and what the Dockerfile's production stage does.
// No kubelet runs here, so no pod starts: the tests assert on the objects the chart creates.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { loadAll } from 'js-yaml';
import { operatorImage } from '../../bench/issuance.ts';
import { chartDir, renderDeployBase, renderedPath } from '../../deploy/render.ts';
import type { Certificate } from '../../src/api/certificate.ts';
import { findCondition } from '../../src/api/conditions.ts';
import { API_VERSION, type KubeObject } from '../../src/api/meta.ts';
import { parseConfig, usage } from '../../src/config/config.ts';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { Resources } from '../../src/kube/resources.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { binaryPath, ensureBinaries } from '../env/binaries.ts';
import { startControlPlane, type ControlPlane } from '../env/controlplane.ts';
import { certificate, clusterIssuer, waitForReady } from './helpers/objects.ts';
import { startOperator, type OperatorProcess } from './helpers/operator.ts';
import { createHelm, type Helm } from './helpers/helm.ts';
import { waitFor } from './helpers/wait.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const crdsDir = join(root, 'crds');
const chartCrdsDir = join(chartDir, 'files', 'crds');
const deployCrdsDir = join(root, 'deploy', 'base', 'crds');
const NS = 'certsmith';
const SA = `system:serviceaccount:${NS}:certsmith`;
const CRD_NAMES = [
  'certificates.certsmith.dev',
  'clusterissuers.certsmith.dev',
  'issuancepolicies.certsmith.dev',
  'issuers.certsmith.dev',
  'sessionticketkeys.certsmith.dev',
  'trustbundles.certsmith.dev',
];

type Manifest = KubeObject<any> & Record<string, any>;

let helm: Helm;
let binDir: string;

async function template(...set: string[]): Promise<Manifest[]> {
  const out = await helm('template', 'certsmith', chartDir, '--namespace', NS, ...set.flatMap((s) => ['--set', s]));
  return (loadAll(out) as (Manifest | null)[]).filter((d): d is Manifest => d !== null);
}

function find(docs: Manifest[], kind: string, name?: string): Manifest {
  const d = docs.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  assert.ok(d, `${kind}${name ? ' ' + name : ''} is rendered`);
  return d;
}

before(async () => {
  binDir = await ensureBinaries();
  helm = await createHelm(binDir);
});
after(async () => {
  await helm.cleanup();
});

describe('chart', () => {
  it('passes helm lint, with the defaults and with every optional object on', async () => {
    await helm('lint', '--strict', chartDir);
    await helm(
      'lint',
      '--strict',
      chartDir,
      '--set',
      'metrics.serviceMonitor.enabled=true,prometheusRule.enabled=true,grafana.dashboard.enabled=true,ingressShim.defaultIssuerName=le,acme.recursiveNameservers={1.1.1.1:53}',
    );
  });

  it('renders the operator with two replicas, leader election, probes and a restricted security context', async () => {
    const docs = await template();
    const deploy = find(docs, 'Deployment', 'certsmith');
    assert.equal(deploy.spec.replicas, 2);
    const pod = deploy.spec.template.spec;
    const c = pod.containers[0];
    assert.ok(c.args.includes('--leader-elect=true'));
    assert.ok(c.args.includes(`--leader-election-namespace=${NS}`));
    assert.equal(c.image, 'ghcr.io/certsmith/certsmith:0.1.0');
    assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'health' });
    assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'health' });
    assert.deepEqual(
      c.ports.map((p: { name: string; containerPort: number }) => [p.name, p.containerPort]),
      [
        ['health', 9402],
        ['acme-http01', 8089],
      ],
    );
    assert.deepEqual(c.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.securityContext.seccompProfile.type, 'RuntimeDefault');
    assert.deepEqual(c.env[0], { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
    assert.ok(pod.topologySpreadConstraints.length >= 1);
    assert.equal(find(docs, 'PodDisruptionBudget').spec.minAvailable, 1);
    // Optional objects are off by default: a cluster without the Prometheus operator's CRDs installs cleanly.
    assert.equal(docs.filter((d) => d.kind === 'ServiceMonitor' || d.kind === 'PrometheusRule').length, 0);
  });

  it('passes every operator flag through, and the operator parses what the chart renders', async () => {
    const docs = await template(
      'clusterResourceNamespace=issuers',
      'logLevel=debug',
      'workers=4',
      'resyncSeconds=300',
      'ingressShim.defaultIssuerName=letsencrypt',
      'ingressShim.defaultIssuerKind=Issuer',
      'ingressShim.honourCertManagerAnnotations=true',
      'acme.http01.solverPort=8090',
      'acme.http01.checkPort=8080',
      'acme.http01.solverService.name=my-solver',
      'acme.recursiveNameservers={1.1.1.1:53,8.8.8.8:53}',
      'acme.dns01CheckNameservers={9.9.9.9:53}',
      'acme.ariMaxCheckInterval=12h',
      'trustBundles.sourceNamespaces={shared-cas,team-cas}',
      'leaderElection.leaseName=my-lease',
      'healthPort=9500',
      'issuancePolicy.default=Deny',
    );
    const args: string[] = find(docs, 'Deployment').spec.template.spec.containers[0].args;
    const env = find(docs, 'Deployment').spec.template.spec.containers[0].env as { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
    assert.deepEqual(env.find((e) => e.name === 'POD_NAMESPACE')?.valueFrom, { fieldRef: { fieldPath: 'metadata.namespace' } });
    const config = parseConfig(args, { POD_NAME: 'certsmith-abc', POD_NAMESPACE: NS });
    assert.deepEqual(
      {
        clusterResourceNamespace: config.clusterResourceNamespace,
        operatorNamespace: config.operatorNamespace,
        leaderElect: config.leaderElect,
        leaderElectionNamespace: config.leaderElectionNamespace,
        leaderElectionId: config.leaderElectionId,
        identity: config.identity,
        healthPort: config.healthPort,
        logLevel: config.logLevel,
        workers: config.workers,
        resyncSeconds: config.resyncSeconds,
        acmeHttp01SolverPort: config.acmeHttp01SolverPort,
        acmeHttp01CheckPort: config.acmeHttp01CheckPort,
        acmeHttp01SolverService: config.acmeHttp01SolverService,
        acmeRecursiveNameservers: config.acmeRecursiveNameservers,
        acmeDns01CheckNameservers: config.acmeDns01CheckNameservers,
        acmeAriMaxCheckInterval: config.acmeAriMaxCheckInterval,
        defaultIssuerKind: config.defaultIssuerKind,
        defaultIssuerName: config.defaultIssuerName,
        honourCertManagerAnnotations: config.honourCertManagerAnnotations,
        issuancePolicyDefault: config.issuancePolicyDefault,
        trustBundleSourceNamespaces: config.trustBundleSourceNamespaces,
      },
      {
        clusterResourceNamespace: 'issuers',
        operatorNamespace: NS,
        leaderElect: true,
        leaderElectionNamespace: NS,
        leaderElectionId: 'my-lease',
        identity: 'certsmith-abc',
        healthPort: 9500,
        logLevel: 'debug',
        workers: 4,
        resyncSeconds: 300,
        acmeHttp01SolverPort: 8090,
        acmeHttp01CheckPort: 8080,
        acmeHttp01SolverService: 'my-solver',
        acmeRecursiveNameservers: ['1.1.1.1:53', '8.8.8.8:53'],
        acmeDns01CheckNameservers: ['9.9.9.9:53'],
        acmeAriMaxCheckInterval: '12h',
        defaultIssuerKind: 'Issuer',
        defaultIssuerName: 'letsencrypt',
        honourCertManagerAnnotations: true,
        issuancePolicyDefault: 'Deny',
        trustBundleSourceNamespaces: ['shared-cas', 'team-cas'],
      },
    );
    // Every flag of `--help` is either set by the chart or deliberately left to the operator's default.
    const notSet = new Set(['--kubeconfig', '--identity', '--operator-namespace', '--health-host', '--acme-http01-solver-host', '--help']);
    const flags = [...usage().matchAll(/^ {2}(--[a-z0-9-]+)/gm)].map((m) => m[1]!);
    const set = new Set(args.map((a) => a.split('=')[0]));
    assert.deepEqual(
      flags.filter((f) => !notSet.has(f) && !set.has(f)),
      [],
      'flags the chart cannot set',
    );
    // The solver Service is named by the flag, targets the solver port by name and selects the operator's pods.
    const solver = find(docs, 'Service', 'my-solver');
    assert.deepEqual(solver.spec.ports, [{ name: 'http', port: 8089, targetPort: 'acme-http01', protocol: 'TCP' }]);
    assert.deepEqual(solver.spec.selector, find(docs, 'Deployment').spec.selector.matchLabels);
    // The Role for the solver's EndpointSlices is where the operator looks: its own namespace, next to the Service.
    assert.equal(find(docs, 'Role', 'certsmith:solver-endpoints').metadata.namespace, NS);
    assert.equal(solver.metadata.namespace, NS);
  });

  it('renders the Grafana dashboard ConfigMap only when asked, with the dashboard file as it is', async () => {
    assert.equal((await template()).filter((d) => d.kind === 'ConfigMap').length, 0);
    const cm = find(await template('grafana.dashboard.enabled=true'), 'ConfigMap', 'certsmith-dashboard');
    assert.equal(cm.metadata.labels?.grafana_dashboard, '1');
    assert.equal(cm.data['certsmith.json'] + '\n', await readFile(join(chartDir, 'dashboards', 'certsmith.json'), 'utf8'));
  });

  it("renders a ServiceMonitor and a PrometheusRule on the operator's metric names", async () => {
    const docs = await template('metrics.serviceMonitor.enabled=true', 'prometheusRule.enabled=true');
    const sm = find(docs, 'ServiceMonitor');
    const metricsService = find(docs, 'Service', 'certsmith-metrics');
    for (const [k, v] of Object.entries(sm.spec.selector.matchLabels)) assert.equal(metricsService.metadata.labels?.[k], v);
    assert.equal(sm.spec.endpoints[0].port, 'metrics');
    const rules: { alert: string; expr: string; for: string }[] = find(docs, 'PrometheusRule').spec.groups[0].rules;
    const byAlert = Object.fromEntries(rules.map((r) => [r.alert, r]));
    const exported = new Set((await createMetrics().registry.getMetricsAsJSON()).map((m) => m.name));
    for (const r of rules) {
      for (const m of r.expr.matchAll(/certsmith_[a-z0-9_]+/g)) assert.ok(exported.has(m[0]), `${r.alert}: ${m[0]} is a metric the operator exports`);
    }
    assert.match(byAlert.CertsmithCertificateExpiringSoon!.expr, /certsmith_certificate_expiration_timestamp_seconds.*< 604800/);
    assert.match(byAlert.CertsmithCertificateNotReady!.expr, /certsmith_certificate_ready_status\{condition!="True"\}/);
    assert.equal(byAlert.CertsmithCertificateNotReady!.for, '10m');
    assert.match(byAlert.CertsmithIssuanceFailing!.expr, /certsmith_issuance_total\{result="failure"\}/);
  });

  it('the chart and deploy/base hold the same CRDs as crds/, byte for byte', async () => {
    const names = (await readdir(crdsDir)).filter((f) => f.endsWith('.yaml')).sort();
    for (const dir of [chartCrdsDir, deployCrdsDir]) {
      assert.deepEqual((await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort(), names, dir);
      for (const n of names) {
        assert.ok(
          (await readFile(join(dir, n), 'utf8')) === (await readFile(join(crdsDir, n), 'utf8')),
          `${join(dir, n)} differs from crds/${n}: run npm run generate`,
        );
      }
    }
  });

  it('deploy/base is the chart rendered with its defaults, plus the CRDs', async () => {
    const expected = await renderDeployBase(binaryPath(binDir, 'helm'));
    const actual = await readFile(renderedPath, 'utf8');
    if (actual !== expected) {
      const a = actual.split('\n');
      const e = expected.split('\n');
      const i = a.findIndex((line, n) => line !== e[n]);
      assert.fail(`deploy/base/certsmith.yaml is stale (line ${i + 1}: ${JSON.stringify(a[i])}, rendered: ${JSON.stringify(e[i])}): run node deploy/render.ts`);
    }
    const { stdout } = await run(binaryPath(binDir, 'kubectl'), ['kustomize', join(root, 'deploy', 'base')], { maxBuffer: 64 * 2 ** 20 });
    const docs = loadAll(stdout) as Manifest[];
    const kinds = docs.map((d) => d.kind);
    for (const k of ['Namespace', 'Deployment', 'ClusterRole', 'Role', 'Service', 'PodDisruptionBudget']) assert.ok(kinds.includes(k), k);
    assert.deepEqual(
      docs
        .filter((d) => d.kind === 'CustomResourceDefinition')
        .map((d) => d.metadata.name)
        .sort(),
      CRD_NAMES,
    );
  });
});

describe('on a cluster', () => {
  let cp: ControlPlane;
  let client: KubeClient;
  let operator: OperatorProcess | undefined;
  let logDir: string;

  const canI = async (args: string[]): Promise<boolean> => {
    try {
      return (await cp.kubectl('auth', 'can-i', `--as=${SA}`, ...args)).trim() === 'yes';
    } catch (err) {
      // can-i exits 1 with "no" on stdout.
      const e = err as { stdout?: string };
      if (e.stdout?.trim().startsWith('no')) return false;
      throw err;
    }
  };
  const crdsPresent = async () => (await Promise.all(CRD_NAMES.map((n) => client.get(Resources.customResourceDefinitions, undefined, n)))).every(Boolean);

  before(async () => {
    logDir = await mkdtemp(join(tmpdir(), 'certsmith-install-'));
    // No controller manager: nothing here needs garbage collection, and no pod would run anyway.
    // Gateway API CRDs: the operator watches Gateways where the cluster has them, and RBAC is checked for them.
    cp = await startControlPlane({ withControllerManager: false, gatewayApi: true });
    client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath });
  });
  after(async () => {
    await operator?.stop();
    await cp?.stop();
    await rm(logDir, { recursive: true, force: true });
  });

  it('kubectl apply --server-side -f crds/ installs the CRDs, and applying them again over themselves is clean', async () => {
    const first = await cp.kubectl('apply', '--server-side', '-f', crdsDir);
    assert.equal(first.match(/serverside-applied/g)?.length, CRD_NAMES.length, first);
    await cp.kubectl('wait', '--for=condition=Established', ...CRD_NAMES.map((n) => `crd/${n}`), '--timeout=60s');
    const generations = await Promise.all(
      CRD_NAMES.map(async (n) => (await client.get(Resources.customResourceDefinitions, undefined, n))!.metadata.generation),
    );
    await cp.kubectl('apply', '--server-side', '-f', crdsDir);
    const again = await Promise.all(CRD_NAMES.map(async (n) => (await client.get(Resources.customResourceDefinitions, undefined, n))!.metadata.generation));
    assert.deepEqual(again, generations, 'unchanged CRDs are not rewritten');
    // The chart installs them below. Helm adopts only objects marked as its release's, so they are marked here: deleting
    // them instead waited on kube-apiserver's CRD finalizer, which once took over 120 s on a loaded machine.
    const crds = CRD_NAMES.map((n) => `crd/${n}`);
    await cp.kubectl('label', ...crds, 'app.kubernetes.io/managed-by=Helm', '--overwrite');
    await cp.kubectl('annotate', ...crds, `meta.helm.sh/release-name=certsmith`, `meta.helm.sh/release-namespace=${NS}`, '--overwrite');
  });

  it('helm install creates the operator, its RBAC, the Services and the CRDs (kept on uninstall)', async () => {
    await helm('install', 'certsmith', chartDir, '--namespace', NS, '--create-namespace', '--kubeconfig', cp.kubeconfigPath);
    await cp.kubectl('wait', '--for=condition=Established', ...CRD_NAMES.map((n) => `crd/${n}`), '--timeout=60s');
    for (const n of CRD_NAMES) {
      const crd = await client.get(Resources.customResourceDefinitions, undefined, n);
      assert.equal(crd?.metadata.annotations?.['helm.sh/resource-policy'], 'keep', n);
    }
    const deploy = JSON.parse(await cp.kubectl('get', 'deployment', 'certsmith', '-n', NS, '-o', 'json'));
    assert.equal(deploy.spec.replicas, 2);
    assert.equal(deploy.spec.template.spec.serviceAccountName, 'certsmith');
    const solver = JSON.parse(await cp.kubectl('get', 'service', 'certsmith-acme-solver', '-n', NS, '-o', 'json'));
    assert.deepEqual(solver.spec.selector, deploy.spec.selector.matchLabels);
    assert.equal(solver.spec.ports[0].port, 8089);
    assert.equal(solver.spec.ports[0].targetPort, 'acme-http01');
    for (const [kind, name] of [
      ['service', 'certsmith-metrics'],
      ['serviceaccount', 'certsmith'],
      ['poddisruptionbudget', 'certsmith'],
      ['role', 'certsmith:leader-election'],
      ['role', 'certsmith:solver-endpoints'],
    ] as const) {
      await cp.kubectl('get', kind, name, '-n', NS);
    }
    await cp.kubectl('get', 'clusterrole', 'certsmith');
    await cp.kubectl('get', 'clusterrolebinding', 'certsmith');
  });

  // [verb, resource, extra args]: what the operator's service account may and may not do.
  const allowed: [string, string, ...string[]][] = [
    ['list', 'certificates.certsmith.dev', '--all-namespaces'],
    ['watch', 'certificates.certsmith.dev', '--all-namespaces'],
    ['patch', 'certificates.certsmith.dev', '-n', 'team'],
    ['delete', 'certificates.certsmith.dev', '-n', 'team'],
    ['patch', 'certificates.certsmith.dev', '--subresource=status', '-n', 'team'],
    ['update', 'certificates.certsmith.dev', '--subresource=finalizers', '-n', 'team'],
    ['watch', 'clusterissuers.certsmith.dev'],
    ['patch', 'clusterissuers.certsmith.dev', '--subresource=status'],
    ['patch', 'issuers.certsmith.dev', '--subresource=status', '-n', 'team'],
    ['patch', 'trustbundles.certsmith.dev', '--subresource=status'],
    ['watch', 'trustbundles.certsmith.dev'],
    ['watch', 'sessionticketkeys.certsmith.dev', '--all-namespaces'],
    ['get', 'sessionticketkeys.certsmith.dev', '-n', 'team'],
    ['patch', 'sessionticketkeys.certsmith.dev', '--subresource=status', '-n', 'team'],
    ['get', 'secrets', '-n', 'team'],
    ['create', 'secrets', '-n', 'team'],
    ['patch', 'secrets', '-n', 'team'],
    // A managed CA's Secret is replaced (PUT) with the resourceVersion read.
    ['update', 'secrets', '-n', NS],
    ['delete', 'secrets', '-n', 'team'],
    ['watch', 'secrets', '--all-namespaces'],
    ['patch', 'configmaps', '-n', 'team'],
    ['watch', 'namespaces'],
    ['create', 'events', '-n', 'team'],
    ['create', 'events', '-n', 'default'],
    ['create', 'leases.coordination.k8s.io', '-n', NS],
    ['get', 'leases.coordination.k8s.io/certsmith-operator', '-n', NS],
    ['update', 'leases.coordination.k8s.io/certsmith-operator', '-n', NS],
    ['list', 'endpointslices.discovery.k8s.io', '-n', NS],
    ['patch', 'endpointslices.discovery.k8s.io', '-n', 'team'],
    ['patch', 'services', '-n', 'team'],
    ['watch', 'ingresses.networking.k8s.io', '--all-namespaces'],
    ['update', 'ingresses.networking.k8s.io', '-n', 'team'],
    ['delete', 'ingresses.networking.k8s.io', '-n', 'team'],
    ['watch', 'gateways.gateway.networking.k8s.io', '--all-namespaces'],
    ['patch', 'httproutes.gateway.networking.k8s.io', '-n', 'team'],
    ['delete', 'httproutes.gateway.networking.k8s.io', '-n', 'team'],
  ];
  const denied: [string, string, ...string[]][] = [
    ['create', 'pods', '--subresource=exec', '-n', NS],
    ['get', 'pods', '-n', NS],
    ['delete', 'namespaces'],
    ['create', 'namespaces'],
    ['patch', 'namespaces'],
    ['update', 'certificates.certsmith.dev', '-n', 'team'],
    ['create', 'issuers.certsmith.dev', '-n', 'team'],
    ['create', 'clusterissuers.certsmith.dev'],
    ['create', 'trustbundles.certsmith.dev'],
    ['create', 'sessionticketkeys.certsmith.dev', '-n', 'team'],
    ['patch', 'sessionticketkeys.certsmith.dev', '-n', 'team'],
    ['patch', 'issuers.certsmith.dev', '-n', 'team'],
    ['delete', 'issuers.certsmith.dev', '-n', 'team'],
    ['patch', 'clusterissuers.certsmith.dev'],
    ['delete', 'trustbundles.certsmith.dev'],
    ['update', 'configmaps', '-n', 'team'],
    ['delete', 'events', '-n', 'team'],
    ['update', 'leases.coordination.k8s.io/other', '-n', NS],
    ['get', 'leases.coordination.k8s.io/certsmith-operator', '-n', 'kube-system'],
    ['create', 'leases.coordination.k8s.io', '-n', 'kube-system'],
    ['list', 'endpointslices.discovery.k8s.io', '-n', 'team'],
    ['delete', 'endpointslices.discovery.k8s.io', '-n', NS],
    ['delete', 'services', '-n', NS],
    ['patch', 'ingresses.networking.k8s.io', '--subresource=status', '-n', 'team'],
    ['create', 'gateways.gateway.networking.k8s.io', '-n', 'team'],
    ['patch', 'gateways.gateway.networking.k8s.io', '-n', 'team'],
    ['get', 'customresourcedefinitions.apiextensions.k8s.io'],
    ['delete', 'customresourcedefinitions.apiextensions.k8s.io'],
    ['patch', 'deployments.apps', '-n', NS],
    ['create', 'clusterrolebindings.rbac.authorization.k8s.io'],
    ['bind', 'clusterroles.rbac.authorization.k8s.io'],
    ['escalate', 'roles.rbac.authorization.k8s.io', '-n', NS],
    ['impersonate', 'serviceaccounts', '-n', NS],
    ['create', 'serviceaccounts/token', '-n', NS],
    ['get', 'nodes'],
    ['*', '*'],
  ];

  it('the service account may do what the operator does', async () => {
    const wrong: string[] = [];
    for (const [verb, resource, ...rest] of allowed) if (!(await canI([verb, resource, ...rest]))) wrong.push(`${verb} ${resource} ${rest.join(' ')}`);
    assert.deepEqual(wrong, [], 'denied');
  });

  it('and nothing it does not need: no exec, no namespace writes, no spec writes to issuers, no cluster-wide writes beyond its own objects', async () => {
    const wrong: string[] = [];
    for (const [verb, resource, ...rest] of denied) if (await canI([verb, resource, ...rest])) wrong.push(`${verb} ${resource} ${rest.join(' ')}`);
    assert.deepEqual(wrong, [], 'allowed');
  });

  it("the real operator, running as the chart's service account, leads, issues, builds a TrustBundle and follows an annotated Ingress", async () => {
    await client.create(Resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team', labels: { trust: 'yes' } } });
    const token = (await cp.kubectl('create', 'token', 'certsmith', '-n', NS, '--duration=1h')).trim();
    const kubeconfigPath = join(logDir, 'sa.kubeconfig');
    const cluster = JSON.parse(await cp.kubectl('config', 'view', '--raw', '-o', 'json')).clusters[0].cluster;
    await writeFile(
      kubeconfigPath,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster }],
        users: [{ name: 'sa', user: { token } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'sa' } }],
        'current-context': 'c',
      }),
      { mode: 0o600 },
    );
    // The flags the chart renders, as the pod would run them (leader election on, in the release namespace).
    const docs = await template();
    const args: string[] = find(docs, 'Deployment').spec.template.spec.containers[0].args.filter(
      (a: string) => !/^--(health-port|acme-http01-solver-port)=/.test(a),
    );
    operator = startOperator({ kubeconfigPath, logDir, name: 'certsmith-sa', args });
    const refused = async () => (await operator!.logs()).split('\n').filter((l) => /forbidden|KubeForbidden|\b403\b/i.test(l));
    try {
      await runAsServiceAccount();
    } catch (err) {
      throw new Error(`${(err as Error).message}\nrefused requests in the operator's log:\n${(await refused()).slice(0, 5).join('\n')}`);
    }
    assert.deepEqual(await refused(), [], 'the operator was refused nothing');
    await operator.stop();
    operator = undefined;
  });

  async function runAsServiceAccount(): Promise<void> {
    const lease = await waitFor('the Lease to have a holder', async () => {
      const l = await client.get<KubeObject<{ holderIdentity?: string }>>(Resources.leases, NS, 'certsmith-operator');
      return l?.spec?.holderIdentity ? l : undefined;
    });
    assert.equal(lease.spec?.holderIdentity, 'certsmith-sa');

    await client.create(Resources.clusterIssuers, clusterIssuer('install-selfsigned', { selfSigned: {} }));
    await client.create(
      Resources.certificates,
      certificate(NS, 'install-root', {
        secretName: 'install-root',
        isCA: true,
        commonName: 'install test root',
        issuerRef: { kind: 'ClusterIssuer', name: 'install-selfsigned' },
      }),
    );
    await waitForReady(client, Resources.certificates, NS, 'install-root');
    await client.create(Resources.clusterIssuers, clusterIssuer('install-ca', { ca: { secretName: 'install-root' } }));
    await waitForReady(client, Resources.clusterIssuers, undefined, 'install-ca');
    await client.create(
      Resources.certificates,
      certificate('team', 'web', { secretName: 'web-tls', dnsNames: ['web.team.example'], issuerRef: { kind: 'ClusterIssuer', name: 'install-ca' } }),
    );
    await waitForReady(client, Resources.certificates, 'team', 'web');

    await client.create(Resources.trustBundles, {
      apiVersion: API_VERSION,
      kind: 'TrustBundle',
      metadata: { name: 'install-roots' },
      spec: {
        sources: [{ issuer: { kind: 'ClusterIssuer', name: 'install-ca' } }],
        target: { configMap: { key: 'ca.crt' }, secret: { key: 'ca.crt' }, namespaceSelector: { matchLabels: { trust: 'yes' } } },
      },
    } as KubeObject);
    await waitFor('the TrustBundle targets in team', async () => {
      const cm = await client.get<KubeObject & { data?: Record<string, string> }>(Resources.configMaps, 'team', 'install-roots');
      const secret = await client.get<KubeObject & { data?: Record<string, string> }>(Resources.secrets, 'team', 'install-roots');
      return cm?.data?.['ca.crt']?.includes('BEGIN CERTIFICATE') && secret?.data?.['ca.crt'];
    });

    await client.create(Resources.ingresses, {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'shop', namespace: 'team', annotations: { 'certsmith.dev/cluster-issuer': 'install-ca' } },
      spec: {
        tls: [{ hosts: ['shop.team.example'], secretName: 'shop-tls' }],
        rules: [
          { host: 'shop.team.example', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'shop', port: { number: 80 } } } }] } },
        ],
      },
    } as KubeObject);
    const shop = (await waitForReady(client, Resources.certificates, 'team', 'shop-tls')) as Certificate;
    assert.deepEqual(shop.spec?.dnsNames, ['shop.team.example']);

    assert.ok(findCondition(shop.status?.conditions, 'Ready'));
  }

  it('helm upgrade changes the operator in place', async () => {
    await helm(
      'upgrade',
      'certsmith',
      chartDir,
      '--namespace',
      NS,
      '--kubeconfig',
      cp.kubeconfigPath,
      '--set',
      'replicas=3,logLevel=debug,podDisruptionBudget.enabled=false',
    );
    const deploy = JSON.parse(await cp.kubectl('get', 'deployment', 'certsmith', '-n', NS, '-o', 'json'));
    assert.equal(deploy.spec.replicas, 3);
    assert.ok(deploy.spec.template.spec.containers[0].args.includes('--log-level=debug'));
    await assert.rejects(cp.kubectl('get', 'poddisruptionbudget', 'certsmith', '-n', NS), /NotFound/);
    const history = JSON.parse(await helm('history', 'certsmith', '--namespace', NS, '--kubeconfig', cp.kubeconfigPath, '-o', 'json'));
    assert.deepEqual(
      history.map((h: { revision: number }) => h.revision),
      [1, 2],
    );
    assert.ok(await crdsPresent());
  });

  it("helm uninstall removes the operator but keeps the CRDs and every user's Certificate", async () => {
    await helm('uninstall', 'certsmith', '--namespace', NS, '--kubeconfig', cp.kubeconfigPath);
    await assert.rejects(cp.kubectl('get', 'deployment', 'certsmith', '-n', NS), /NotFound/);
    await assert.rejects(cp.kubectl('get', 'clusterrole', 'certsmith'), /NotFound/);
    await assert.rejects(cp.kubectl('get', 'service', 'certsmith-acme-solver', '-n', NS), /NotFound/);
    assert.ok(await crdsPresent(), 'the CRDs are kept');
    assert.ok(await client.get(Resources.certificates, 'team', 'web'), "a user's Certificate is kept");
    assert.ok(await client.get(Resources.clusterIssuers, undefined, 'install-ca'), "a user's ClusterIssuer is kept");
    assert.ok(await client.get(Resources.secrets, 'team', 'web-tls'), 'its Secret is kept');
  });

  it('kubectl apply --server-side --force-conflicts -f crds/ upgrades the CRDs the chart left behind, and the chart installs again over them', async () => {
    // Helm owns their fields (field manager "helm"): taking them over for new content needs --force-conflicts.
    await cp.kubectl('apply', '--server-side', '--force-conflicts', '-f', crdsDir);
    await cp.kubectl('apply', '--server-side', '--force-conflicts', '-f', crdsDir);
    await helm('install', 'certsmith', chartDir, '--namespace', NS, '--kubeconfig', cp.kubeconfigPath);
    await cp.kubectl('get', 'deployment', 'certsmith', '-n', NS);
    assert.ok(await client.get(Resources.certificates, 'team', 'web'));
    await helm('uninstall', 'certsmith', '--namespace', NS, '--kubeconfig', cp.kubeconfigPath);
    assert.ok(await crdsPresent());
  });
});

/** The production stage's Node flags (ENTRYPOINT, between node and dist/main.js) and ENV. */
async function imageRuntime(): Promise<{ nodeFlags: string[]; env: Record<string, string> }> {
  const dockerfile = await readFile(join(root, 'Dockerfile'), 'utf8');
  const finalStage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(finalStage)?.[1] ?? '[]') as string[];
  const env = Object.fromEntries([...finalStage.matchAll(/^ENV (\w+)=(\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  return { nodeFlags: entrypoint.slice(1, entrypoint.indexOf('dist/main.js')), env };
}

describe('image', () => {
  it("the benchmark runs the operator with the image's Node flags and environment", async () => {
    const image = await imageRuntime();
    const bench = operatorImage();
    assert.ok(image.nodeFlags.length > 0, 'the ENTRYPOINT has Node flags');
    // The preloaded library sits elsewhere on this machine: the same file name is what must agree.
    const preloaded = (env: Record<string, string>) => ({ ...env, LD_PRELOAD: basename(env.LD_PRELOAD ?? '') });
    assert.deepEqual({ nodeFlags: bench.nodeFlags, env: preloaded(bench.env) }, { nodeFlags: image.nodeFlags, env: preloaded(image.env) });
    assert.equal(preloaded(image.env).LD_PRELOAD, 'libjemalloc.so.2');
  });

  // What the Dockerfile's production stage does, without a Docker engine: compiled dist/, production dependencies
  // only (npm ci --omit=dev from package-lock.json), package.json and crds/, then `node dist/main.js --help`.
  it('the compiled operator runs on production dependencies alone', { timeout: 300_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'certsmith-image-'));
    try {
      const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
      // Into the temp dir, not the shared dist/ other runs may be using.
      await run(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')], { cwd: root, maxBuffer: 16 * 2 ** 20 });
      for (const f of ['package.json', 'package-lock.json']) await copyFile(join(root, f), join(dir, f));
      await run('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--ignore-scripts', '--prefer-offline'], {
        cwd: dir,
        maxBuffer: 16 * 2 ** 20,
        // npm runs on the Node 24 this test runs on.
        env: { ...process.env, PATH: `${join(process.execPath, '..')}:${process.env.PATH}` },
      });
      const installed = await readdir(join(dir, 'node_modules'));
      assert.ok(!installed.includes('typescript') && !installed.includes('node'), 'dev dependencies are left out');
      // Flags and environment as the image has them, with this machine's jemalloc (the test above checks they agree).
      const image = operatorImage();
      const { stdout, stderr } = await run(process.execPath, [...image.nodeFlags, 'dist/main.js', '--help'], {
        cwd: dir,
        env: { ...process.env, ...image.env },
      });
      assert.doesNotMatch(stderr, /cannot be preloaded/);
      assert.match(stdout, /Usage: certsmith-operator/);
      assert.match(stdout, /--leader-elect/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
