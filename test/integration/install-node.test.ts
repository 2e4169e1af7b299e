// The operator as pods on a real node: `helm install` of charts/certsmith with the image built from the Dockerfile
// (tagged as the chart's default image), two replicas passing their probes with one Lease holder, Certificates issued
// through them, the leader's container killed and the standby taking over, `helm upgrade` and `helm uninstall`
// keeping the CRDs and the issued Secrets; then the same operator from `kubectl apply -k deploy/base`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chartDir } from '../../deploy/render.ts';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { API_VERSION } from '../../src/api/meta.ts';
import type { TrustBundle } from '../../src/api/trust-bundle.ts';
import { Resources } from '../../src/kube/resources.ts';
import { startCluster, type Cluster } from '../env/cluster.ts';
import { PAUSE_IMAGE_REF } from '../env/image.ts';
import { podVolumeDir } from '../env/node.ts';
import { createHelm, type Helm } from './helpers/helm.ts';
import { createCaClusterIssuer } from './helpers/issuers.ts';
import { certificate, createNamespace, decode, waitForReady, type Secret } from './helpers/objects.ts';
import { waitFor } from './helpers/wait.ts';

const root = join(import.meta.dirname, '..', '..');
const NS = 'certsmith';
const LEASE = 'certsmith-operator';
const CRD_NAMES = [
  'certificates.certsmith.dev',
  'clusterissuers.certsmith.dev',
  'issuancepolicies.certsmith.dev',
  'issuers.certsmith.dev',
  'sessionticketkeys.certsmith.dev',
  'trustbundles.certsmith.dev',
];

interface Pod {
  metadata: { name: string; uid: string };
  status: { phase: string; containerStatuses?: { ready: boolean; restartCount: number; containerID?: string }[] };
}

describe('the operator as pods on a real node', () => {
  let cluster: Cluster;
  let client: KubeClient;
  let helm: Helm;
  const timings: Record<string, number> = {};

  const kubectl = (...args: string[]) => cluster.cp.kubectl(...args);
  const pods = async (): Promise<Pod[]> => JSON.parse(await kubectl('get', 'pods', '-n', NS, '-l', 'app.kubernetes.io/name=certsmith', '-o', 'json')).items;
  const holder = async (): Promise<string> => (await kubectl('get', 'lease', LEASE, '-n', NS, '-o', 'jsonpath={.spec.holderIdentity}')).trim();
  const crdsPresent = async () => (await Promise.all(CRD_NAMES.map((n) => client.get(Resources.customResourceDefinitions, undefined, n)))).every(Boolean);
  const waitAvailable = async (replicas: number) => {
    await kubectl('rollout', 'status', 'deployment/certsmith', '-n', NS, '--timeout=180s');
    await waitFor(
      `${replicas} operator pods Ready`,
      async () => {
        const ready = (await pods()).filter((p) => p.status.phase === 'Running' && p.status.containerStatuses?.every((c) => c.ready));
        return ready.length === replicas && (await pods()).length === replicas;
      },
      { timeoutMs: 120_000 },
    );
  };
  const issue = async (namespace: string, name: string) => {
    await client.create(
      Resources.certificates,
      certificate(namespace, name, {
        secretName: `${name}-tls`,
        dnsNames: [`${name}.${namespace}.svc`],
        issuerRef: { kind: 'ClusterIssuer', name: 'node-ca' },
      }),
    );
    await waitForReady(client, Resources.certificates, namespace, name, undefined, 90_000);
    const secret = await client.get<Secret>(Resources.secrets, namespace, `${name}-tls`);
    assert.match(decode(secret, 'tls.crt'), /BEGIN CERTIFICATE/);
    return secret!;
  };

  before(async () => {
    const started = Date.now();
    cluster = await startCluster({ withOperatorImage: true });
    timings['cluster start, image included'] = Date.now() - started;
    client = createKubeClient({ kubeconfigPath: cluster.cp.kubeconfigPath });
    helm = await createHelm(cluster.cp.binDir);
  });
  after(async () => {
    if (process.env.CERTSMITH_TEST_VERBOSE) console.error('[install-node] timings (ms):', timings);
    await helm?.cleanup();
    await cluster?.stop();
  });

  it("helm install with the chart's defaults runs two replicas from the local image, passing their probes, one holding the Lease", async () => {
    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    assert.equal(cluster.operatorImage, `ghcr.io/certsmith/certsmith:${version}`, "the image is tagged as the chart's default");
    const started = Date.now();
    await helm(
      'install',
      'certsmith',
      chartDir,
      '--namespace',
      NS,
      '--create-namespace',
      '--kubeconfig',
      cluster.cp.kubeconfigPath,
      '--wait',
      '--timeout=180s',
    );
    await waitAvailable(2);
    timings['helm install to Available'] = Date.now() - started;
    const deploy = JSON.parse(await kubectl('get', 'deployment', 'certsmith', '-n', NS, '-o', 'json'));
    assert.equal(deploy.status.availableReplicas, 2);
    assert.equal(deploy.spec.template.spec.containers[0].image, cluster.operatorImage);
    const names = (await pods()).map((p) => p.metadata.name);
    const leader = await waitFor('a Lease holder', async () => (await holder()) || undefined, { timeoutMs: 60_000 });
    assert.ok(names.includes(leader), `the Lease is held by one of the pods (${leader} in ${names.join(', ')})`);
    for (const p of await pods()) assert.equal(p.status.containerStatuses?.[0]?.restartCount, 0, `${p.metadata.name} never restarted`);
  });

  it('runs as non-root on a read-only root filesystem with jemalloc preloaded', async () => {
    const leader = await holder();
    const probe = [
      'const fs = require("node:fs");',
      'let writable = true; try { fs.writeFileSync("/app/probe", "x"); } catch { writable = false; }',
      'const maps = fs.readFileSync("/proc/1/maps", "utf8");',
      'console.log(JSON.stringify({ uid: process.getuid(), gid: process.getgid(), writable, jemalloc: maps.includes("libjemalloc.so.2"), argv: fs.readFileSync("/proc/1/cmdline", "utf8").split("\\0").filter(Boolean) }));',
    ].join(' ');
    const out = JSON.parse(await kubectl('exec', '-n', NS, leader, '-c', 'operator', '--', '/nodejs/bin/node', '-e', probe));
    assert.equal(out.uid, 65532);
    assert.equal(out.gid, 65532);
    assert.equal(out.writable, false, 'the root filesystem is read-only');
    assert.equal(out.jemalloc, true, 'PID 1 (the operator) has libjemalloc.so.2 mapped');
    assert.deepEqual(out.argv.slice(0, 4), ['/nodejs/bin/node', '--max-semi-space-size=4', '--heap-growing-percent=25', '--expose-gc']);
    assert.equal(out.argv[4], 'dist/main.js');
  });

  it('the image answers --help from its entry point and exits 0, under the same restricted security context', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'image-help', namespace: NS },
      spec: {
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
        containers: [
          {
            name: 'help',
            image: cluster.operatorImage,
            imagePullPolicy: 'IfNotPresent',
            args: ['--help'],
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          },
        ],
      },
    };
    const file = join(cluster.cp.dir, 'image-help.json');
    writeFileSync(file, JSON.stringify(pod));
    await kubectl('apply', '-f', file);
    await waitFor(
      'the --help pod to finish',
      async () => (await kubectl('get', 'pod', 'image-help', '-n', NS, '-o', 'jsonpath={.status.phase}')) === 'Succeeded',
      { timeoutMs: 60_000 },
    );
    const out = await kubectl('logs', 'image-help', '-n', NS);
    assert.match(out, /--leader-elect/);
    assert.match(out, /--cluster-resource-namespace/);
    await kubectl('delete', 'pod', 'image-help', '-n', NS, '--wait=false');
  });

  it('issues Certificates through the pods: a SelfSigned root, a CA issuer on it, and leaves', async () => {
    await createCaClusterIssuer(client, NS, 'node-ca');
    await createNamespace(client, 'team');
    await issue('team', 'web');
  });

  it("a TrustBundle's PKCS#12 and JKS truststores (binaryData) reach a pod's mounted files, and keytool reads them there", async () => {
    await createNamespace(client, 'java');
    await kubectl('label', 'namespace', 'java', 'java=yes');
    await kubectl('create', 'secret', 'generic', 'jks-password', '-n', NS, '--from-literal=password=changeit');
    await client.create(Resources.trustBundles, {
      apiVersion: API_VERSION,
      kind: 'TrustBundle',
      metadata: { name: 'java-roots' },
      spec: {
        sources: [{ issuer: { kind: 'ClusterIssuer', name: 'node-ca' } }],
        target: {
          configMap: { key: 'ca.crt' },
          additionalFormats: {
            pkcs12: { key: 'truststore.p12' },
            jks: { key: 'truststore.jks', passwordSecretRef: { namespace: NS, name: 'jks-password', key: 'password' } },
          },
          namespaceSelector: { matchLabels: { java: 'yes' } },
        },
      },
    } as TrustBundle);
    await waitFor('the java-roots ConfigMap with both truststores', async () => {
      const cm = JSON.parse(await kubectl('get', 'configmap', 'java-roots', '-n', 'java', '-o', 'json').catch(() => '{}'));
      return cm.binaryData?.['truststore.p12'] && cm.binaryData?.['truststore.jks'];
    });
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'jvm', namespace: 'java' },
      spec: {
        automountServiceAccountToken: false,
        containers: [
          { name: 'jvm', image: PAUSE_IMAGE_REF, imagePullPolicy: 'Never', volumeMounts: [{ name: 'trust', mountPath: '/etc/trust', readOnly: true }] },
        ],
        volumes: [{ name: 'trust', configMap: { name: 'java-roots' } }],
      },
    };
    const file = join(cluster.cp.dir, 'jvm.json');
    writeFileSync(file, JSON.stringify(pod));
    await kubectl('apply', '-f', file);
    await waitFor('the pod Running', async () => (await kubectl('get', 'pod', 'jvm', '-n', 'java', '-o', 'jsonpath={.status.phase}')) === 'Running', {
      timeoutMs: 60_000,
    });
    const uid = await kubectl('get', 'pod', 'jvm', '-n', 'java', '-o', 'jsonpath={.metadata.uid}');
    // What the container sees: kubelet's files, read from the host side of the bind mount.
    const mounted = podVolumeDir(uid, 'configmap', 'trust');
    const caPem = readFileSync(join(mounted, 'ca.crt'), 'utf8');
    const expected = (await client.get<Secret>(Resources.secrets, NS, 'node-ca-root'))!;
    assert.equal(caPem.trim(), decode(expected, 'tls.crt').trim(), 'the PEM bundle holds the CA');
    for (const s of [
      { file: 'truststore.p12', type: 'PKCS12', password: '' },
      { file: 'truststore.jks', type: 'JKS', password: 'changeit' },
    ]) {
      const keytool = spawnSync('keytool', ['-list', '-rfc', '-keystore', join(mounted, s.file), '-storetype', s.type, '-storepass', s.password], {
        encoding: 'utf8',
      });
      assert.equal(
        keytool.error,
        undefined,
        `keytool must be on PATH (openjdk-17-jre-headless, installed by test/env/system-packages.sh): ${keytool.error?.message}`,
      );
      assert.equal(keytool.status, 0, `keytool reads the mounted ${s.file}: ${keytool.stdout}${keytool.stderr}`);
      assert.match(keytool.stdout, /Your keystore contains 1 entry/, `${s.file} holds the one CA`);
      assert.ok(keytool.stdout.replaceAll('\r', '').includes(caPem.trim().split('\n')[1]!), `${s.file} holds the bundle's certificate`);
    }
  });

  it('the standby takes the Lease when the leader pod is killed, and keeps issuing', async () => {
    const leader = await holder();
    const pod = (await pods()).find((p) => p.metadata.name === leader)!;
    const containerId = pod.status.containerStatuses![0]!.containerID!.replace(/^containerd:\/\//, '');
    // A crash: the operator dies without releasing its Lease, and its pod goes, so no process comes back under the
    // same identity (a container restarted in place would take its own Lease back at once).
    const killed = Date.now();
    await cluster.node.ctr('tasks', 'kill', '--signal', 'SIGKILL', containerId);
    await kubectl('delete', 'pod', leader, '-n', NS, '--grace-period=0', '--force', '--wait=false');
    const next = await waitFor(
      'another pod to hold the Lease',
      async () => {
        const h = await holder();
        return h && h !== leader ? h : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    timings['leader pod killed to new holder'] = Date.now() - killed;
    assert.ok(
      (await pods()).some((p) => p.metadata.name === next),
      `the new holder ${next} is one of the operator pods`,
    );
    await issue('team', 'after-takeover');
    // The Deployment replaces the killed pod; the replacement waits as the standby.
    await waitAvailable(2);
    assert.equal(await holder(), next, 'the standby that took over keeps the Lease');
  });

  it('helm upgrade rolls the pods and the new ones issue; helm uninstall keeps the CRDs, the Certificates and their Secrets', async () => {
    const before = (await pods()).map((p) => p.metadata.uid).sort();
    await helm(
      'upgrade',
      'certsmith',
      chartDir,
      '--namespace',
      NS,
      '--kubeconfig',
      cluster.cp.kubeconfigPath,
      '--set',
      'logLevel=debug',
      '--wait',
      '--timeout=180s',
    );
    await waitAvailable(2);
    const after = (await pods()).map((p) => p.metadata.uid).sort();
    assert.equal(after.filter((u) => before.includes(u)).length, 0, 'every pod was replaced');
    await issue('team', 'after-upgrade');

    const secretBefore = await client.get<Secret>(Resources.secrets, 'team', 'web-tls');
    await helm('uninstall', 'certsmith', '--namespace', NS, '--kubeconfig', cluster.cp.kubeconfigPath, '--wait', '--timeout=120s');
    await waitFor('the operator pods gone', async () => (await pods()).length === 0, { timeoutMs: 120_000 });
    assert.ok(await crdsPresent(), 'the CRDs are kept');
    for (const name of ['web', 'after-takeover', 'after-upgrade']) {
      assert.ok(await client.get(Resources.certificates, 'team', name), `Certificate ${name} is kept`);
      assert.ok(await client.get(Resources.secrets, 'team', `${name}-tls`), `Secret ${name}-tls is kept`);
    }
    const secretAfter = await client.get<Secret>(Resources.secrets, 'team', 'web-tls');
    assert.deepEqual(secretAfter?.data, secretBefore?.data, 'the issued Secret is untouched');
  });

  it('kubectl apply -k deploy/base runs the same operator, which picks up the Certificates where helm left them', async () => {
    const started = Date.now();
    await kubectl('apply', '--server-side', '--force-conflicts', '-k', join(root, 'deploy', 'base'));
    await waitAvailable(2);
    timings['kubectl apply -k to Available'] = Date.now() - started;
    await waitFor(
      'a Lease holder among the new pods',
      async () => {
        const h = await holder();
        return (await pods()).some((p) => p.metadata.name === h);
      },
      { timeoutMs: 60_000 },
    );
    await issue('team', 'from-kustomize');
    await waitForReady(client, Resources.certificates, 'team', 'web');
  });
});
