// Every metric the operator exports, on a registry of its own (no global state).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { createCertificateMetrics } from './certificate-metrics.ts';

export type { ReadyStatus } from './certificate-metrics.ts';

/** prom-client formats each metric of Registry.metrics() through this method (not in its type declarations). */
type FormatsMetrics = { getMetricsAsString(metric: unknown): Promise<string> };

type WritesOwnText = { renderChunks?: () => Iterable<string> };

/**
 * A registry that lets a metric write its own exposition text: the per-Certificate gauges, tens of thousands of
 * series, which prom-client's formatting took ~0.5 s of the event loop to write at 10,000 Certificates. /metrics
 * streams it (exposition()); metrics() still returns the same text whole.
 */
export class CertsmithRegistry extends Registry {
  async getMetricsAsString(metric: unknown): Promise<string> {
    const own = metric as WritesOwnText;
    if (typeof own.renderChunks === 'function') return [...own.renderChunks()].join('');
    return (Registry.prototype as unknown as FormatsMetrics).getMetricsAsString.call(this, metric);
  }

  /** The text of metrics(), in pieces to write as they come: the whole text never exists at once. */
  async *exposition(): AsyncGenerator<string> {
    let first = true;
    for (const metric of this.getMetricsAsArray()) {
      if (!first) yield '\n\n';
      first = false;
      const own = metric as WritesOwnText;
      if (typeof own.renderChunks === 'function') yield* own.renderChunks();
      else yield await this.getMetricsAsString(metric);
    }
    yield '\n';
  }
}

export function createMetrics() {
  const registry = new CertsmithRegistry();
  collectDefaultMetrics({ register: registry, prefix: 'certsmith_' });
  const certificates = createCertificateMetrics(registry);
  const issuanceTotal = new Counter({
    name: 'certsmith_issuance_total',
    help: 'Issuances attempted, by issuer kind and result.',
    labelNames: ['issuer_kind', 'result'] as const,
    registers: [registry],
  });
  const issuanceDuration = new Histogram({
    name: 'certsmith_issuance_duration_seconds',
    help: 'Time from deciding to issue to the Secret written.',
    labelNames: ['issuer_kind'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const reconcileTotal = new Counter({
    name: 'certsmith_reconcile_total',
    help: 'Reconciles, by controller and result.',
    labelNames: ['controller', 'result'] as const,
    registers: [registry],
  });
  const reconcileDuration = new Histogram({
    name: 'certsmith_reconcile_duration_seconds',
    help: 'Reconcile latency by controller.',
    labelNames: ['controller'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const shardsOwned = new Gauge({
    name: 'certsmith_shards_owned',
    help: 'Shards this replica holds the Lease of (--shards above 1).',
    registers: [registry],
  });
  const workqueueDepth = new Gauge({
    name: 'certsmith_workqueue_depth',
    help: 'Keys waiting in a work queue.',
    labelNames: ['name'] as const,
    registers: [registry],
  });
  const workqueueRetries = new Counter({
    name: 'certsmith_workqueue_retries_total',
    help: 'Keys re-queued with backoff after an error.',
    labelNames: ['name'] as const,
    registers: [registry],
  });

  const acmeRequests = new Counter({
    name: 'certsmith_acme_requests_total',
    help: 'Requests to ACME servers, by method and HTTP status.',
    labelNames: ['method', 'status'] as const,
    registers: [registry],
  });
  const acmeOrders = new Counter({
    name: 'certsmith_acme_orders_total',
    help: 'ACME orders placed, by issuer kind.',
    labelNames: ['issuer_kind'] as const,
    registers: [registry],
  });
  const http01Requests = new Counter({
    name: 'certsmith_acme_http01_requests_total',
    help: 'Requests to the HTTP-01 challenge server, by whether a challenge was found.',
    labelNames: ['result'] as const,
    registers: [registry],
  });

  const podCertificateRequests = new Counter({
    name: 'certsmith_pod_certificate_requests_total',
    help: 'PodCertificateRequests answered, by issuer kind and result (issued, denied, failed).',
    labelNames: ['issuer_kind', 'result'] as const,
    registers: [registry],
  });
  const podCertificateLatency = new Histogram({
    name: 'certsmith_pod_certificate_request_duration_seconds',
    help: 'Time from a PodCertificateRequest reaching the cache to its status written.',
    labelNames: ['result'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });

  return {
    registry,
    podCertificateRequests,
    podCertificateLatency,
    ...certificates,
    issuanceTotal,
    issuanceDuration,
    reconcileTotal,
    reconcileDuration,
    workqueueDepth,
    shardsOwned,
    workqueueRetries,
    acmeRequests,
    acmeOrders,
    http01Requests,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
