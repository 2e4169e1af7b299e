import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubeObject } from '../../../src/api/meta.ts';
import { createInterner, internStringsInPlace, trimForCache, withoutManagedFields } from '../../../src/kube/trim.ts';

const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';

function obj(metadata: Record<string, unknown>): KubeObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'a', namespace: 'ns', ...metadata } } as KubeObject;
}

describe('withoutManagedFields', () => {
  it('drops managedFields and keeps every other field', () => {
    const o = { ...obj({ managedFields: [{ manager: 'kubectl' }], labels: { a: 'b' }, resourceVersion: '7' }), data: { k: 'dg==' } };
    const t = withoutManagedFields(o);
    assert.deepEqual(t, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'a', namespace: 'ns', labels: { a: 'b' }, resourceVersion: '7' },
      data: { k: 'dg==' },
    });
    assert.ok('managedFields' in o.metadata, 'the input is not changed');
  });
  it('returns the object itself when there is nothing to drop', () => {
    const o = obj({});
    assert.equal(withoutManagedFields(o), o);
  });
});

describe('trimForCache', () => {
  it("drops managedFields and kubectl's last-applied copy, keeping the other annotations", () => {
    const o = obj({ managedFields: [], annotations: { [LAST_APPLIED]: '{"big":true}', 'certsmith.dev/renew-revision': '2' } });
    assert.deepEqual(trimForCache(o).metadata, { name: 'a', namespace: 'ns', annotations: { 'certsmith.dev/renew-revision': '2' } });
  });
});

describe('createInterner', () => {
  it('returns the first of equal strings', () => {
    const intern = createInterner();
    const first = ['ca', 'cert'].join('-');
    const second = ['ca', 'cert'].join('-');
    assert.equal(intern(first), first);
    assert.equal(intern(second), first);
    assert.equal(intern('other'), 'other');
  });
  it('starts afresh past its bound, still returning equal values', () => {
    const intern = createInterner(2);
    for (const v of ['a', 'b', 'c', 'd']) assert.equal(intern(v), v);
    assert.equal(intern('d'), 'd');
  });
});

describe('internStringsInPlace', () => {
  it('shares the short strings of equal values between objects and keeps long ones and non-strings as they are', () => {
    const intern = createInterner();
    const long = 'x'.repeat(200);
    const a = JSON.parse(JSON.stringify({ kind: 'Certificate', n: 1, ok: true, none: null, list: ['ClusterIssuer'], cert: long }));
    const b = JSON.parse(JSON.stringify({ kind: 'Certificate', n: 1, ok: true, none: null, list: ['ClusterIssuer'], cert: long }));
    const seen: string[] = [];
    const spy = (s: string) => (seen.push(s), intern(s));
    const expected = structuredClone(b);
    assert.equal(internStringsInPlace(a, spy), a, 'the object itself, changed in place');
    internStringsInPlace(b, spy);
    assert.deepEqual(b, expected, 'the same value');
    assert.deepEqual(seen, ['Certificate', 'ClusterIssuer', 'Certificate', 'ClusterIssuer'], 'only the short strings are interned');
  });
});
