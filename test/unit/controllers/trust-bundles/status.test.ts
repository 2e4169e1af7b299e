import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TrustBundleStatus } from '../../../../src/api/trust-bundle.ts';
import { invalidSpecStatus } from '../../../../src/controllers/trust-bundles/status.ts';

describe('invalidSpecStatus', () => {
  const now = new Date('2026-03-01T12:00:00Z');
  const prev: TrustBundleStatus = {
    conditions: [
      { type: 'Ready', status: 'True', reason: 'Built', message: 'Bundle of 1 certificate(s)', lastTransitionTime: '2026-02-01T00:00:00Z' },
      { type: 'Synced', status: 'True', reason: 'Synced', message: '1 of 1 target(s) hold the bundle', lastTransitionTime: '2026-02-01T00:00:00Z' },
    ],
    bundleHash: 'h1',
    targetsSynced: 1,
    targetsTotal: 1,
  };
  const cases: { name: string; prev: TrustBundleStatus | undefined; expected: TrustBundleStatus }[] = [
    {
      name: 'Ready turns false with the problem; Synced and the last bundle fields stay, as the targets do',
      prev,
      expected: {
        ...prev,
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: 'InvalidSpec',
            message: 'Invalid spec: sources: too few',
            observedGeneration: 3,
            lastTransitionTime: '2026-03-01T12:00:00Z',
          },
          prev.conditions![1]!,
        ],
      },
    },
    {
      name: 'a bundle never built gets Ready alone',
      prev: undefined,
      expected: {
        conditions: [
          {
            type: 'Ready',
            status: 'False',
            reason: 'InvalidSpec',
            message: 'Invalid spec: sources: too few',
            observedGeneration: 3,
            lastTransitionTime: '2026-03-01T12:00:00Z',
          },
        ],
      },
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(invalidSpecStatus(c.prev, 'sources: too few', 3, now), c.expected));
});
