import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createOwnWrites, isOlder } from '../../../src/kube/own-writes.ts';

const obj = (rv: string) => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'a', namespace: 'n', resourceVersion: rv } });

describe('own writes', () => {
  it('returns the written object while the cache still holds an older one', () => {
    const w = createOwnWrites();
    w.remember(obj('10'));
    assert.equal(w.freshest('n', 'a', obj('9'))?.metadata.resourceVersion, '10');
    assert.equal(w.freshest('n', 'a', undefined)?.metadata.resourceVersion, '10');
  });
  it('returns the cache once it has caught up, and forgets the written copy', () => {
    const w = createOwnWrites();
    w.remember(obj('10'));
    assert.equal(w.freshest('n', 'a', obj('11'))?.metadata.resourceVersion, '11');
    assert.equal(w.freshest('n', 'a', undefined), undefined);
  });
  const cases = [
    { a: '9', b: '10', want: true },
    { a: '10', b: '10', want: false },
    { a: '100000000000000000001', b: '100000000000000000002', want: true },
    { a: 'abc', b: '10', want: false },
    { a: undefined, b: '10', want: false },
  ];
  for (const c of cases) it(`isOlder(${c.a}, ${c.b}) is ${c.want}`, () => assert.equal(isOlder(c.a, c.b), c.want));
});
