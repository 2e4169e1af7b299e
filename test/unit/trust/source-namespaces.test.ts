import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TrustBundleSource, TrustBundleSpec } from '../../../src/api/trust-bundle.ts';
import { errorCode } from '../../../src/errors.ts';
import { refuseSourcesOutside, type SourceNamespaces } from '../../../src/trust/source-namespaces.ts';

const ns: SourceNamespaces = { trust: 'certsmith', allowed: ['shared-cas'] };
const spec = (...sources: TrustBundleSource[]): TrustBundleSpec => ({ sources, target: { configMap: { key: 'ca.crt' } } });
const password = (namespace: string) => ({ key: 'truststore.jks', passwordSecretRef: { namespace, name: 'pw', key: 'password' } });

describe('refuseSourcesOutside', () => {
  const allowedCases: { name: string; spec: TrustBundleSpec }[] = [
    { name: 'a ClusterIssuer, whose Secret is in the trust namespace', spec: spec({ issuer: { kind: 'ClusterIssuer', name: 'ca' } }) },
    { name: 'inline PEM and the system roots, which read nothing', spec: spec({ inline: 'x' }, { systemRoots: true }) },
    { name: 'a ConfigMap in the trust namespace', spec: spec({ configMap: { namespace: 'certsmith', name: 'roots', key: 'ca.crt' } }) },
    { name: 'a Secret selector in an allowed namespace', spec: spec({ secret: { namespace: 'shared-cas', selector: {}, includeAllKeys: true } }) },
    { name: 'an Issuer in an allowed namespace', spec: spec({ issuer: { kind: 'Issuer', namespace: 'shared-cas', name: 'ca' } }) },
    { name: 'a Certificate in the trust namespace', spec: spec({ certificate: { namespace: 'certsmith', name: 'root' } }) },
    {
      name: 'a truststore password Secret in the trust namespace',
      spec: { ...spec({ inline: 'x' }), target: { configMap: { key: 'ca.crt' }, additionalFormats: { jks: password('certsmith') } } },
    },
  ];
  for (const c of allowedCases) it(`allows ${c.name}`, () => refuseSourcesOutside(c.spec, ns));

  const refusedCases: { name: string; spec: TrustBundleSpec; message: RegExp }[] = [
    {
      name: 'a ConfigMap elsewhere',
      spec: spec({ inline: 'x' }, { configMap: { namespace: 'team-a', name: 'roots', key: 'ca.crt' } }),
      message: /^sources\[1\]\.configMap: namespace team-a is not a trust source namespace; TrustBundles read from certsmith and/,
    },
    {
      name: 'a Secret selector elsewhere',
      spec: spec({ secret: { namespace: 'kube-system', selector: { matchLabels: { a: 'b' } }, includeAllKeys: true } }),
      message: /^sources\[0\]\.secret: namespace kube-system /,
    },
    {
      name: 'an Issuer elsewhere',
      spec: spec({ issuer: { kind: 'Issuer', namespace: 'team-a', name: 'ca' } }),
      message: /^sources\[0\]\.issuer: namespace team-a /,
    },
    {
      name: 'a Certificate elsewhere',
      spec: spec({ certificate: { namespace: 'team-a', name: 'root' } }),
      message: /^sources\[0\]\.certificate: namespace team-a /,
    },
    {
      name: 'a truststore password Secret elsewhere',
      spec: { ...spec({ inline: 'x' }), target: { configMap: { key: 'ca.crt' }, additionalFormats: { pkcs12: password('team-a') } } },
      message: /^target\.additionalFormats\.pkcs12\.passwordSecretRef: namespace team-a /,
    },
    {
      name: 'the first of several namespaces not allowed',
      spec: spec(
        { configMap: { namespace: 'shared-cas', name: 'ok', key: 'k' } },
        { secret: { namespace: 'b', name: 's', key: 'k' } },
        { certificate: { namespace: 'c', name: 'n' } },
      ),
      message: /^sources\[1\]\.secret: namespace b /,
    },
  ];
  for (const c of refusedCases) {
    it(`refuses ${c.name} with SourceNotAllowed`, () =>
      assert.throws(
        () => refuseSourcesOutside(c.spec, ns),
        (err: Error) => errorCode(err) === 'SourceNotAllowed' && c.message.test(err.message),
      ));
  }

  it('names no object, only the field and the namespace, so an existing and a missing one read the same', () => {
    const messageFor = (name: string) => {
      try {
        refuseSourcesOutside(spec({ secret: { namespace: 'team-a', name, key: 'ca.crt' } }), ns);
      } catch (err) {
        return (err as Error).message;
      }
      assert.fail('not refused');
    };
    assert.equal(messageFor('exists'), messageFor('does-not-exist'));
    assert.doesNotMatch(messageFor('exists'), /exists/);
  });
});
