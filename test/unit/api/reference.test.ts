import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { cell, defaultOf, fieldRows, fieldTable, renderReferenceFiles, ruleRows, typeOf } from '../../../scripts/render-reference.ts';
import { customResourceDefinitions } from '../../../src/api/crds.ts';

const root = join(import.meta.dirname, '../../..');

describe('API reference generation', () => {
  const types: { name: string; schema: Record<string, unknown>; expected: string }[] = [
    { name: 'a plain string', schema: { type: 'string' }, expected: 'string' },
    { name: 'an enum lists its values', schema: { type: 'string', enum: ['RSA', 'ECDSA'] }, expected: 'string (one of `RSA`, `ECDSA`)' },
    {
      name: "zod's unbounded integer limits are left out",
      schema: { type: 'integer', minimum: -9007199254740991, maximum: 9007199254740991 },
      expected: 'integer',
    },
    { name: 'a range is shown', schema: { type: 'integer', minimum: 1, maximum: 99 }, expected: 'integer (1–99)' },
    { name: 'string lengths are shown', schema: { type: 'string', minLength: 1, maxLength: 253 }, expected: 'string (1–253 chars)' },
    { name: 'an array of strings', schema: { type: 'array', items: { type: 'string' }, maxItems: 50 }, expected: '[]string (≤ 50 items)' },
    { name: 'an array of objects', schema: { type: 'array', items: { type: 'object', properties: { a: { type: 'string' } } } }, expected: '[]object' },
    { name: 'a map', schema: { type: 'object', additionalProperties: { type: 'string' } }, expected: 'map[string]string' },
    {
      name: 'a list map names its keys',
      schema: {
        type: 'array',
        items: { type: 'object', properties: { type: { type: 'string' } } },
        'x-kubernetes-list-type': 'map',
        'x-kubernetes-list-map-keys': ['type'],
      },
      expected: '[]object (list map keyed by type)',
    },
    { name: 'no type is any', schema: {}, expected: 'any' },
  ];
  for (const c of types) it(`type: ${c.name}`, () => assert.equal(typeOf(c.schema), c.expected));

  const defaults: { name: string; schema: Record<string, unknown>; expected: string }[] = [
    { name: 'the schema default wins', schema: { default: 'x', description: '(default y)' }, expected: '`"x"`' },
    { name: '"(default X)" in the description', schema: { description: 'Key algorithm (default ECDSA).' }, expected: 'ECDSA' },
    { name: '"(default: X)" in the description', schema: { description: 'Namespaces that get the targets (default: all).' }, expected: 'all' },
    { name: '"(key default: X)" names the key', schema: { description: 'Secret holding the key (key default: tls.key).' }, expected: 'key: tls.key' },
    {
      name: 'a "Default:" sentence',
      schema: { description: 'Renew early. Default: when 1/3 of the lifetime remains.' },
      expected: 'when 1/3 of the lifetime remains',
    },
    { name: 'a value marked "(default)"', schema: { description: 'Always: a new key every time (default). Never: keep it.' }, expected: 'Always' },
    {
      name: 'several defaults keep what each is for',
      schema: { description: 'RSA 2048/4096 (default 2048); ECDSA 256/384 (default 256)' },
      expected: 'RSA 2048; ECDSA 256',
    },
    { name: 'no default stated', schema: { description: 'Email subject alternative names.' }, expected: '' },
  ];
  for (const c of defaults) it(`default: ${c.name}`, () => assert.equal(defaultOf(c.schema), c.expected));

  it('fields are listed depth first with their paths, array items marked with []', () => {
    const rows = fieldRows(
      {
        type: 'object',
        required: ['name'],
        properties: {
          name: { type: 'string', description: 'The name.' },
          ports: { type: 'array', items: { type: 'object', required: ['port'], properties: { port: { type: 'integer' } } } },
        },
      },
      'spec',
    );
    assert.deepEqual(
      rows.map((r) => [r.path, r.type, r.required, r.meaning]),
      [
        ['spec.name', 'string', true, 'The name.'],
        ['spec.ports', '[]object', false, ''],
        ['spec.ports[].port', 'integer', true, ''],
      ],
    );
  });

  it('CEL rules are found with the path they apply to', () => {
    const rules = ruleRows(
      {
        'x-kubernetes-validations': [{ rule: 'a', message: 'top' }],
        properties: { spec: { properties: { solvers: { type: 'array', items: { 'x-kubernetes-validations': [{ rule: 'b', message: 'each' }] } } } } },
      },
      '',
    );
    assert.deepEqual(rules, [
      { path: '', rule: 'a', message: 'top' },
      { path: 'spec.solvers[]', rule: 'b', message: 'each' },
    ]);
  });

  it('table cells stay on one line and escape pipes', () => {
    assert.equal(cell('a | b\n  c'), 'a \\| b c');
    const table = fieldTable([{ path: 'spec.x', type: 'string', required: true, default: 'd', meaning: 'one || two' }]);
    assert.equal(table.split('\n')[2], '| `spec.x` | string | yes | d | one \\|\\| two |');
  });

  it('every CRD has a page that lists every spec field of its schema', () => {
    const files = renderReferenceFiles();
    assert.deepEqual(Object.keys(files).sort(), ['README.md', 'certificate.md', 'issuancepolicy.md', 'issuer.md', 'sessionticketkeys.md', 'trustbundle.md']);
    for (const crd of customResourceDefinitions()) {
      const page = Object.values(files).find((f) => f.includes(`| ${crd.spec.names.kind} | \`certsmith.dev/v1alpha1\``));
      assert.ok(page, `no page for ${crd.spec.names.kind}`);
      const spec = (crd.spec.versions[0]!.schema.openAPIV3Schema.properties as Record<string, Record<string, unknown>>).spec!;
      for (const row of fieldRows(spec, 'spec')) assert.ok(page.includes(`| \`${row.path}\` |`), `${row.path} missing`);
    }
  });

  it('rendering twice gives byte-identical output', () => {
    assert.deepEqual(renderReferenceFiles(), renderReferenceFiles());
  });

  it('docs/reference matches what the schemas generate (run npm run generate when this fails)', async () => {
    for (const [name, content] of Object.entries(renderReferenceFiles())) {
      assert.equal(await readFile(join(root, 'docs/reference', name), 'utf8'), content, `docs/reference/${name} is stale`);
    }
  });
});
