import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normalizeServerName, selectCertificate, wildcardFor } from '../../../src/reload/sni.ts';

const apex = { id: 'apex', names: ['example.com'] };
const api = { id: 'api', names: ['api.example.com', 'api.internal'] };
const wildcard = { id: 'wildcard', names: ['*.example.com'] };
const deepWildcard = { id: 'deep', names: ['*.svc.example.com'] };
const partial = { id: 'partial', names: ['f*.example.org'] };
const fallback = { id: 'default', names: ['default.local'] };
const entries = [apex, api, wildcard, deepWildcard, partial];

describe('selectCertificate', () => {
  const cases: { name: string; serverName: string | undefined; withDefault: boolean; expected: string }[] = [
    { name: 'an exact name wins over a wildcard covering it', serverName: 'api.example.com', withDefault: true, expected: 'exact:api' },
    { name: 'names compare without case and trailing dot', serverName: 'API.Example.COM.', withDefault: false, expected: 'exact:api' },
    { name: 'a wildcard covers one leftmost label', serverName: 'web.example.com', withDefault: false, expected: 'wildcard:wildcard' },
    { name: 'a wildcard does not cover two labels', serverName: 'a.b.example.com', withDefault: false, expected: 'none' },
    { name: 'a wildcard does not cover its own parent', serverName: 'example.org', withDefault: false, expected: 'none' },
    { name: 'the apex is only matched exactly', serverName: 'example.com', withDefault: false, expected: 'exact:apex' },
    { name: 'a deeper wildcard covers its own level', serverName: 'db.svc.example.com', withDefault: false, expected: 'wildcard:deep' },
    { name: 'a partial wildcard in a certificate never matches', serverName: 'foo.example.org', withDefault: false, expected: 'none' },
    { name: 'no match without a default is no certificate (an alert)', serverName: 'other.test', withDefault: false, expected: 'none' },
    { name: 'no match with a default is the default', serverName: 'other.test', withDefault: true, expected: 'default:default' },
    { name: 'no SNI is the default', serverName: undefined, withDefault: true, expected: 'default:default' },
    { name: 'no SNI without a default is no certificate', serverName: '', withDefault: false, expected: 'none' },
    {
      name: 'a literal star in the request matches only a wildcard entry exactly',
      serverName: '*.example.com',
      withDefault: false,
      expected: 'exact:wildcard',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const selection = selectCertificate(c.serverName, entries, c.withDefault ? fallback : undefined);
      assert.equal(selection.match === 'none' ? 'none' : `${selection.match}:${selection.value.id}`, c.expected);
    });
  }

  it('prefers the earlier entry when two carry the same name', () => {
    const first = { id: 'first', names: ['x.example.com'] };
    const second = { id: 'second', names: ['x.example.com'] };
    const selection = selectCertificate('x.example.com', [first, second]);
    assert.equal(selection.match === 'exact' && selection.value.id, 'first');
  });
});

describe('wildcardFor', () => {
  const cases: [string, string | undefined][] = [
    ['a.example.com', '*.example.com'],
    ['a.b.example.com', '*.b.example.com'],
    ['example.com', undefined],
    ['localhost', undefined],
  ];
  for (const [name, expected] of cases) it(`${name} → ${expected ?? 'none'}`, () => assert.equal(wildcardFor(name), expected));
});

describe('normalizeServerName', () => {
  it('lowercases and drops one trailing dot', () => assert.equal(normalizeServerName(' Web.Example.com. '), 'web.example.com'));
  it('is empty without a name', () => assert.equal(normalizeServerName(undefined), ''));
});
