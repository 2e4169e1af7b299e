import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createMetrics } from '../../../src/observability/metrics.ts';

const root = join(import.meta.dirname, '../../..');

interface Panel {
  id: number;
  type: string;
  title: string;
  panels?: Panel[];
  targets?: { expr: string; refId: string }[];
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** Metric names an expression reads; a histogram's _bucket/_sum/_count series name the histogram. */
function metricNames(expr: string, histograms: Set<string>): string[] {
  return [...expr.matchAll(/\bcertsmith_[a-z0-9_]+/g)].map(([name]) => {
    const base = name.replace(/_(bucket|sum|count)$/, '');
    return histograms.has(base) ? base : name;
  });
}

describe('Grafana dashboard (charts/certsmith/dashboards/certsmith.json)', async () => {
  const dashboard = JSON.parse(await readFile(join(root, 'charts/certsmith/dashboards/certsmith.json'), 'utf8')) as {
    uid: string;
    title: string;
    panels: Panel[];
  };
  const sources = await Promise.all(['metrics.ts', 'certificate-metrics.ts'].map((f) => readFile(join(root, 'src/observability', f), 'utf8')));
  // The operator's own metrics, as its sources name them; prom-client's defaults from the registry it builds.
  const declared = new Set([...sources.join('\n').matchAll(/'(certsmith_[a-z0-9_]+)'/g)].map((m) => m[1]!));
  const registered = await createMetrics().registry.getMetricsAsJSON();
  const exported = new Set([...declared, ...registered.map((m) => m.name)]);
  const histograms = new Set([...registered.filter((m) => String(m.type) === 'histogram').map((m) => m.name)]);
  const panels = allPanels(dashboard.panels).filter((p) => p.type !== 'row');

  it('finds the metrics in metrics.ts (the extraction itself works)', () => {
    assert.ok(declared.size >= 10, `found only ${[...declared].join(', ')}`);
    assert.ok(declared.has('certsmith_certificate_expiration_timestamp_seconds'));
    for (const name of declared)
      assert.ok(
        registered.some((m) => m.name === name),
        `${name} is registered`,
      );
  });

  it('has a stable uid, unique panel ids and a query on every panel', () => {
    assert.equal(dashboard.uid, 'certsmith');
    const ids = allPanels(dashboard.panels).map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, 'panel ids are unique');
    for (const p of panels) assert.ok((p.targets ?? []).length > 0 && p.targets!.every((t) => t.expr.trim() !== ''), `${p.title} has a query`);
  });

  it("every panel's expressions name only metrics the operator exports, and at least one", () => {
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        const names = metricNames(t.expr, histograms);
        assert.ok(names.length > 0, `${p.title} (${t.refId}) names no certsmith_ metric: ${t.expr}`);
        for (const n of names) assert.ok(exported.has(n), `${p.title} (${t.refId}) reads ${n}, which the operator does not export`);
      }
    }
  });

  it('shows expiry, readiness, issuance, ACME errors, reconcile errors and work-queue depth', () => {
    const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)).join('\n');
    for (const metric of [
      'certsmith_certificate_expiration_timestamp_seconds',
      'certsmith_certificate_ready_status',
      'certsmith_issuance_total',
      'certsmith_issuance_duration_seconds_bucket',
      'certsmith_acme_requests_total',
      'certsmith_reconcile_total{result="error"}',
      'certsmith_workqueue_depth',
    ]) {
      assert.ok(exprs.includes(metric), `no panel reads ${metric}`);
    }
    const expiry = panels.find((p) => /expiry/i.test(p.title) && p.type === 'table');
    assert.ok(expiry, 'an expiry table');
    assert.match(expiry.targets![0]!.expr, /^sort\(/, 'soonest first');
  });
});
