import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setCondition, toRfc3339 } from '../../../src/api/conditions.ts';

const t0 = new Date('2026-01-01T00:00:00.500Z');
const t1 = new Date('2026-01-02T00:00:00Z');

describe('setCondition', () => {
  it('adds a condition stamped with the time of the change', () => {
    assert.deepEqual(setCondition([], { type: 'Ready', status: 'True', reason: 'Ready' }, t0), [
      { type: 'Ready', status: 'True', reason: 'Ready', lastTransitionTime: '2026-01-01T00:00:00Z' },
    ]);
  });
  it('keeps lastTransitionTime when the status does not change, so a rewrite is a no-op', () => {
    const first = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: 'a' }, t0);
    const second = setCondition(first, { type: 'Ready', status: 'False', reason: 'B', message: 'b' }, t1);
    assert.equal(second[0]!.lastTransitionTime, '2026-01-01T00:00:00Z');
    assert.equal(second[0]!.reason, 'B');
  });
  it('moves lastTransitionTime when the status flips', () => {
    const first = setCondition([], { type: 'Ready', status: 'False' }, t0);
    assert.equal(setCondition(first, { type: 'Ready', status: 'True' }, t1)[0]!.lastTransitionTime, '2026-01-02T00:00:00Z');
  });
  it('orders conditions by type', () => {
    const list = setCondition(setCondition([], { type: 'Ready', status: 'True' }, t0), { type: 'Issuing', status: 'False' }, t0);
    assert.deepEqual(
      list.map((c) => c.type),
      ['Issuing', 'Ready'],
    );
  });
  it('formats times as whole-second RFC 3339', () => assert.equal(toRfc3339(t0), '2026-01-01T00:00:00Z'));
});
