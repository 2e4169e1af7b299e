// Leader election on a real coordination.k8s.io/v1 Lease: one leader among candidates, a quick handover when the
// leader stops, and a leader that steps down when its Lease is taken or it cannot renew in time.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { isConflict } from '../../src/kube/errors.ts';
import { Resources } from '../../src/kube/resources.ts';
import { createLeaderElector, microTime, type Lease, type LeaderElector, type LeaderElectorOptions } from '../../src/runtime/leader-election.ts';
import { startControlPlane, type ControlPlane } from '../env/controlplane.ts';
import { waitFor } from './helpers/wait.ts';

const NS = 'leader-election';
const log = pino({ level: process.env.CERTSMITH_TEST_VERBOSE ? 'debug' : 'silent' });
let cp: ControlPlane;
let client: KubeClient;
const electors: LeaderElector[] = [];

before(async () => {
  cp = await startControlPlane({ withControllerManager: false });
  client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath });
  await client.create(Resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
});

after(async () => {
  await Promise.all(electors.map((e) => e.stop().catch(() => {})));
  await cp?.stop();
});

const readLease = async (name: string) => (await client.get<Lease>(Resources.leases, NS, name))?.spec;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An elector on Lease `lease` that records its callbacks; short timings keep the tests quick. */
function candidate(lease: string, identity: string, extra: Partial<LeaderElectorOptions> = {}) {
  const events: string[] = [];
  const at: Record<string, number> = {};
  const elector = createLeaderElector({
    client: extra.client ?? createKubeClient({ kubeconfigPath: cp.kubeconfigPath }),
    namespace: NS,
    name: lease,
    identity,
    leaseDurationSeconds: 4,
    renewDeadlineSeconds: 3,
    retryPeriodSeconds: 0.5,
    log,
    onStartedLeading: () => {
      events.push('started');
      at.started = Date.now();
    },
    onStoppedLeading: () => {
      events.push('stopped');
      at.stopped = Date.now();
    },
    ...extra,
  });
  electors.push(elector);
  let ended = false;
  const running = elector.run().then(() => (ended = true));
  return { identity, elector, events, at, running, ended: () => ended };
}

/** Writes the Lease over to `holder`, retrying when the current holder's renewal races the write. */
async function takeLease(name: string, holder: string, durationSeconds: number) {
  for (;;) {
    const lease = (await client.get<Lease>(Resources.leases, NS, name))!;
    lease.spec = { ...lease.spec, holderIdentity: holder, leaseDurationSeconds: durationSeconds, renewTime: microTime(new Date()) };
    try {
      await client.replace(Resources.leases, lease);
      return;
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
  }
}

describe('leader election on a real Lease', () => {
  it('elects exactly one of two candidates, and the Lease names it', async () => {
    const a = candidate('one-leader', 'a');
    const b = candidate('one-leader', 'b');
    await waitFor('a leader', () => a.elector.isLeader() || b.elector.isLeader());
    // Watch it for a few renewal periods: leadership must neither double nor flap.
    for (let i = 0; i < 12; i++) {
      assert.equal(Number(a.elector.isLeader()) + Number(b.elector.isLeader()), 1, 'exactly one leader');
      await sleep(250);
    }
    const leader = a.elector.isLeader() ? a : b;
    const follower = leader === a ? b : a;
    const spec = await readLease('one-leader');
    assert.equal(spec?.holderIdentity, leader.identity);
    assert.equal(spec?.leaseDurationSeconds, 4);
    assert.equal(spec?.leaseTransitions, 0);
    assert.match(spec?.renewTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/, 'renewTime is a MicroTime');
    assert.ok(Date.now() - Date.parse(spec!.renewTime!) < 2000, 'and recent: the leader renews');
    assert.deepEqual(leader.events, ['started']);
    assert.deepEqual(follower.events, []);
  });

  it('hands the Lease to the other candidate within a few seconds when the leader stops', async () => {
    // A 15 s lease: only the release on stop() can make the handover this quick.
    const timings = { leaseDurationSeconds: 15, renewDeadlineSeconds: 10, retryPeriodSeconds: 0.5 };
    const a = candidate('handover', 'a', timings);
    const b = candidate('handover', 'b', timings);
    await waitFor('a leader', () => a.elector.isLeader() || b.elector.isLeader());
    const leader = a.elector.isLeader() ? a : b;
    const follower = leader === a ? b : a;
    const stoppedAt = Date.now();
    await leader.elector.stop();
    assert.equal(leader.elector.isLeader(), false);
    assert.equal(leader.ended(), true, 'run() resolved');
    await waitFor('the other candidate to lead', () => follower.elector.isLeader(), { timeoutMs: 15_000, intervalMs: 50 });
    const took = follower.at.started! - stoppedAt;
    assert.ok(took < 7_500, `handover took ${took} ms, not the lease's 15 s`);
    const spec = await readLease('handover');
    assert.equal(spec?.holderIdentity, follower.identity);
    assert.equal(spec?.leaseTransitions, 1);
    assert.deepEqual(leader.events, ['started'], 'a deliberate stop is not reported as lost leadership');
    assert.deepEqual(follower.events, ['started']);
  });

  it('steps down when another holder takes its Lease, and leaves the Lease to it', async () => {
    const a = candidate('stolen', 'a');
    await waitFor('a to lead', () => a.elector.isLeader());
    await takeLease('stolen', 'intruder', 60);
    await waitFor('a to step down', () => a.events.includes('stopped'), { timeoutMs: 30_000, intervalMs: 50 });
    assert.equal(a.elector.isLeader(), false);
    await waitFor('run() to resolve', () => a.ended());
    await a.elector.stop();
    assert.equal((await readLease('stolen'))?.holderIdentity, 'intruder', 'neither renewed nor released over the new holder');
    assert.deepEqual(a.events, ['started', 'stopped']);
  });

  it('steps down within the renew deadline when it cannot reach the API server, before the Lease can expire', async () => {
    // The leader's requests hang from a moment on, as they would across a network partition.
    let partitioned = false;
    const real = createKubeClient({ kubeconfigPath: cp.kubeconfigPath });
    const hang = new Promise<never>(() => {});
    const cutOff: KubeClient = {
      ...real,
      get: (...args) => (partitioned ? hang : real.get(...args)),
      create: (...args) => (partitioned ? hang : real.create(...args)),
      replace: (...args) => (partitioned ? hang : real.replace(...args)),
    };
    const a = candidate('partition', 'a', { client: cutOff });
    await waitFor('a to lead', () => a.elector.isLeader());
    partitioned = true;
    const cutAt = Date.now();
    await waitFor('a to step down', () => a.events.includes('stopped'), { timeoutMs: 10_000, intervalMs: 50 });
    const tookMs = a.at.stopped! - cutAt;
    assert.ok(tookMs <= 3000 + 500, `stepped down after ${tookMs} ms (renew deadline 3 s)`);
    const spec = await readLease('partition');
    const expiresAt = Date.parse(spec!.renewTime!) + spec!.leaseDurationSeconds! * 1000;
    assert.ok(a.at.stopped! < expiresAt, 'it stepped down while the Lease was still valid, so no one else led at the same time');
    // Another replica takes over once the Lease expires.
    const b = candidate('partition', 'b');
    await waitFor('b to lead', () => b.elector.isLeader(), { timeoutMs: 10_000 });
    assert.equal(Date.now() >= expiresAt, true, 'not before the Lease expired');
    assert.equal((await readLease('partition'))?.holderIdentity, 'b');
    partitioned = false;
    await a.elector.stop();
    assert.equal((await readLease('partition'))?.holderIdentity, 'b', 'the old leader does not release a Lease it lost');
  });

  it('takes over at once a Lease whose holder stopped renewing long ago, counting the transition', async () => {
    const stale = microTime(new Date(Date.now() - 60_000));
    await client.create<Lease>(Resources.leases, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'stale', namespace: NS },
      spec: { holderIdentity: 'ghost', leaseDurationSeconds: 15, acquireTime: stale, renewTime: stale, leaseTransitions: 4 },
    });
    const a = candidate('stale', 'a');
    await waitFor('a to lead', () => a.elector.isLeader(), { timeoutMs: 15_000, intervalMs: 50 });
    const spec = await readLease('stale');
    assert.equal(spec?.holderIdentity, 'a');
    assert.equal(spec?.leaseTransitions, 5);
    assert.ok(Date.parse(spec!.acquireTime!) > Date.parse(stale), 'acquireTime is the takeover');
  });

  it('leaves alone a Lease that another holder keeps valid', async () => {
    const held = await client.create<Lease>(Resources.leases, {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: 'held', namespace: NS },
      spec: { holderIdentity: 'other', leaseDurationSeconds: 60, renewTime: microTime(new Date()), leaseTransitions: 0 },
    });
    // Its own client, so its attempts can be counted: each reads the Lease once. Five, at a 0.5 s retry period.
    const own = createKubeClient({ kubeconfigPath: cp.kubeconfigPath });
    const a = candidate('held', 'a', { client: own });
    await waitFor('five attempts at the Lease', () => (own.requestCounts().GET ?? 0) >= 5);
    assert.equal(a.elector.isLeader(), false);
    assert.deepEqual(a.events, []);
    assert.equal((await readLease('held'))?.holderIdentity, 'other');
    assert.equal((await client.get<Lease>(Resources.leases, NS, 'held'))?.metadata.resourceVersion, held.metadata.resourceVersion, 'never written');
    await a.elector.stop();
    assert.equal((await readLease('held'))?.holderIdentity, 'other', 'stopping a candidate releases nothing');
  });
});
