import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { usableSpec, type UsableSpec } from '../../../../src/controllers/session-ticket-keys/spec.ts';

describe('usableSpec', () => {
  const cases: { name: string; spec: unknown; expected: UsableSpec }[] = [
    {
      name: 'fills in a 12h interval and two previous keys',
      spec: { secretName: 'tickets' },
      expected: { secretName: 'tickets', intervalMs: 12 * 3_600_000, keep: 2 },
    },
    {
      name: 'takes the interval and keep given',
      spec: { secretName: 't', rotationInterval: '90m', keep: 0 },
      expected: { secretName: 't', intervalMs: 90 * 60_000, keep: 0 },
    },
    {
      name: 'refuses an interval below a second',
      spec: { secretName: 't', rotationInterval: '500ms' },
      expected: { problem: 'rotationInterval: at least 1s, not 500ms' },
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(usableSpec(c.spec), c.expected));

  it('refuses an interval that is no duration, saying why', () => {
    assert.match(usableSpec({ secretName: 't', rotationInterval: 'soon' }).problem ?? '', /^rotationInterval: /);
  });

  it('refuses what the schema refuses, naming the field', () => {
    assert.match(usableSpec({ secretName: 't', keep: 11 }).problem ?? '', /keep/);
  });
});
