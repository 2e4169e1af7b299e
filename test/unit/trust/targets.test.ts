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
      desiredTargets('roots', spec({ configMap: { key: 'bundle.pem' }, secret: { key: 'ca.crt' } }), ['a', 'b']).map((d) => `${d.kind} ${d.namespace} ${d.key}`),
      ['ConfigMap a bundle.pem', 'Secret a ca.crt', 'ConfigMap b bundle.pem', 'Secret b ca.crt'],
    );
  });

  const cases: { name: string; obj: TargetObject; managed: boolean; holds: boolean }[] = [
    { name: 'what was written holds the bundle', obj: written, managed: true, holds: true },
    { name: 'another hash does not', obj: { ...written, metadata: { ...written.metadata, annotations: { ...written.metadata.annotations, 'certsmith.dev/bundle-hash': 'h0' } } }, managed: true, holds: false },
    { name: 'an extra key does not', obj: { ...written, data: { ...written.data, old: 'x' } }, managed: true, holds: false },
    { name: 'edited data does not', obj: { ...written, data: { 'ca.crt': 'eA==' } }, managed: true, holds: false },
    { name: 'the label alone does not make it ours', obj: { ...written, metadata: { ...written.metadata, annotations: {} } }, managed: false, holds: false },
    { name: 'an unlabelled object is not ours', obj: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'roots', namespace: 'a' } }, managed: false, holds: false },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(isManagedBy(c.obj, 'roots'), c.managed);
      assert.equal(holdsBundle(c.obj, t, pem, 'h1'), c.holds);
    });
  }

  it('targets in namespaces no longer desired, or of a dropped kind, are unwanted', () => {
    const cm = (n: string): TargetObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'roots', namespace: n } });
    const desired = desiredTargets('roots', spec({ configMap: { key: 'k' } }), ['a']);
    assert.deepEqual(unwantedTargets('ConfigMap', [cm('a'), cm('b')], desired).map((o) => o.metadata.namespace), ['b']);
    assert.deepEqual(unwantedTargets('Secret', [cm('a')], desired).map((o) => o.metadata.namespace), ['a']);
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
