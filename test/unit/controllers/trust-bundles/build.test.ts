import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Certificate } from '../../../../src/api/certificate.ts';
import type { Issuer } from '../../../../src/api/issuer.ts';
import type { TrustBundleSpec } from '../../../../src/api/trust-bundle.ts';
import { buildFromSources, type BuildResult } from '../../../../src/controllers/trust-bundles/build.ts';
import type { SourceDeps } from '../../../../src/controllers/trust-bundles/sources.ts';
import type { Store } from '../../../../src/controllers/store.ts';
import type { DataObject } from '../../../../src/kube/object-reader.ts';

/**
 * A cluster where every source of the cases exists (or none does), and a log of what the build read from it.
 * The log is the point here: a source outside the allowed namespaces must be refused before any read.
 */
function world(exists: boolean) {
  const reads: string[] = [];
  const object = (namespace: string, name: string): DataObject => ({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { namespace, name },
    data: { 'ca.crt': 'not read' },
  });
  const store = <T extends Issuer | Certificate>(kind: string, spec: T['spec']): Store<T> => ({
    get: (namespace, name) => {
      reads.push(`${kind} ${namespace}/${name}`);
      return exists ? ({ apiVersion: 'certsmith.dev/v1alpha1', kind, metadata: { namespace, name }, spec } as T) : undefined;
    },
    list: () => [],
  });
  const deps: SourceDeps = {
    issuers: store<Issuer>('Issuer', { ca: { secretName: 'ca' } }),
    clusterIssuers: store<Issuer>('ClusterIssuer', { ca: { secretName: 'ca' } }),
    certificates: store<Certificate>('Certificate', { secretName: 's', issuerRef: { name: 'x' } } as Certificate['spec']),
    secrets: {
      get: async (namespace, name) => (reads.push(`get Secret ${namespace}/${name}`), exists ? object(namespace, name) : undefined),
    },
    objects: {
      get: async (r, namespace, name) => (reads.push(`get ${r.kind} ${namespace}/${name}`), exists ? object(namespace, name) : undefined),
      list: async (r, namespace) => (reads.push(`list ${r.kind} ${namespace}`), exists ? [object(namespace, 'listed')] : []),
    },
    clusterResourceNamespace: 'certsmith',
    sourceNamespaces: ['shared-cas'],
    systemRoots: () => [],
  };
  return { deps, reads };
}

const target = { configMap: { key: 'ca.crt' } };

describe('buildFromSources: sources outside the allowed namespaces', () => {
  const cases: { name: string; spec: TrustBundleSpec }[] = [
    { name: 'a ConfigMap by name', spec: { sources: [{ configMap: { namespace: 'team-a', name: 'roots', key: 'ca.crt' } }], target } },
    { name: 'Secrets by selector', spec: { sources: [{ secret: { namespace: 'team-a', selector: {}, includeAllKeys: true } }], target } },
    { name: "an Issuer's CA", spec: { sources: [{ issuer: { kind: 'Issuer', namespace: 'team-a', name: 'ca' } }], target } },
    { name: "a Certificate's ca.crt", spec: { sources: [{ certificate: { namespace: 'team-a', name: 'root' } }], target } },
    {
      name: 'an allowed source before one that is not',
      spec: {
        sources: [{ configMap: { namespace: 'shared-cas', name: 'ok', key: 'ca.crt' } }, { secret: { namespace: 'team-a', name: 's', key: 'k' } }],
        target,
      },
    },
    {
      name: 'a truststore password Secret',
      spec: {
        sources: [{ inline: 'x' }],
        target: { ...target, additionalFormats: { jks: { key: 'ts.jks', passwordSecretRef: { namespace: 'team-a', name: 'pw', key: 'p' } } } },
      },
    },
  ];
  for (const c of cases) {
    it(`${c.name}: refused alike whether or not it exists, before anything is read`, async () => {
      const results: BuildResult[] = [];
      for (const exists of [true, false]) {
        const w = world(exists);
        results.push(await buildFromSources(c.spec, w.deps, { now: new Date('2030-01-01T00:00:00Z') }));
        assert.deepEqual(w.reads, [], 'nothing read');
      }
      assert.equal(results[0]!.failure?.reason, 'SourceNotAllowed');
      assert.deepEqual(results[0], results[1]);
    });
  }

  it('a source in the trust namespace is read', async () => {
    const w = world(false);
    const r = await buildFromSources({ sources: [{ configMap: { namespace: 'certsmith', name: 'roots', key: 'ca.crt' } }], target }, w.deps, {
      now: new Date(),
    });
    assert.deepEqual(w.reads, ['get ConfigMap certsmith/roots']);
    assert.equal(r.failure?.reason, 'SourceNotFound');
  });
});
