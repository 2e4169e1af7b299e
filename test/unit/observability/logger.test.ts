import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Logger } from 'pino';
import { createLogger, objectLogger, scrubPem } from '../../../src/observability/logger.ts';

const pem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
const rsaPem = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs1' }) as string;
// A line of the key's base64 body: if any of it shows up, key material leaked.
const keyBody = pem.split('\n')[1]!;
const base64 = (s: string) => Buffer.from(s).toString('base64');

function capture(level = 'debug') {
  const lines: string[] = [];
  const log = createLogger({ level, destination: { write: (s: string) => void lines.push(s) } });
  return { log, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

function assertNoKeyMaterial(text: string) {
  assert.ok(!text.includes(keyBody), `key body leaked: ${text}`);
  assert.ok(!text.includes('PRIVATE KEY'), `PEM armour leaked: ${text}`);
  assert.ok(!text.includes(base64(pem)), `base64 of the key leaked: ${text}`);
}

const secret = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'web-tls', namespace: 'shop', annotations: { note: 'x' } },
  type: 'kubernetes.io/tls',
  data: { 'tls.key': base64(pem), 'tls.crt': base64('cert') },
};

describe('logger: key material never reaches the output', () => {
  const cases: { name: string; write: (log: Logger) => void }[] = [
    { name: 'a top-level privateKey', write: (log) => log.info({ privateKey: pem }, 'issued') },
    { name: 'a top-level privateKeyPem', write: (log) => log.info({ privateKeyPem: pem }, 'issued') },
    { name: 'a top-level tsigSecret, password and token', write: (log) => log.info({ tsigSecret: pem, password: pem, token: pem }, 'x') },
    { name: 'a Secret data map at the top level', write: (log) => log.info({ data: { 'tls.key': base64(pem) } }, 'wrote') },
    { name: 'a nested privateKey', write: (log) => log.info({ result: { privateKey: pem } }, 'issued') },
    { name: 'a nested key', write: (log) => log.info({ keyPair: { key: pem, cert: 'c' } }, 'generated') },
    { name: 'a nested ["tls.key"]', write: (log) => log.info({ files: { 'tls.key': pem } }, 'read') },
    { name: 'a nested data map', write: (log) => log.info({ secret: { data: { 'tls.key': base64(pem) } } }, 'wrote') },
    { name: 'a key two levels down', write: (log) => log.info({ a: { b: { privateKey: pem, 'tls.key': pem, key: pem } } }, 'x') },
    { name: 'a key deeper than the redaction paths reach', write: (log) => log.info({ a: { b: { c: { d: { privateKey: pem } } } } }, 'x') },
    { name: 'a key inside an array', write: (log) => log.info({ items: [{ privateKey: pem }, { tsigSecret: pem }] }, 'x') },
    { name: 'a PEM key under a field name nobody thought of', write: (log) => log.info({ material: pem, nested: { blob: rsaPem } }, 'x') },
    { name: 'a PEM key in the message', write: (log) => log.info(`parsed ${pem}`) },
    { name: 'a PEM key in an error message', write: (log) => log.error({ err: new Error(`bad key ${pem}`) }, 'failed') },
    { name: 'a PEM key in an error logged on its own', write: (log) => log.error(new Error(`bad key ${rsaPem}`)) },
    { name: 'a whole Secret object', write: (log) => log.info({ secret }, 'read') },
    { name: 'a list of Secret objects', write: (log) => log.info({ items: [secret, secret] }, 'listed') },
    { name: 'a key in child logger bindings', write: (log) => log.child({ issuer: { privateKey: pem }, obj: secret }).info('x') },
    { name: 'a Secret in a grandchild’s bindings', write: (log) => log.child({ a: 1 }).child({ secret }).info('x') },
    {
      name: 'a key given to objectLogger’s child',
      write: (log) => objectLogger(log, { kind: 'Certificate', namespace: 'a', name: 'b' }).info({ privateKey: pem }, 'x'),
    },
  ];
  for (const c of cases) {
    it(`hides ${c.name}`, () => {
      const { log, lines } = capture();
      c.write(log);
      assert.equal(lines.length, 1);
      assertNoKeyMaterial(lines[0]!);
    });
  }

  it('does not change the object the caller logged', () => {
    const { log } = capture();
    const obj = { result: { privateKey: pem }, secret };
    log.info(obj, 'x');
    log.child(obj).info('y');
    assert.equal(obj.result.privateKey, pem);
    assert.equal(obj.secret.data['tls.key'], base64(pem));
  });
});

describe('logger: what it does print', () => {
  it('prints a Kubernetes object as its kind, namespace and name only', () => {
    const { log, records } = capture();
    log.info({ secret, list: [{ metadata: { name: 'cm', namespace: 'ns' }, data: { a: '1' } }] }, 'read');
    const r = records()[0]!;
    assert.deepEqual(r['secret'], { kind: 'Secret', namespace: 'shop', name: 'web-tls' });
    assert.deepEqual(r['list'], [{ namespace: 'ns', name: 'cm' }]);
  });

  const kept: { name: string; fields: Record<string, unknown> }[] = [
    { name: 'the work-queue key at the top level', fields: { key: 'shop/web-tls' } },
    { name: 'plain fields and nested plain objects', fields: { controller: 'certificates', attempt: 3, ref: { name: 'ca', kind: 'Issuer' } } },
    { name: 'a certificate (not a key) PEM', fields: { chain: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n' } },
    { name: 'metadata without content (an object reference)', fields: { owner: { metadata: { name: 'x' } } } },
  ];
  for (const c of kept) {
    it(`keeps ${c.name}`, () => {
      const { log, records } = capture();
      log.info(c.fields, 'msg');
      const r = records()[0]!;
      for (const [k, v] of Object.entries(c.fields)) assert.deepEqual(r[k], v);
    });
  }

  it('writes JSON lines with a level label, ISO time, component and message', () => {
    const { log, records } = capture();
    log.info('started');
    const r = records()[0]!;
    assert.equal(r['level'], 'info');
    assert.equal(r['msg'], 'started');
    assert.equal(r['component'], 'certsmith');
    assert.match(String(r['time']), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('writes nothing below its level', () => {
    const { log, lines } = capture('info');
    log.debug('hidden');
    log.info('shown');
    assert.equal(lines.length, 1);
  });

  it('serializes errors with their message and type', () => {
    const { log, records } = capture();
    log.error({ err: Object.assign(new Error('apply failed'), { code: 'KubeConflict' }) }, 'failed');
    const err = records()[0]!['err'] as Record<string, unknown>;
    assert.equal(err['message'], 'apply failed');
    assert.equal(err['type'], 'Error');
    assert.equal(err['code'], 'KubeConflict');
  });
});

describe('objectLogger', () => {
  const cases: { name: string; ref: { kind: string; namespace?: string; name: string }; expected: Record<string, string> }[] = [
    {
      name: 'a namespaced object carries kind, namespace and name',
      ref: { kind: 'Certificate', namespace: 'shop', name: 'web' },
      expected: { kind: 'Certificate', namespace: 'shop', name: 'web' },
    },
    {
      name: 'a cluster-scoped object carries kind and name',
      ref: { kind: 'ClusterIssuer', name: 'letsencrypt' },
      expected: { kind: 'ClusterIssuer', name: 'letsencrypt' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const { log, records } = capture();
      objectLogger(log, c.ref).info('reconciled');
      const r = records()[0]!;
      assert.deepEqual({ kind: r['kind'], namespace: r['namespace'], name: r['name'] }, { namespace: undefined, ...c.expected });
    });
  }
});

describe('scrubPem', () => {
  const cases: { name: string; text: string; expected: string }[] = [
    { name: 'a PKCS#8 key is replaced', text: `a ${pem}b`, expected: 'a [redacted]\nb' },
    { name: 'a PKCS#1 RSA key is replaced', text: rsaPem, expected: '[redacted]\n' },
    { name: 'a truncated key is replaced to the end', text: `x ${pem.slice(0, 60)}`, expected: 'x [redacted]' },
    { name: 'text without a key is unchanged', text: 'nothing here', expected: 'nothing here' },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(scrubPem(c.text), c.expected));
  }
});
