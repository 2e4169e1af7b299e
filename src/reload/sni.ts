// Certificate selection by server name, pure: exact name first, then a wildcard covering exactly the leftmost label
// (RFC 6125 §6.4.3), then the default. No match and no default means no certificate: the handshake ends with an alert
// rather than a certificate the client would reject, or worse, accept for the wrong name.

/** Lower case, without a trailing dot; '' when the client sent no name. */
export function normalizeServerName(serverName: string | undefined): string {
  return (serverName ?? '').trim().toLowerCase().replace(/\.$/, '');
}

/** The wildcard name that would cover `name`: `a.example.com` → `*.example.com`; none for single labels. */
export function wildcardFor(name: string): string | undefined {
  const dot = name.indexOf('.');
  if (dot <= 0) return undefined;
  const parent = name.slice(dot + 1);
  // `*.com` is no wildcard a CA issues; requiring two labels after the star avoids matching TLD-wide names.
  return parent.includes('.') ? `*.${parent}` : undefined;
}

export interface Named {
  readonly names: readonly string[];
}

export type Selection<T> = { match: 'exact' | 'wildcard' | 'default'; value: T } | { match: 'none' };

/**
 * Picks the entry for `serverName`. On equal names the earlier entry wins, so the caller's order decides.
 * Partial wildcards (`f*.example.com`) in certificates never match: browsers and Go reject them too.
 */
export function selectCertificate<T extends Named>(serverName: string | undefined, entries: readonly T[], fallback?: T): Selection<T> {
  const name = normalizeServerName(serverName);
  if (name !== '') {
    const exact = entries.find((entry) => entry.names.includes(name));
    if (exact) return { match: 'exact', value: exact };
    const wildcard = wildcardFor(name);
    const covering = wildcard && entries.find((entry) => entry.names.includes(wildcard));
    if (covering) return { match: 'wildcard', value: covering };
  }
  return fallback ? { match: 'default', value: fallback } : { match: 'none' };
}
