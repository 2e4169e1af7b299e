import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SHARD_LABEL } from '../../../src/api/labels.ts';
import {
  fairShare,
  fnv1a32,
  ownedShardsSelector,
  parseShardLabel,
  shardLabelValue,
  shardOf,
  certificateShard,
  shardOfObject,
  unlabelledSelector,
} from '../../../src/sharding/shards.ts';

describe('fnv1a32', () => {
  it('matches the published FNV-1a 32-bit test vectors', () => {
    assert.equal(fnv1a32(''), 0x811c9dc5);
    assert.equal(fnv1a32('a'), 0xe40c292c);
    assert.equal(fnv1a32('foobar'), 0xbf9cf968);
  });

  it('returns an unsigned 32-bit integer, also for non-ASCII input', () => {
    for (const text of ['', 'a', 'ns/name', 'é', '証明書', '\u{1f512}', 'x'.repeat(1000)]) {
      const h = fnv1a32(text);
      assert.ok(Number.isInteger(h) && h >= 0 && h <= 0xffffffff, `${text}: ${h}`);
    }
  });

  it('hashes the UTF-8 bytes, not the UTF-16 code units', () => {
    // 'é' is one UTF-16 code unit (0xE9) but two UTF-8 bytes (0xC3 0xA9).
    const step = (h: number, byte: number) => Math.imul(h ^ byte, 0x01000193) >>> 0;
    assert.equal(fnv1a32('é'), step(step(0x811c9dc5, 0xc3), 0xa9));
    assert.notEqual(fnv1a32('é'), step(0x811c9dc5, 0xe9));
  });
});

describe('shardOf', () => {
  it('is stable and hashes namespace/name', () => {
    for (let i = 0; i < 100; i++) {
      const first = shardOf('default', `cert-${i}`, 7);
      assert.equal(shardOf('default', `cert-${i}`, 7), first);
      assert.equal(first, fnv1a32(`default/cert-${i}`) % 7);
    }
  });

  it('treats a cluster-scoped object (no namespace) as namespace ""', () => {
    assert.equal(shardOf(undefined, 'issuer', 5), shardOf('', 'issuer', 5));
    assert.equal(shardOf(undefined, 'issuer', 5), fnv1a32('/issuer') % 5);
  });

  it('stays within [0, shards)', () => {
    for (const shards of [1, 2, 3, 8, 31]) {
      for (let i = 0; i < 500; i++) {
        const s = shardOf(`ns-${i % 7}`, `name-${i}`, shards);
        assert.ok(Number.isInteger(s) && s >= 0 && s < shards, `${shards}: ${s}`);
      }
    }
  });

  it('spreads 30,000 names over 3 shards evenly (each between 30% and 36.7%)', () => {
    const total = 30_000;
    const counts = [0, 0, 0];
    for (let i = 0; i < total; i++) counts[shardOf(`ns-${i % 50}`, `cert-${i}`, 3)]!++;
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      total,
    );
    for (const [shard, count] of counts.entries()) {
      assert.ok(count >= total * 0.3 && count <= total * 0.367, `shard ${shard} got ${count} of ${total}`);
    }
  });
});

describe('parseShardLabel', () => {
  it('reads a label under this shard count', () => {
    assert.equal(parseShardLabel('0-of-3', 3), 0);
    assert.equal(parseShardLabel('1-of-3', 3), 1);
    assert.equal(parseShardLabel('2-of-3', 3), 2);
    assert.equal(parseShardLabel('0-of-1', 1), 0);
    assert.equal(parseShardLabel('11-of-12', 12), 11);
  });

  it('round-trips shardLabelValue', () => {
    for (let s = 0; s < 10; s++) assert.equal(parseShardLabel(shardLabelValue(s, 10), 10), s);
  });

  it('rejects a label under another shard count', () => {
    assert.equal(parseShardLabel('1-of-4', 3), undefined);
    assert.equal(parseShardLabel('1-of-2', 3), undefined);
    assert.equal(parseShardLabel('0-of-30', 3), undefined);
  });

  it('rejects a shard out of range', () => {
    assert.equal(parseShardLabel('3-of-3', 3), undefined);
    assert.equal(parseShardLabel('4-of-3', 3), undefined);
    assert.equal(parseShardLabel('-1-of-3', 3), undefined);
  });

  it('rejects leading zeros', () => {
    assert.equal(parseShardLabel('01-of-3', 3), undefined);
    assert.equal(parseShardLabel('1-of-03', 3), undefined);
    assert.equal(parseShardLabel('00-of-3', 3), undefined);
    assert.equal(parseShardLabel('0-of-0', 0), undefined);
  });

  it('rejects garbage and a missing label', () => {
    for (const value of ['', 'garbage', '1', '1-of-', '-of-3', '1of3', '1-OF-3', ' 1-of-3', '1-of-3 ', '1-of-3\n', '1.0-of-3', 'one-of-three', '1-of-3-of-3']) {
      assert.equal(parseShardLabel(value, 3), undefined, JSON.stringify(value));
    }
    assert.equal(parseShardLabel(undefined, 3), undefined);
  });
});

describe('shardOfObject', () => {
  const meta = { namespace: 'team-a', name: 'web-tls' };
  const hashed = shardOf(meta.namespace, meta.name, 3);
  const other = (hashed + 1) % 3;

  it('follows a valid label under this shard count over the hash', () => {
    assert.equal(shardOfObject({ ...meta, labels: { [SHARD_LABEL]: shardLabelValue(other, 3) } }, 3), other);
  });

  it('falls back to the hash without a label, or with one under another count or invalid', () => {
    assert.equal(shardOfObject(meta, 3), hashed);
    assert.equal(shardOfObject({ ...meta, labels: {} }, 3), hashed);
    assert.equal(shardOfObject({ ...meta, labels: { unrelated: shardLabelValue(other, 3) } }, 3), hashed);
    assert.equal(shardOfObject({ ...meta, labels: { [SHARD_LABEL]: shardLabelValue(other, 4) } }, 3), hashed);
    assert.equal(shardOfObject({ ...meta, labels: { [SHARD_LABEL]: '3-of-3' } }, 3), hashed);
    assert.equal(shardOfObject({ ...meta, labels: { [SHARD_LABEL]: 'garbage' } }, 3), hashed);
  });

  it('hashes a cluster-scoped object with namespace ""', () => {
    assert.equal(shardOfObject({ name: 'issuer' }, 5), shardOf('', 'issuer', 5));
  });
});

describe('selectors', () => {
  it('ownedShardsSelector lists the owned shards sorted, without reordering its input', () => {
    const owned = [2, 0];
    assert.equal(ownedShardsSelector(owned, 3), `${SHARD_LABEL} in (0-of-3,2-of-3)`);
    assert.deepEqual(owned, [2, 0]);
    assert.equal(ownedShardsSelector([10, 9, 1], 12), `${SHARD_LABEL} in (1-of-12,9-of-12,10-of-12)`);
  });

  it("ownedShardsSelector selects 'none' when nothing is owned", () => {
    assert.equal(ownedShardsSelector([], 3), `${SHARD_LABEL} in (none)`);
  });

  it('unlabelledSelector excludes every valid label under this shard count', () => {
    assert.equal(unlabelledSelector(3), `${SHARD_LABEL} notin (0-of-3,1-of-3,2-of-3)`);
    assert.equal(unlabelledSelector(1), `${SHARD_LABEL} notin (0-of-1)`);
  });
});

describe('fairShare', () => {
  it('is ceil(shards / members)', () => {
    assert.equal(fairShare(3, 1), 3);
    assert.equal(fairShare(3, 2), 2);
    assert.equal(fairShare(3, 3), 1);
    assert.equal(fairShare(3, 4), 1);
    assert.equal(fairShare(10, 3), 4);
    assert.equal(fairShare(12, 4), 3);
  });

  it('treats 0 members as 1', () => {
    assert.equal(fairShare(3, 0), 3);
  });
});

describe('certificateShard', () => {
  it('puts Certificates naming one Secret in one shard, by the Secret name’s hash', () => {
    for (let i = 0; i < 50; i++) {
      const a = certificateShard({ metadata: { namespace: 'ns', name: `a-${i}` }, spec: { secretName: `s-${i}` } }, 7);
      const b = certificateShard({ metadata: { namespace: 'ns', name: `b-${i}` }, spec: { secretName: `s-${i}` } }, 7);
      assert.equal(a, b);
      assert.equal(a, shardOf('ns', `s-${i}`, 7));
    }
  });

  it('keeps a valid label (the shim’s) and falls back to the name without a secretName', () => {
    const labelled = { metadata: { namespace: 'ns', name: 'c', labels: { [SHARD_LABEL]: '2-of-3' } }, spec: { secretName: 'x' } };
    assert.equal(certificateShard(labelled, 3), 2);
    assert.equal(certificateShard({ metadata: { namespace: 'ns', name: 'c' } }, 3), shardOf('ns', 'c', 3));
  });
});
