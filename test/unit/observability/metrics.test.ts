import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Gauge, Registry } from 'prom-client';
import { createMetrics, type ReadyStatus } from '../../../src/observability/metrics.ts';

/** Each series as "label=value,... value", labels in alphabetical order, series sorted. */
async function series(gauge: { get(): Promise<{ values: { labels: Record<string, string | number>; value: number }[] }> }): Promise<string[]> {
  const { values } = await gauge.get();
  return values
    .map(
      (v) =>
        `${Object.entries(v.labels)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([k, l]) => `${k}=${l}`)
          .join(',')} ${v.value}`,
    )
    .sort();
}

const cert = { namespace: 'shop', name: 'web', issuer_name: 'le', issuer_kind: 'ClusterIssuer' };
const notAfter = new Date('2026-03-01T00:00:00Z');
const renewal = new Date('2026-02-01T00:00:00Z');

describe('metrics', () => {
  const expected: { name: string; type: string; labels: string[] }[] = [
    { name: 'certsmith_certificate_expiration_timestamp_seconds', type: 'gauge', labels: ['namespace', 'name', 'issuer_name', 'issuer_kind'] },
    { name: 'certsmith_certificate_renewal_timestamp_seconds', type: 'gauge', labels: ['namespace', 'name', 'issuer_name', 'issuer_kind'] },
    { name: 'certsmith_certificate_ready_status', type: 'gauge', labels: ['namespace', 'name', 'condition'] },
    { name: 'certsmith_issuance_total', type: 'counter', labels: ['issuer_kind', 'result'] },
    { name: 'certsmith_issuance_duration_seconds', type: 'histogram', labels: ['issuer_kind'] },
    { name: 'certsmith_reconcile_total', type: 'counter', labels: ['controller', 'result'] },
    { name: 'certsmith_reconcile_duration_seconds', type: 'histogram', labels: ['controller'] },
    { name: 'certsmith_workqueue_depth', type: 'gauge', labels: ['name'] },
    { name: 'certsmith_workqueue_retries_total', type: 'counter', labels: ['name'] },
  ];
  for (const e of expected) {
    it(`registers ${e.name} as a ${e.type} with help text and its labels`, async () => {
      const m = createMetrics();
      const found = (await m.registry.getMetricsAsJSON()).find((x) => x.name === e.name);
      assert.ok(found, `${e.name} is registered`);
      assert.equal(found.type, e.type);
      assert.ok(found.help.length > 10, 'has help text');
      const metric = m.registry.getSingleMetric(e.name) as unknown as { labelNames: string[] };
      assert.deepEqual([...metric.labelNames], e.labels);
    });
  }

  it('includes Node process metrics under the certsmith_ prefix, and none unprefixed', async () => {
    const text = await createMetrics().registry.metrics();
    assert.match(text, /^certsmith_process_cpu_user_seconds_total /m);
    assert.match(text, /^certsmith_nodejs_heap_size_used_bytes /m);
    const unprefixed = text.split('\n').filter((l) => l && !l.startsWith('#') && !l.startsWith('certsmith_'));
    assert.deepEqual(unprefixed, []);
  });

  it('keeps each instance on its own registry', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.issuanceTotal.inc({ issuer_kind: 'Issuer', result: 'success' });
    assert.match(await a.registry.metrics(), /certsmith_issuance_total\{issuer_kind="Issuer",result="success"\} 1/);
    assert.doesNotMatch(await b.registry.metrics(), /certsmith_issuance_total\{/);
  });

  const readyCases: { name: string; sets: ReadyStatus[]; expected: string[] }[] = [
    {
      name: 'Ready=True sets the True series to 1 and the others to 0',
      sets: ['True'],
      expected: ['condition=False,name=web,namespace=shop 0', 'condition=True,name=web,namespace=shop 1', 'condition=Unknown,name=web,namespace=shop 0'],
    },
    {
      name: 'a change of status moves the 1 to the new series',
      sets: ['True', 'False'],
      expected: ['condition=False,name=web,namespace=shop 1', 'condition=True,name=web,namespace=shop 0', 'condition=Unknown,name=web,namespace=shop 0'],
    },
    {
      name: 'Unknown is a status of its own',
      sets: ['False', 'Unknown'],
      expected: ['condition=False,name=web,namespace=shop 0', 'condition=True,name=web,namespace=shop 0', 'condition=Unknown,name=web,namespace=shop 1'],
    },
  ];
  for (const c of readyCases) {
    it(c.name, async () => {
      const m = createMetrics();
      for (const s of c.sets) m.setCertificateReady('shop', 'web', s);
      assert.deepEqual(await series(m.certificateReady), c.expected);
    });
  }

  it('sets expiration and renewal times in Unix seconds', async () => {
    const m = createMetrics();
    m.setCertificateValidity(cert, notAfter, renewal);
    assert.deepEqual(await series(m.certificateExpiration), [`issuer_kind=ClusterIssuer,issuer_name=le,name=web,namespace=shop ${notAfter.getTime() / 1000}`]);
    assert.deepEqual(await series(m.certificateRenewal), [`issuer_kind=ClusterIssuer,issuer_name=le,name=web,namespace=shop ${renewal.getTime() / 1000}`]);
  });

  it('a change of issuer replaces the certificate’s series instead of adding one', async () => {
    const m = createMetrics();
    m.setCertificateValidity(cert, notAfter, renewal);
    m.setCertificateValidity({ ...cert, issuer_name: 'private-ca', issuer_kind: 'Issuer' }, notAfter, renewal);
    assert.deepEqual(await series(m.certificateExpiration), [`issuer_kind=Issuer,issuer_name=private-ca,name=web,namespace=shop ${notAfter.getTime() / 1000}`]);
    assert.equal((await series(m.certificateRenewal)).length, 1);
  });

  it('forgetCertificate removes that certificate’s series and only those', async () => {
    const m = createMetrics();
    const other = { ...cert, name: 'api' };
    for (const c of [cert, other]) {
      m.setCertificateValidity(c, notAfter, renewal);
      m.setCertificateReady(c.namespace, c.name, 'True');
    }
    m.forgetCertificate('shop', 'web');
    const names = async (g: Parameters<typeof series>[0]) => [...new Set((await g.get()).values.map((v) => v.labels['name']))];
    assert.deepEqual([await names(m.certificateExpiration), await names(m.certificateRenewal), await names(m.certificateReady)], [['api'], ['api'], ['api']]);
  });

  it('writes the per-Certificate series as prom-client would, escaping label values', async () => {
    const m = createMetrics();
    const odd = { ...cert, issuer_name: 'a "quoted" \\ name' };
    m.setCertificateValidity(odd, notAfter, renewal);
    m.setCertificateReady('shop', 'web', 'False');
    const reference = new Registry();
    for (const g of [m.certificateExpiration, m.certificateRenewal, m.certificateReady]) {
      const { values } = await g.get();
      const plain = new Gauge({ name: g.name, help: g.help, labelNames: [...g.labelNames], registers: [reference] });
      for (const v of values) plain.set(v.labels, v.value);
    }
    const ours = (await m.registry.metrics()).split('\n\n').filter((block) => block.includes('certsmith_certificate_'));
    assert.equal(ours.join('\n\n') + '\n', await reference.metrics());
  });

  it('streams the same text as metrics(), in pieces of a few hundred Certificates', async () => {
    const m = createMetrics();
    for (let i = 0; i < 1200; i++) {
      m.setCertificateValidity({ ...cert, name: `web-${i}` }, notAfter, renewal);
      m.setCertificateReady('shop', `web-${i}`, i % 2 ? 'True' : 'False');
    }
    const pieces: string[] = [];
    for await (const piece of m.registry.exposition()) pieces.push(piece);
    // Process metrics (CPU, memory) move between two scrapes; the rest is the same text.
    const steady = (text: string) => text.split('\n\n').filter((b) => !b.includes('certsmith_process_') && !b.includes('certsmith_nodejs_'));
    assert.deepEqual(steady(pieces.join('')), steady(await m.registry.metrics()));
    assert.ok(pieces.join('').endsWith('\n') && !pieces.join('').endsWith('\n\n'));
    const largest = Math.max(...pieces.map((p) => p.length));
    assert.ok(largest < 200_000, `a piece of ${largest} characters`);
    assert.ok(pieces.filter((p) => p.includes('certsmith_certificate_ready_status{')).length >= 3);
  });

  it('forgetting a certificate it never saw is harmless', async () => {
    const m = createMetrics();
    m.forgetCertificate('nowhere', 'nothing');
    assert.deepEqual(await series(m.certificateReady), []);
  });

  it('exposes counters and histograms in the text format', async () => {
    const m = createMetrics();
    m.reconcileTotal.inc({ controller: 'certificates', result: 'requeue' });
    m.reconcileDuration.observe({ controller: 'certificates' }, 0.02);
    m.issuanceDuration.observe({ issuer_kind: 'Issuer' }, 1.5);
    m.workqueueDepth.set({ name: 'certificates' }, 4);
    m.workqueueRetries.inc({ name: 'certificates' });
    const text = await m.registry.metrics();
    for (const line of [
      'certsmith_reconcile_total{controller="certificates",result="requeue"} 1',
      'certsmith_reconcile_duration_seconds_count{controller="certificates"} 1',
      'certsmith_issuance_duration_seconds_bucket{le="2.5",issuer_kind="Issuer"} 1',
      'certsmith_workqueue_depth{name="certificates"} 4',
      'certsmith_workqueue_retries_total{name="certificates"} 1',
    ]) {
      assert.ok(text.includes(line), `missing: ${line}`);
    }
  });
});
