import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LabelSelector } from '../../../src/api/trust-bundle.ts';
import { matchesSelector, selectorToString } from '../../../src/trust/selector.ts';

describe('matchesSelector', () => {
  const labels = { env: 'prod', team: 'a' };
  const cases: { name: string; selector: LabelSelector | undefined; labels?: Record<string, string>; want: boolean }[] = [
    { name: 'no selector matches everything', selector: undefined, want: true },
    { name: 'an empty selector matches everything', selector: {}, labels: {}, want: true },
    { name: 'matchLabels all present', selector: { matchLabels: { env: 'prod' } }, want: true },
    { name: 'matchLabels with a different value', selector: { matchLabels: { env: 'dev' } }, want: false },
    { name: 'matchLabels on unlabelled namespace', selector: { matchLabels: { env: 'prod' } }, labels: {}, want: false },
    { name: 'In', selector: { matchExpressions: [{ key: 'env', operator: 'In', values: ['dev', 'prod'] }] }, want: true },
    { name: 'In without the label', selector: { matchExpressions: [{ key: 'x', operator: 'In', values: ['a'] }] }, want: false },
    { name: 'NotIn excludes', selector: { matchExpressions: [{ key: 'env', operator: 'NotIn', values: ['prod'] }] }, want: false },
    { name: 'NotIn without the label matches', selector: { matchExpressions: [{ key: 'x', operator: 'NotIn', values: ['a'] }] }, want: true },
    { name: 'Exists', selector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] }, want: true },
    { name: 'DoesNotExist', selector: { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] }, want: false },
    {
      name: 'labels and expressions must all hold',
      selector: { matchLabels: { env: 'prod' }, matchExpressions: [{ key: 'team', operator: 'In', values: ['b'] }] },
      want: false,
    },
  ];
  for (const c of cases) it(c.name, () => assert.equal(matchesSelector(c.labels ?? labels, c.selector), c.want));
});

describe('selectorToString', () => {
  it('writes the API syntax with sorted terms', () => {
    assert.equal(
      selectorToString({
        matchLabels: { team: 'a', env: 'prod' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['web', 'api'] },
          { key: 'legacy', operator: 'DoesNotExist' },
          { key: 'zone', operator: 'NotIn', values: ['x'] },
          { key: 'owner', operator: 'Exists' },
        ],
      }),
      '!legacy,env=prod,owner,team=a,tier in (api,web),zone notin (x)',
    );
  });
  it('is empty for no selector', () => assert.equal(selectorToString(undefined), ''));
});
