// Two operator replicas on one Lease: one leads and writes, the other waits; killing the leader hands over.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import type { KubeObject } from '../../src/api/meta.ts';
import { Resources } from '../../src/kube/resources.ts';
import { startControlPlane, type ControlPlane } from '../env/controlplane.ts';
import { certificate, clusterIssuer, createNamespace, waitForReady } from './helpers/objects.ts';
import { startOperator, type OperatorProcess } from './helpers/operator.ts';
import { waitFor } from './helpers/wait.ts';

const crdsDir = join(import.meta.dirname, '..', '..', 'crds');
let cp: ControlPlane;
let client: KubeClient;
const operators = new Map<string, OperatorProcess>();

type Lease = KubeObject & { spec?: { holderIdentity?: string; leaseTransitions?: number } };
const leaseHolder = async () => (await client.get<Lease>(Resources.leases, 'certsmith', 'certsmith-operator'))?.spec?.holderIdentity;

before(async () => {
  cp = await startControlPlane({ crdsDir });
  client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath });
  await createNamespace(client, 'certsmith');
  await createNamespace(client, 'ha');
  const logDir = await mkdtemp(join(tmpdir(), 'certsmith-ha-'));
  for (const name of ['replica-a', 'replica-b']) operators.set(name, startOperator({ kubeconfigPath: cp.kubeconfigPath, logDir, name }));
  await client.create(Resources.clusterIssuers, clusterIssuer('selfsigned', { selfSigned: {} }));
});

after(async () => {
  await Promise.all([...operators.values()].map((o) => o.stop()));
  await cp?.stop();
});

it('one replica leads, and the other takes over within the lease duration when the leader is killed', async () => {
  const first = await waitFor('a leader', async () => ((await leaseHolder()) ? await leaseHolder() : undefined));
  assert.ok(operators.has(first!), `the holder ${first} is one of the replicas`);
  await client.create(
    Resources.certificates,
    certificate('ha', 'before', { secretName: 'before-tls', issuerRef: { kind: 'ClusterIssuer', name: 'selfsigned' }, dnsNames: ['before.example.test'] }),
  );
  await waitForReady(client, Resources.certificates, 'ha', 'before');

  const killedAt = Date.now();
  await operators.get(first!)!.kill();
  const second = await waitFor(
    'another leader',
    async () => {
      const h = await leaseHolder();
      return h && h !== first ? h : undefined;
    },
    { timeoutMs: 30_000 },
  );
  const takeoverMs = Date.now() - killedAt;
  assert.ok(takeoverMs < 25_000, `takeover took ${takeoverMs} ms`);
  assert.ok(operators.has(second!));

  await client.create(
    Resources.certificates,
    certificate('ha', 'after', { secretName: 'after-tls', issuerRef: { kind: 'ClusterIssuer', name: 'selfsigned' }, dnsNames: ['after.example.test'] }),
  );
  await waitForReady(client, Resources.certificates, 'ha', 'after');
  const kept = await client.get<KubeObject & { status?: { revision?: number } }>(Resources.certificates, 'ha', 'before');
  assert.equal(kept?.status?.revision, 1, 'the new leader does not re-issue what the old one issued');
});
