// A CA the user manages (ca.secretName) replaced in its Secret, on the real control plane through the real
// operator: the replacement is noticed at once (the Secret is watched), the old CA stays in the bundle while any leaf
// it signed is left, every leaf is re-issued once by the new CA, then the old CA leaves. A poller records what a
// client sees all along. Bad input: a replacement that is not a CA is reported and signs nothing.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findCondition } from '../../src/api/conditions.ts';
import type { Issuer } from '../../src/api/issuer.ts';
import { REVISION_ANNOTATION } from '../../src/api/labels.ts';
import { API_VERSION } from '../../src/api/meta.ts';
import type { TrustBundle } from '../../src/api/trust-bundle.ts';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { Resources } from '../../src/kube/resources.ts';
import { encodePem } from '../../src/pki/index.ts';
import { createGeneration } from '../../src/signers/managed-ca.ts';
import { startControlPlane, type ControlPlane } from '../env/controlplane.ts';
import { certificate, clusterIssuer, createNamespace, replaceSecretData, type Secret, setNamespaceLabels, waitForReady } from './helpers/objects.ts';
import { startOperator, type OperatorProcess } from './helpers/operator.ts';
import { reconcileCount, reconciledAgain, touch, type ControllerName } from './helpers/reconciles.ts';
import {
  assertLeavesAlwaysTrusted,
  assertReissuedOnceBy,
  createTrustedLeaves,
  fingerprintsOf,
  startRotationRecorder,
  type ConfigMap,
  type RotationSetup,
} from './helpers/rotation.ts';
import { waitFor } from './helpers/wait.ts';

const crdsDir = join(import.meta.dirname, '..', '..', 'crds');
const APPS = 'apps';
const LEAVES = ['app-a', 'app-b'];
let cp: ControlPlane;
let client: KubeClient;
let operator: OperatorProcess;

const b64 = (s: string) => Buffer.from(s).toString('base64');
const getIssuer = (name: string) => client.get<Issuer>(Resources.clusterIssuers, undefined, name);
const rotation = (): RotationSetup => ({ client, issuer: 'user', namespace: APPS, leaves: LEAVES, bundle: 'user-trust' });

/** A kubernetes.io/tls Secret holding the CA, as a user would make it for ca.secretName. */
async function createCaSecret(name: string, ca: { crt: string; key: string }) {
  await client.create(Resources.secrets, {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: 'certsmith' },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': b64(ca.crt), 'tls.key': b64(ca.key) },
  } as Secret);
}

async function newCa(commonName: string) {
  const g = await createGeneration({ commonName, durationMs: 3600_000, key: { algorithm: 'ECDSA', size: 256 } }, new Date());
  return { fingerprint: g.fingerprint, crt: encodePem('CERTIFICATE', g.der), key: g.keyPem!, der: g.der };
}

before(async () => {
  const logDir = await mkdtemp(join(tmpdir(), 'certsmith-user-ca-'));
  cp = await startControlPlane({ crdsDir });
  client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath });
  for (const ns of ['certsmith', APPS]) await createNamespace(client, ns);
  await setNamespaceLabels(client, APPS, { trust: 'yes' });
  operator = startOperator({ kubeconfigPath: cp.kubeconfigPath, logDir, args: ['--leader-elect=false'] });
});

after(async () => {
  await operator?.stop();
  await cp?.stop();
});

describe('user CA replaced in its Secret', () => {
  it('keeps the old CA in the bundle until every leaf is re-issued once by the new CA, then drops it', async () => {
    const ca1 = await newCa('user CA 1');
    const ca2 = await newCa('user CA 2');
    await createCaSecret('user-ca', ca1);
    await client.create(Resources.clusterIssuers, clusterIssuer('user', { ca: { secretName: 'user-ca', reissueWindow: '4s', retireGracePeriod: '2s' } }));
    const ready = (await waitForReady(client, Resources.clusterIssuers, undefined, 'user')) as Issuer;
    assert.equal(ready.status?.caFingerprint, ca1.fingerprint);
    await createTrustedLeaves(rotation(), ca1.fingerprint);

    const recorder = startRotationRecorder(rotation(), 150);
    let replacedAt = 0;
    try {
      await waitFor('a first snapshot', () => recorder.snapshots.length > 0);
      replacedAt = Date.now();
      await replaceSecretData(client, 'certsmith', 'user-ca', { 'tls.crt': b64(ca2.crt), 'tls.key': b64(ca2.key) });
      // Noticed through the watch, not at the 5-minute re-check.
      const switched = await waitFor(
        'the issuer to sign with the new CA',
        async () => {
          const i = await getIssuer('user');
          return i?.status?.caFingerprint === ca2.fingerprint ? i : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      assert.equal(switched.status?.ca?.phase, 'Reissuing');
      const retiring = switched.status?.ca?.generations?.find((g) => g.role === 'retiring');
      assert.equal(retiring?.fingerprint, ca1.fingerprint);
      assert.equal(retiring?.certificate?.trim(), ca1.crt.trim(), 'the old CA certificate is remembered in status');
      assert.doesNotMatch(JSON.stringify(switched.status), /PRIVATE KEY/, 'never a key in status');
      await waitFor('every leaf signed by the new CA', () => recorder.snapshots.at(-1)?.leaves.every((l) => l.ca === ca2.fingerprint), { timeoutMs: 30_000 });
      await waitFor('the bundle to hold only the new CA', () => recorder.snapshots.at(-1)?.bundle.join() === ca2.fingerprint, { timeoutMs: 30_000 });
      await waitFor('phase Stable', () => recorder.snapshots.at(-1)?.phase === 'Stable', { timeoutMs: 10_000 });
    } finally {
      await recorder.stop();
    }
    const snaps = recorder.snapshots;
    const both = [ca1.fingerprint, ca2.fingerprint].sort().join();
    assert.ok(
      snaps.some((s) => s.bundle.join() === both),
      'a moment with both CAs in the bundle',
    );
    assertLeavesAlwaysTrusted(snaps);
    // The old CA left only after every leaf had moved.
    const retired = snaps.find((s) => s.at > replacedAt && s.bundle.join() === ca2.fingerprint)!.at;
    const lastOldLeaf = snaps.filter((s) => s.leaves.some((l) => l.ca === ca1.fingerprint)).at(-1)!.at;
    assert.ok(retired > lastOldLeaf, 'the old CA left the bundle after the last leaf it signed');
    // Each leaf re-issued exactly once, by the new CA.
    await assertReissuedOnceBy(snaps, LEAVES, ca2.der);
    const final = await getIssuer('user');
    assert.deepEqual(
      final?.status?.ca?.generations?.map((g) => [g.fingerprint, g.role]),
      [[ca2.fingerprint, 'signing']],
    );
  });
});

describe('user CA bad replacement', () => {
  it('a replacement that is not a CA is reported, signs nothing, and the old CA stays in the bundle', async () => {
    const ca = await newCa('user CA bad');
    await createCaSecret('bad-ca', ca);
    await client.create(Resources.clusterIssuers, clusterIssuer('bad', { ca: { secretName: 'bad-ca' } }));
    await waitForReady(client, Resources.clusterIssuers, undefined, 'bad');
    await client.create(Resources.trustBundles, {
      apiVersion: API_VERSION,
      kind: 'TrustBundle',
      metadata: { name: 'bad-trust' },
      spec: {
        sources: [{ issuer: { kind: 'ClusterIssuer', name: 'bad' } }],
        target: { configMap: { key: 'ca.crt' }, namespaceSelector: { matchLabels: { trust: 'yes' } } },
      },
    } as TrustBundle);
    await client.create(
      Resources.certificates,
      certificate(APPS, 'app-c', { secretName: 'app-c-tls', dnsNames: ['app-c.apps.svc'], duration: '1h', issuerRef: { kind: 'ClusterIssuer', name: 'bad' } }),
    );
    await waitForReady(client, Resources.certificates, APPS, 'app-c');
    const leaf = (await client.get<Secret>(Resources.secrets, APPS, 'app-c-tls'))!;

    // The user puts a leaf certificate and its key where the CA was.
    await replaceSecretData(client, 'certsmith', 'bad-ca', { 'tls.crt': leaf.data!['tls.crt']!, 'tls.key': leaf.data!['tls.key']! });
    const i = await waitForReady(client, Resources.clusterIssuers, undefined, 'bad', (c) => c.status === 'False', 60_000);
    const ready = findCondition(i.status?.conditions, 'Ready')!;
    assert.equal(ready.reason, 'NotCA');
    assert.match(ready.message ?? '', /is not a CA/);
    const kept = (i as Issuer).status?.ca?.generations?.find((g) => g.role === 'signing');
    assert.equal(kept?.fingerprint, ca.fingerprint, 'the CA the leaves were signed by is still remembered');
    // The bundle keeps the old CA: its leaf is still in use. The issuer, the bundle it feeds and its leaf are
    // reconciled again with nothing changed (a touch no controller reads), and counted.
    const controllers: ControllerName[] = ['clusterissuers', 'trustbundles', 'certificates'];
    const reconciles = await Promise.all(controllers.map((c) => reconcileCount(operator, c)));
    await touch(client, Resources.clusterIssuers, undefined, 'bad');
    for (const [i, c] of controllers.entries()) await reconciledAgain(operator, c, reconciles[i]!, 1);
    const cm = await client.get<ConfigMap>(Resources.configMaps, APPS, 'bad-trust');
    assert.ok(fingerprintsOf(cm?.data?.['ca.crt'] ?? '').includes(ca.fingerprint), 'the old CA stays in the bundle');
    const after = await client.get<Secret>(Resources.secrets, APPS, 'app-c-tls');
    assert.equal(after?.metadata.annotations?.[REVISION_ANNOTATION], leaf.metadata.annotations?.[REVISION_ANNOTATION], 'nothing was signed with the non-CA');
  });
});
