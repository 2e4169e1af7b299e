// A CA the user manages (ca.secretName) replaced in its Secret, on the real control plane through the real
// operator: the replacement is noticed at once (the Secret is watched), the old CA stays in the bundle while any leaf
// it signed is left, every leaf is re-issued once by the new CA, then the old CA leaves. A poller records what a
// client sees all along. Bad input: a replacement that is not a CA is reported and signs nothing.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findCondition } from '../../src/api/conditions.ts';
import type { Issuer } from '../../src/api/issuer.ts';
import { REVISION_ANNOTATION } from '../../src/api/labels.ts';
import { API_VERSION, type KubeObject } from '../../src/api/meta.ts';
import type { TrustBundle } from '../../src/api/trust-bundle.ts';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { isConflict } from '../../src/kube/errors.ts';
import { Resources } from '../../src/kube/resources.ts';
import { encodePem, isSignedBy, parseCertificatesPem } from '../../src/pki/index.ts';
import { createGeneration } from '../../src/signers/managed-ca.ts';
import { startControlPlane, type ControlPlane } from '../env/controlplane.ts';
import { certificate, clusterIssuer, createNamespace, decode, waitForReady, type Secret } from './helpers/objects.ts';
import { startOperator, type OperatorProcess } from './helpers/operator.ts';
import { waitFor } from './helpers/wait.ts';

const crdsDir = join(import.meta.dirname, '..', '..', 'crds');
const APPS = 'apps';
const LEAVES = ['app-a', 'app-b'];
let cp: ControlPlane;
let client: KubeClient;
let operator: OperatorProcess;

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const fingerprintsOf = (pem: string) => parseCertificatesPem(pem).map((d) => createHash('sha256').update(d).digest('hex')).sort();
const getIssuer = (name: string) => client.get<Issuer>(Resources.clusterIssuers, undefined, name);

async function newCa(commonName: string) {
  const g = await createGeneration({ commonName, durationMs: 3600_000, key: { algorithm: 'ECDSA', size: 256 } }, new Date());
  return { fingerprint: g.fingerprint, crt: encodePem('CERTIFICATE', g.der), key: g.keyPem!, der: g.der };
}

/** Replaces tls.crt/tls.key of a Secret, retrying on a conflict. */
async function replaceSecretData(ns: string, name: string, data: Record<string, string>) {
  for (let attempt = 1; ; attempt++) {
    const s = (await client.get<Secret>(Resources.secrets, ns, name))!;
    try {
      await client.replace(Resources.secrets, { ...s, data: { ...s.data, ...data } });
      return;
    } catch (err) {
      if (!isConflict(err) || attempt >= 10) throw err;
    }
  }
}

interface Snapshot {
  at: number;
  phase?: string;
  signing?: string;
  bundle: string[];
  leaves: { name: string; ca: string; revision: number; leafDer: Uint8Array }[];
}

/** What a client sees, every 150 ms: the issuer, the leaves (read first), then the bundle it trusts. */
function startRecorder(issuerName: string, bundleName: string) {
  const snapshots: Snapshot[] = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      try {
        const i = await getIssuer(issuerName);
        const leaves = [];
        for (const name of LEAVES) {
          const s = await client.get<Secret>(Resources.secrets, APPS, `${name}-tls`);
          leaves.push({
            name,
            ca: fingerprintsOf(decode(s, 'ca.crt'))[0]!,
            revision: Number(s?.metadata.annotations?.[REVISION_ANNOTATION]),
            leafDer: parseCertificatesPem(decode(s, 'tls.crt'))[0]!,
          });
        }
        const cm = await client.get<ConfigMap>(Resources.configMaps, APPS, bundleName);
        snapshots.push({
          at: Date.now(),
          ...(i?.status?.ca?.phase ? { phase: i.status.ca.phase } : {}),
          ...(i?.status?.caFingerprint ? { signing: i.status.caFingerprint } : {}),
          bundle: fingerprintsOf(cm?.data?.['ca.crt'] ?? ''),
          leaves,
        });
      } catch {
        // a read racing a write: the next round sees it
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  })();
  return {
    snapshots,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

before(async () => {
  const logDir = await mkdtemp(join(tmpdir(), 'certsmith-user-ca-'));
  cp = await startControlPlane({ crdsDir });
  client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath });
  for (const ns of ['certsmith', APPS]) await createNamespace(client, ns);
  const ns = await client.get<KubeObject>(Resources.namespaces, undefined, APPS);
  await client.replace(Resources.namespaces, { ...ns!, metadata: { ...ns!.metadata, labels: { trust: 'yes' } } });
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
    await client.create(Resources.secrets, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'user-ca', namespace: 'certsmith' },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': b64(ca1.crt), 'tls.key': b64(ca1.key) },
    } as Secret);
    await client.create(Resources.clusterIssuers, clusterIssuer('user', { ca: { secretName: 'user-ca', reissueWindow: '4s', retireGracePeriod: '2s' } }));
    const ready = (await waitForReady(client, Resources.clusterIssuers, undefined, 'user')) as Issuer;
    assert.equal(ready.status?.caFingerprint, ca1.fingerprint);
    await client.create(Resources.trustBundles, {
      apiVersion: API_VERSION,
      kind: 'TrustBundle',
      metadata: { name: 'user-trust' },
      spec: {
        sources: [{ issuer: { kind: 'ClusterIssuer', name: 'user' } }],
        target: { configMap: { key: 'ca.crt' }, namespaceSelector: { matchLabels: { trust: 'yes' } } },
      },
    } as TrustBundle);
    for (const name of LEAVES) {
      await client.create(
        Resources.certificates,
        certificate(APPS, name, { secretName: `${name}-tls`, dnsNames: [`${name}.apps.svc`], duration: '1h', issuerRef: { kind: 'ClusterIssuer', name: 'user' } }),
      );
    }
    for (const name of LEAVES) await waitForReady(client, Resources.certificates, APPS, name);
    await waitFor('the bundle to hold the first CA', async () => {
      const cm = await client.get<ConfigMap>(Resources.configMaps, APPS, 'user-trust');
      return cm?.data?.['ca.crt'] && fingerprintsOf(cm.data['ca.crt']).join() === ca1.fingerprint;
    });

    const recorder = startRecorder('user', 'user-trust');
    let replacedAt = 0;
    try {
      await waitFor('a first snapshot', () => recorder.snapshots.length > 0);
      replacedAt = Date.now();
      await replaceSecretData('certsmith', 'user-ca', { 'tls.crt': b64(ca2.crt), 'tls.key': b64(ca2.key) });
      // Noticed through the watch, not at the 5-minute re-check.
      const switched = await waitFor(
        'the issuer to sign with the new CA',
        async () => {
          const i = await getIssuer('user');
          return i?.status?.caFingerprint === ca2.fingerprint ? i : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 100 },
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
    assert.ok(snaps.some((s) => s.bundle.join() === both), 'a moment with both CAs in the bundle');
    // Trust kept at every moment: the CA of every leaf is in the bundle.
    for (const s of snaps) {
      for (const l of s.leaves) assert.ok(s.bundle.includes(l.ca), `at ${new Date(s.at).toISOString()} ${l.name} was signed by a CA the bundle did not hold`);
    }
    // The old CA left only after every leaf had moved.
    const retired = snaps.find((s) => s.at > replacedAt && s.bundle.join() === ca2.fingerprint)!.at;
    const lastOldLeaf = snaps.filter((s) => s.leaves.some((l) => l.ca === ca1.fingerprint)).at(-1)!.at;
    assert.ok(retired > lastOldLeaf, 'the old CA left the bundle after the last leaf it signed');
    // Each leaf re-issued exactly once, by the new CA.
    for (const name of LEAVES) {
      const revisions = [...new Set(snaps.flatMap((s) => s.leaves.filter((l) => l.name === name).map((l) => l.revision)))];
      assert.deepEqual(revisions, [1, 2], `${name} revisions`);
      const last = snaps.at(-1)!.leaves.find((l) => l.name === name)!;
      assert.ok(await isSignedBy(last.leafDer, ca2.der), `${name} verifies against the new CA`);
    }
    const final = await getIssuer('user');
    assert.deepEqual(final?.status?.ca?.generations?.map((g) => [g.fingerprint, g.role]), [[ca2.fingerprint, 'signing']]);
  });
});

describe('user CA bad replacement', () => {
  it('a replacement that is not a CA is reported, signs nothing, and the old CA stays in the bundle', async () => {
    const ca = await newCa('user CA bad');
    await client.create(Resources.secrets, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'bad-ca', namespace: 'certsmith' },
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': b64(ca.crt), 'tls.key': b64(ca.key) },
    } as Secret);
    await client.create(Resources.clusterIssuers, clusterIssuer('bad', { ca: { secretName: 'bad-ca' } }));
    await waitForReady(client, Resources.clusterIssuers, undefined, 'bad');
    await client.create(Resources.trustBundles, {
      apiVersion: API_VERSION,
      kind: 'TrustBundle',
      metadata: { name: 'bad-trust' },
      spec: { sources: [{ issuer: { kind: 'ClusterIssuer', name: 'bad' } }], target: { configMap: { key: 'ca.crt' }, namespaceSelector: { matchLabels: { trust: 'yes' } } } },
    } as TrustBundle);
    await client.create(
      Resources.certificates,
      certificate(APPS, 'app-c', { secretName: 'app-c-tls', dnsNames: ['app-c.apps.svc'], duration: '1h', issuerRef: { kind: 'ClusterIssuer', name: 'bad' } }),
    );
    await waitForReady(client, Resources.certificates, APPS, 'app-c');
    const leaf = (await client.get<Secret>(Resources.secrets, APPS, 'app-c-tls'))!;

    // The user puts a leaf certificate and its key where the CA was.
    await replaceSecretData('certsmith', 'bad-ca', { 'tls.crt': leaf.data!['tls.crt']!, 'tls.key': leaf.data!['tls.key']! });
    const i = await waitForReady(client, Resources.clusterIssuers, undefined, 'bad', (c) => c.status === 'False', 10_000);
    const ready = findCondition(i.status?.conditions, 'Ready')!;
    assert.equal(ready.reason, 'NotCA');
    assert.match(ready.message ?? '', /is not a CA/);
    const kept = (i as Issuer).status?.ca?.generations?.find((g) => g.role === 'signing');
    assert.equal(kept?.fingerprint, ca.fingerprint, 'the CA the leaves were signed by is still remembered');
    // The bundle keeps the old CA: its leaf is still in use.
    await new Promise((r) => setTimeout(r, 2000));
    const cm = await client.get<ConfigMap>(Resources.configMaps, APPS, 'bad-trust');
    assert.ok(fingerprintsOf(cm?.data?.['ca.crt'] ?? '').includes(ca.fingerprint), 'the old CA stays in the bundle');
    const after = await client.get<Secret>(Resources.secrets, APPS, 'app-c-tls');
    assert.equal(after?.metadata.annotations?.[REVISION_ANNOTATION], leaf.metadata.annotations?.[REVISION_ANNOTATION], 'nothing was signed with the non-CA');
  });
});
