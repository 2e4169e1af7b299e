import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TrustBundleSpec } from '../../../src/api/trust-bundle.ts';
import { syncedCondition } from '../../../src/controllers/trust-bundles/status.ts';
import {
  desiredTargets,
  holdsBundle,
  isManagedBy,
  targetNamespaces,
  targetObject,
  unwantedTargets,
  type DesiredTarget,
  type NamespaceObject,
  type TargetObject,
} from '../../../src/controllers/trust-bundles/targets.ts';

const ns = (name: string, labels: Record<string, string> = {}, extra: Partial<NamespaceObject> = {}): NamespaceObject => ({
  apiVersion: 'v1',
  kind: 'Namespace',
  metadata: { name, labels },
  ...extra,
});
const spec = (target: TrustBundleSpec['target']): TrustBundleSpec => ({ sources: [{ inline: 'x' }], target });

describe('targetNamespaces', () => {
  const all = [ns('b', { trust: 'yes' }), ns('a', { trust: 'yes' }), ns('c'), ns('gone', { trust: 'yes' }, { status: { phase: 'Terminating' } })];
  it('takes matching namespaces, sorted, and skips those being deleted', () => {
    assert.deepEqual(targetNamespaces(spec({ configMap: { key: 'k' }, namespaceSelector: { matchLabels: { trust: 'yes' } } }), all), ['a', 'b']);
  });
  it('no selector means every namespace', () => {
    assert.deepEqual(targetNamespaces(spec({ configMap: { key: 'k' } }), all), ['a', 'b', 'c']);
  });
});

describe('targets', () => {
  const t: DesiredTarget = { kind: 'Secret', namespace: 'a', name: 'roots', key: 'ca.crt' };
  const pem = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
  const written = targetObject(t, pem, 'h1');

  it('one desired target per namespace and kind', () => {
    assert.deepEqual(
      desiredTargets('roots', spec({ configMap: { key: 'bundle.pem' }, secret: { key: 'ca.crt' } }), ['a', 'b']).map(
        (d) => `${d.kind} ${d.namespace} ${d.key}`,
      ),
      ['ConfigMap a bundle.pem', 'Secret a ca.crt', 'ConfigMap b bundle.pem', 'Secret b ca.crt'],
    );
  });

  const cases: { name: string; obj: TargetObject; managed: boolean; holds: boolean }[] = [
    { name: 'what was written holds the bundle', obj: written, managed: true, holds: true },
    {
      name: 'another hash does not',
      obj: { ...written, metadata: { ...written.metadata, annotations: { ...written.metadata.annotations, 'certsmith.dev/bundle-hash': 'h0' } } },
      managed: true,
      holds: false,
    },
    { name: 'an extra key does not', obj: { ...written, data: { ...written.data, old: 'x' } }, managed: true, holds: false },
    { name: 'edited data does not', obj: { ...written, data: { 'ca.crt': 'eA==' } }, managed: true, holds: false },
    { name: 'the label alone does not make it ours', obj: { ...written, metadata: { ...written.metadata, annotations: {} } }, managed: false, holds: false },
    {
      name: 'an unlabelled object is not ours',
      obj: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'roots', namespace: 'a' } },
      managed: false,
      holds: false,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(isManagedBy(c.obj, 'roots'), c.managed);
      assert.equal(holdsBundle(c.obj, t, pem, 'h1'), c.holds);
    });
  }

  describe('truststores next to the PEM', () => {
    const formats = { 'truststore.p12': Buffer.from([1, 2, 3]), 'truststore.jks': Buffer.from([4, 5]) };
    const cmT: DesiredTarget = { kind: 'ConfigMap', namespace: 'a', name: 'roots', key: 'ca.crt' };
    it('a ConfigMap carries them in binaryData, a Secret in data, keys sorted', () => {
      const cm = targetObject(cmT, pem, 'h1', formats);
      assert.deepEqual(cm.data, { 'ca.crt': pem });
      assert.deepEqual(Object.keys(cm.binaryData!), ['truststore.jks', 'truststore.p12']);
      assert.equal(cm.binaryData!['truststore.p12'], 'AQID');
      assert.deepEqual(Object.keys(targetObject(t, pem, 'h1', formats).data!), ['ca.crt', 'truststore.jks', 'truststore.p12']);
    });
    it('holds the bundle only with the same truststore bytes', () => {
      const cm = targetObject(cmT, pem, 'h1', formats);
      assert.equal(holdsBundle(cm, cmT, pem, 'h1', formats), true);
      assert.equal(holdsBundle(cm, cmT, pem, 'h1', { ...formats, 'truststore.jks': Buffer.from([4, 6]) }), false, 'a new password changes the bytes');
      assert.equal(holdsBundle(cm, cmT, pem, 'h1', {}), false, 'a dropped format is written away');
      assert.equal(holdsBundle(targetObject(cmT, pem, 'h1'), cmT, pem, 'h1', formats), false, 'an added format is written');
    });
  });

  describe('ClusterTrustBundle', () => {
    const cases: { signerName?: string; name: string }[] = [{ name: 'roots' }, { signerName: 'example.com/my-signer', name: 'example.com:my-signer:roots' }];
    for (const c of cases) {
      it(`is named ${c.name}${c.signerName ? ` for signer ${c.signerName}` : ' without a signer'}, labelled with the bundle`, () => {
        const [d] = desiredTargets('roots', spec({ clusterTrustBundle: c.signerName ? { signerName: c.signerName } : {} }), ['a', 'b']);
        assert.equal(d!.name, c.name);
        const obj = targetObject(d!, pem, 'h1');
        assert.equal(obj.metadata.namespace, undefined);
        assert.deepEqual(obj.spec, { ...(c.signerName ? { signerName: c.signerName } : {}), trustBundle: pem });
        assert.ok(isManagedBy(obj, 'roots'));
        assert.equal(holdsBundle(obj, d!, pem, 'h1'), true);
        assert.equal(holdsBundle({ ...obj, spec: { ...obj.spec, trustBundle: 'x' } }, d!, pem, 'h1'), false);
        assert.deepEqual(unwantedTargets('ClusterTrustBundle', [obj], [d!]), []);
      });
    }
  });

  it('targets in namespaces no longer desired, or of a dropped kind, are unwanted', () => {
    const cm = (n: string): TargetObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'roots', namespace: n } });
    const desired = desiredTargets('roots', spec({ configMap: { key: 'k' } }), ['a']);
    assert.deepEqual(
      unwantedTargets('ConfigMap', [cm('a'), cm('b')], desired).map((o) => o.metadata.namespace),
      ['b'],
    );
    assert.deepEqual(
      unwantedTargets('Secret', [cm('a')], desired).map((o) => o.metadata.namespace),
      ['a'],
    );
  });
});

describe('syncedCondition', () => {
  const base = { built: true, total: 2, synced: 2, conflicts: [], failed: [] };
  const cases: { name: string; o: Parameters<typeof syncedCondition>[0]; reason: string; status: string }[] = [
    { name: 'every target holds the bundle', o: base, reason: 'Synced', status: 'True' },
    { name: 'no namespace matches', o: { ...base, total: 0, synced: 0 }, reason: 'NoMatchingNamespaces', status: 'False' },
    { name: 'an object in the way', o: { ...base, synced: 1, conflicts: ['ConfigMap a/roots'] }, reason: 'TargetConflict', status: 'False' },
    { name: 'a refused write', o: { ...base, synced: 1, failed: ['Secret a/roots: forbidden'] }, reason: 'WriteFailed', status: 'False' },
    { name: 'the bundle was not built', o: { ...base, built: false }, reason: 'BundleNotReady', status: 'False' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = syncedCondition(c.o);
      assert.equal(got.reason, c.reason);
      assert.equal(got.status, c.status);
    });
  }
});
