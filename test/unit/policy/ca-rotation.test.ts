import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bundleHoldsCa, decideRotation, reissueTime, type CaGeneration, type RotationInputs } from '../../../src/policy/ca-rotation.ts';

const S = 1000;
const t0 = new Date('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(t0.getTime() + s * S);
// A CA valid for 90 s from t, as in the integration test; rotation at 1/3 left = 60 s in.
const gen = (fp: string, from: number, life = 90): CaGeneration => ({ fingerprint: fp, notBefore: at(from), notAfter: at(from + life) });

const base: RotationInputs = {
  now: at(10),
  signing: gen('old', 0),
  retiring: [],
  propagationDelayMs: 3 * S,
  retireGraceMs: 2 * S,
  bundlesNotSynced: [],
  retiringLeaves: 0,
};

describe('decideRotation', () => {
  const cases: { name: string; in: Partial<RotationInputs>; kind: string; phase: string; nextCheck?: Date; gate?: Date }[] = [
    { name: 'no CA yet: the first one is created and signs at once', in: { signing: undefined }, kind: 'create', phase: 'Stable' },
    { name: 'a signing CA before its rotation time: wait until then', in: {}, kind: 'wait', phase: 'Stable', nextCheck: at(60) },
    { name: 'rotateBefore 80s moves the rotation earlier', in: { rotateBeforeMs: 80 * S }, kind: 'create', phase: 'Publishing' },
    { name: 'rotateBeforePercentage 50 rotates halfway', in: { now: at(45), rotateBeforePercentage: 50 }, kind: 'create', phase: 'Publishing' },
    { name: 'at the rotation time a new CA is published, not signing', in: { now: at(60) }, kind: 'create', phase: 'Publishing' },
    {
      name: 'phase 1: a bundle not yet synced holds the switch',
      in: { now: at(62), pending: gen('new', 60), bundlesNotSynced: ['org'] },
      kind: 'wait',
      phase: 'Publishing',
    },
    {
      name: 'phase 1: bundles synced, the propagation delay starts now',
      in: { now: at(62), pending: gen('new', 60) },
      kind: 'wait',
      phase: 'Publishing',
      gate: at(62),
      nextCheck: at(65),
    },
    {
      name: 'phase 1: the delay counts from when the gate first opened',
      in: { now: at(64), pending: gen('new', 60), gateOpenSince: at(62) },
      kind: 'wait',
      phase: 'Publishing',
      gate: at(62),
      nextCheck: at(65),
    },
    {
      name: 'phase 2: after the delay signing switches',
      in: { now: at(65), pending: gen('new', 60), gateOpenSince: at(62) },
      kind: 'switch',
      phase: 'Reissuing',
    },
    {
      name: 'phase 2: leaves of the old CA remain: wait, at the latest until it expires',
      in: { now: at(66), signing: gen('new', 60), retiring: [gen('old', 0)], retiringLeaves: 2 },
      kind: 'wait',
      phase: 'Reissuing',
      nextCheck: at(90),
    },
    {
      name: 'phase 3: no leaf left, the grace period starts',
      in: { now: at(70), signing: gen('new', 60), retiring: [gen('old', 0)] },
      kind: 'wait',
      phase: 'Reissuing',
      gate: at(70),
      nextCheck: at(72),
    },
    {
      name: 'phase 3: after the grace period the old CA leaves the bundles',
      in: { now: at(72), signing: gen('new', 60), retiring: [gen('old', 0)], gateOpenSince: at(70) },
      kind: 'retire',
      phase: 'Stable',
    },
    {
      name: 'an expired old CA leaves at once, leaves or not',
      in: { now: at(91), signing: gen('new', 60), retiring: [gen('old', 0)], retiringLeaves: 3 },
      kind: 'retire',
      phase: 'Stable',
    },
    { name: 'the signing CA expired with none published: a new one signs at once', in: { now: at(95) }, kind: 'create', phase: 'Reissuing' },
    {
      name: 'the signing CA expired while one is published: the published one signs',
      in: { now: at(95), pending: gen('new', 60), bundlesNotSynced: ['org'] },
      kind: 'switch',
      phase: 'Reissuing',
    },
    {
      name: 'no new rotation starts while an old CA is retiring',
      in: { now: at(125), signing: gen('new', 60), retiring: [gen('old', 50)], retiringLeaves: 1 },
      kind: 'wait',
      phase: 'Reissuing',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = decideRotation({ ...base, ...c.in });
      assert.equal(d.action.kind, c.kind, d.message);
      assert.equal(d.phase, c.phase);
      if (c.nextCheck) assert.deepEqual(d.nextCheck, c.nextCheck);
      assert.deepEqual(d.gateOpenSince, c.gate);
    });
  }

  it('retire names the generations that leave', () => {
    const d = decideRotation({ ...base, now: at(91), signing: gen('new', 60), retiring: [gen('old', 0), gen('older', 5, 200)], retiringLeaves: 1 });
    assert.deepEqual(d.action, { kind: 'retire', fingerprints: ['old'] });
    assert.equal(d.phase, 'Reissuing');
  });
});

describe('bundleHoldsCa', () => {
  const synced = (o: { status?: string; reason?: string; observedGeneration?: number } = {}) => ({
    type: 'Synced',
    status: o.status ?? 'True',
    reason: o.reason ?? 'Synced',
    observedGeneration: o.observedGeneration ?? 1,
  });
  const cases = [
    {
      name: 'holds the CA in every target',
      b: { certificates: [{ fingerprint: 'new' }], targetsSynced: 3, targetsTotal: 3, conditions: [synced()] },
      want: true,
    },
    {
      name: 'the CA is not in the bundle yet',
      b: { certificates: [{ fingerprint: 'old' }], targetsSynced: 3, targetsTotal: 3, conditions: [synced()] },
      want: false,
    },
    {
      name: 'a target still lags',
      b: { certificates: [{ fingerprint: 'new' }], targetsSynced: 2, targetsTotal: 3, conditions: [synced({ status: 'False', reason: 'WriteFailed' })] },
      want: false,
    },
    {
      name: 'status of an older spec',
      b: { certificates: [{ fingerprint: 'new' }], targetsSynced: 1, targetsTotal: 1, conditions: [synced({ observedGeneration: 0 })] },
      want: false,
    },
    {
      name: 'no matching namespace: nothing to wait for',
      b: {
        certificates: [{ fingerprint: 'new' }],
        targetsSynced: 0,
        targetsTotal: 0,
        conditions: [synced({ status: 'False', reason: 'NoMatchingNamespaces' })],
      },
      want: true,
    },
    {
      name: 'a target in conflict',
      b: { certificates: [{ fingerprint: 'new' }], targetsSynced: 1, targetsTotal: 2, conditions: [synced({ status: 'False', reason: 'TargetConflict' })] },
      want: false,
    },
  ];
  for (const c of cases) it(c.name, () => assert.equal(bundleHoldsCa({ name: 'b', generation: 1, status: c.b }, 'new'), c.want));
});

describe('reissueTime', () => {
  const since = at(100);
  it('is the same for the same Certificate every time', () => assert.deepEqual(reissueTime('ns/a', since, 5 * S), reissueTime('ns/a', since, 5 * S)));
  it('falls within the window', () => {
    for (let i = 0; i < 200; i++) {
      const t = reissueTime(`ns/cert-${i}`, since, 5 * S).getTime();
      assert.ok(t >= since.getTime() && t < since.getTime() + 5 * S);
    }
  });
  it('spreads Certificates over the window', () => {
    const seconds = new Set(Array.from({ length: 100 }, (_, i) => Math.floor((reissueTime(`ns/cert-${i}`, since, 10 * S).getTime() - since.getTime()) / S)));
    assert.ok(seconds.size >= 8, `only ${seconds.size} distinct seconds`);
  });
  it('a zero window means at once', () => assert.deepEqual(reissueTime('ns/a', since, 0), since));
});
