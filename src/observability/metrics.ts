// Every metric the operator exports, on a registry of its own (no global state).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export type ReadyStatus = 'True' | 'False' | 'Unknown';

export function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'certsmith_' });
  const certLabels = ['namespace', 'name', 'issuer_name', 'issuer_kind'] as const;
  const certificateExpiration = new Gauge({
    name: 'certsmith_certificate_expiration_timestamp_seconds',
    help: 'When the certificate in the Secret expires (Unix seconds).',
    labelNames: certLabels,
    registers: [registry],
  });
  const certificateRenewal = new Gauge({
    name: 'certsmith_certificate_renewal_timestamp_seconds',
    help: 'When the operator will renew the certificate (Unix seconds).',
    labelNames: certLabels,
    registers: [registry],
  });
  const certificateReady = new Gauge({
    name: 'certsmith_certificate_ready_status',
    help: 'The Ready condition of a Certificate: 1 on the series of its current status.',
    labelNames: ['namespace', 'name', 'condition'] as const,
    registers: [registry],
  });
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

  const statuses: ReadyStatus[] = ['True', 'False', 'Unknown'];
  // The issuer labels last used for each certificate, so its series can be removed exactly.
  const certSeries = new Map<string, Record<(typeof certLabels)[number], string>>();
  return {
    registry,
    certificateExpiration,
    certificateRenewal,
    certificateReady,
    issuanceTotal,
    issuanceDuration,
    reconcileTotal,
    reconcileDuration,
    workqueueDepth,
    workqueueRetries,
    acmeRequests,
    acmeOrders,
    http01Requests,
    /** Sets expiration and renewal; use this rather than the gauges so forgetCertificate knows the issuer labels. */
    setCertificateValidity(
      labels: { namespace: string; name: string; issuer_name: string; issuer_kind: string },
      notAfter: Date,
      renewalTime: Date,
    ) {
      const key = `${labels.namespace}/${labels.name}`;
      const prev = certSeries.get(key);
      if (prev && (prev.issuer_name !== labels.issuer_name || prev.issuer_kind !== labels.issuer_kind)) {
        certificateExpiration.remove(prev);
        certificateRenewal.remove(prev);
      }
      certSeries.set(key, labels);
      certificateExpiration.set(labels, notAfter.getTime() / 1000);
      certificateRenewal.set(labels, renewalTime.getTime() / 1000);
    },
    /** Like cert-manager: exactly one of the three condition series is 1. */
    setCertificateReady(namespace: string, name: string, status: ReadyStatus) {
      for (const s of statuses) certificateReady.set({ namespace, name, condition: s }, s === status ? 1 : 0);
    },
    /** Removes the certificate's series: validity as set by setCertificateValidity, and all three Ready series. */
    forgetCertificate(namespace: string, name: string) {
      const key = `${namespace}/${name}`;
      const prev = certSeries.get(key);
      if (prev) {
        certificateExpiration.remove(prev);
        certificateRenewal.remove(prev);
        certSeries.delete(key);
      }
      for (const s of statuses) certificateReady.remove({ namespace, name, condition: s });
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
