// Which shard an object belongs to, the label that says so, and the selectors a replica watches with. Pure.
//
// A shard is one of N buckets of FNV-1a(namespace/name); the label value names N too ("1-of-3"), so objects labelled
// under another N fall back into the labeller's watch and are labelled again, and no replica ever selects them.
import { SHARD_LABEL } from '../api/labels.ts';

/** 32-bit FNV-1a over the UTF-8 bytes: stable across processes, versions and platforms (unlike a runtime hash). */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The shard of namespace/name among `shards` (0-based). A cluster-scoped object has namespace ''. */
export function shardOf(namespace: string | undefined, name: string, shards: number): number {
  return fnv1a32(`${namespace ?? ''}/${name}`) % shards;
}

export function shardLabelValue(shard: number, shards: number): string {
  return `${shard}-of-${shards}`;
}

/** The shard a label value names, if it names one under this N. */
export function parseShardLabel(value: string | undefined, shards: number): number | undefined {
  const m = value === undefined ? null : /^(0|[1-9]\d{0,4})-of-([1-9]\d{0,4})$/.exec(value);
  if (!m || Number(m[2]) !== shards) return undefined;
  const shard = Number(m[1]);
  return shard < shards ? shard : undefined;
}

/**
 * The shard an object is worked in: a valid label under this N wins (the shim labels the Certificates it makes with
 * the shard of their Ingress, so the replica that made them also caches them); otherwise the hash of `hashedName`.
 */
export function shardOfObject(meta: { namespace?: string; name: string; labels?: Record<string, string> }, shards: number, hashedName = meta.name): number {
  return parseShardLabel(meta.labels?.[SHARD_LABEL], shards) ?? shardOf(meta.namespace, hashedName, shards);
}

/**
 * The shard a Certificate without a label is put in: that of its Secret's name, so every Certificate naming one Secret
 * is worked by one replica, which then decides (as without shards) which of them writes it.
 */
export function certificateShard(
  c: { metadata: { namespace?: string; name: string; labels?: Record<string, string> }; spec?: { secretName?: string } },
  shards: number,
): number {
  return shardOfObject(c.metadata, shards, c.spec?.secretName || c.metadata.name);
}

/** The shard label a Certificate's Secret is written with: its Certificate's shard. */
export function certificateShardLabel(c: Parameters<typeof certificateShard>[0], shards: number): string {
  return shardLabelValue(certificateShard(c, shards), shards);
}

/** Selects the objects of these shards; with none, a value no object carries (an empty `in ()` is not valid). */
export function ownedShardsSelector(owned: readonly number[], shards: number): string {
  const values = [...owned].sort((a, b) => a - b).map((s) => shardLabelValue(s, shards));
  return `${SHARD_LABEL} in (${values.length > 0 ? values.join(',') : 'none'})`;
}

/** Selects the objects without a valid label under this N: the labeller's watch. `notin` also matches no label. */
export function unlabelledSelector(shards: number): string {
  return `${SHARD_LABEL} notin (${Array.from({ length: shards }, (_, s) => shardLabelValue(s, shards)).join(',')})`;
}

/** Most shards one replica may hold when `members` replicas are alive: ceil(N / members). */
export function fairShare(shards: number, members: number): number {
  return Math.ceil(shards / Math.max(1, members));
}
