import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../../src/config/config.ts';

describe('parseConfig', () => {
  it('fills defaults', () => {
    const c = parseConfig([], {});
    assert.equal(c.clusterResourceNamespace, 'certsmith');
    assert.equal(c.leaderElect, true);
    assert.equal(c.leaderElectionNamespace, 'certsmith');
    assert.equal(c.healthPort, 9402);
  });
  it('reads flags in both --flag value and --flag=value forms, over the environment', () => {
    const c = parseConfig(['--workers', '4', '--leader-elect=false'], { CERTSMITH_WORKERS: '2', CERTSMITH_LOG_LEVEL: 'debug' });
    assert.equal(c.workers, 4);
    assert.equal(c.leaderElect, false);
    assert.equal(c.logLevel, 'debug');
  });
  it('leaves the ingress shim to certsmith.dev annotations by default: no default issuer, cert-manager annotations ignored', () => {
    const c = parseConfig([], {});
    assert.equal(c.defaultIssuerKind, 'ClusterIssuer');
    assert.equal(c.defaultIssuerName, undefined);
    assert.equal(c.honourCertManagerAnnotations, false);
  });
  it('reads the default issuer and the cert-manager migration switch from flags and the environment', () => {
    const c = parseConfig(['--default-issuer-kind', 'Issuer', '--default-issuer-name=letsencrypt', '--honour-cert-manager-annotations'], {});
    assert.equal(c.defaultIssuerKind, 'Issuer');
    assert.equal(c.defaultIssuerName, 'letsencrypt');
    assert.equal(c.honourCertManagerAnnotations, true, 'a bare boolean flag means true');
    const e = parseConfig([], { CERTSMITH_DEFAULT_ISSUER_NAME: 'le', CERTSMITH_HONOUR_CERT_MANAGER_ANNOTATIONS: 'true' });
    assert.equal(e.defaultIssuerName, 'le');
    assert.equal(e.honourCertManagerAnnotations, true);
    assert.equal(parseConfig(['--honour-cert-manager-annotations=false'], {}).honourCertManagerAnnotations, false);
  });
  const operatorNamespaces: { name: string; argv: string[]; env: Record<string, string>; expected: string }[] = [
    { name: 'defaults to the cluster-resource namespace', argv: ['--cluster-resource-namespace=infra'], env: {}, expected: 'infra' },
    {
      name: 'reads POD_NAMESPACE as the downward API sets it',
      argv: ['--cluster-resource-namespace=infra'],
      env: { POD_NAMESPACE: 'certsmith-system' },
      expected: 'certsmith-system',
    },
    {
      name: 'takes --operator-namespace over POD_NAMESPACE',
      argv: ['--operator-namespace', 'ops'],
      env: { POD_NAMESPACE: 'certsmith-system' },
      expected: 'ops',
    },
    { name: 'ignores an empty POD_NAMESPACE', argv: [], env: { POD_NAMESPACE: '' }, expected: 'certsmith' },
  ];
  for (const o of operatorNamespaces) {
    it(`operator namespace (where the HTTP-01 solver Service lives) ${o.name}`, () => {
      const c = parseConfig(o.argv, o.env);
      assert.equal(c.operatorNamespace, o.expected);
    });
  }
  it('keeps the cluster-resource namespace apart from the operator namespace', () => {
    const c = parseConfig(['--cluster-resource-namespace=infra'], { POD_NAMESPACE: 'certsmith-system' });
    assert.equal(c.clusterResourceNamespace, 'infra');
    assert.equal(c.leaderElectionNamespace, 'infra');
  });
  it('reads TrustBundle source namespaces besides the cluster-resource one: none by default, a comma list from a flag or the environment', () => {
    assert.deepEqual(parseConfig([], {}).trustBundleSourceNamespaces, []);
    assert.deepEqual(parseConfig(['--trust-bundle-source-namespaces', 'shared-cas, kube-public,'], {}).trustBundleSourceNamespaces, [
      'shared-cas',
      'kube-public',
    ]);
    assert.deepEqual(parseConfig([], { CERTSMITH_TRUST_BUNDLE_SOURCE_NAMESPACES: 'a' }).trustBundleSourceNamespaces, ['a']);
  });
  it('reads --shards (default 1) and the pod IP from the downward API', () => {
    assert.equal(parseConfig([], {}).shards, 1);
    const c = parseConfig(['--shards', '3'], { POD_IP: '10.0.0.7' });
    assert.equal(c.shards, 3);
    assert.equal(c.podIp, '10.0.0.7');
  });
  const bad = [
    { name: 'an unknown flag', argv: ['--nope', '1'], message: /unknown flag --nope/ },
    { name: 'a flag without a value', argv: ['--workers'], message: /--workers needs a value/ },
    { name: 'a port out of range', argv: ['--health-port', '70000'], message: /--health-port/ },
    { name: 'an empty operator namespace', argv: ['--operator-namespace='], message: /--operator-namespace/ },
    { name: 'a bad log level', argv: ['--log-level', 'loud'], message: /--log-level/ },
    { name: 'an unknown default issuer kind', argv: ['--default-issuer-kind', 'Vault'], message: /--default-issuer-kind/ },
    {
      name: 'a TrustBundle source namespace that is no namespace name',
      argv: ['--trust-bundle-source-namespaces=ok,Not_OK'],
      message: /--trust-bundle-source-namespaces/,
    },
    { name: 'a migration switch that is not a boolean', argv: ['--honour-cert-manager-annotations=yes'], message: /--honour-cert-manager-annotations/ },
    { name: 'a shard count of 0', argv: ['--shards', '0'], message: /--shards/ },
    { name: 'shards without leader election', argv: ['--shards=3', '--leader-elect=false'], message: /--shards above 1 needs --leader-elect/ },
  ];
  for (const b of bad) {
    it(`refuses ${b.name} with a ConfigInvalid error naming it`, () => {
      assert.throws(
        () => parseConfig(b.argv, {}),
        (err: Error & { code?: string }) => err.code === 'ConfigInvalid' && b.message.test(err.message),
      );
    });
  }
});
