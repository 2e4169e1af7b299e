// A managed CA rotating on the real control plane, through the real operator, with lifetimes in seconds: the new
// CA is trusted before it signs, every Certificate is re-issued once by it, and the old CA leaves the bundle only
// after nothing it signed is left. A poller records what a client would see all along, so the invariants are
// checked at every moment, not only at the end.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findCondition } from '../../src/api/conditions.ts';
import type { Issuer } from '../../src/api/issuer.ts';
import { CA_ISSUER_ANNOTATION, MANAGED_BY_LABEL } from '../../src/api/labels.ts';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { Resources } from '../../src/kube/resources.ts';
import { describeCertificate, parseCertificatesPem } from '../../src/pki/index.ts';
import { startControlPlane, type ControlPlane } from '../env/controlplane.ts';
import { clusterIssuer, createNamespace, decode, replaceSecretData, type Secret, setNamespaceLabels, waitForReady } from './helpers/objects.ts';
import { startOperator, type OperatorProcess } from './helpers/operator.ts';
import { assertLeavesAlwaysTrusted, assertReissuedOnceBy, createTrustedLeaves, startRotationRecorder, type RotationSetup } from './helpers/rotation.ts';
import { waitFor } from './helpers/wait.ts';

const crdsDir = join(import.meta.dirname, '..', '..', 'crds');
const APPS = 'apps';
const LEAVES = ['app-a', 'app-b'];
let cp: ControlPlane;
let client: KubeClient;
let operator: OperatorProcess;

const getIssuer = (name: string) => client.get<Issuer>(Resources.clusterIssuers, undefined, name);
const rotation = (): RotationSetup => ({ client, issuer: 'rotating', namespace: APPS, leaves: LEAVES, bundle: 'rotating-trust' });

before(async () => {
  const logDir = await mkdtemp(join(tmpdir(), 'certsmith-rotation-'));
  cp = await startControlPlane({ crdsDir });
  client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath });
  for (const ns of ['certsmith', APPS, 'elsewhere']) await createNamespace(client, ns);
  await setNamespaceLabels(client, APPS, { trust: 'yes' });
  operator = startOperator({ kubeconfigPath: cp.kubeconfigPath, logDir, args: ['--leader-elect=false'] });
});

after(async () => {
  await operator?.stop();
  await cp?.stop();
});

describe('managed CA rotation', () => {
  it('publishes the new CA first, switches after the bundle synced and the delay, re-issues each leaf once, then retires the old CA', async () => {
    // CA valid 90 s, rotation when 60 s are left: the first rotation starts ~30 s in; the next one ~30 s later.
    await client.create(
      Resources.clusterIssuers,
      clusterIssuer('rotating', {
        ca: {
          managed: {
            commonName: 'certsmith rotating test CA',
            duration: '90s',
            rotateBefore: '60s',
            propagationDelay: '3s',
            retireGracePeriod: '2s',
            reissueWindow: '5s',
          },
        },
      }),
    );
    const ready = (await waitForReady(client, Resources.clusterIssuers, undefined, 'rotating')) as Issuer;
    const ca1 = ready.status!.caFingerprint!;
    assert.equal(ready.status?.ca?.phase, 'Stable');
    assert.deepEqual(
      ready.status?.ca?.generations?.map((g) => [g.fingerprint, g.role]),
      [[ca1, 'signing']],
    );
    const caSecret = await client.get<Secret>(Resources.secrets, 'certsmith', 'rotating-ca');
    assert.equal(caSecret?.metadata.labels?.[MANAGED_BY_LABEL], 'certsmith');
    assert.equal(caSecret?.metadata.annotations?.[CA_ISSUER_ANNOTATION], 'ClusterIssuer//rotating');

    await createTrustedLeaves(rotation(), ca1);

    const recorder = startRotationRecorder(rotation(), 200);
    try {
      // Phase 1: a new CA is published, the old one still signs.
      const publishing = await waitFor(
        'phase Publishing',
        async () => {
          const i = await getIssuer('rotating');
          return i?.status?.ca?.phase === 'Publishing' ? i : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      const ca2 = publishing.status!.ca!.generations!.find((g) => g.role === 'published')!.fingerprint;
      assert.notEqual(ca2, ca1);
      assert.equal(publishing.status?.caFingerprint, ca1, 'the old CA still signs while the new one is published');
      // Phase 2: the leaves are re-issued by the new CA.
      await waitFor('every leaf signed by the new CA', () => recorder.snapshots.at(-1)?.leaves.every((l) => l.ca === ca2), { timeoutMs: 30_000 });
      // Phase 3: the old CA leaves the bundle.
      await waitFor('the bundle to hold only the new CA', () => recorder.snapshots.at(-1)?.bundle.join() === ca2, { timeoutMs: 30_000 });
      await waitFor('phase Stable', () => recorder.snapshots.at(-1)?.phase === 'Stable', { timeoutMs: 10_000 });
    } finally {
      await recorder.stop();
    }
    const snaps = recorder.snapshots;
    const ca2 = snaps.at(-1)!.bundle[0]!;

    // Phase 1 seen: old and new in the bundle while every leaf is still signed by the old one.
    assert.ok(
      snaps.some((s) => s.bundle.join() === [ca1, ca2].sort().join() && s.leaves.every((l) => l.ca === ca1)),
      'a moment with both CAs trusted and only the old one used',
    );
    assertLeavesAlwaysTrusted(snaps);
    // The switch waited for the propagation delay after the bundle held the new CA. The publish is bounded from below
    // by the last snapshot still without the new CA (the first one with it may come a whole slow round later), and
    // the switch from above by the first snapshot with a new leaf.
    const firstPublished = snaps.findIndex((s) => s.bundle.includes(ca2));
    const notYetPublished = snaps[firstPublished - 1]!.at;
    const firstNewLeaf = snaps.find((s) => s.leaves.some((l) => l.ca === ca2))!.at;
    assert.ok(firstNewLeaf - notYetPublished >= 2_800, `leaves switched ${firstNewLeaf - notYetPublished} ms after the bundle held the new CA`);
    // The old CA left only after every leaf had moved.
    const retired = snaps.find((s) => s.bundle.includes(ca2) && !s.bundle.includes(ca1))!.at;
    const lastOldLeaf = snaps.filter((s) => s.leaves.some((l) => l.ca === ca1)).at(-1)!.at;
    assert.ok(retired > lastOldLeaf);
    const phases = snaps.map((s) => s.phase).filter((p, i, a) => p && p !== a[i - 1]);
    assert.deepEqual(phases.slice(phases.indexOf('Publishing')), ['Publishing', 'Reissuing', 'Stable']);

    // Each leaf re-issued exactly once, by the new CA.
    const caDer = parseCertificatesPem(decode(await client.get<Secret>(Resources.secrets, 'certsmith', 'rotating-ca'), 'tls.crt'))[0]!;
    await assertReissuedOnceBy(snaps, LEAVES, caDer);
    for (const name of LEAVES) {
      const last = snaps.at(-1)!.leaves.find((l) => l.name === name)!;
      assert.ok(describeCertificate(last.leafDer).notAfter.getTime() <= describeCertificate(caDer).notAfter.getTime(), `${name} does not outlive its CA`);
    }
    const final = await getIssuer('rotating');
    assert.deepEqual(
      final?.status?.ca?.generations?.map((g) => [g.fingerprint, g.role]),
      [[ca2, 'signing']],
    );
  });
});

describe('managed CA bad input', () => {
  it('a Secret of that name made by someone else is never overwritten', async () => {
    const foreign = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'taken-ca', namespace: 'certsmith' },
      data: { note: Buffer.from('mine').toString('base64') },
    };
    await client.create(Resources.secrets, foreign as Secret);
    await client.create(Resources.clusterIssuers, clusterIssuer('taken', { ca: { managed: { commonName: 'taken', secretName: 'taken-ca' } } }));
    const i = await waitForReady(client, Resources.clusterIssuers, undefined, 'taken', (c) => c.status === 'False');
    const ready = findCondition(i.status?.conditions, 'Ready')!;
    assert.equal(ready.reason, 'SecretConflict');
    assert.match(ready.message ?? '', /certsmith\/taken-ca .*left untouched/);
    const after = await client.get<Secret>(Resources.secrets, 'certsmith', 'taken-ca');
    assert.deepEqual(after?.data, foreign.data);
  });

  it('a managed CA Secret whose CA was replaced by a non-CA certificate says so and is left alone', async () => {
    await client.create(Resources.clusterIssuers, clusterIssuer('tampered', { ca: { managed: { commonName: 'tampered' } } }));
    await waitForReady(client, Resources.clusterIssuers, undefined, 'tampered');
    const leaf = await client.get<Secret>(Resources.secrets, APPS, 'app-a-tls');
    await replaceSecretData(client, 'certsmith', 'tampered-ca', { 'tls.crt': leaf!.data!['tls.crt']!, 'tls.key': leaf!.data!['tls.key']! });
    const i = await waitForReady(client, Resources.clusterIssuers, undefined, 'tampered', (c) => c.status === 'False');
    const ready = findCondition(i.status?.conditions, 'Ready')!;
    assert.equal(ready.reason, 'NotCA');
    assert.match(ready.message ?? '', /is not a CA/);
    const s = await client.get<Secret>(Resources.secrets, 'certsmith', 'tampered-ca');
    assert.equal(s?.data?.['tls.crt'], leaf!.data!['tls.crt'], 'the operator did not overwrite what the user put there');
  });

  it('the API refuses both secretName and managed', async () => {
    await assert.rejects(
      client.create(Resources.clusterIssuers, clusterIssuer('both', { ca: { secretName: 'x', managed: { commonName: 'x' } } })),
      /exactly one of secretName or managed/,
    );
  });
});
