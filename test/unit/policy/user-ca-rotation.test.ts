import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideUserCa, type UserCaGeneration, type UserCaInputs } from '../../../src/policy/ca-rotation.ts';

const S = 1000;
const t0 = new Date('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(t0.getTime() + s * S);
const gen = (fp: string, from: number, life = 3600): UserCaGeneration => ({
  fingerprint: fp,
  notBefore: at(from),
  notAfter: at(from + life),
  pem: `PEM ${fp}`,
});

const base: UserCaInputs = {
  now: at(100),
  current: gen('new', 90),
  recordedSigning: gen('new', 90),
  recordedRetiring: [],
  retireGraceMs: 5 * S,
  countLeaves: () => 0,
};

describe('decideUserCa', () => {
  const cases: {
    name: string;
    in: Partial<UserCaInputs>;
    retiring: string[];
    phase: string;
    switched?: boolean;
    signingSince?: Date;
    gate?: Date;
    nextCheck?: Date;
  }[] = [
    { name: 'the same CA as recorded: nothing retires', in: {}, retiring: [], phase: 'Stable' },
    { name: 'nothing recorded yet (a new issuer): no switch', in: { recordedSigning: undefined }, retiring: [], phase: 'Stable' },
    {
      name: 'a replaced CA with leaves left: the old one retires, the switch starts the spread',
      in: { recordedSigning: gen('old', 0), countLeaves: (fps) => (fps.has('old') ? 2 : 0) },
      retiring: ['old'],
      phase: 'Reissuing',
      switched: true,
      signingSince: at(100),
      nextCheck: at(3600),
    },
    {
      name: 'a replaced CA whose certificate was never recorded cannot stay in the bundles, but the spread starts',
      in: { recordedSigning: { fingerprint: 'old', notBefore: at(0), notAfter: at(0) }, countLeaves: () => 2 },
      retiring: [],
      phase: 'Stable',
      switched: true,
      signingSince: at(100),
    },
    {
      name: 'every leaf re-issued: the grace period starts now',
      in: { recordedRetiring: [gen('old', 0)], recordedSigningSince: at(50) },
      retiring: ['old'],
      phase: 'Reissuing',
      signingSince: at(50),
      gate: at(100),
      nextCheck: at(105),
    },
    {
      name: 'the grace period counted from the recorded gate has not passed: wait',
      in: { recordedRetiring: [gen('old', 0)], gateOpenSince: at(97), recordedPhase: 'Reissuing' },
      retiring: ['old'],
      phase: 'Reissuing',
      gate: at(97),
      nextCheck: at(102),
    },
    {
      name: 'after the grace period the old CA leaves the bundles',
      in: { recordedRetiring: [gen('old', 0)], gateOpenSince: at(90), recordedPhase: 'Reissuing' },
      retiring: [],
      phase: 'Stable',
    },
    {
      name: 'a leaf of the old CA appearing again resets the gate',
      in: { recordedRetiring: [gen('old', 0)], gateOpenSince: at(90), recordedPhase: 'Reissuing', countLeaves: () => 1 },
      retiring: ['old'],
      phase: 'Reissuing',
      nextCheck: at(3600),
    },
    {
      name: 'an expired retiring CA leaves at once, leaves or not',
      in: { now: at(4000), current: gen('new', 3900), recordedSigning: gen('new', 3900), recordedRetiring: [gen('old', 0)], countLeaves: () => 3 },
      retiring: [],
      phase: 'Stable',
    },
    {
      name: 'a second replacement while one retires: both old CAs stay',
      in: { current: gen('newer', 95), recordedRetiring: [gen('old', 0)], countLeaves: () => 1 },
      retiring: ['old', 'new'],
      phase: 'Reissuing',
      switched: true,
      signingSince: at(100),
    },
    {
      name: 'rolled back to the retiring CA: it signs again and leaves the retiring list',
      in: { current: gen('old', 0), recordedRetiring: [gen('old', 0)], countLeaves: (fps) => (fps.has('new') ? 1 : 0) },
      retiring: ['new'],
      phase: 'Reissuing',
      switched: true,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const d = decideUserCa({ ...base, ...c.in });
      assert.deepEqual(
        d.retiring.map((g) => g.fingerprint),
        c.retiring,
      );
      assert.equal(d.phase, c.phase);
      assert.equal(d.switched, c.switched ?? false);
      if (c.signingSince) assert.deepEqual(d.signingSince, c.signingSince);
      assert.deepEqual(d.gateOpenSince, c.gate);
      if (c.nextCheck) assert.deepEqual(d.nextCheck, c.nextCheck);
    });
  }

  it('a retiring generation keeps its certificate PEM and never gains a key', () => {
    const d = decideUserCa({ ...base, recordedSigning: gen('old', 0), countLeaves: () => 1 });
    assert.deepEqual(Object.keys(d.retiring[0]!).sort(), ['fingerprint', 'notAfter', 'notBefore', 'pem']);
    assert.equal(d.retiring[0]!.pem, 'PEM old');
  });
});
