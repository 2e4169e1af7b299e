// The per-Certificate series (expiry, renewal, Ready), kept as one small record per Certificate and turned into
// series only when scraped. A prom-client Gauge keeps a label object and a key string per series: five series per
// Certificate cost ~2 KiB each, 20 MiB at 10,000 Certificates; a record costs ~150 bytes.
import type { Registry } from 'prom-client';

export type ReadyStatus = 'True' | 'False' | 'Unknown';
export const READY_STATUSES: readonly ReadyStatus[] = ['True', 'False', 'Unknown'];

export interface CertificateLabels {
  namespace: string;
  name: string;
  issuer_name: string;
  issuer_kind: string;
}

interface CertificateRecord {
  namespace: string;
  name: string;
  validity?: { issuerName: string; issuerKind: string; notAfterSeconds: number; renewalSeconds: number };
  ready?: ReadyStatus;
}

export interface GaugeValue<L extends string> {
  labels: Record<L, string>;
  value: number;
}

/** What the registry needs of a metric: it calls get() at every scrape. */
export interface CollectedGauge<L extends string> {
  name: string;
  help: string;
  type: 'gauge';
  labelNames: readonly L[];
  aggregator: 'omit';
  get(): Promise<{ name: string; help: string; type: 'gauge'; aggregator: 'omit'; values: GaugeValue<L>[] }>;
  /**
   * The exposition text, written directly (prom-client's formatting took ~0.5 s and ~30 MiB at 10,000), in pieces
   * of a few hundred Certificates: at 10,000 the text is ~6 MiB, and built whole at every scrape it grew the heap
   * by tens of MiB that stayed resident.
   */
  renderChunks(): Generator<string>;
  reset(): void;
}

/** Label values in the text format escape backslash, double quote and newline. */
function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : v;
}

/** ~60 KB of text per piece. */
const RECORDS_PER_CHUNK = 500;

export function createCertificateMetrics(registry: Registry) {
  const records = new Map<string, CertificateRecord>();
  const recordOf = (namespace: string, name: string) => {
    const key = `${namespace}/${name}`;
    let r = records.get(key);
    if (!r) records.set(key, (r = { namespace, name }));
    return r;
  };

  function gauge<L extends string>(name: string, help: string, labelNames: readonly L[], values: (r: CertificateRecord) => GaugeValue<L>[]): CollectedGauge<L> {
    const metric: CollectedGauge<L> = {
      name,
      help,
      type: 'gauge',
      labelNames,
      aggregator: 'omit',
      async get() {
        const out: GaugeValue<L>[] = [];
        for (const r of records.values()) out.push(...values(r));
        return { name, help, type: 'gauge', aggregator: 'omit', values: out };
      },
      *renderChunks() {
        let chunk = `# HELP ${name} ${help}\n# TYPE ${name} gauge`;
        let inChunk = 0;
        for (const r of records.values()) {
          for (const v of values(r)) {
            let labels = '';
            for (const l of labelNames) labels += `${labels ? ',' : ''}${l}="${escapeLabelValue(v.labels[l])}"`;
            chunk += `\n${name}{${labels}} ${v.value}`;
          }
          if (++inChunk === RECORDS_PER_CHUNK) {
            yield chunk;
            chunk = '';
            inChunk = 0;
          }
        }
        if (chunk) yield chunk;
      },
      reset() {
        records.clear();
      },
    };
    registry.registerMetric(metric as unknown as Parameters<Registry['registerMetric']>[0]);
    return metric;
  }

  const validityLabels = ['namespace', 'name', 'issuer_name', 'issuer_kind'] as const;
  const validity = (r: CertificateRecord, value: number) => ({
    labels: { namespace: r.namespace, name: r.name, issuer_name: r.validity!.issuerName, issuer_kind: r.validity!.issuerKind },
    value,
  });
  const certificateExpiration = gauge(
    'certsmith_certificate_expiration_timestamp_seconds',
    'When the certificate in the Secret expires (Unix seconds).',
    validityLabels,
    (r) => (r.validity ? [validity(r, r.validity.notAfterSeconds)] : []),
  );
  const certificateRenewal = gauge(
    'certsmith_certificate_renewal_timestamp_seconds',
    'When the operator will renew the certificate (Unix seconds).',
    validityLabels,
    (r) => (r.validity ? [validity(r, r.validity.renewalSeconds)] : []),
  );
  const certificateReady = gauge(
    'certsmith_certificate_ready_status',
    'The Ready condition of a Certificate: 1 on the series of its current status.',
    ['namespace', 'name', 'condition'] as const,
    (r) => (r.ready ? READY_STATUSES.map((s) => ({ labels: { namespace: r.namespace, name: r.name, condition: s }, value: s === r.ready ? 1 : 0 })) : []),
  );

  return {
    certificateExpiration,
    certificateRenewal,
    certificateReady,
    /** Expiration and renewal, under the issuer labels given (a new issuer replaces the old series). */
    setCertificateValidity(labels: CertificateLabels, notAfter: Date, renewalTime: Date) {
      recordOf(labels.namespace, labels.name).validity = {
        issuerName: labels.issuer_name,
        issuerKind: labels.issuer_kind,
        notAfterSeconds: notAfter.getTime() / 1000,
        renewalSeconds: renewalTime.getTime() / 1000,
      };
    },
    /** Like cert-manager: exactly one of the three condition series is 1. */
    setCertificateReady(namespace: string, name: string, status: ReadyStatus) {
      recordOf(namespace, name).ready = status;
    },
    /** Removes every series of the certificate. */
    forgetCertificate(namespace: string, name: string) {
      records.delete(`${namespace}/${name}`);
    },
  };
}
