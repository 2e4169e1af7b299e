import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { formatZodIssues } from '../../../src/api/zod-issues.ts';

const Spec = z.object(
  {
    secretName: z.string({ error: 'must be a string' }),
    privateKey: z.object({ size: z.number({ error: 'must be a number' }) }).optional(),
    dnsNames: z.array(z.string({ error: 'must be a string' })).optional(),
  },
  { error: 'must be an object' },
);

function issuesOf(value: unknown): z.ZodError {
  const parsed = Spec.safeParse(value);
  assert.equal(parsed.success, false);
  return parsed.error!;
}

describe('formatZodIssues', () => {
  const cases: { name: string; value: unknown; expected: string }[] = [
    { name: 'names a field by its dotted path', value: { secretName: 's', privateKey: { size: '2048' } }, expected: 'privateKey.size: must be a number' },
    { name: 'names an item of a list by its index', value: { secretName: 's', dnsNames: ['a', 1] }, expected: 'dnsNames.1: must be a string' },
    { name: 'names the spec as a whole "spec"', value: undefined, expected: 'spec: must be an object' },
    {
      name: 'joins several issues with "; " in the order zod found them',
      value: { secretName: 1, privateKey: { size: 'x' } },
      expected: 'secretName: must be a string; privateKey.size: must be a number',
    },
  ];
  for (const c of cases) it(c.name, () => assert.equal(formatZodIssues(issuesOf(c.value)), c.expected));

  it('names a path the way the caller says (a flag for a config key)', () => {
    const flags: Record<string, string> = { secretName: '--secret-name' };
    assert.equal(
      formatZodIssues(issuesOf({ secretName: 1 }), (path) => flags[String(path[0])] ?? String(path[0])),
      '--secret-name: must be a string',
    );
  });
});
