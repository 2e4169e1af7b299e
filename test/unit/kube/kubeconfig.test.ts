import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { isCertsmithError } from '../../../src/errors.ts';
import {
  createTokenSource,
  inClusterTarget,
  loadKubeAccess,
  mergeKubeconfigs,
  parseKubeconfig,
  selectContext,
  type KubeFallback,
} from '../../../src/kube/kubeconfig.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'certsmith-kubeconfig-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(rel: string, text: string): string {
  const file = path.join(tmp, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

// A kubeconfig with one context `ctx` over cluster `c` and user `u`, given as JSON (JSON is YAML).
function doc(cluster: object, user?: object, extra: object = {}) {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': 'ctx',
    clusters: [{ name: 'c', cluster }],
    users: user ? [{ name: 'u', user }] : [],
    contexts: [{ name: 'ctx', context: { cluster: 'c', ...(user ? { user: 'u' } : {}) } }],
    ...extra,
  });
}

const throwsConfig = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (err: unknown) => isCertsmithError(err, 'ConfigInvalid') && pattern.test(err.message));

describe('selectContext', () => {
  const server = 'https://10.0.0.1:6443';
  const cases = [
    {
      name: 'inline data, token, tls-server-name, insecure, trailing slash trimmed',
      cluster: { server: `${server}/`, 'certificate-authority-data': b64('CA'), 'tls-server-name': 'api', 'insecure-skip-tls-verify': true },
      user: { 'client-certificate-data': b64('CRT'), 'client-key-data': b64('KEY'), token: 'tok' },
      want: { caData: b64('CA'), certData: b64('CRT'), keyData: b64('KEY'), token: 'tok', tlsServerName: 'api', insecureSkipTlsVerify: true },
    },
    {
      name: 'relative file references resolve against the kubeconfig directory',
      cluster: { server, 'certificate-authority': 'pki/ca.crt' },
      user: { 'client-certificate': '../crt.pem', 'client-key': '/abs/key.pem', tokenFile: 'tok' },
      want: { caFile: '/etc/kube/pki/ca.crt', certFile: '/etc/crt.pem', keyFile: '/abs/key.pem', tokenFile: '/etc/kube/tok' },
    },
    {
      name: 'inline data wins over a file; a token wins over a token file',
      cluster: { server, 'certificate-authority': 'ca.crt', 'certificate-authority-data': b64('CA') },
      user: { token: 'tok', tokenFile: 'tok-file' },
      want: { caData: b64('CA'), token: 'tok' },
    },
    {
      name: "client-node's token-file spelling",
      cluster: { server },
      user: { 'token-file': 't' },
      want: { tokenFile: '/etc/kube/t' },
    },
    { name: 'a context without a user is anonymous', cluster: { server }, user: undefined, want: {} },
    {
      name: 'insecure-skip-tls-verify must be a boolean true',
      cluster: { server, 'insecure-skip-tls-verify': 'true' },
      user: {},
      want: {},
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const t = selectContext(parseKubeconfig(doc(c.cluster, c.user), '/etc/kube/config'));
      assert.deepEqual(t, { kind: 'direct', context: 'ctx', server, ...c.want });
    });
  }

  const fallbacks = [
    { name: 'exec plugin', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'aws' } }, reason: /user "u" sets exec/ },
    { name: 'auth-provider', user: { 'auth-provider': { name: 'oidc', config: {} } }, reason: /auth-provider/ },
    { name: 'basic auth', user: { username: 'a', password: 'b' }, reason: /username.*password/ },
    { name: 'impersonation', user: { token: 't', as: 'someone' }, reason: /sets as$/ },
    { name: 'proxy', user: { token: 't' }, cluster: { 'proxy-url': 'http://proxy:3128' }, reason: /cluster "c" sets proxy-url/ },
  ];
  for (const c of fallbacks) {
    it(`falls back to client-node for ${c.name}`, () => {
      const t = selectContext(parseKubeconfig(doc({ server, 'certificate-authority': 'ca.crt', ...c.cluster }, c.user), '/etc/kube/config'));
      assert.equal(t.kind, 'fallback');
      const f = t as KubeFallback;
      assert.match(f.reason, c.reason);
      assert.equal(f.server, server);
      assert.equal(f.context, 'ctx');
      // The document holds the selected entries only, with file paths made absolute for client-node.
      const d = f.document as { clusters: { cluster: Record<string, unknown> }[]; users: { user: unknown }[]; 'current-context': string };
      assert.equal(d['current-context'], 'ctx');
      assert.equal(d.clusters[0]?.cluster['certificate-authority'], '/etc/kube/ca.crt');
      assert.deepEqual(d.users[0]?.user, c.user);
    });
  }

  it('client-node reads the fallback document as the same context', async () => {
    const { KubeConfig } = await import('@kubernetes/client-node');
    const f = selectContext(
      parseKubeconfig(doc({ server, 'certificate-authority': 'ca.crt' }, { exec: { command: 'x', apiVersion: 'v1' } }), '/etc/kube/config'),
    ) as KubeFallback;
    const kc = new KubeConfig();
    kc.loadFromString(JSON.stringify(f.document));
    assert.equal(kc.getCurrentCluster()?.server, server);
    assert.equal(kc.getCurrentCluster()?.caFile, '/etc/kube/ca.crt');
    assert.equal(kc.getCurrentUser()?.exec?.command, 'x');
  });

  const errors = [
    { name: 'no current-context', text: doc({ server }, {}, { 'current-context': '' }), pattern: /no current-context in \/k\/config/ },
    { name: 'unknown context', text: doc({ server }, {}, { 'current-context': 'nope' }), pattern: /context "nope" is not defined in \/k\/config/ },
    {
      name: 'context names a missing cluster',
      text: doc({ server }, {}, { contexts: [{ name: 'ctx', context: { cluster: 'gone', user: 'u' } }] }),
      pattern: /names cluster "gone", which \/k\/config does not define/,
    },
    {
      name: 'context names a missing user',
      text: doc({ server }, {}, { contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'ghost' } }] }),
      pattern: /names user "ghost", which \/k\/config does not define/,
    },
    { name: 'cluster without server', text: doc({}, {}), pattern: /cluster "c" in \/k\/config has no server/ },
    { name: 'entry without name', text: doc({ server }, {}, { users: [{ user: {} }] }), pattern: /\/k\/config: users\[0\]\.name is missing/ },
    { name: 'not YAML', text: 'clusters: [', pattern: /\/k\/config is not valid YAML/ },
    { name: 'not a mapping', text: '- a\n- b\n', pattern: /\/k\/config is not a mapping/ },
    { name: 'several documents', text: 'a: 1\n---\nb: 2\n', pattern: /\/k\/config holds 2 YAML documents/ },
  ];
  for (const c of errors) {
    it(`rejects: ${c.name}`, () => throwsConfig(() => selectContext(parseKubeconfig(c.text, '/k/config')), c.pattern));
  }

  it('selects a given context instead of current-context', () => {
    const text = doc(
      { server },
      { token: 'a' },
      {
        clusters: [
          { name: 'c', cluster: { server } },
          { name: 'c2', cluster: { server: 'https://other' } },
        ],
        contexts: [
          { name: 'ctx', context: { cluster: 'c', user: 'u' } },
          { name: 'ctx2', context: { cluster: 'c2', user: 'u' } },
        ],
      },
    );
    const t = selectContext(parseKubeconfig(text, '/k/config'), 'ctx2');
    assert.equal(t.server, 'https://other');
    assert.equal(t.context, 'ctx2');
  });

  for (const text of ['', '# nothing\n', '---\n']) {
    it(`reads ${JSON.stringify(text)} as an empty config`, () => {
      throwsConfig(() => selectContext(parseKubeconfig(text, '/k/empty')), /no current-context in \/k\/empty/);
    });
  }
});

describe('mergeKubeconfigs', () => {
  it('first file that sets a name or current-context wins; paths stay relative to their own file', () => {
    const a = parseKubeconfig(
      JSON.stringify({
        'current-context': 'first',
        contexts: [{ name: 'first', context: { cluster: 'shared', user: 'only-b' } }],
        clusters: [{ name: 'shared', cluster: { server: 'https://a', 'certificate-authority': 'ca.crt' } }],
      }),
      '/a/config',
    );
    const b = parseKubeconfig(
      JSON.stringify({
        'current-context': 'second',
        contexts: [{ name: 'second', context: { cluster: 'shared', user: 'only-b' } }],
        clusters: [{ name: 'shared', cluster: { server: 'https://b' } }],
        users: [{ name: 'only-b', user: { 'client-certificate': 'crt', 'client-key': 'key' } }],
      }),
      '/b/config',
    );
    const m = mergeKubeconfigs([a, b]);
    assert.deepEqual(m.sources, ['/a/config', '/b/config']);
    assert.deepEqual(selectContext(m), {
      kind: 'direct',
      context: 'first',
      server: 'https://a',
      caFile: '/a/ca.crt',
      certFile: '/b/crt',
      keyFile: '/b/key',
    });
    assert.equal(selectContext(mergeKubeconfigs([b, a])).server, 'https://b');
  });
});

describe('inClusterTarget', () => {
  const cases = [
    { env: { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, server: 'https://10.96.0.1:443' },
    { env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, server: 'https://[fd00::1]:443' },
    { env: { KUBERNETES_SERVICE_HOST: 'api', KUBERNETES_SERVICE_PORT: '8080' }, server: 'http://api:8080' },
  ];
  for (const c of cases) {
    it(`${c.env.KUBERNETES_SERVICE_HOST}:${c.env.KUBERNETES_SERVICE_PORT} → ${c.server}`, () => {
      assert.deepEqual(inClusterTarget(c.env, '/sa'), {
        kind: 'direct',
        context: 'inCluster',
        server: c.server,
        caFile: '/sa/ca.crt',
        tokenFile: '/sa/token',
      });
    });
  }
  it('names the missing variables', () => throwsConfig(() => inClusterTarget({}, '/sa'), /KUBERNETES_SERVICE_HOST/));
});

describe('loadKubeAccess', () => {
  write('files/pki/ca.crt', 'CA PEM');
  write('files/pki/client.crt', 'CLIENT CRT');
  write('files/pki/client.key', 'CLIENT KEY');
  const main = write(
    'files/config',
    doc({ server: 'https://main:6443', 'certificate-authority': 'pki/ca.crt' }, { 'client-certificate': 'pki/client.crt', 'client-key': 'pki/client.key' }),
  );
  const other = write('other/config', doc({ server: 'https://other:6443' }, { token: 't' }, { 'current-context': 'ctx' }));
  const home = path.join(tmp, 'home');
  write('home/.kube/config', doc({ server: 'https://home:6443' }, { token: 'h' }));
  const sa = path.join(tmp, 'sa');
  write('sa/token', 'sa-token\n');
  write('sa/ca.crt', 'SA CA');
  const inCluster = { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' };

  const cases = [
    { name: 'an explicit path wins over KUBECONFIG and HOME', opts: { path: main, env: { KUBECONFIG: other, HOME: home } }, server: 'https://main:6443' },
    { name: 'an explicit list of paths merges', opts: { path: `${other}:${main}`, env: {} }, server: 'https://other:6443' },
    { name: 'KUBECONFIG wins over HOME', opts: { env: { KUBECONFIG: `:${main}:${other}`, HOME: home } }, server: 'https://main:6443' },
    { name: '~/.kube/config wins over the service account', opts: { env: { HOME: home, ...inCluster }, serviceAccountDir: sa }, server: 'https://home:6443' },
    { name: 'in-cluster last', opts: { env: { HOME: tmp, ...inCluster }, serviceAccountDir: sa }, server: 'https://10.96.0.1:443' },
  ];
  for (const c of cases) it(c.name, () => assert.equal(loadKubeAccess(c.opts).server, c.server));

  it('reads the CA and the client key pair named by relative paths', () => {
    const a = loadKubeAccess({ path: main, env: {} });
    assert.equal(a.kind, 'direct');
    if (a.kind !== 'direct') return;
    assert.equal(a.ca?.toString(), 'CA PEM');
    assert.equal(a.cert?.toString(), 'CLIENT CRT');
    assert.equal(a.key?.toString(), 'CLIENT KEY');
  });

  it('in-cluster: reads the CA, keeps the token as a file to re-read', () => {
    const a = loadKubeAccess({ env: inCluster, serviceAccountDir: sa });
    assert.deepEqual(a, { kind: 'direct', context: 'inCluster', server: 'https://10.96.0.1:443', ca: Buffer.from('SA CA'), tokenFile: path.join(sa, 'token') });
  });

  it('returns the fallback for an exec user without reading anything else', () => {
    const f = write('exec/config', doc({ server: 'https://eks' }, { exec: { command: 'aws' } }));
    const a = loadKubeAccess({ path: f, env: {} });
    assert.equal(a.kind, 'fallback');
    assert.equal(a.server, 'https://eks');
  });

  const errors = [
    { name: 'a missing kubeconfig', opts: { path: path.join(tmp, 'nope'), env: {} }, pattern: /cannot read kubeconfig .*nope/ },
    { name: 'a missing file in KUBECONFIG', opts: { env: { KUBECONFIG: `${main}:${path.join(tmp, 'gone')}` } }, pattern: /cannot read kubeconfig .*gone/ },
    {
      name: 'a missing CA file',
      opts: { path: write('badca/config', doc({ server: 'https://x', 'certificate-authority': 'ca.crt' })), env: {} },
      pattern: /cannot read the certificate authority .*badca\/ca\.crt/,
    },
    { name: 'nothing configured', opts: { env: { HOME: tmp }, serviceAccountDir: path.join(tmp, 'no-sa') }, pattern: /no Kubernetes cluster configured/ },
  ];
  for (const c of errors) it(`rejects ${c.name}`, () => throwsConfig(() => loadKubeAccess(c.opts), c.pattern));
});

describe('createTokenSource', () => {
  it('re-reads the token once it is older than maxAge, and keeps the last one when a re-read fails', () => {
    const file = write('tok/token', 'one\n');
    let now = 0;
    const token = createTokenSource(file, () => now, 60_000);
    assert.equal(token(), 'one');
    fs.writeFileSync(file, 'two');
    now = 59_999;
    assert.equal(token(), 'one');
    now = 60_000;
    assert.equal(token(), 'two');
    fs.rmSync(file);
    now = 200_000;
    assert.equal(token(), 'two');
  });
  it('throws when the first read fails', () => {
    throwsConfig(() => createTokenSource(path.join(tmp, 'no-token'))(), /cannot read the bearer token file .*no-token/);
  });
});
