import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type LeaseSpec, microTime } from '../../../src/runtime/leader-election.ts';
import { type LeasePlan, type LeasePlanInput, type MemberView, planLeases, shardCountConflict } from '../../../src/sharding/lease-plan.ts';
import { fnv1a32 } from '../../../src/sharding/shards.ts';

const now = new Date('2025-03-01T12:00:00.000Z');
const DURATION = 15;
const SELF = 'replica-a';

/** A micro-time `seconds` before `now`. */
function ago(seconds: number): string {
  return microTime(new Date(now.getTime() - seconds * 1000));
}

function member(identity: string, shards: number, opts: { joinedAgo?: number; renewedAgo?: number } = {}): MemberView {
  return {
    identity,
    shards,
    spec: { holderIdentity: identity, leaseDurationSeconds: DURATION, acquireTime: ago(opts.joinedAgo ?? 60), renewTime: ago(opts.renewedAgo ?? 1) },
  };
}

function shardLease(holderIdentity: string, renewedAgo: number): LeaseSpec {
  return { holderIdentity, leaseDurationSeconds: DURATION, acquireTime: ago(renewedAgo + 60), renewTime: ago(renewedAgo), leaseTransitions: 0 };
}

function input(over: Partial<LeasePlanInput> = {}): LeasePlanInput {
  return {
    identity: SELF,
    shards: 3,
    now,
    leaseDurationSeconds: DURATION,
    members: [member(SELF, 3)],
    shardLeases: new Map(),
    held: new Set(),
    ...over,
  };
}

type Act = Extract<LeasePlan, { kind: 'act' }>;

function act(plan: LeasePlan): Act {
  assert.equal(plan.kind, 'act', plan.kind === 'refuse' ? plan.message : '');
  return plan as Act;
}

const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);

/** The first shard this replica reaches for among `shards`. */
const startOf = (identity: string, shards: number) => fnv1a32(identity) % shards;

interface Case {
  name: string;
  input: LeasePlanInput;
  want: { renew?: number[]; lost?: number[]; release?: number[]; acquire?: number[]; liveMembers?: number; fairShare?: number };
}

const threeLive = [member(SELF, 3), member('replica-b', 3), member('replica-c', 3)];

const cases: Case[] = [
  {
    name: 'a lone replica takes all three free shards',
    input: input(),
    want: { renew: [], lost: [], release: [], acquire: [0, 1, 2], liveMembers: 1, fairShare: 3 },
  },
  {
    name: 'a replica with no member Lease listed counts as one live member',
    input: input({ members: [] }),
    want: { acquire: [0, 1, 2], liveMembers: 1, fairShare: 3 },
  },
  {
    name: 'with 3 live members and nothing held, it acquires exactly one (the first on its ring)',
    input: input({ members: threeLive }),
    want: { renew: [], lost: [], release: [], acquire: [startOf(SELF, 3)], liveMembers: 3, fairShare: 1 },
  },
  {
    name: 'with 3 live members, holding all 3, it renews 1 and releases the 2 highest',
    input: input({
      members: threeLive,
      held: new Set([2, 0, 1]),
      shardLeases: new Map([
        [0, shardLease(SELF, 2)],
        [1, shardLease(SELF, 2)],
        [2, shardLease(SELF, 2)],
      ]),
    }),
    want: { renew: [0], lost: [], release: [1, 2], acquire: [], liveMembers: 3, fairShare: 1 },
  },
  {
    name: 'a held shard whose Lease now names another holder is lost',
    input: input({
      held: new Set([0, 1]),
      shardLeases: new Map([
        [0, shardLease(SELF, 2)],
        [1, shardLease('replica-b', 1)],
        [2, shardLease('replica-b', 1)],
      ]),
    }),
    want: { renew: [0], lost: [1], release: [], acquire: [] },
  },
  {
    name: 'a held shard whose Lease is gone is lost',
    input: input({ shards: 1, members: [member(SELF, 1)], held: new Set([0]) }),
    want: { renew: [], lost: [0], release: [], acquire: [] },
  },
  {
    name: "another holder's expired Lease (renewed 16 s ago) is acquirable",
    input: input({ shards: 1, members: [member(SELF, 1)], shardLeases: new Map([[0, shardLease('replica-b', 16)]]) }),
    want: { acquire: [0] },
  },
  {
    name: "another holder's unexpired Lease (renewed 10 s ago) is not",
    input: input({ shards: 1, members: [member(SELF, 1)], shardLeases: new Map([[0, shardLease('replica-b', 10)]]) }),
    want: { acquire: [] },
  },
  {
    name: "another holder's Lease renewed exactly 15 s ago is not yet expired",
    input: input({ shards: 1, members: [member(SELF, 1)], shardLeases: new Map([[0, shardLease('replica-b', 15)]]) }),
    want: { acquire: [] },
  },
  {
    name: "a Lease naming this identity that it does not hold (a previous run's) is waited out",
    input: input({ shards: 1, members: [member(SELF, 1)], shardLeases: new Map([[0, shardLease(SELF, 5)]]) }),
    want: { renew: [], lost: [], acquire: [] },
  },
  {
    name: "a previous run's Lease is acquirable once expired",
    input: input({ shards: 1, members: [member(SELF, 1)], shardLeases: new Map([[0, shardLease(SELF, 20)]]) }),
    want: { renew: [], lost: [], acquire: [0] },
  },
  {
    name: "a released Lease (holderIdentity '') is acquirable at once",
    input: input({ shards: 1, members: [member(SELF, 1)], shardLeases: new Map([[0, { ...shardLease('', 0), leaseDurationSeconds: 1 }]]) }),
    want: { acquire: [0] },
  },
  {
    name: 'an expired member does not count as live',
    input: input({ members: [member(SELF, 3), member('replica-b', 3, { renewedAgo: 30 })] }),
    want: { acquire: [0, 1, 2], liveMembers: 1, fairShare: 3 },
  },
  {
    name: 'an expired member with another shard count is ignored',
    input: input({ members: [member(SELF, 3, { joinedAgo: 10 }), member('replica-b', 5, { joinedAgo: 600, renewedAgo: 30 })] }),
    want: { acquire: [0, 1, 2], liveMembers: 1, fairShare: 3 },
  },
  {
    name: 'a live member with another shard count that joined later is not a reason to refuse',
    input: input({ members: [member(SELF, 3, { joinedAgo: 600 }), member('replica-b', 5, { joinedAgo: 10 })] }),
    want: { liveMembers: 2, fairShare: 2 },
  },
  {
    name: 'held shards numbered at or above N are ignored',
    input: input({
      held: new Set([0, 3, 7]),
      shardLeases: new Map([
        [0, shardLease(SELF, 1)],
        [3, shardLease(SELF, 1)],
        [7, shardLease('replica-b', 1)],
      ]),
    }),
    want: { renew: [0], lost: [], release: [], acquire: [1, 2] },
  },
  {
    name: 'it tops up to its fair share, skipping shards it holds and shards others hold',
    input: input({
      shards: 4,
      members: [member(SELF, 4), member('replica-b', 4)],
      held: new Set([1]),
      shardLeases: new Map([
        [0, shardLease('replica-b', 1)],
        [1, shardLease(SELF, 1)],
        [2, shardLease('replica-b', 1)],
      ]),
    }),
    want: { renew: [1], lost: [], release: [], acquire: [3], liveMembers: 2, fairShare: 2 },
  },
];

describe('planLeases', () => {
  for (const c of cases) {
    it(c.name, () => {
      const plan = act(planLeases(c.input));
      const { acquire, ...exact } = c.want;
      for (const [key, value] of Object.entries(exact)) assert.deepEqual(plan[key as keyof Act], value, key);
      if (acquire) assert.deepEqual(sorted(plan.acquire), acquire, 'acquire');
      // Never acquires a shard it holds, and never more than its fair share in all.
      for (const s of plan.acquire) assert.ok(!c.input.held.has(s), `acquires held shard ${s}`);
      assert.ok(plan.renew.length + plan.acquire.length <= plan.fairShare);
    });
  }

  it('reaches for shards around the ring from a point its identity picks', () => {
    const shards = 5;
    const plan = act(planLeases(input({ shards, members: [member(SELF, shards)] })));
    const start = startOf(SELF, shards);
    assert.deepEqual(
      plan.acquire,
      Array.from({ length: shards }, (_, i) => (start + i) % shards),
    );
  });

  it('takes the next free shard on its ring when its first choice is held by a live replica', () => {
    const start = startOf(SELF, 3);
    const plan = act(planLeases(input({ members: threeLive, shardLeases: new Map([[start, shardLease('replica-b', 1)]]) })));
    assert.deepEqual(plan.acquire, [(start + 1) % 3]);
  });

  it('refuses when a live member with another shard count joined earlier, naming both counts', () => {
    const plan = planLeases(input({ members: [member(SELF, 3, { joinedAgo: 10 }), member('replica-b', 5, { joinedAgo: 600 })] }));
    assert.equal(plan.kind, 'refuse');
    assert.match(plan.message, /replica-b/);
    assert.match(plan.message, /--shards 5\b/);
    assert.match(plan.message, /--shards 3\b/);
  });

  it('refuses even when holding shards (no renewals are planned)', () => {
    const plan = planLeases(
      input({
        members: [member(SELF, 3, { joinedAgo: 10 }), member('replica-b', 2, { joinedAgo: 600 })],
        held: new Set([0]),
        shardLeases: new Map([[0, shardLease(SELF, 1)]]),
      }),
    );
    assert.equal(plan.kind, 'refuse');
  });
});

describe('shardCountConflict', () => {
  const base = { identity: SELF, shards: 3, now, leaseDurationSeconds: DURATION };

  it('names the live member with another count that joined earlier', () => {
    const other = member('replica-b', 5, { joinedAgo: 600 });
    assert.equal(shardCountConflict({ ...base, members: [member(SELF, 3, { joinedAgo: 10 }), other] }), other);
  });

  it('is undefined when the other member joined later', () => {
    assert.equal(shardCountConflict({ ...base, members: [member(SELF, 3, { joinedAgo: 600 }), member('replica-b', 5, { joinedAgo: 10 })] }), undefined);
  });

  it('is undefined when the other member with an earlier join has expired', () => {
    assert.equal(
      shardCountConflict({ ...base, members: [member(SELF, 3, { joinedAgo: 10 }), member('replica-b', 5, { joinedAgo: 600, renewedAgo: 16 })] }),
      undefined,
    );
  });

  it('is undefined for live members with the same count, whenever they joined', () => {
    assert.equal(shardCountConflict({ ...base, members: [member(SELF, 3, { joinedAgo: 10 }), member('replica-b', 3, { joinedAgo: 600 })] }), undefined);
  });

  it('breaks a tie in join time by identity: the greater identity refuses', () => {
    const a = member('replica-a', 3, { joinedAgo: 60 });
    const b = member('replica-b', 5, { joinedAgo: 60 });
    assert.equal(shardCountConflict({ ...base, identity: 'replica-a', shards: 3, members: [a, b] }), undefined);
    assert.equal(shardCountConflict({ ...base, identity: 'replica-b', shards: 5, members: [a, b] }), a);
  });

  it('treats a replica without a member Lease yet as the newcomer', () => {
    const other = member('replica-b', 5, { joinedAgo: 1 });
    assert.equal(shardCountConflict({ ...base, members: [other] }), other);
  });
});
