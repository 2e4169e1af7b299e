// Before asking the CA to validate an HTTP-01 challenge, fetch it the way the CA will: the name resolved, port
// 80 (or the configured one), the challenge path. A CA validation that would fail counts against the account's
// failed-validation limit; a self-check that fails costs nothing. The names point wherever the tenant's DNS says,
// so the fetch runs under the limits of ./http-limits.ts.
import { Resolver } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { createOriginGate, excerpt, formatBytes, OutboundLimitError, type OriginGate, SELF_CHECK_READ_LIMITS, sendBounded } from './http-limits.ts';

export interface SelfCheckOptions {
  port: number;
  /** host:port of resolvers to use instead of the system's. */
  nameservers?: readonly string[];
  /** The whole fetch, from waiting for a slot to the last byte (default 5 s, SELF_CHECK_READ_LIMITS). */
  timeoutMs?: number;
  /** Slots per host and port, shared by every self-check of the process (default: one of this check's own). */
  gate?: OriginGate;
}

export interface SelfCheckResult {
  ok: boolean;
  /** Why not, for the Issuing condition. */
  detail?: string;
}

export async function http01SelfCheck(
  identifier: { type: 'dns' | 'ip'; value: string },
  token: string,
  keyAuthorization: string,
  opts: SelfCheckOptions,
): Promise<SelfCheckResult> {
  const host = identifier.type === 'ip' && identifier.value.includes(':') ? `[${identifier.value}]` : identifier.value;
  const url = `http://${host}:${opts.port}/.well-known/acme-challenge/${token}`;
  // The CA chose the token: the URL is shown as an excerpt.
  const shown = excerpt(url, 200);
  const lookup = opts.nameservers?.length ? resolverLookup(opts.nameservers) : undefined;
  const limits = { ...SELF_CHECK_READ_LIMITS, ...(opts.timeoutMs !== undefined ? { deadlineMs: opts.timeoutMs } : {}) };
  try {
    const res = await sendBounded({ url: new URL(url), method: 'GET', ...(lookup ? { options: { lookup } } : {}) }, limits, opts.gate ?? createOriginGate());
    if (res.status !== 200) return { ok: false, detail: `${shown} answered HTTP ${res.status}` };
    if (res.truncated) return { ok: false, detail: `${shown} answered more than ${formatBytes(limits.maxBodyBytes)}, not a key authorization` };
    if (res.body.toString('utf8').trim() !== keyAuthorization) return { ok: false, detail: `${shown} answered a different key authorization` };
    return { ok: true };
  } catch (err) {
    const why = err instanceof OutboundLimitError ? err.message : ((err as NodeJS.ErrnoException).code ?? (err as Error).message);
    return { ok: false, detail: `${shown} could not be fetched (${excerpt(why)})` };
  }
}

/** A net.LookupFunction that asks the given resolvers for A records (the CA validates over IPv4 here). */
function resolverLookup(nameservers: readonly string[]): LookupFunction {
  const resolver = new Resolver({ timeout: 2_000, tries: 2 });
  resolver.setServers([...nameservers]);
  return (hostname, options, callback) => {
    resolver.resolve4(hostname).then(
      (addrs) => {
        if (options.all)
          callback(
            null,
            addrs.map((address) => ({ address, family: 4 })),
          );
        else callback(null, addrs[0]!, 4);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 4),
    );
  };
}
