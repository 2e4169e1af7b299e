// Before asking the CA to validate an HTTP-01 challenge, fetch it the way the CA will: the name resolved, port
// 80 (or the configured one), the challenge path. A CA validation that would fail counts against the account's
// failed-validation limit; a self-check that fails costs nothing.
import { Resolver } from 'node:dns/promises';
import http from 'node:http';
import type { LookupFunction } from 'node:net';

export interface SelfCheckOptions {
  port: number;
  /** host:port of resolvers to use instead of the system's. */
  nameservers?: readonly string[];
  timeoutMs?: number;
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
  const lookup = opts.nameservers?.length ? resolverLookup(opts.nameservers) : undefined;
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: opts.timeoutMs ?? 5_000, ...(lookup ? { lookup } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (body.length < 4096) body += c;
      });
      res.on('end', () => {
        if (res.statusCode !== 200) resolve({ ok: false, detail: `${url} answered HTTP ${res.statusCode}` });
        else if (body.trim() !== keyAuthorization) resolve({ ok: false, detail: `${url} answered a different key authorization` });
        else resolve({ ok: true });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, detail: `${url} could not be fetched (${err.code ?? err.message})` }));
  });
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
