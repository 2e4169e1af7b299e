import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { customResourceDefinitions, toStructuralSchema } from '../../../src/api/crds.ts';
import { renderCrdFiles } from '../../../scripts/render-crds.ts';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

describe('CRD generation', () => {
  it('crds/ matches what the zod schemas generate (run npm run generate when this fails)', async () => {
    for (const [name, content] of Object.entries(renderCrdFiles())) {
      const onDisk = await readFile(join(import.meta.dirname, '../../../crds', name), 'utf8');
      assert.equal(onDisk, content, `crds/${name} is stale`);
    }
  });

  it('the rendered YAML keeps the CEL rules and list-map markers the API server enforces', () => {
    const certificates = renderCrdFiles()['certsmith.dev_certificates.yaml']!;
    assert.match(certificates, /x-kubernetes-validations:\n\s+- rule: has\(self\.commonName\)/);
    assert.match(certificates, /x-kubernetes-list-type: map/);
    assert.match(renderCrdFiles()['certsmith.dev_issuers.yaml']!, /exactly one of selfSigned, ca or acme/);
  });

  it('rendering twice gives byte-identical output', () => {
    assert.deepEqual(renderCrdFiles(), renderCrdFiles());
  });

  it('every CRD has a status subresource and a Ready printer column, but IssuancePolicy, which nothing reconciles', () => {
    for (const crd of customResourceDefinitions()) {
      const v = crd.spec.versions[0]!;
      assert.deepEqual(v.subresources, { status: {} });
      if (crd.spec.names.kind === 'IssuancePolicy') continue;
      assert.ok(
        v.additionalPrinterColumns.some((c) => c.name === 'Ready'),
        crd.metadata.name,
      );
    }
  });

  const cases: { name: string; input: Record<string, unknown>; expected: Record<string, unknown> }[] = [
    {
      name: 'drops keywords a structural schema refuses',
      input: { $schema: 'x', type: 'string', const: 'a', anyOf: [], description: 'd' },
      expected: { description: 'd', type: 'string' },
    },
    {
      name: 'keeps x-kubernetes extensions',
      input: { type: 'object', 'x-kubernetes-validations': [{ rule: 'true' }], properties: {} },
      // and drops an empty properties map, which the API server would drop (a stored CRD unlike the applied one).
      expected: { type: 'object', 'x-kubernetes-validations': [{ rule: 'true' }] },
    },
    {
      name: 'drops additionalProperties next to properties but keeps it for maps',
      input: {
        type: 'object',
        properties: { m: { type: 'object', additionalProperties: { type: 'string' } } },
        additionalProperties: false,
      },
      expected: { properties: { m: { additionalProperties: { type: 'string' }, type: 'object' } }, type: 'object' },
    },
    {
      name: 'sorts required names',
      input: { type: 'object', required: ['b', 'a'] },
      expected: { required: ['a', 'b'], type: 'object' },
    },
  ];
  for (const c of cases) {
    it(`structural conversion ${c.name}`, () => assert.deepEqual(toStructuralSchema(c.input), c.expected));
  }
});
