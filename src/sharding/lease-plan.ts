// What a replica does with the shard Leases on one tick: which it renews, takes and gives back, and whether it must
// refuse to run because a live replica was started with another shard count. Pure over what one LIST showed.
import { leaseExpired, type LeaseSpec } from '../runtime/leader-election.ts';
import { fairShare, fnv1a32 } from './shards.ts';

export interface MemberView {
  identity: string;
  /** The shard count the member was started with. */
  shards: number;
  spec: LeaseSpec;
}

export interface LeasePlanInput {
  identity: string;
  shards: number;
  now: Date;
  leaseDurationSeconds: number;
  /** Every member Lease, this replica's own included. */
  members: readonly MemberView[];
  /** Shard Lease specs by shard number; missing = never created. */
  shardLeases: ReadonlyMap<number, LeaseSpec>;
  /** The shards this replica works now. */
  held: ReadonlySet<number>;
}

export type LeasePlan =
  | { kind: 'refuse'; message: string }
  | {
      kind: 'act';
      /** Held shards whose Lease still names this replica: renew them. */
      renew: number[];
      /** Held shards whose Lease names someone else now: stop working them at once. */
      lost: number[];
      /** Held beyond the fair share: stop working them, then free their Lease. */
      release: number[];
      /** Free or expired shards to take, up to the fair share. */
      acquire: number[];
      liveMembers: number;
      fairShare: number;
    };

/** A member Lease is live while renewed within its duration. */
export function liveMembersOf(members: readonly MemberView[], now: Date, defaultDurationSeconds: number): MemberView[] {
  return members.filter((m) => !leaseExpired(m.spec, now, defaultDurationSeconds));
}

/**
 * Two live replicas with different shard counts would hash the same Certificate to different owners. Of the two, the
 * one that joined later (by its member Lease's acquireTime, then identity) refuses, so a running set is never stopped
 * by a newcomer.
 */
export function shardCountConflict(input: Pick<LeasePlanInput, 'identity' | 'shards' | 'now' | 'leaseDurationSeconds' | 'members'>): MemberView | undefined {
  const live = liveMembersOf(input.members, input.now, input.leaseDurationSeconds);
  const self = input.members.find((m) => m.identity === input.identity);
  const joined = (m: MemberView | undefined) => Date.parse(m?.spec.acquireTime ?? '') || Number.MAX_SAFE_INTEGER;
  const selfJoined = joined(self);
  return live.find(
    (m) => m.identity !== input.identity && m.shards !== input.shards && (joined(m) < selfJoined || (joined(m) === selfJoined && m.identity < input.identity)),
  );
}

export function planLeases(input: LeasePlanInput): LeasePlan {
  const { identity, shards, now, leaseDurationSeconds } = input;
  const conflict = shardCountConflict(input);
  if (conflict) {
    return {
      kind: 'refuse',
      message: `replica ${conflict.identity} runs with --shards ${conflict.shards}, this one with --shards ${shards}: every replica must use the same count (stop the others first to change it)`,
    };
  }
  const liveMembers = Math.max(1, liveMembersOf(input.members, now, leaseDurationSeconds).length);
  const share = fairShare(shards, liveMembers);
  const renew: number[] = [];
  const lost: number[] = [];
  for (const s of [...input.held].sort((a, b) => a - b)) {
    if (s >= shards) continue;
    if (input.shardLeases.get(s)?.holderIdentity === identity) renew.push(s);
    else lost.push(s);
  }
  // Give back the highest-numbered extras: any deterministic choice works, one keeps runs readable.
  const release = renew.length > share ? renew.splice(share) : [];
  const acquire: number[] = [];
  if (renew.length < share) {
    // Candidates start at a point of the ring that depends on the identity, so replicas starting together reach
    // for different shards first instead of racing for shard 0.
    const start = fnv1a32(identity) % shards;
    for (let i = 0; i < shards && renew.length + acquire.length < share; i++) {
      const s = (start + i) % shards;
      if (input.held.has(s)) continue;
      const lease = input.shardLeases.get(s);
      // A Lease naming this identity that it does not hold is a previous run's: waited out like anyone else's.
      if (!lease?.holderIdentity || leaseExpired(lease, now, leaseDurationSeconds)) acquire.push(s);
    }
  }
  return { kind: 'act', renew, lost, release, acquire, liveMembers, fairShare: share };
}
