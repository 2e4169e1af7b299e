// Routes acme-client's HTTP through certsmith's transport, by its public means only. acme-client sends every request
// through the one axios instance it exports (`acme.axios`), shared by every Client in the process; so its adapter is
// replaced once, and each request goes through the Transport of the certsmith call it belongs to, found with
// AsyncLocalStorage. Each issuer thus keeps its own CA bundle, timeouts and nonce pool, and a call sees the response
// headers acme-client's methods drop (Retry-After, Link). A request made outside a call is refused, so nothing
// reaches a CA through axios's own HTTP, without the issuer's trust and limits.
import { AsyncLocalStorage } from 'node:async_hooks';
import { AcmeError } from './errors.ts';
import type { Transport, TransportResponse } from './transport.ts';

/** What the adapter reads of axios's request config (absolute URL, lower-case method, the serialized body). */
interface AdapterConfig {
  url?: string;
  method?: string;
  data?: unknown;
}

/** The part of an axios instance this module sets: the adapter every request of the instance goes through. */
export interface AxiosLike {
  defaults: { adapter?: unknown };
}

export interface RoutedCall {
  readonly transport: Transport;
  /** The last response other than a newNonce HEAD: the one acme-client's method answered from. */
  last: TransportResponse | undefined;
}

export interface CallRouter {
  /** Runs `fn` with every request acme-client makes meanwhile sent through `transport`. */
  run<T>(transport: Transport, fn: () => Promise<T>): Promise<{ value: T; last: TransportResponse | undefined }>;
}

// One router per axios instance: the instance, and so its adapter, is process-wide.
const routers = new WeakMap<AxiosLike, CallRouter>();

export function routeThrough(instance: AxiosLike): CallRouter {
  const existing = routers.get(instance);
  if (existing) return existing;
  const calls = new AsyncLocalStorage<RoutedCall>();

  instance.defaults.adapter = async (config: AdapterConfig) => {
    const call = calls.getStore();
    if (!call) {
      throw new AcmeError('AcmeUnrouted', `acme-client sent ${String(config.method).toUpperCase()} ${config.url} outside a certsmith call: refused`);
    }
    const method = config.method ?? 'get';
    // axios has serialized acme-client's JWS already; it goes out as it is.
    const body = typeof config.data === 'string' ? config.data : undefined;
    // The transport throws an AcmeError for every error answer but badNonce (which acme-client retries itself).
    // Not being an axios error, it also skips acme-client's interceptor that would sleep through Retry-After.
    const res = await call.transport.request(String(config.url), method, body === undefined ? {} : { body });
    if (method.toLowerCase() !== 'head') call.last = res;
    return { data: res.data, status: res.status, statusText: '', headers: res.headers, config, request: undefined };
  };

  const router: CallRouter = {
    async run(transport, fn) {
      const call: RoutedCall = { transport, last: undefined };
      const value = await calls.run(call, fn);
      return { value, last: call.last };
    },
  };
  routers.set(instance, router);
  return router;
}
