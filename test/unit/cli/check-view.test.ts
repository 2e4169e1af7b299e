import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareCrd, diffPaths, evaluateLease, formatCheck, normalizeSchema, report, type CrdLike, type LeaseLike } from '../../../src/cli/check-view.ts';
import { customResourceDefinitions } from '../../../src/api/crds.ts';

const now = new Date('2026-01-01T00:00:10Z');
const lease = (spec: LeaseLike['spec']): LeaseLike => ({
  apiVersion: 'coordination.k8s.io/v1',
  kind: 'Lease',
  metadata: { name: 'certsmith-operator', namespace: 'certsmith' },
  spec,
});

describe('evaluateLease', () => {
  const cases: { name: string; lease: LeaseLike | undefined; ok: boolean; message: RegExp }[] = [
    {
      name: 'passes a Lease renewed within its duration',
      lease: lease({ holderIdentity: 'pod-a', leaseDurationSeconds: 15, renewTime: '2026-01-01T00:00:08.000000Z' }),
      ok: true,
      message: /^Lease certsmith\/certsmith-operator held by pod-a, renewed 2s ago$/,
    },
    { name: 'fails a missing Lease', lease: undefined, ok: false, message: /not found/ },
    { name: 'fails a released Lease', lease: lease({ holderIdentity: '', renewTime: '2026-01-01T00:00:08Z' }), ok: false, message: /is not held/ },
    {
      name: 'fails a Lease not renewed for longer than its duration',
      lease: lease({ holderIdentity: 'pod-a', leaseDurationSeconds: 15, renewTime: '2025-12-31T23:59:00Z' }),
      ok: false,
      message: /last renewed 70s ago, longer than its 15s duration: the operator is stopped/,
    },
    { name: 'fails a held Lease without a renewTime', lease: lease({ holderIdentity: 'pod-a' }), ok: false, message: /has no renewTime/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = evaluateLease(c.lease, 'certsmith/certsmith-operator', now);
      assert.equal(r.ok, c.ok);
      assert.match(r.message, c.message);
    });
  }
});

describe('compareCrd', () => {
  const want = customResourceDefinitions()[0] as unknown as CrdLike;
  const established = { conditions: [{ type: 'Established', status: 'True' }] };
  // What the API server returns: the same CRD, empty `properties: {}` dropped, plus status.
  const asStored = (c: CrdLike): CrdLike => ({
    ...(JSON.parse(JSON.stringify(c, (k, v) => (k === 'properties' && v && Object.keys(v).length === 0 ? undefined : v))) as CrdLike),
    status: established,
  });

  it('passes the generated CRD as the API server stores it', () => {
    assert.deepEqual(compareCrd(want, asStored(want)), { name: 'crd/certificates.certsmith.dev', ok: true, message: 'installed, Established and current' });
  });

  it('fails a CRD that is not installed', () => {
    assert.match(compareCrd(want, undefined).message, /^not installed/);
  });

  it('fails a CRD that is not Established', () => {
    const r = compareCrd(want, { ...asStored(want), status: { conditions: [{ type: 'Established', status: 'False', message: 'names conflict' }] } });
    assert.equal(r.ok, false);
    assert.match(r.message, /not Established: names conflict/);
  });

  it('names where an older schema differs', () => {
    const old = asStored(want);
    const schema = old.spec!.versions![0]!.schema!.openAPIV3Schema as { properties: { spec: { properties: Record<string, unknown> } } };
    delete schema.properties.spec.properties.dnsNames;
    const r = compareCrd(want, old);
    assert.equal(r.ok, false);
    assert.match(r.message, /out of date \(v1alpha1 schema differs at \/properties\/spec\/properties\/dnsNames\)/);
  });

  it('names changed printer columns and short names', () => {
    const old = asStored(want);
    old.spec!.versions![0]!.additionalPrinterColumns = [];
    old.spec!.names!.shortNames = ['c'];
    assert.match(compareCrd(want, old).message, /names\.shortNames differ; v1alpha1 printer columns differ/);
  });
});

describe('normalizeSchema and diffPaths', () => {
  it('drops what the API server omits: empty properties, required and enum, false booleans', () => {
    assert.deepEqual(
      normalizeSchema({ type: 'object', properties: { a: { type: 'object', properties: {}, required: [], nullable: false }, required: { type: 'string' } } }),
      { type: 'object', properties: { a: { type: 'object' }, required: { type: 'string' } } },
    );
  });

  it('keeps a default of {} (it means something)', () => {
    assert.deepEqual(normalizeSchema({ type: 'object', default: {} }), { type: 'object', default: {} });
  });

  it('lists differing paths in sorted key order, whatever the key order', () => {
    assert.deepEqual(diffPaths({ b: 1, a: { x: [1, 2] } }, { a: { x: [1, 3] }, b: 1, c: true }, ''), ['/a/x/1', '/c']);
    assert.deepEqual(diffPaths({ b: 1, a: 2 }, { a: 2, b: 1 }, ''), []);
  });
});

describe('formatCheck', () => {
  it('prints one line per check and a verdict', () => {
    const r = report([
      { name: 'api', ok: true, message: 'reachable' },
      { name: 'operator/lease', ok: false, message: 'not held' },
    ]);
    assert.equal(r.ok, false);
    assert.equal(
      formatCheck(r),
      ['CHECK           RESULT  DETAIL', 'api             ok      reachable', 'operator/lease  FAIL    not held', '', '1 of 2 checks failed.', ''].join('\n'),
    );
  });
});
