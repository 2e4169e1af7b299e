// pino JSON logs. Key material is kept out in three ways: redaction by field name (pino's `redact`, two levels
// deep), a walk of each log object that censors those names at any depth and any PEM private key block in any
// string, and Kubernetes objects reduced to {kind, namespace, name} — an object is never logged whole.
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export const CENSOR = '[redacted]';

// Field names that hold key material, or (data, stringData) a Secret's whole content.
const SECRET_FIELDS = ['privateKey', 'privateKeyPem', 'keyPem', 'key', 'tls.key', 'data', 'stringData', 'tsigSecret', 'password', 'token'];
// At the top level `key` is the work-queue key ("namespace/name"), which logs must show.
const TOP_LEVEL_ALLOWED = new Set(['key']);
const SECRET_SET = new Set(SECRET_FIELDS);
const MAX_WALK_DEPTH = 8;

const PEM_PRIVATE_KEY = /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g;

/** Replaces every PEM private key block (even a truncated one) in the text. */
export function scrubPem(text: string): string {
  return text.includes('PRIVATE KEY-----') ? text.replace(PEM_PRIVATE_KEY, CENSOR) : text;
}

function redactPaths(): string[] {
  const paths: string[] = [];
  for (const f of SECRET_FIELDS) {
    const step = /^[A-Za-z_$][\w$]*$/.test(f) ? `.${f}` : `["${f}"]`;
    if (!TOP_LEVEL_ALLOWED.has(f)) paths.push(step.startsWith('.') ? f : step);
    paths.push(`*${step}`, `*.*${step}`);
  }
  return paths;
}

type KubeRef = { kind?: string; namespace?: string; name?: string };

/** A Kubernetes object: metadata with a name, and a kind, apiVersion or one of the usual content fields. */
function isKubeObject(v: object): v is { kind?: unknown; metadata: { name?: unknown; namespace?: unknown } } {
  const o = v as Record<string, unknown>;
  const meta = o['metadata'];
  if (typeof meta !== 'object' || meta === null) return false;
  const m = meta as Record<string, unknown>;
  if (typeof m['name'] !== 'string' && typeof m['generateName'] !== 'string') return false;
  return ['kind', 'apiVersion', 'spec', 'status', 'data', 'stringData'].some((f) => o[f] !== undefined);
}

/** What logs say about a Kubernetes object instead of the object. */
export function objectRef(obj: { kind?: unknown; metadata?: { name?: unknown; namespace?: unknown } }): KubeRef {
  const ref: KubeRef = {};
  if (typeof obj.kind === 'string') ref.kind = obj.kind;
  if (typeof obj.metadata?.namespace === 'string') ref.namespace = obj.metadata.namespace;
  if (typeof obj.metadata?.name === 'string') ref.name = obj.metadata.name;
  return ref;
}

function isPlainObject(v: object): v is Record<string, unknown> {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function sanitize(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return scrubPem(value);
  if (typeof value !== 'object' || value === null || depth > MAX_WALK_DEPTH) return value;
  if (Array.isArray(value)) return value.map((v) => sanitize(v, depth + 1));
  if (isKubeObject(value)) return objectRef(value);
  if (!isPlainObject(value)) return value; // Errors go through the err serializer; dates, buffers as they are
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    const secret = SECRET_SET.has(k) && !(depth === 0 && TOP_LEVEL_ALLOWED.has(k));
    out[k] = secret && v !== undefined ? CENSOR : sanitize(v, depth + 1);
  }
  return out;
}

function sanitizeTop(obj: Record<string, unknown>): Record<string, unknown> {
  return sanitize(obj, 0) as Record<string, unknown>;
}

function errSerializer(err: unknown): unknown {
  const s = pino.stdSerializers.err(err as Error) as unknown;
  if (typeof s !== 'object' || s === null) return s;
  return sanitize({ ...s }, 1); // a plain copy, so the walk looks inside (message, stack, extra fields)
}

function loggerOptions(level: string): LoggerOptions {
  return {
    level,
    base: { component: 'certsmith' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: redactPaths(), censor: CENSOR },
    serializers: { err: errSerializer, msg: (m: unknown) => (typeof m === 'string' ? scrubPem(m) : m) },
    formatters: {
      level: (label) => ({ level: label }),
      bindings: sanitizeTop,
      log: sanitizeTop,
    },
  };
}

export function createLogger(opts: { level: string; destination?: DestinationStream }): Logger {
  const options = loggerOptions(opts.level);
  const logger = opts.destination ? pino(options, opts.destination) : pino(options);
  // pino applies formatters.bindings to the root's bindings only, so children get theirs walked here. Children
  // are created with Object.create(parent), so grandchildren inherit this wrapper.
  const pinoChild = logger.child;
  logger.child = function (this: Logger, bindings, childOptions) {
    return pinoChild.call(this, sanitizeTop(bindings), childOptions);
  } as Logger['child'];
  return logger;
}

/** One child logger per reconcile, carrying the object's identity and nothing of its content. */
export function objectLogger(parent: Logger, ref: { kind: string; namespace?: string; name: string }): Logger {
  return parent.child(ref.namespace ? { kind: ref.kind, namespace: ref.namespace, name: ref.name } : { kind: ref.kind, name: ref.name });
}
