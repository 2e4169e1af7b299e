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
import { GATEWAY_HTTP01_ANNOTATION, type GatewayObject, type HttpRouteObject } from '../../src/api/gateway-api.ts';
import type { Issuer } from '../../src/api/issuer.ts';
import { API_VERSION, type KubeObject } from '../../src/api/meta.ts';
import type { TrustBundle } from '../../src/api/trust-bundle.ts';
import { parseConfig, usage } from '../../src/config/config.ts';
import type { EndpointSliceObject, IngressObject, ServiceObject } from '../../src/controllers/certificates/acme/http01-objects.ts';
import { createHttp01Routing } from '../../src/controllers/certificates/acme/http01-routing.ts';
import type { ChallengeContext } from '../../src/controllers/certificates/acme/challenges.ts';
import { isCertsmithError } from '../../src/errors.ts';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { Resources, type Resource } from '../../src/kube/resources.ts';
import { createMetrics } from '../../src/observability/metrics.ts';
import { binaryPath, ensureBinaries } from '../env/binaries.ts';
import { startControlPlane, type ControlPlane } from '../env/controlplane.ts';
import { certificate, clusterIssuer, waitForReady } from './helpers/objects.ts';
import { startOperator, type OperatorProcess } from './helpers/operator.ts';
import { createHelm, type Helm } from './helpers/helm.ts';
import { serviceAccountMay } from './helpers/signer-access.ts';
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
      'shards=3',
    );
    const args: string[] = find(docs, 'Deployment').spec.template.spec.containers[0].args;
    const env = find(docs, 'Deployment').spec.template.spec.containers[0].env as { name: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
    assert.deepEqual(env.find((e) => e.name === 'POD_NAMESPACE')?.valueFrom, { fieldRef: { fieldPath: 'metadata.namespace' } });
    assert.deepEqual(env.find((e) => e.name === 'POD_IP')?.valueFrom, { fieldRef: { fieldPath: 'status.podIP' } });
    const config = parseConfig(args, { POD_NAME: 'certsmith-abc', POD_NAMESPACE: NS, POD_IP: '10.0.0.7' });
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
        shards: config.shards,
        podIp: config.podIp,
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
        shards: 3,
        podIp: '10.0.0.7',
      },
    );
    // Shards: the replicas list, renew, free and delete the shard and member Leases.
    const leaseRules = (find(docs, 'Role', 'certsmith:leader-election').rules as { resources: string[]; verbs: string[]; resourceNames?: string[] }[]).filter(
      (r) => r.resources.includes('leases') && !r.resourceNames,
    );
    assert.deepEqual(leaseRules.flatMap((r) => r.verbs).sort(), ['create', 'delete', 'get', 'list', 'update']);
    // Every flag of `--help` is either set by the chart or deliberately left to the operator's default.
    // --identity, --operator-namespace and --pod-ip come from the downward API (POD_NAME, POD_NAMESPACE, POD_IP).
    const notSet = new Set(['--kubeconfig', '--identity', '--operator-namespace', '--pod-ip', '--health-host', '--acme-http01-solver-host', '--help']);
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

  it('renders attest and sign only on the listed signers, no rule for an empty list, and refuses a name that is no signer', async () => {
    type Rule = { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] };
    const signerRules = (docs: Manifest[], verb: string) =>
      (find(docs, 'ClusterRole').rules as Rule[]).filter((r) => r.resources.includes('signers') && r.verbs.includes(verb));
    const rule = (verb: string, resourceNames: string[]): Rule => ({
      apiGroups: ['certificates.k8s.io'],
      resources: ['signers'],
      resourceNames,
      verbs: [verb],
    });
    for (const [verb, value] of [
      ['attest', 'clusterTrustBundleSigners'],
      ['sign', 'podCertificateSigners'],
    ] as const) {
      const cases: { set: string[]; rules: Rule[] }[] = [
        { set: [], rules: [rule(verb, ['certsmith.dev/*'])] },
        { set: [`rbac.${value}={example.com/*,example.org/roots}`], rules: [rule(verb, ['example.com/*', 'example.org/roots'])] },
        // An empty resourceNames would grant every signer: an empty list renders no rule.
        { set: [`rbac.${value}=null`], rules: [] },
      ];
      for (const c of cases) assert.deepEqual(signerRules(await template(...c.set), verb), c.rules, c.set.join(' ') || `${verb}: defaults`);
      for (const bad of ['example.com', '*', 'Example.com/x', 'example.com/a/b']) {
        await assert.rejects(template(`rbac.${value}={${bad}}`), /is not a signer name/, bad);
      }
    }
    // Without pod certificates, nothing of theirs: no PodCertificateRequests, no pods.
    const rules = (find(await template('rbac.podCertificateSigners=null'), 'ClusterRole').rules as Rule[]).flatMap((r) => r.resources);
    assert.ok(!rules.some((r) => r.startsWith('podcertificaterequests') || r === 'pods'), rules.join(', '));
  });

  it('renders no rule that writes Services, EndpointSlices, Ingresses or HTTPRoutes with rbac.acmeHttp01Routing=false', async () => {
    type Rule = { apiGroups: string[]; resources: string[]; resourceNames?: string[]; verbs: string[] };
    const rules = (docs: Manifest[]) =>
      docs
        .filter((d) => d.kind === 'ClusterRole' || d.kind === 'Role')
        .flatMap((d) => (d.rules as Rule[]).flatMap((r) => r.resources.flatMap((res) => r.verbs.map((v) => `${d.kind} ${res} ${v}`))));
    const routing = ['services', 'endpointslices', 'ingresses', 'httproutes', 'gateways'];
    const of = (docs: Manifest[]) => rules(docs).filter((r) => routing.includes(r.split(' ')[1]!));
    assert.deepEqual(of(await template('rbac.acmeHttp01Routing=false')).sort(), [
      'ClusterRole gateways list',
      'ClusterRole gateways watch',
      'ClusterRole ingresses list',
      'ClusterRole ingresses watch',
    ]);
    assert.equal((await template('rbac.acmeHttp01Routing=false')).filter((d) => d.metadata.name === 'certsmith:solver-endpoints').length, 0);
    assert.ok(of(await template()).includes('ClusterRole services patch'));
  });

  it('renders the admission policy, bound to the service account, only where the API server serves it and HTTP-01 routing is on', async () => {
    const served = ['--api-versions', 'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy'];
    const policies = async (...args: string[]) =>
      (loadAll(await helm('template', 'certsmith', chartDir, '--namespace', NS, ...args)) as (Manifest | null)[]).filter(
        (d): d is Manifest => d?.kind.startsWith('ValidatingAdmissionPolicy') === true,
      );
    const cases: { name: string; args: string[]; rendered: boolean }[] = [
      { name: 'served, defaults', args: served, rendered: true },
      { name: 'not served (Kubernetes before 1.30)', args: [], rendered: false },
      { name: 'served, HTTP-01 routing off', args: [...served, '--set', 'rbac.acmeHttp01Routing=false'], rendered: false },
      { name: 'served, policy off', args: [...served, '--set', 'rbac.admissionPolicy=false'], rendered: false },
    ];
    for (const c of cases) {
      assert.deepEqual(
        (await policies(...c.args)).map((d) => d.kind),
        c.rendered ? ['ValidatingAdmissionPolicy', 'ValidatingAdmissionPolicyBinding'] : [],
        c.name,
      );
    }
    const [policy] = await policies(...served, '--set', 'serviceAccount.name=ops');
    assert.deepEqual(policy!.spec.matchConditions, [{ name: 'operator', expression: `request.userInfo.username == "system:serviceaccount:${NS}:ops"` }]);
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
    for (const k of ['Namespace', 'Deployment', 'ClusterRole', 'Role', 'Service', 'PodDisruptionBudget', 'ValidatingAdmissionPolicy'])
      assert.ok(kinds.includes(k), k);
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
  /** A kubeconfig holding a token of the chart's service account: what the operator's pod has. */
  const serviceAccountKubeconfig = async (): Promise<string> => {
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
    return kubeconfigPath;
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
    // This API server serves ValidatingAdmissionPolicy, so the chart installs its policy for the operator's writes.
    await cp.kubectl('get', 'validatingadmissionpolicy', 'certsmith-http01-routing');
    await cp.kubectl('get', 'validatingadmissionpolicybinding', 'certsmith-http01-routing');
  });

  // [verb, resource, extra args]: what the operator's service account may and may not do.
  // HTTP-01 routing (rbac.acmeHttp01Routing, on by default): the solver Service and EndpointSlice by their one name
  // (server-side apply's create check carries the name), temporary Ingresses and HTTPRoutes, edit-in-place.
  const routingAllowed: [string, string, ...string[]][] = [
    ['list', 'endpointslices.discovery.k8s.io', '-n', NS],
    ['get', 'endpointslices.discovery.k8s.io/certsmith-acme-solver', '-n', 'team'],
    ['create', 'endpointslices.discovery.k8s.io/certsmith-acme-solver', '-n', 'team'],
    ['patch', 'endpointslices.discovery.k8s.io/certsmith-acme-solver', '-n', 'team'],
    ['get', 'services/certsmith-acme-solver', '-n', 'team'],
    ['create', 'services/certsmith-acme-solver', '-n', 'team'],
    ['patch', 'services/certsmith-acme-solver', '-n', 'team'],
    ['get', 'ingresses.networking.k8s.io/shop', '-n', 'team'],
    ['create', 'ingresses.networking.k8s.io/web-http01-0123456789', '-n', 'team'],
    ['patch', 'ingresses.networking.k8s.io/web-http01-0123456789', '-n', 'team'],
    ['update', 'ingresses.networking.k8s.io/shop', '-n', 'team'],
    ['delete', 'ingresses.networking.k8s.io/web-http01-0123456789', '-n', 'team'],
    ['get', 'gateways.gateway.networking.k8s.io/gw', '-n', 'team'],
    ['get', 'httproutes.gateway.networking.k8s.io/web-http01-0123456789', '-n', 'team'],
    ['patch', 'httproutes.gateway.networking.k8s.io/web-http01-0123456789', '-n', 'team'],
    ['delete', 'httproutes.gateway.networking.k8s.io/web-http01-0123456789', '-n', 'team'],
  ];
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
    ['watch', 'ingresses.networking.k8s.io', '--all-namespaces'],
    ['watch', 'gateways.gateway.networking.k8s.io', '--all-namespaces'],
    // Pod certificates: requests watched per signer name, answered through status; the pod a request names is read.
    ['list', 'podcertificaterequests.certificates.k8s.io', '--all-namespaces'],
    ['watch', 'podcertificaterequests.certificates.k8s.io', '--all-namespaces'],
    ['patch', 'podcertificaterequests.certificates.k8s.io', '--subresource=status', '-n', 'team'],
    ['get', 'pods', '-n', 'team'],
    ...routingAllowed,
  ];
  const denied: [string, string, ...string[]][] = [
    ['create', 'pods', '--subresource=exec', '-n', NS],
    ['list', 'pods', '--all-namespaces'],
    ['watch', 'pods', '--all-namespaces'],
    ['patch', 'pods', '-n', 'team'],
    ['delete', 'pods', '-n', 'team'],
    ['create', 'podcertificaterequests.certificates.k8s.io', '-n', 'team'],
    ['update', 'podcertificaterequests.certificates.k8s.io', '-n', 'team'],
    ['delete', 'podcertificaterequests.certificates.k8s.io', '-n', 'team'],
    ['update', 'podcertificaterequests.certificates.k8s.io', '--subresource=status', '-n', 'team'],
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
    // Services and EndpointSlices: only the solver's name, and never by POST (a create without a name in the URL).
    ['get', 'services/frontend', '-n', 'team'],
    ['patch', 'services/frontend', '-n', 'team'],
    ['create', 'services', '-n', 'team'],
    ['list', 'services', '-n', 'team'],
    ['update', 'services/certsmith-acme-solver', '-n', 'team'],
    ['delete', 'services/certsmith-acme-solver', '-n', 'team'],
    ['patch', 'services/certsmith-acme-solver', '--subresource=status', '-n', 'team'],
    ['get', 'endpointslices.discovery.k8s.io/frontend-x7k2p', '-n', 'team'],
    ['patch', 'endpointslices.discovery.k8s.io/frontend-x7k2p', '-n', 'team'],
    ['create', 'endpointslices.discovery.k8s.io', '-n', 'team'],
    ['delete', 'endpointslices.discovery.k8s.io/certsmith-acme-solver', '-n', 'team'],
    ['update', 'httproutes.gateway.networking.k8s.io/web-http01-0123456789', '-n', 'team'],
    ['update', 'gateways.gateway.networking.k8s.io/gw', '-n', 'team'],
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

  // The admission plugin asks for the signer's own name, then for <domain>/* (so certsmith.dev/install is allowed
  // through the wildcard: the real operator's ClusterTrustBundle below proves it).
  const operatorSa = { namespace: NS, name: 'certsmith' };
  const mayAttest = (signerName: string) => serviceAccountMay(client, operatorSa, 'attest', signerName);
  const mayForSigner = (verb: 'sign', signerName: string) => serviceAccountMay(client, operatorSa, verb, signerName);

  it("attests only certsmith's own signers: certsmith.dev/*, not another domain's, not a signer of another domain by name", async () => {
    const cases: [string, boolean][] = [
      ['certsmith.dev/*', true],
      ['example.com/*', false],
      ['example.com/other', false],
      ['kubernetes.io/*', false],
      ['kubernetes.io/kube-apiserver-client', false],
      ['*', false],
    ];
    const wrong: string[] = [];
    for (const [signer, want] of cases) if ((await mayAttest(signer)) !== want) wrong.push(`${signer}: ${want ? 'denied' : 'allowed'}`);
    assert.deepEqual(wrong, []);
  });

  it("signs PodCertificateRequests only for certsmith's own signers (sign on certsmith.dev/*, nothing else)", async () => {
    const cases: [string, boolean][] = [
      ['certsmith.dev/*', true],
      ['example.com/*', false],
      ['example.com/other', false],
      ['kubernetes.io/*', false],
      ['kubernetes.io/kube-apiserver-client-pod', false],
      ['*', false],
    ];
    const wrong: string[] = [];
    for (const [signer, want] of cases) if ((await mayForSigner('sign', signer)) !== want) wrong.push(`${signer}: ${want ? 'denied' : 'allowed'}`);
    assert.deepEqual(wrong, []);
  });

  it("the real operator, running as the chart's service account, leads, issues, builds a TrustBundle and follows an annotated Ingress", async () => {
    await client.create(Resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team', labels: { trust: 'yes' } } });
    const kubeconfigPath = await serviceAccountKubeconfig();
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

    // A signer of another domain: the API server refuses the ClusterTrustBundle, and the TrustBundle says why (the
    // bundle itself is built, so Ready stays True; Synced is False).
    await client.create(Resources.trustBundles, {
      apiVersion: API_VERSION,
      kind: 'TrustBundle',
      metadata: { name: 'install-foreign' },
      spec: { sources: [{ issuer: { kind: 'ClusterIssuer', name: 'install-ca' } }], target: { clusterTrustBundle: { signerName: 'example.com/other' } } },
    } as KubeObject);
    const foreign = await waitFor('the TrustBundle naming example.com/other to be refused', async () => {
      const b = await client.get<TrustBundle>(Resources.trustBundles, undefined, 'install-foreign');
      const synced = findCondition(b?.status?.conditions, 'Synced');
      if (synced?.status === 'False' && synced.reason === 'WriteFailed' && /not permitted to attest/.test(synced.message ?? '')) return synced;
      throw new Error(`status: ${JSON.stringify(b?.status)}`);
    });
    assert.match(foreign.message ?? '', /example\.com\/other/);
    assert.equal(await client.get(Resources.clusterTrustBundles, undefined, 'example.com:other:install-foreign'), undefined);
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
        target: {
          configMap: { key: 'ca.crt' },
          secret: { key: 'ca.crt' },
          // A signer of certsmith's own domain: allowed through attest on certsmith.dev/*.
          clusterTrustBundle: { signerName: 'certsmith.dev/install' },
          namespaceSelector: { matchLabels: { trust: 'yes' } },
        },
      },
    } as KubeObject);
    await waitFor('the ClusterTrustBundle for certsmith.dev/install', async () => {
      const ctb = await client.get<KubeObject<{ signerName?: string; trustBundle?: string }>>(
        Resources.clusterTrustBundles,
        undefined,
        'certsmith.dev:install:install-roots',
      );
      return ctb?.spec?.signerName === 'certsmith.dev/install' && ctb.spec.trustBundle?.includes('BEGIN CERTIFICATE');
    });
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

  // The HTTP-01 routing code itself, with the service account's token, on every route it makes: what the narrowed
  // Service/EndpointSlice rules (one name) and the Ingress/HTTPRoute rules must allow. No ACME server is needed to put
  // a route in place and take it down; acme-http01.test.ts and gateway-shim.test.ts run the whole order.
  const TOKEN = 'tok-install-0123456789';
  const challengePath = `/.well-known/acme-challenge/${TOKEN}`;
  const routes: { name: string; annotations?: Record<string, string>; solver: { ingress?: { ingressClassName?: string; name?: string } } }[] = [
    { name: 'a temporary Ingress of a class', solver: { ingress: { ingressClassName: 'nginx' } } },
    { name: "a path added to the user's Ingress (edit in place)", solver: { ingress: { name: 'shop' } } },
    { name: "a temporary HTTPRoute on the Gateway's HTTP listener", annotations: { [GATEWAY_HTTP01_ANNOTATION]: 'gw' }, solver: {} },
  ];
  const routingAs = async (kubeconfigPath: string) =>
    createHttp01Routing({ kube: createKubeClient({ kubeconfigPath }), operatorNamespace: NS, solverServiceName: 'certsmith-acme-solver', solverPort: 8089 });
  const challengeFor = async (annotations: Record<string, string> | undefined): Promise<ChallengeContext> => {
    const web = (await client.get<Certificate>(Resources.certificates, 'team', 'web'))!;
    return {
      issuer: { apiVersion: API_VERSION, kind: 'ClusterIssuer', metadata: { name: 'install-acme' } } as Issuer,
      issuerKind: 'ClusterIssuer',
      certificate: { ...web, metadata: { ...web.metadata, annotations: { ...web.metadata.annotations, ...annotations } } },
      challenge: {
        identifier: 'web.team.example',
        type: 'http-01',
        url: 'https://acme.invalid/chall/1',
        authorizationURL: 'https://acme.invalid/authz/1',
        token: TOKEN,
        keyAuthorization: `${TOKEN}.thumbprint`,
        solver: 0,
        state: 'pending',
      },
    };
  };
  /** Where the challenge path is routed in team now, route by route. */
  const challengeRoutes = async () => {
    const ingresses = (await client.list<IngressObject>(Resources.ingresses, { namespace: 'team' })).items;
    const httpRoutes = (await client.list<HttpRouteObject>(Resources.httpRoutes, { namespace: 'team' })).items;
    const inIngresses = ingresses.filter((i) => JSON.stringify(i.spec).includes(challengePath)).map((i) => `Ingress ${i.metadata.name}`);
    const inRoutes = httpRoutes.filter((r) => JSON.stringify(r.spec).includes(challengePath)).map((r) => `HTTPRoute ${r.metadata.name}`);
    return [...inIngresses, ...inRoutes];
  };

  it('HTTP-01 routing as the service account: the solver Service and EndpointSlice by name, then each route put in place and taken down', async () => {
    // The chart's solver Service has the operator pods as endpoints (no pods here, so one stand-in), and a Gateway
    // with an HTTP listener for the name.
    await client.create(Resources.endpointSlices, {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'certsmith-acme-solver-pods', namespace: NS, labels: { 'kubernetes.io/service-name': 'certsmith-acme-solver' } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.0.0.50'], conditions: { ready: true } }],
      ports: [{ name: 'http', port: 8089, protocol: 'TCP' }],
    } as KubeObject);
    await client.create<GatewayObject>(Resources.gateways, {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'gw', namespace: 'team' },
      spec: { gatewayClassName: 'example', listeners: [{ name: 'http', protocol: 'HTTP', port: 80, hostname: 'web.team.example' }] },
    });
    const shopBefore = (await client.get<IngressObject>(Resources.ingresses, 'team', 'shop'))!.spec;
    const routing = await routingAs(await serviceAccountKubeconfig());
    for (const r of routes) {
      const ctx = await challengeFor(r.annotations);
      await routing.ensure(ctx, r.solver);
      const during = await challengeRoutes();
      assert.equal(during.length, 1, `${r.name}: one route while the challenge is up (${during.join(', ')})`);
      if (r.solver.ingress?.name) assert.deepEqual(during, ['Ingress shop'], r.name);
      await routing.remove(ctx, r.solver);
      assert.deepEqual(await challengeRoutes(), [], `${r.name}: gone after`);
    }
    assert.deepEqual((await client.get<IngressObject>(Resources.ingresses, 'team', 'shop'))!.spec, shopBefore, "the user's Ingress is as it was");
    const svc = await client.get<ServiceObject>(Resources.services, 'team', 'certsmith-acme-solver');
    assert.equal(svc?.spec?.selector, undefined, 'the mirrored Service selects nothing');
    const slice = await client.get<EndpointSliceObject>(Resources.endpointSlices, 'team', 'certsmith-acme-solver');
    assert.deepEqual(
      slice?.endpoints?.map((e) => e.addresses),
      [['10.0.0.50']],
    );
  });

  // What RBAC cannot say (labels, content): the chart's ValidatingAdmissionPolicy, installed because this API server
  // serves admissionregistration.k8s.io/v1 ValidatingAdmissionPolicy. Each write is the service account's; a denial
  // must be the policy's, not RBAC's or the object's validation.
  it("the admission policy holds the service account's writes to the shapes HTTP-01 routing makes", async () => {
    const sa = createKubeClient({ kubeconfigPath: await serviceAccountKubeconfig() });
    const owned = { 'app.kubernetes.io/managed-by': 'certsmith' };
    const solverPort = { name: 'http', port: 8089, protocol: 'TCP' };
    // Objects of the users': a Service that happens to have the solver's name, and an HTTPRoute.
    await client.create<ServiceObject>(Resources.services, {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'certsmith-acme-solver', namespace: 'default' },
      spec: { ports: [solverPort] },
    });
    await client.create<HttpRouteObject>(Resources.httpRoutes, {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'shop', namespace: 'team' },
      spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'shop', port: 80 }] }] },
    } as HttpRouteObject);
    const service = (namespace: string, spec: ServiceObject['spec'], labels: Record<string, string> = owned): ServiceObject => ({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'certsmith-acme-solver', namespace, labels },
      spec,
    });
    const slice = (labels: Record<string, string>): EndpointSliceObject => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'certsmith-acme-solver', namespace: 'team', labels: { ...owned, ...labels } },
      addressType: 'IPv4',
      endpoints: [{ addresses: ['10.9.9.9'], conditions: { ready: true } }],
      ports: [solverPort],
    });
    const solverPath = {
      path: '/.well-known/acme-challenge/tok-policy',
      pathType: 'Exact',
      backend: { service: { name: 'certsmith-acme-solver', port: { number: 8089 } } },
    };
    const toShop = { path: '/', pathType: 'Prefix', backend: { service: { name: 'shop', port: { number: 80 } } } };
    const ingress = (name: string, labels: Record<string, string>, spec: IngressObject['spec']): IngressObject => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name, namespace: 'team', labels },
      spec,
    });
    const route = (name: string, labels: Record<string, string>, spec: HttpRouteObject['spec']) =>
      ({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name, namespace: 'team', labels }, spec }) as HttpRouteObject;
    const solverRule = {
      matches: [{ path: { type: 'Exact', value: '/.well-known/acme-challenge/tok-policy' } }],
      backendRefs: [{ group: '', kind: 'Service', name: 'certsmith-acme-solver', port: 8089, weight: 1 }],
    };
    /** The user's Ingress shop, changed by the service account with a PUT (as edit in place writes it). */
    const editShop = async (change: (i: IngressObject) => void) => {
      const shop = structuredClone((await sa.get<IngressObject>(Resources.ingresses, 'team', 'shop'))!);
      change(shop);
      await sa.replace(Resources.ingresses, shop);
    };
    const apply = <T extends KubeObject>(r: Resource, obj: T) => sa.apply(r, obj, { force: true });
    const cases: { name: string; allowed: boolean; write: () => Promise<unknown> }[] = [
      {
        name: 'the solver Service as the operator makes it',
        allowed: true,
        write: () => apply(Resources.services, service('team', { type: 'ClusterIP', ports: [solverPort] })),
      },
      {
        name: 'a solver Service of type LoadBalancer',
        allowed: false,
        write: () => apply(Resources.services, service('team', { type: 'LoadBalancer', ports: [solverPort] })),
      },
      {
        name: 'a solver Service with externalIPs',
        allowed: false,
        write: () =>
          apply(Resources.services, service('team', { type: 'ClusterIP', ports: [solverPort], externalIPs: ['192.0.2.1'] } as ServiceObject['spec'])),
      },
      {
        name: 'a solver Service selecting pods',
        allowed: false,
        write: () => apply(Resources.services, service('team', { type: 'ClusterIP', ports: [solverPort], selector: { app: 'shop' } })),
      },
      {
        name: "a user's Service that has the solver's name",
        allowed: false,
        write: () => apply(Resources.services, service('default', { type: 'ClusterIP', ports: [solverPort] })),
      },
      {
        name: 'an EndpointSlice labelled for another Service',
        allowed: false,
        write: () =>
          apply(Resources.endpointSlices, slice({ 'kubernetes.io/service-name': 'shop', 'endpointslice.kubernetes.io/managed-by': 'certsmith.dev' })),
      },
      {
        name: 'an EndpointSlice without its managed-by label',
        allowed: false,
        write: () => apply(Resources.endpointSlices, slice({ 'kubernetes.io/service-name': 'certsmith-acme-solver' })),
      },
      {
        name: 'a labelled Ingress routing a challenge path to the solver',
        allowed: true,
        write: () => apply(Resources.ingresses, ingress('policy-ok', owned, { rules: [{ host: 'bank.example', http: { paths: [solverPath] } }] })),
      },
      { name: 'deleting that Ingress', allowed: true, write: () => sa.delete(Resources.ingresses, 'team', 'policy-ok') },
      {
        name: 'an Ingress without the label',
        allowed: false,
        write: () => apply(Resources.ingresses, ingress('policy-bad', {}, { rules: [{ host: 'bank.example', http: { paths: [solverPath] } }] })),
      },
      {
        name: 'a labelled Ingress routing / to another Service',
        allowed: false,
        write: () => apply(Resources.ingresses, ingress('policy-bad', owned, { rules: [{ host: 'bank.example', http: { paths: [toShop] } }] })),
      },
      {
        name: 'a labelled Ingress with TLS',
        allowed: false,
        write: () => apply(Resources.ingresses, ingress('policy-bad', owned, { tls: [{ secretName: 'x' }], rules: [{ http: { paths: [solverPath] } }] })),
      },
      {
        name: "a challenge path added to the user's Ingress",
        allowed: true,
        write: () => editShop((i) => i.spec!.rules!.push({ host: 'new.team.example', http: { paths: [solverPath] } })),
      },
      { name: 'and removed again', allowed: true, write: () => editShop((i) => (i.spec!.rules = i.spec!.rules!.filter((r) => r.host !== 'new.team.example'))) },
      {
        name: "the user's Ingress sent to another backend",
        allowed: false,
        write: () => editShop((i) => (i.spec!.rules![0]!.http!.paths[0]!.backend.service!.name = 'elsewhere')),
      },
      { name: "a path of the user's removed", allowed: false, write: () => editShop((i) => (i.spec!.rules![0]!.http!.paths = [solverPath])) },
      {
        name: "a host added to the user's Ingress",
        allowed: false,
        write: () => editShop((i) => i.spec!.rules!.push({ host: 'bank.example', http: { paths: [toShop] } })),
      },
      { name: "the user's TLS dropped", allowed: false, write: () => editShop((i) => delete i.spec!.tls) },
      {
        name: "an annotation added to the user's Ingress",
        allowed: false,
        write: () => editShop((i) => (i.metadata.annotations = { ...i.metadata.annotations, 'nginx.ingress.kubernetes.io/server-snippet': 'x' })),
      },
      { name: "the user's Ingress labelled as the operator's", allowed: false, write: () => editShop((i) => (i.metadata.labels = owned)) },
      { name: "the user's Ingress deleted", allowed: false, write: () => sa.delete(Resources.ingresses, 'team', 'shop') },
      {
        name: 'a labelled HTTPRoute sending a challenge path to the solver',
        allowed: true,
        write: () => apply(Resources.httpRoutes, route('policy-ok', owned, { parentRefs: [{ name: 'gw' }], rules: [solverRule] })),
      },
      {
        name: 'an HTTPRoute without the label',
        allowed: false,
        write: () => apply(Resources.httpRoutes, route('policy-bad', {}, { parentRefs: [{ name: 'gw' }], rules: [solverRule] })),
      },
      {
        name: 'a labelled HTTPRoute sending everything to another Service',
        allowed: false,
        write: () =>
          apply(Resources.httpRoutes, route('policy-bad', owned, { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'shop', port: 80 }] }] })),
      },
      {
        name: "a labelled HTTPRoute on another namespace's Gateway",
        allowed: false,
        write: () => apply(Resources.httpRoutes, route('policy-bad', owned, { parentRefs: [{ name: 'gw', namespace: 'infra' }], rules: [solverRule] })),
      },
      { name: "the user's HTTPRoute deleted", allowed: false, write: () => sa.delete(Resources.httpRoutes, 'team', 'shop') },
    ];
    const wrong: string[] = [];
    for (const c of cases) {
      const outcome = await c.write().then(
        () => 'allowed',
        (err: Error) => (/ValidatingAdmissionPolicy '[^']*http01-routing'/.test(err.message) ? 'denied' : `failed otherwise: ${err.message}`),
      );
      if (outcome !== (c.allowed ? 'allowed' : 'denied')) wrong.push(`${c.name}: ${outcome}`);
    }
    assert.deepEqual(wrong, []);
  });

  it('with rbac.acmeHttp01Routing=false the service account writes no Service, EndpointSlice, Ingress or HTTPRoute, and a route fails saying why', async () => {
    await helm(
      'upgrade',
      'certsmith',
      chartDir,
      '--namespace',
      NS,
      '--kubeconfig',
      cp.kubeconfigPath,
      '--reuse-values',
      '--set',
      'rbac.acmeHttp01Routing=false',
    );
    // The shim still watches Ingresses and Gateways.
    const stillAllowed: [string, string, ...string[]][] = [
      ['watch', 'ingresses.networking.k8s.io', '--all-namespaces'],
      ['watch', 'gateways.gateway.networking.k8s.io', '--all-namespaces'],
      ['update', 'ingresses.networking.k8s.io', '--subresource=finalizers', '-n', 'team'],
    ];
    // The RBAC authorizer reads roles from a cache: wait for the change.
    await waitFor('the routing rules to be gone', async () => !(await canI(['patch', 'services/certsmith-acme-solver', '-n', 'team'])));
    const wrong: string[] = [];
    for (const [verb, resource, ...rest] of routingAllowed)
      if (await canI([verb, resource, ...rest])) wrong.push(`allowed: ${verb} ${resource} ${rest.join(' ')}`);
    for (const [verb, resource, ...rest] of stillAllowed)
      if (!(await canI([verb, resource, ...rest]))) wrong.push(`denied: ${verb} ${resource} ${rest.join(' ')}`);
    assert.deepEqual(wrong, []);

    const routing = await routingAs(await serviceAccountKubeconfig());
    await assert.rejects(routing.ensure(await challengeFor(undefined), routes[0]!.solver), (err: unknown) => {
      assert.ok(isCertsmithError(err, 'Http01RoutingForbidden'), String(err));
      assert.match(
        (err as Error).message,
        /may not write the HTTP-01 route .* in team: install the chart with rbac\.acmeHttp01Routing=true, or validate these names with DNS-01/,
      );
      return true;
    });
    assert.deepEqual(await challengeRoutes(), []);
  });

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
      [1, 2, 3],
    );
    assert.ok(await crdsPresent());
  });

  it("helm uninstall removes the operator but keeps the CRDs and every user's Certificate", async () => {
    await helm('uninstall', 'certsmith', '--namespace', NS, '--kubeconfig', cp.kubeconfigPath);
    await assert.rejects(cp.kubectl('get', 'deployment', 'certsmith', '-n', NS), /NotFound/);
    await assert.rejects(cp.kubectl('get', 'clusterrole', 'certsmith'), /NotFound/);
    await assert.rejects(cp.kubectl('get', 'validatingadmissionpolicy', 'certsmith-http01-routing'), /NotFound/);
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
