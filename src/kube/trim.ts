// Informer transforms: what the operator caches is what it reads, not what the API server sends. managedFields is
// never read and is often the larger half of an object (one nested object per field per manager); a Certificate
// applied with client-side `kubectl apply` carries a second copy of itself in an annotation. With 10,000
// Certificates and their Secrets cached, these are tens of MiB.
import type { KubeObject, ObjectMeta } from '../api/meta.ts';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

/** The object without metadata.managedFields (a PUT without them leaves the server's untouched). */
export function withoutManagedFields<T extends KubeObject>(obj: T): T {
  const meta = obj.metadata as ObjectMeta & { managedFields?: unknown };
  if (meta.managedFields === undefined) return obj;
  const { managedFields: _drop, ...metadata } = meta;
  return { ...obj, metadata };
}

/**
 * For objects the operator only reads and server-side-applies (never PUTs): without managedFields and without
 * kubectl's last-applied copy.
 */
export function trimForCache<T extends KubeObject>(obj: T): T {
  const trimmed = withoutManagedFields(obj);
  const annotations = trimmed.metadata.annotations;
  if (!annotations || !(LAST_APPLIED in annotations)) return trimmed;
  const { [LAST_APPLIED]: _drop, ...rest } = annotations;
  return { ...trimmed, metadata: { ...trimmed.metadata, annotations: rest } };
}

/**
 * Shares equal strings among cached objects: JSON.parse gives every object its own copy of "certsmith.dev/v1alpha1",
 * of the issuer's name, of each condition's reason and message, and the ca.crt of every Secret signed by one CA is
 * the same kilobyte. Remembers at most `max` distinct values, then starts afresh: values seen once (names, uids)
 * cost a little churn, never unbounded memory.
 */
export function createInterner(max = 4096): (value: string) => string {
  let seen = new Map<string, string>();
  return (value) => {
    const hit = seen.get(value);
    if (hit !== undefined) return hit;
    if (seen.size >= max) seen = new Map();
    seen.set(value, value);
    return value;
  };
}

/** Longest string worth sharing in a generic walk: longer ones are a certificate or a key, unique per object. */
const SHARED_MAX_LENGTH = 128;

/**
 * Replaces every short string in the object (keys are already shared by V8) with its interned copy, in place: an
 * informer's transform owns the freshly parsed object it is given, and a copy would be larger than the original
 * (JSON.parse lays out properties more tightly than objects built key by key).
 */
export function internStringsInPlace<T>(value: T, intern: (s: string) => string): T {
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = internValue(value[i], intern);
  } else if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    for (const k of Object.keys(obj)) obj[k] = internValue(obj[k], intern);
  }
  return value;
}

function internValue(v: unknown, intern: (s: string) => string): unknown {
  if (typeof v === 'string') return v.length <= SHARED_MAX_LENGTH ? intern(v) : v;
  return internStringsInPlace(v, intern);
}
