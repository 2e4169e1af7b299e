// The pod certificate ledger: which pod holds a certificate of which CA generation, and how many a retiring generation
// may still have out there, counting the ones signed before this process started and never seen.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createPodCertificateLedger,
  issuerLedgerKey,
  type PodCertificateRecord,
  type RetiringGeneration,
} from '../../../../src/controllers/pod-certificates/ledger.ts';

const HOUR = 3_600_000;
const START = new Date('2030-01-01T00:00:00.000Z');
const MESH = issuerLedgerKey('ClusterIssuer', undefined, 'mesh');
const TEAM = issuerLedgerKey('Issuer', 'shop', 'team-ca');
const OLD = 'aa'.repeat(32);
const NEW = 'bb'.repeat(32);

const at = (ms: number) => new Date(START.getTime() + ms);

function rec(podUID: string, caFingerprint: string, o: Partial<PodCertificateRecord> = {}): PodCertificateRecord {
  return { issuer: MESH, namespace: 'shop', podName: `pod-${podUID}`, podUID, caFingerprint, notAfter: at(24 * HOUR), ...o };
}

/** A generation made after the ledger started: only records count for it. */
const fresh = (fingerprint: string): RetiringGeneration => ({ fingerprint, notBefore: at(HOUR) });

describe('issuerLedgerKey', () => {
  it('spells kind, namespace and name, with an empty namespace for a ClusterIssuer', () => {
    assert.equal(MESH, 'ClusterIssuer//mesh');
    assert.equal(TEAM, 'Issuer/shop/team-ca');
  });
});

describe('pod certificate ledger', () => {
  it('a new record for a pod replaces its earlier one for that issuer', () => {
    const ledger = createPodCertificateLedger(START);
    ledger.record(rec('p1', OLD));
    ledger.record(rec('p1', NEW, { notAfter: at(30 * HOUR) }));
    assert.equal(ledger.size(), 1);
    const now = at(2 * HOUR);
    assert.equal(ledger.countSignedBy({ issuer: MESH, generations: [fresh(OLD)], maxLifetimeMs: 0, now }), 0);
    assert.equal(ledger.countSignedBy({ issuer: MESH, generations: [fresh(NEW)], maxLifetimeMs: 0, now }), 1);
    assert.deepEqual(
      ledger.holders(MESH, new Set([NEW]), now).map((r) => r.notAfter),
      [at(30 * HOUR)],
    );
  });

  it('keeps one record per pod and issuer: a pod of two issuers holds one of each', () => {
    const ledger = createPodCertificateLedger(START);
    ledger.record(rec('p1', OLD));
    ledger.record(rec('p1', OLD, { issuer: TEAM }));
    assert.equal(ledger.size(), 2);
  });

  const counting: { name: string; records: PodCertificateRecord[]; issuer?: string; fingerprints: string[]; now?: number; want: number }[] = [
    { name: 'nothing recorded: 0', records: [], fingerprints: [OLD], want: 0 },
    { name: 'counts pods holding a certificate of the generation', records: [rec('p1', OLD), rec('p2', OLD), rec('p3', NEW)], fingerprints: [OLD], want: 2 },
    { name: 'counts every generation asked about', records: [rec('p1', OLD), rec('p2', OLD), rec('p3', NEW)], fingerprints: [OLD, NEW], want: 3 },
    { name: 'no generation asked about: 0', records: [rec('p1', OLD)], fingerprints: [], want: 0 },
    {
      name: "only that issuer's records",
      records: [rec('p1', OLD), rec('p2', OLD, { issuer: TEAM }), rec('p3', OLD, { issuer: issuerLedgerKey('ClusterIssuer', undefined, 'other') })],
      fingerprints: [OLD],
      want: 1,
    },
    { name: 'the other issuer, asked about', records: [rec('p1', OLD), rec('p2', OLD, { issuer: TEAM })], issuer: TEAM, fingerprints: [OLD], want: 1 },
    {
      name: 'an expired certificate no longer counts',
      records: [rec('p1', OLD, { notAfter: at(2 * HOUR) }), rec('p2', OLD, { notAfter: at(3 * HOUR) })],
      fingerprints: [OLD],
      now: 2 * HOUR + 1,
      want: 1,
    },
    {
      name: 'a certificate expiring right now no longer counts',
      records: [rec('p1', OLD, { notAfter: at(2 * HOUR) })],
      fingerprints: [OLD],
      now: 2 * HOUR,
      want: 0,
    },
    {
      name: 'a certificate expiring in a millisecond still counts',
      records: [rec('p1', OLD, { notAfter: at(2 * HOUR) })],
      fingerprints: [OLD],
      now: 2 * HOUR - 1,
      want: 1,
    },
  ];
  for (const c of counting) {
    it(`countSignedBy: ${c.name}`, () => {
      const ledger = createPodCertificateLedger(START);
      for (const r of c.records) ledger.record(r);
      const got = ledger.countSignedBy({ issuer: c.issuer ?? MESH, generations: c.fingerprints.map(fresh), maxLifetimeMs: 0, now: at(c.now ?? HOUR) });
      assert.equal(got, c.want);
    });
  }

  it('drops expired records for good', () => {
    const ledger = createPodCertificateLedger(START);
    ledger.record(rec('p1', OLD, { notAfter: at(2 * HOUR) }));
    ledger.record(rec('p2', OLD, { notAfter: at(5 * HOUR) }));
    assert.equal(ledger.countSignedBy({ issuer: MESH, generations: [fresh(OLD)], maxLifetimeMs: 0, now: at(3 * HOUR) }), 1);
    assert.equal(ledger.size(), 1);
    // Even asked about a time before it expired, a dropped record is gone.
    assert.equal(ledger.countSignedBy({ issuer: MESH, generations: [fresh(OLD)], maxLifetimeMs: 0, now: at(HOUR) }), 1);
  });

  it('forgetPod drops the pod, for every issuer, and no other', () => {
    const ledger = createPodCertificateLedger(START);
    ledger.record(rec('p1', OLD));
    ledger.record(rec('p1', OLD, { issuer: TEAM }));
    ledger.record(rec('p2', OLD));
    ledger.forgetPod('p1');
    assert.equal(ledger.size(), 1);
    assert.deepEqual(
      ledger.holders(MESH, new Set([OLD]), at(HOUR)).map((r) => r.podUID),
      ['p2'],
    );
    assert.deepEqual(ledger.holders(TEAM, new Set([OLD]), at(HOUR)), []);
    ledger.forgetPod('unknown');
    assert.equal(ledger.size(), 1);
  });

  it("holders lists that issuer's unexpired records of those generations", () => {
    const ledger = createPodCertificateLedger(START);
    const p1 = rec('p1', OLD);
    const p2 = rec('p2', NEW);
    const p3 = rec('p3', OLD, { notAfter: at(2 * HOUR) });
    const p4 = rec('p4', OLD, { issuer: TEAM });
    for (const r of [p1, p2, p3, p4]) ledger.record(r);
    assert.deepEqual(ledger.holders(MESH, new Set([OLD]), at(HOUR)), [p1, p3]);
    assert.deepEqual(ledger.holders(MESH, new Set([OLD]), at(3 * HOUR)), [p1]);
    assert.deepEqual(ledger.holders(MESH, new Set([OLD, NEW]), at(3 * HOUR)), [p1, p2]);
    assert.deepEqual(ledger.holders(TEAM, new Set([OLD]), at(3 * HOUR)), [p4]);
    assert.deepEqual(ledger.holders(MESH, new Set(), at(3 * HOUR)), []);
  });

  describe('generations older than the ledger', () => {
    const MAX = 24 * HOUR;
    const before: RetiringGeneration = { fingerprint: OLD, notBefore: at(-30 * 24 * HOUR) };
    const cases: {
      name: string;
      started?: Date;
      generations: RetiringGeneration[];
      maxLifetimeMs?: number;
      now: number;
      records?: PodCertificateRecord[];
      want: number;
    }[] = [
      { name: 'an older generation counts as one unseen certificate just after the start', generations: [before], now: 0, want: 1 },
      { name: 'still counts a millisecond before start + maxLifetime', generations: [before], now: MAX - 1, want: 1 },
      { name: 'no longer counts from start + maxLifetime: all it signed unseen has expired', generations: [before], now: MAX, want: 0 },
      { name: 'never counts when the issuer signs no pod certificates (maxLifetimeMs 0)', generations: [before], maxLifetimeMs: 0, now: 0, want: 0 },
      { name: 'a generation made after the start does not count unseen', generations: [fresh(OLD)], now: 0, want: 0 },
      {
        name: 'two older generations count one each',
        generations: [before, { fingerprint: NEW, notBefore: at(-1000) }],
        now: HOUR,
        want: 2,
      },
      {
        name: 'one unseen on top of the records seen',
        generations: [before],
        records: [rec('p1', OLD), rec('p2', OLD)],
        now: HOUR,
        want: 3,
      },
      {
        name: "a generation made in the ledger's first second is not older (CA times are whole seconds)",
        started: new Date('2030-01-01T00:00:00.700Z'),
        generations: [{ fingerprint: OLD, notBefore: new Date('2030-01-01T00:00:00.000Z') }],
        now: HOUR,
        want: 0,
      },
      {
        name: 'a generation made in the second before the start is older',
        started: new Date('2030-01-01T00:00:00.700Z'),
        generations: [{ fingerprint: OLD, notBefore: new Date('2029-12-31T23:59:59.000Z') }],
        now: HOUR,
        want: 1,
      },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const ledger = createPodCertificateLedger(c.started ?? START);
        for (const r of c.records ?? []) ledger.record(r);
        assert.equal(ledger.countSignedBy({ issuer: MESH, generations: c.generations, maxLifetimeMs: c.maxLifetimeMs ?? MAX, now: at(c.now) }), c.want);
      });
    }

    it('holders does not list the unseen: there is no pod to name', () => {
      const ledger = createPodCertificateLedger(START);
      assert.deepEqual(ledger.holders(MESH, new Set([OLD]), at(HOUR)), []);
      assert.equal(ledger.countSignedBy({ issuer: MESH, generations: [before], maxLifetimeMs: MAX, now: at(HOUR) }), 1);
    });
  });
});
