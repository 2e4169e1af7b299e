import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KEY_USAGES } from '../../../src/api/certificate.ts';
import { canonicalUsages, isKeyUsageName, KEY_USAGE_NAMES } from '../../../src/policy/usages.ts';

describe('key usage names', () => {
  it('are the same list the CRD schema accepts', () => {
    assert.deepEqual([...KEY_USAGE_NAMES].sort(), [...KEY_USAGES].sort());
  });

  const guards: { name: string; value: string; known: boolean }[] = [
    { name: 'a key usage', value: 'digital signature', known: true },
    { name: 'an extended key usage', value: 'server auth', known: true },
    { name: 'an alias', value: 's/mime', known: true },
    { name: 'a name in another case', value: 'Server Auth', known: false },
    { name: 'an OpenSSL spelling', value: 'serverAuth', known: false },
    { name: 'an empty string', value: '', known: false },
  ];
  for (const g of guards) {
    it(`${g.known ? 'accept' : 'refuse'} ${g.name} ("${g.value}")`, () => assert.equal(isKeyUsageName(g.value), g.known));
  }

  const canon: { name: string; input: Parameters<typeof canonicalUsages>[0]; expected: string[] }[] = [
    { name: 'fold "signing" into "digital signature"', input: ['signing', 'server auth'], expected: ['digital signature', 'server auth'] },
    { name: 'fold "s/mime" into "email protection"', input: ['s/mime'], expected: ['email protection'] },
    {
      name: 'drop duplicates that aliases create',
      input: ['signing', 'digital signature', 'digital signature'],
      expected: ['digital signature'],
    },
    { name: 'sort', input: ['server auth', 'client auth', 'cert sign'], expected: ['cert sign', 'client auth', 'server auth'] },
  ];
  for (const c of canon) {
    it(`canonical form: ${c.name}`, () => assert.deepEqual(canonicalUsages(c.input), c.expected));
  }
});
