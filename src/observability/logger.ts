// pino JSON logs. Key material is redacted by path wherever it could appear, and objects are never logged whole.
import pino, { type DestinationStream, type Logger } from 'pino';

const SECRET_FIELDS = ['privateKey', 'privateKeyPem', 'key', 'tls.key', 'data', 'stringData', 'tsigSecret', 'password', 'token', 'keyPem'];

function redactPaths(): string[] {
  const paths: string[] = [];
  for (const f of SECRET_FIELDS) {
    const p = f.includes('.') ? `["${f}"]` : `.${f}`;
    paths.push(p.startsWith('.') ? f : p);
    paths.push(`*${p}`);
    paths.push(`*.*${p}`);
  }
  return paths;
}

export function createLogger(opts: { level: string; destination?: DestinationStream }): Logger {
  return pino(
    {
      level: opts.level,
      base: { component: 'certsmith' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths(), censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.destination ?? pino.destination({ sync: false }),
  );
}

/** One child logger per reconcile, carrying the object's identity and nothing of its content. */
export function objectLogger(parent: Logger, ref: { kind: string; namespace?: string; name: string }): Logger {
  return parent.child(ref.namespace ? { kind: ref.kind, namespace: ref.namespace, name: ref.name } : { kind: ref.kind, name: ref.name });
}
