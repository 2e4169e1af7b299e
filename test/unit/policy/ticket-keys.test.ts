import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planTicketKeys, type TicketKeysState } from '../../../src/policy/ticket-keys.ts';

const H = 3_600_000;
const now = new Date('2026-11-29T12:00:00.000Z');
const ago = (ms: number) => new Date(now.getTime() - ms);
const key = (fill: number) => Buffer.alloc(48, fill);
const fills = (keys: readonly Uint8Array[]) => keys.map((k) => k[0]);

describe('planTicketKeys', () => {
  const cases: {
    name: string;
    state: TicketKeysState;
    keep?: number;
    expected: { action: string; current?: number; previous: number[]; rotatedAt: Date; nextRotation: Date };
  }[] = [
    {
      name: 'creates a key when the Secret has none',
      state: { previous: [] },
      expected: { action: 'create', previous: [], rotatedAt: now, nextRotation: new Date(now.getTime() + 12 * H) },
    },
    {
      name: 'keeps a key younger than the interval, and rotates at its time',
      state: { current: key(1), previous: [key(2)], rotatedAt: ago(H) },
      expected: { action: 'keep', current: 1, previous: [2], rotatedAt: ago(H), nextRotation: new Date(now.getTime() + 11 * H) },
    },
    {
      name: 'rotates a key exactly one interval old, and the old one becomes the newest previous',
      state: { current: key(1), previous: [key(2)], rotatedAt: ago(12 * H) },
      expected: { action: 'rotate', previous: [1, 2], rotatedAt: now, nextRotation: new Date(now.getTime() + 12 * H) },
    },
    {
      name: 'drops the oldest previous key beyond keep when rotating',
      state: { current: key(1), previous: [key(2), key(3)], rotatedAt: ago(13 * H) },
      expected: { action: 'rotate', previous: [1, 2], rotatedAt: now, nextRotation: new Date(now.getTime() + 12 * H) },
    },
    {
      name: 'trims previous keys to a lowered keep without rotating',
      state: { current: key(1), previous: [key(2), key(3)], rotatedAt: ago(H) },
      keep: 1,
      expected: { action: 'keep', current: 1, previous: [2], rotatedAt: ago(H), nextRotation: new Date(now.getTime() + 11 * H) },
    },
    {
      name: 'keeps no previous key with keep 0',
      state: { current: key(1), previous: [], rotatedAt: ago(12 * H) },
      keep: 0,
      expected: { action: 'rotate', previous: [], rotatedAt: now, nextRotation: new Date(now.getTime() + 12 * H) },
    },
    {
      name: "rotates when the rotation time is missing (it cannot tell the key's age)",
      state: { current: key(1), previous: [] },
      expected: { action: 'rotate', previous: [1], rotatedAt: now, nextRotation: new Date(now.getTime() + 12 * H) },
    },
    {
      name: 'rotates when the rotation time is more than an interval ahead',
      state: { current: key(1), previous: [], rotatedAt: new Date(now.getTime() + 13 * H) },
      expected: { action: 'rotate', previous: [1], rotatedAt: now, nextRotation: new Date(now.getTime() + 12 * H) },
    },
    {
      name: 'replaces a current key that is not 48 bytes and keeps the good previous ones',
      state: { current: Buffer.alloc(32, 1), previous: [key(2), Buffer.alloc(3), key(3)], rotatedAt: ago(H) },
      expected: { action: 'create', previous: [2, 3], rotatedAt: now, nextRotation: new Date(now.getTime() + 12 * H) },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planTicketKeys(c.state, { now, intervalMs: 12 * H, keep: c.keep ?? 2 });
      assert.deepEqual(
        { action: plan.action, current: plan.current?.[0], previous: fills(plan.previous), rotatedAt: plan.rotatedAt, nextRotation: plan.nextRotation },
        { current: undefined, ...c.expected },
      );
    });
  }

  it('a shortened interval moves the next rotation forward from the same rotation time', () => {
    const plan = planTicketKeys({ current: key(1), previous: [], rotatedAt: ago(H) }, { now, intervalMs: 2 * H, keep: 2 });
    assert.equal(plan.action, 'keep');
    assert.deepEqual(plan.nextRotation, new Date(now.getTime() + H));
  });
});
