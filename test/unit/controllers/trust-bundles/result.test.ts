import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Condition } from '../../../../src/api/meta.ts';
import type { TrustBundleStatus } from '../../../../src/api/trust-bundle.ts';
import type { BuildResult } from '../../../../src/controllers/trust-bundles/build.ts';
import type { TargetStep, TrustBundlePlan } from '../../../../src/controllers/trust-bundles/plan.ts';
import { trustBundleResult, type ResultInputs } from '../../../../src/controllers/trust-bundles/result.ts';
import type { DesiredTarget } from '../../../../src/controllers/trust-bundles/targets.ts';
import type { Bundle } from '../../../../src/trust/bundle.ts';

const now = new Date('2026-03-01T12:00:00Z');
const MIN = 60_000;
const recheckMs = 5 * MIN;
const bundle = (o: Partial<Bundle> = {}): Bundle => ({
  pem: 'PEM',
  hash: 'h2',
  certificates: [{ fingerprint: 'ab', subject: 'CN=root', notAfter: new Date('2030-01-01T00:00:00Z'), isCA: true }],
  earliestExpiry: new Date('2030-01-01T00:00:00Z'),
  excluded: { expired: 0, nonCA: 0 },
  expired: 0,
  ...o,
});
const built = (o: Partial<Bundle> = {}): BuildResult => ({ bundle: bundle(o), formats: {} });
const failed = (code: string, reason: string): BuildResult => ({ failure: { code, reason, message: `${reason}: sources[0]` } });

const cm = (namespace: string): DesiredTarget => ({ kind: 'ConfigMap', namespace, name: 'roots', key: 'ca.crt' });
const write = (t: DesiredTarget): TargetStep => ({ action: 'write', target: t, body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: t.name } } });
const inSync = (t: DesiredTarget): TargetStep => ({ action: 'inSync', target: t });
const removal = { kind: 'ConfigMap' as const, object: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'roots', namespace: 'old' } } };

/** The status a reconcile that wrote both targets of a fresh bundle leaves. */
const settled: TrustBundleStatus = {
  conditions: [
    {
      type: 'Ready',
      status: 'True',
      reason: 'Built',
      message: 'Bundle of 1 certificate(s)',
      observedGeneration: 2,
      lastTransitionTime: '2026-02-01T00:00:00Z',
    },
    {
      type: 'Synced',
      status: 'True',
      reason: 'Synced',
      message: '2 of 2 target(s) hold the bundle',
      observedGeneration: 2,
      lastTransitionTime: '2026-02-01T00:00:00Z',
    },
  ],
  bundleHash: 'h1',
  certificates: [{ fingerprint: 'old', subject: 'CN=old', notAfter: '2029-01-01T00:00:00Z' }],
  earliestExpiry: '2029-01-01T00:00:00Z',
  targetsSynced: 2,
  targetsTotal: 2,
};

function result(o: {
  build?: BuildResult;
  steps?: TargetStep[];
  keptSynced?: number;
  remove?: TrustBundlePlan['remove'];
  failedWrites?: [string, unknown][];
  prev?: TrustBundleStatus;
}) {
  const steps = o.steps ?? [write(cm('a')), write(cm('b'))];
  const r: ResultInputs = {
    inputs: { build: o.build ?? built(), targets: steps.map((s) => ({ target: s.target })), managed: [] },
    plan: { steps, keptSynced: o.keptSynced ?? 0, remove: o.remove ?? [] },
    failedWrites: new Map(o.failedWrites ?? []),
    prev: o.prev,
    generation: 2,
    now,
    recheckMs,
  };
  return trustBundleResult(r);
}
const brief = (c: Condition | undefined) => `${c?.status} ${c?.reason}: ${c?.message}`;
const condition = (s: TrustBundleStatus, type: string) => brief(s.conditions?.find((c) => c.type === type));
const events = (r: ReturnType<typeof result>) => r.events.map((e) => `${e.type} ${e.reason}: ${e.message}`);

describe('trustBundleResult: status and events', () => {
  const cases: { name: string; result: ReturnType<typeof result>; ready: string; synced: string; targetsSynced: number; events: string[] }[] = [
    {
      name: 'a first bundle written to every target: both conditions become true, each told once, and the writes counted',
      result: result({}),
      ready: 'True Built: Bundle of 1 certificate(s)',
      synced: 'True Synced: 2 of 2 target(s) hold the bundle',
      targetsSynced: 2,
      events: [
        'Normal Built: Bundle of 1 certificate(s)',
        'Normal Synced: 2 of 2 target(s) hold the bundle',
        'Normal TargetsUpdated: wrote the bundle to 2 target(s)',
      ],
    },
    {
      name: 'nothing changed: no event',
      result: result({ steps: [inSync(cm('a')), inSync(cm('b'))], prev: settled }),
      ready: 'True Built: Bundle of 1 certificate(s)',
      synced: 'True Synced: 2 of 2 target(s) hold the bundle',
      targetsSynced: 2,
      events: [],
    },
    {
      name: 'a target removed, and one written: one event says both',
      result: result({ steps: [write(cm('a')), inSync(cm('b'))], remove: [removal], prev: settled }),
      ready: 'True Built: Bundle of 1 certificate(s)',
      synced: 'True Synced: 2 of 2 target(s) hold the bundle',
      targetsSynced: 2,
      events: ['Normal TargetsUpdated: wrote the bundle to 1 target(s); removed 1 target(s)'],
    },
    {
      name: 'a refused write and an unreadable target are both told, in target order, and the others still count',
      result: result({
        steps: [{ action: 'unreadable', target: cm('a'), error: new Error('forbidden') }, write(cm('b')), inSync(cm('c'))],
        failedWrites: [['ConfigMap b/roots', new Error('quota exceeded')]],
        prev: settled,
      }),
      ready: 'True Built: Bundle of 1 certificate(s)',
      synced: 'False WriteFailed: Could not write ConfigMap a/roots: forbidden; ConfigMap b/roots: quota exceeded',
      targetsSynced: 1,
      events: ['Warning WriteFailed: Could not write ConfigMap a/roots: forbidden; ConfigMap b/roots: quota exceeded'],
    },
    {
      name: 'an object in the way is told as a conflict',
      result: result({ steps: [{ action: 'conflict', target: cm('a') }, inSync(cm('b'))], prev: settled }),
      ready: 'True Built: Bundle of 1 certificate(s)',
      synced: 'False TargetConflict: Not managed by this TrustBundle, left alone: ConfigMap a/roots',
      targetsSynced: 1,
      events: ['Warning TargetConflict: Not managed by this TrustBundle, left alone: ConfigMap a/roots'],
    },
    {
      name: 'a bundle that could not be built: Ready says why, targets keep the last bundle and are counted as such',
      result: result({ build: failed('SourceNotFound', 'SourceNotFound'), steps: [], keptSynced: 2, prev: settled }),
      ready: 'False SourceNotFound: SourceNotFound: sources[0]',
      synced: 'False BundleNotReady: The bundle could not be built; targets keep what they hold',
      targetsSynced: 2,
      events: ['Warning SourceNotFound: SourceNotFound: sources[0]', 'Warning BundleNotReady: The bundle could not be built; targets keep what they hold'],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(condition(c.result.status, 'Ready'), c.ready);
      assert.equal(condition(c.result.status, 'Synced'), c.synced);
      assert.equal(c.result.status.targetsSynced, c.targetsSynced);
      assert.deepEqual(events(c.result), c.events);
    });
  }

  it('an unchanged condition keeps its transition time', () => {
    const r = result({ steps: [inSync(cm('a')), inSync(cm('b'))], prev: settled });
    assert.deepEqual(
      r.status.conditions?.map((c) => c.lastTransitionTime),
      ['2026-02-01T00:00:00Z', '2026-02-01T00:00:00Z'],
    );
  });

  it('a new bundle replaces the bundle fields; a failed build keeps the last ones', () => {
    const fresh = result({ prev: settled }).status;
    assert.deepEqual([fresh.bundleHash, fresh.earliestExpiry, fresh.certificates?.[0]?.fingerprint], ['h2', '2030-01-01T00:00:00Z', 'ab']);
    const kept = result({ build: failed('InvalidPEM', 'InvalidPEM'), steps: [], prev: settled }).status;
    assert.deepEqual([kept.bundleHash, kept.earliestExpiry, kept.certificates?.[0]?.fingerprint], ['h1', '2029-01-01T00:00:00Z', 'old']);
  });

  it('the first failed target is the error to retry with; none when every write went through', () => {
    const refused = new Error('quota exceeded');
    assert.equal(result({ failedWrites: [['ConfigMap b/roots', refused]] }).error, refused);
    assert.equal(result({}).error, undefined);
  });
});

describe('trustBundleResult: when to look again', () => {
  const cases: { name: string; build: BuildResult; requeueAfterMs: number }[] = [
    { name: 'a built bundle: after the recheck interval, as sources are not watched', build: built(), requeueAfterMs: recheckMs },
    {
      name: 'a certificate expiring before that: a second after it expires',
      build: built({ earliestExpiry: new Date(now.getTime() + MIN) }),
      requeueAfterMs: MIN + 1000,
    },
    {
      name: 'a bundle holding an expired certificate: after the recheck interval',
      build: built({ earliestExpiry: new Date(now.getTime() - MIN) }),
      requeueAfterMs: recheckMs,
    },
    { name: 'a missing source: sooner, as it is often about to be created', build: failed('SourceNotFound', 'SourceNotFound'), requeueAfterMs: 30_000 },
    { name: 'any other build failure: after the recheck interval', build: failed('InvalidPEM', 'InvalidPEM'), requeueAfterMs: recheckMs },
  ];
  for (const c of cases) it(c.name, () => assert.equal(result({ build: c.build }).requeueAfterMs, c.requeueAfterMs));
});
