import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { BuildResult } from '../../../../src/controllers/trust-bundles/build.ts';
import { planTargets, type GatheredTarget, type TrustBundleInputs } from '../../../../src/controllers/trust-bundles/plan.ts';
import { targetObject, type DesiredTarget, type TargetObject } from '../../../../src/controllers/trust-bundles/targets.ts';
import type { Bundle } from '../../../../src/trust/bundle.ts';

const pem = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
const bundle = (hash: string): Bundle => ({
  pem,
  hash,
  certificates: [],
  earliestExpiry: new Date('2030-01-01T00:00:00Z'),
  excluded: { expired: 0, nonCA: 0 },
  expired: 0,
});
const built: BuildResult = { bundle: bundle('h2'), formats: { 'truststore.p12': Buffer.from([1, 2, 3]) } };
const notBuilt: BuildResult = { failure: { code: 'SourceNotFound', reason: 'SourceNotFound', message: 'sources[0] does not exist' } };

const cm = (namespace: string): DesiredTarget => ({ kind: 'ConfigMap', namespace, name: 'roots', key: 'ca.crt' });
const secret = (namespace: string): DesiredTarget => ({ kind: 'Secret', namespace, name: 'roots', key: 'ca.crt' });
const ctb: DesiredTarget = { kind: 'ClusterTrustBundle', namespace: '', name: 'roots', key: '' };
/** What the bundle wrote earlier, holding the bundle with this hash, as the API server returns it. */
const holding = (t: DesiredTarget, hash: string, formats = built.formats ?? {}): TargetObject => {
  const o = targetObject(t, pem, hash, t.kind === 'ClusterTrustBundle' ? {} : formats);
  return { ...o, metadata: { ...o.metadata, uid: `uid-${t.namespace}`, resourceVersion: '7' } };
};
const unmanaged = (t: DesiredTarget): TargetObject => ({
  apiVersion: 'v1',
  kind: t.kind,
  metadata: { name: t.name, namespace: t.namespace, resourceVersion: '3' },
});

const inputs = (o: Partial<TrustBundleInputs> & { targets: GatheredTarget[] }): TrustBundleInputs => ({ build: built, managed: [], lastHash: 'h1', ...o });
const steps = (i: TrustBundleInputs) => planTargets(i).steps.map((s) => `${s.action} ${s.target.kind} ${s.target.namespace}/${s.target.name}`);

describe('planTargets: which targets to write', () => {
  const cases: { name: string; inputs: TrustBundleInputs; steps: string[]; keptSynced?: number }[] = [
    {
      name: 'writes every target that does not exist yet',
      inputs: inputs({ targets: [{ target: cm('a') }, { target: secret('a') }] }),
      steps: ['write ConfigMap a/roots', 'write Secret a/roots'],
    },
    {
      name: 'leaves a target that holds the bundle and its truststores',
      inputs: inputs({ targets: [{ target: cm('a'), current: holding(cm('a'), 'h2') }] }),
      steps: ['inSync ConfigMap a/roots'],
    },
    {
      name: 'rewrites a target that holds an older bundle',
      inputs: inputs({ targets: [{ target: cm('a'), current: holding(cm('a'), 'h1') }] }),
      steps: ['write ConfigMap a/roots'],
    },
    {
      name: 'rewrites a target whose truststore bytes changed (a new password)',
      inputs: inputs({ targets: [{ target: cm('a'), current: holding(cm('a'), 'h2', { 'truststore.p12': Buffer.from([9]) }) }] }),
      steps: ['write ConfigMap a/roots'],
    },
    {
      name: 'leaves alone an object of that name the bundle does not manage',
      inputs: inputs({ targets: [{ target: cm('a'), current: unmanaged(cm('a')) }, { target: cm('b') }] }),
      steps: ['conflict ConfigMap a/roots', 'write ConfigMap b/roots'],
    },
    {
      name: 'reports a target that could not be looked up, and goes on with the others',
      inputs: inputs({ targets: [{ target: cm('a'), readError: new Error('forbidden') }, { target: cm('b') }] }),
      steps: ['unreadable ConfigMap a/roots', 'write ConfigMap b/roots'],
    },
    {
      name: 'a ClusterTrustBundle holding the PEM is in sync: truststores are not its business',
      inputs: inputs({ targets: [{ target: ctb, current: holding(ctb, 'h2') }] }),
      steps: ['inSync ClusterTrustBundle /roots'],
    },
    {
      name: 'writes nothing when no bundle was built, and counts the targets that still hold the last one',
      inputs: inputs({
        build: notBuilt,
        targets: [
          { target: cm('a'), current: holding(cm('a'), 'h1') },
          { target: cm('b'), current: holding(cm('b'), 'h0') },
          { target: cm('c'), current: unmanaged(cm('c')) },
          { target: cm('d') },
        ],
      }),
      steps: [],
      keptSynced: 1,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(steps(c.inputs), c.steps);
      assert.equal(planTargets(c.inputs).keptSynced, c.keptSynced ?? 0);
    });
  }
});

describe('planTargets: what is written', () => {
  it('the body carries the bundle and truststores, guarded by the resourceVersion seen', () => {
    const [step] = planTargets(inputs({ targets: [{ target: cm('a'), current: holding(cm('a'), 'h1') }] })).steps;
    assert.equal(step?.action, 'write');
    const body = step.action === 'write' ? step.body : undefined;
    assert.equal(body?.metadata.resourceVersion, '7');
    assert.equal(body?.metadata.annotations?.['certsmith.dev/bundle-hash'], 'h2');
    assert.deepEqual(body?.data, { 'ca.crt': pem });
    assert.deepEqual(body?.binaryData, { 'truststore.p12': 'AQID' });
  });

  it('a new target has no resourceVersion to guard', () => {
    const [step] = planTargets(inputs({ targets: [{ target: cm('a') }] })).steps;
    assert.equal(step?.action === 'write' ? step.body.metadata.resourceVersion : 'not a write', undefined);
  });

  it('a ClusterTrustBundle is written with the PEM only', () => {
    const [step] = planTargets(inputs({ targets: [{ target: ctb }] })).steps;
    assert.deepEqual(step?.action === 'write' ? step.body.spec : undefined, { trustBundle: pem });
  });
});

describe('planTargets: which targets to remove', () => {
  const managed = [
    { kind: 'ConfigMap' as const, object: holding(cm('a'), 'h1') },
    { kind: 'ConfigMap' as const, object: holding(cm('gone'), 'h1') },
    { kind: 'Secret' as const, object: holding(secret('a'), 'h1') },
    { kind: 'ClusterTrustBundle' as const, object: holding(ctb, 'h1') },
  ];
  const removed = (i: TrustBundleInputs) => planTargets(i).remove.map((m) => `${m.kind} ${m.object.metadata.namespace ?? ''}/${m.object.metadata.name}`);
  const cases: { name: string; inputs: TrustBundleInputs; removed: string[] }[] = [
    {
      name: 'keeps every target still wanted',
      inputs: inputs({ managed, targets: [{ target: cm('a') }, { target: cm('gone') }, { target: secret('a') }, { target: ctb }] }),
      removed: [],
    },
    {
      name: 'removes targets in a namespace that stopped matching, and of kinds dropped from the spec',
      inputs: inputs({ managed, targets: [{ target: cm('a') }] }),
      removed: ['ConfigMap gone/roots', 'Secret a/roots', 'ClusterTrustBundle /roots'],
    },
    {
      name: 'removes them also when no bundle could be built',
      inputs: inputs({ managed, build: notBuilt, targets: [{ target: cm('a') }, { target: secret('a') }, { target: ctb }] }),
      removed: ['ConfigMap gone/roots'],
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(removed(c.inputs), c.removed));
});
