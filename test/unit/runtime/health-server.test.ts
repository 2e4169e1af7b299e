// A real server on an ephemeral port, asked with fetch.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter } from 'prom-client';
import { CertsmithRegistry } from '../../../src/observability/metrics.ts';
import { startHealthServer, type HealthServerOptions, type MetricsSource } from '../../../src/runtime/health-server.ts';

function registryWithOneCounter(): CertsmithRegistry {
  const registry = new CertsmithRegistry();
  new Counter({ name: 'test_things_total', help: 'Things counted in a test.', registers: [registry] }).inc(3);
  return registry;
}

async function withServer<T>(checks: Partial<HealthServerOptions>, fn: (base: string) => Promise<T>): Promise<T> {
  const server = await startHealthServer({
    host: '127.0.0.1',
    port: 0,
    registry: registryWithOneCounter(),
    readiness: () => true,
    ...checks,
  });
  try {
    return await fn(`http://127.0.0.1:${server.port}`);
  } finally {
    await server.close();
  }
}

describe('health server', () => {
  const cases: {
    name: string;
    checks?: Partial<HealthServerOptions>;
    request: { path: string; method?: string };
    status: number;
    body: RegExp;
    contentType?: RegExp;
  }[] = [
    { name: 'healthz answers ok when no liveness check is given', request: { path: '/healthz' }, status: 200, body: /^ok\n$/ },
    { name: 'healthz answers ok when alive', checks: { liveness: () => true }, request: { path: '/healthz' }, status: 200, body: /^ok\n$/ },
    { name: 'healthz answers 500 when not alive', checks: { liveness: () => false }, request: { path: '/healthz' }, status: 500, body: /unhealthy/ },
    {
      name: 'healthz answers 500 with the reason when the liveness check throws',
      checks: {
        liveness: () => {
          throw new Error('event loop stuck');
        },
      },
      request: { path: '/healthz' },
      status: 500,
      body: /unhealthy: event loop stuck/,
    },
    { name: 'readyz answers ok when ready', request: { path: '/readyz' }, status: 200, body: /^ok\n$/ },
    {
      name: 'readyz answers 503 with a reason when not ready',
      checks: { readiness: () => false },
      request: { path: '/readyz' },
      status: 503,
      body: /^not ready\n$/,
    },
    { name: 'readyz waits for an async readiness check', checks: { readiness: async () => true }, request: { path: '/readyz' }, status: 200, body: /^ok\n$/ },
    {
      name: 'readyz answers 503 when an async check says not ready',
      checks: { readiness: async () => false },
      request: { path: '/readyz' },
      status: 503,
      body: /not ready/,
    },
    {
      name: 'readyz answers 503 with the reason when the check throws',
      checks: {
        readiness: () => {
          throw new Error('caches not synced');
        },
      },
      request: { path: '/readyz' },
      status: 503,
      body: /^not ready: caches not synced\n$/,
    },
    {
      name: 'readyz answers 503 with the reason when the check rejects',
      checks: { readiness: () => Promise.reject(new Error('no leader')) },
      request: { path: '/readyz' },
      status: 503,
      body: /^not ready: no leader\n$/,
    },
    { name: 'a query string does not change the path', request: { path: '/readyz?verbose=1' }, status: 200, body: /^ok\n$/ },
    {
      name: 'metrics serves the registry in the Prometheus text format',
      request: { path: '/metrics' },
      status: 200,
      body: /# HELP test_things_total Things counted in a test\.\n# TYPE test_things_total counter\ntest_things_total 3\n/,
      contentType: /^text\/plain; version=0\.0\.4/,
    },
    { name: 'an unknown path is not found', request: { path: '/debug/pprof' }, status: 404, body: /not found/ },
    { name: 'the root path is not found', request: { path: '/' }, status: 404, body: /not found/ },
    { name: 'a POST is not allowed', request: { path: '/healthz', method: 'POST' }, status: 405, body: /method not allowed/ },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      await withServer(c.checks ?? {}, async (base) => {
        const res = await fetch(base + c.request.path, { method: c.request.method ?? 'GET' });
        assert.equal(res.status, c.status);
        assert.match(await res.text(), c.body);
        if (c.contentType) assert.match(res.headers.get('content-type') ?? '', c.contentType);
      });
    });
  }

  it('metrics are written piece by piece, as the source makes them', async () => {
    const pieces = 20_000; // 20 MB: more than loopback socket buffers hold
    const piece = `${'x'.repeat(1000)}\n`;
    let made = 0;
    const source: MetricsSource = {
      contentType: 'text/plain; version=0.0.4; charset=utf-8',
      async *exposition() {
        for (let i = 0; i < pieces; i++) {
          made++;
          yield piece;
        }
      },
    };
    await withServer({ registry: source }, async (base) => {
      const res = await fetch(`${base}/metrics`);
      assert.equal(res.status, 200);
      // The response has begun while most of the text is still to be made: the socket's back-pressure paces it.
      assert.ok(made < pieces, `all ${pieces} pieces were made before the response began`);
      assert.equal((await res.text()).length, pieces * piece.length);
    });
  });

  it('a metrics source that fails answers 500 before the first piece, and cuts the response after it', async () => {
    const failing = (after: number): MetricsSource => ({
      contentType: 'text/plain',
      async *exposition() {
        for (let i = 0; i < after; i++) yield 'a 1\n';
        throw new Error('collector broke');
      },
    });
    await withServer({ registry: failing(0) }, async (base) => {
      const res = await fetch(`${base}/metrics`);
      assert.equal(res.status, 500);
      assert.match(await res.text(), /metrics failed: collector broke/);
    });
    // Cut short: never a complete-looking 200 that lacks series.
    await withServer({ registry: failing(3) }, async (base) => {
      await assert.rejects(fetch(`${base}/metrics`).then((res) => res.text()));
    });
    // The server is still up and answers the next request.
    await withServer({}, async (base) => assert.equal((await fetch(`${base}/healthz`)).status, 200));
  });

  it('readiness is asked on every request', async () => {
    let ready = false;
    await withServer({ readiness: () => ready }, async (base) => {
      const before = (await fetch(`${base}/readyz`)).status;
      ready = true;
      const after = (await fetch(`${base}/readyz`)).status;
      assert.deepEqual([before, after], [503, 200]);
    });
  });

  it('close frees the port, even with a kept-alive connection, and may be called twice', async () => {
    const server = await startHealthServer({ host: '127.0.0.1', port: 0, registry: new CertsmithRegistry(), readiness: () => true });
    const base = `http://127.0.0.1:${server.port}`;
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    await Promise.all([server.close(), server.close()]);
    await assert.rejects(fetch(`${base}/healthz`));
  });

  it('rejects when the port is taken', async () => {
    const first = await startHealthServer({ host: '127.0.0.1', port: 0, registry: new CertsmithRegistry(), readiness: () => true });
    try {
      await assert.rejects(startHealthServer({ host: '127.0.0.1', port: first.port, registry: new CertsmithRegistry(), readiness: () => true }), {
        code: 'EADDRINUSE',
      });
    } finally {
      await first.close();
    }
  });
});
