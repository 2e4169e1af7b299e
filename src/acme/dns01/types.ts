// Shared shapes of the DNS-01 providers: what the ACME solver hands them and what it gets back.

/** One TXT record of a DNS-01 challenge. */
export interface TxtRecord {
  /** Name of the record, e.g. `_acme-challenge.www.example.com` (with or without the trailing dot). */
  fqdn: string;
  /** The key authorization digest ACME validators look for. */
  value: string;
  /** Zone apex the record belongs in; providers that need it discover it when absent. */
  zone?: string;
}

/**
 * Publishes and removes challenge records. Both calls are idempotent: present of a record already there and
 * cleanup of one already gone succeed, so a reconciler may repeat them after a crash.
 */
export interface Dns01Provider {
  present(record: TxtRecord): Promise<void>;
  /** Removes this value only; other values on the same name (concurrent orders) stay. */
  cleanup(record: TxtRecord): Promise<void>;
}

/** host (name, IPv4 or IPv6) and port of a DNS server. */
export interface ServerAddress {
  host: string;
  port: number;
}
