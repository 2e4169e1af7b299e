// The only module that talks HTTP to the API server. Typed enough for the operator's needs; server-side apply
// under one field manager for every write the operator owns.
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { KubeConfig } from '@kubernetes/client-node';
import { FIELD_MANAGER } from '../api/labels.ts';
import type { KubeObject } from '../api/meta.ts';
import { KubeApiError, codeForStatus } from './errors.ts';
import { createTokenSource, loadKubeAccess, type KubeAccess, type KubeFallback } from './kubeconfig.ts';
import { apiVersionOf, resourcePath, type Resource } from './resources.ts';

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
  continue?: string;
}

export interface WatchOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion: string;
  timeoutSeconds: number;
  signal: AbortSignal;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
export interface WatchEvent<T> {
  type: WatchEventType;
  object: T;
}

export interface ApplyOptions {
  force?: boolean;
  subresource?: 'status';
}

export interface RequestCounts {
  [verb: string]: number;
}

export interface KubeClient {
  readonly server: string;
  get<T extends KubeObject>(r: Resource, namespace: string | undefined, name: string): Promise<T | undefined>;
  list<T extends KubeObject>(r: Resource, opts?: ListOptions): Promise<ListResult<T>>;
  /** Streams events until the server closes the watch, the signal aborts, or an error is thrown (410 → KubeGone). */
  watch<T extends KubeObject>(r: Resource, opts: WatchOptions, onEvent: (e: WatchEvent<T>) => void): Promise<void>;
  create<T extends KubeObject>(r: Resource, obj: T): Promise<T>;
  /** Replaces the object; metadata.resourceVersion makes it conditional. */
  replace<T extends KubeObject>(r: Resource, obj: T): Promise<T>;
  /** Server-side apply of `obj` (a partial object holding only the fields the operator owns). */
  apply<T extends KubeObject>(r: Resource, obj: T, opts?: ApplyOptions): Promise<T>;
  /** JSON merge patch of an object that must exist (a missing one is a 404, never created). */
  mergePatch<T extends KubeObject>(r: Resource, namespace: string | undefined, name: string, patch: unknown): Promise<T>;
  delete(r: Resource, namespace: string | undefined, name: string, opts?: { uid?: string }): Promise<void>;
  /** GET of a path outside the resource URLs (/version, /readyz): the CLI's `check`. */
  getPath<T>(path: string): Promise<T>;
  /** Requests sent, by verb: lets benchmarks and tests count writes. */
  requestCounts(): RequestCounts;
}

export interface KubeClientOptions {
  kubeconfigPath?: string;
  /** kubeconfig context to use instead of current-context. */
  context?: string;
  /** Raise for bulk work; the API server's default max-requests-inflight is 400. */
  maxSockets?: number;
  userAgent?: string;
}

/** Fills TLS material and the Authorization header into request options. */
type Authenticate = (o: https.RequestOptions) => Promise<void>;

function directAuth(a: KubeAccess): Authenticate {
  const token = a.token !== undefined ? () => a.token : a.tokenFile ? createTokenSource(a.tokenFile) : () => undefined;
  return async (o) => {
    if (a.ca) o.ca = a.ca;
    if (a.cert) o.cert = a.cert;
    if (a.key) o.key = a.key;
    if (a.insecureSkipTlsVerify) o.rejectUnauthorized = false;
    if (a.tlsServerName) o.servername = a.tlsServerName;
    const t = token();
    if (t) (o.headers as Record<string, string>).authorization = `Bearer ${t}`;
  };
}

// Only credentials kubeconfig.ts does not produce load client-node (~85 MiB RSS), on the first request. It gets
// just the context we selected, so both agree on the server; it re-runs exec plugins and refreshes tokens itself.
function clientNodeAuth(f: KubeFallback): Authenticate {
  let kc: Promise<KubeConfig> | undefined;
  return async (o) => {
    kc ??= import('@kubernetes/client-node').then(({ KubeConfig }) => {
      const k = new KubeConfig();
      k.loadFromString(JSON.stringify(f.document));
      return k;
    });
    await (await kc).applyToHTTPSOptions(o);
  };
}

export function createKubeClient(opts: KubeClientOptions = {}): KubeClient {
  const access = loadKubeAccess({ path: opts.kubeconfigPath, context: opts.context });
  const authenticate = access.kind === 'fallback' ? clientNodeAuth(access) : directAuth(access);
  const server = access.server.replace(/\/$/, '');
  const counts: RequestCounts = {};
  const userAgent = opts.userAgent ?? 'certsmith';
  let agent: https.Agent | undefined;

  async function requestOptions(method: string, path: string, headers: Record<string, string>) {
    const url = new URL(server + path);
    const o: https.RequestOptions = {
      method,
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port,
      path: url.pathname + url.search,
      headers: { 'user-agent': userAgent, accept: 'application/json', ...headers },
    };
    // Client certificates and the bearer token (re-read, so rotated service-account tokens work).
    await authenticate(o);
    if (!agent) {
      agent = new https.Agent({
        keepAlive: true,
        maxSockets: opts.maxSockets ?? 32,
        ca: o.ca,
        cert: o.cert,
        key: o.key,
        ...(o.rejectUnauthorized !== undefined ? { rejectUnauthorized: o.rejectUnauthorized } : {}),
      });
    }
    o.agent = agent;
    return o;
  }

  function send(method: string, path: string, body?: unknown, contentType = 'application/json', signal?: AbortSignal) {
    counts[method] = (counts[method] ?? 0) + 1;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
      const headers: Record<string, string> = payload ? { 'content-type': contentType, 'content-length': String(payload.length) } : {};
      // WATCH is only how requests are counted: on the wire a watch is a GET with watch=true.
      requestOptions(method === 'WATCH' ? 'GET' : method, path, headers).then((o) => {
        const req = https.request({ ...o, signal }, resolve);
        req.on('error', (err) => reject(err.name === 'AbortError' ? err : new KubeApiError('KubeUnavailable', 0, `${method} ${path}: ${err.message}`)));
        if (payload) req.write(payload);
        req.end();
      }, reject);
    });
  }

  async function readBody(res: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  }

  async function call<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const res = await send(method, path, body, contentType);
    const text = await readBody(res);
    const status = res.statusCode ?? 0;
    if (status >= 200 && status < 300) return (text ? JSON.parse(text) : undefined) as T;
    throw apiError(method, path, status, text, res.headers['retry-after']);
  }

  return {
    server,
    async get<T extends KubeObject>(r: Resource, namespace: string | undefined, name: string) {
      try {
        return await call<T>('GET', resourcePath(r, namespace, name));
      } catch (err) {
        if (err instanceof KubeApiError && err.code === 'KubeNotFound') return undefined;
        throw err;
      }
    },
    async list<T extends KubeObject>(r: Resource, o: ListOptions = {}) {
      const q = query({
        labelSelector: o.labelSelector,
        fieldSelector: o.fieldSelector,
        limit: o.limit,
        continue: o.continue,
        resourceVersion: o.resourceVersion,
      });
      const res = await call<{ items: T[]; metadata: { resourceVersion: string; continue?: string } }>('GET', resourcePath(r, o.namespace) + q);
      const kind = r.kind;
      const apiVersion = apiVersionOf(r);
      // List items come without apiVersion/kind; fill them so objects look the same from list and watch.
      for (const item of res.items) {
        item.apiVersion ??= apiVersion;
        item.kind ??= kind;
      }
      return { items: res.items, resourceVersion: res.metadata.resourceVersion, continue: res.metadata.continue || undefined };
    },
    async watch<T extends KubeObject>(r: Resource, o: WatchOptions, onEvent: (e: WatchEvent<T>) => void) {
      const q = query({
        watch: 'true',
        allowWatchBookmarks: 'true',
        resourceVersion: o.resourceVersion,
        timeoutSeconds: o.timeoutSeconds,
        labelSelector: o.labelSelector,
        fieldSelector: o.fieldSelector,
      });
      const path = resourcePath(r, o.namespace) + q;
      let res: IncomingMessage;
      try {
        res = await send('WATCH', path, undefined, undefined, o.signal);
      } catch (err) {
        if (o.signal.aborted) return;
        throw err;
      }
      const status = res.statusCode ?? 0;
      if (status !== 200) throw apiError('GET', path, status, await readBody(res), undefined);
      // Decoded as a stream: a character split between two chunks is joined, not replaced.
      res.setEncoding('utf8');
      let buffered = '';
      try {
        for await (const chunk of res) {
          buffered += chunk as string;
          // Lines are cut by position and the rest kept once per chunk: every replica of a sharded set reads every
          // Certificate event, many to a chunk.
          let start = 0;
          let nl: number;
          while ((nl = buffered.indexOf('\n', start)) >= 0) {
            const line = buffered.slice(start, nl).trim();
            start = nl + 1;
            if (!line) continue;
            const event = JSON.parse(line) as WatchEvent<T>;
            if (event.type === 'ERROR') {
              const st = event.object as unknown as { code?: number; message?: string; reason?: string };
              const code = st.code ?? 500;
              throw new KubeApiError(codeForStatus(code), code, `watch ${r.plural}: ${st.message ?? 'error'}`, st.reason);
            }
            onEvent(event);
          }
          buffered = buffered.slice(start);
        }
      } catch (err) {
        if (o.signal.aborted) return;
        if (err instanceof KubeApiError) throw err;
        throw new KubeApiError('KubeUnavailable', 0, `watch ${r.plural} broke: ${(err as Error).message}`);
      }
    },
    create<T extends KubeObject>(r: Resource, obj: T) {
      return call<T>('POST', resourcePath(r, obj.metadata.namespace), obj);
    },
    replace<T extends KubeObject>(r: Resource, obj: T) {
      return call<T>('PUT', resourcePath(r, obj.metadata.namespace, obj.metadata.name), obj);
    },
    apply<T extends KubeObject>(r: Resource, obj: T, o: ApplyOptions = {}) {
      const q = query({ fieldManager: FIELD_MANAGER, force: o.force ? 'true' : undefined });
      return call<T>('PATCH', resourcePath(r, obj.metadata.namespace, obj.metadata.name, o.subresource) + q, obj, 'application/apply-patch+yaml');
    },
    mergePatch<T extends KubeObject>(r: Resource, namespace: string | undefined, name: string, patch: unknown) {
      return call<T>('PATCH', resourcePath(r, namespace, name) + query({ fieldManager: FIELD_MANAGER }), patch, 'application/merge-patch+json');
    },
    async delete(r: Resource, namespace: string | undefined, name: string, o: { uid?: string } = {}) {
      const body = o.uid ? { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: o.uid } } : undefined;
      try {
        await call('DELETE', resourcePath(r, namespace, name), body);
      } catch (err) {
        if (err instanceof KubeApiError && err.code === 'KubeNotFound') return;
        throw err;
      }
    },
    getPath<T>(path: string) {
      return call<T>('GET', path);
    },
    requestCounts: () => ({ ...counts }),
  };
}

function query(params: Record<string, string | number | undefined>): string {
  const entries = Object.entries(params).filter((e): e is [string, string | number] => e[1] !== undefined && e[1] !== '');
  if (entries.length === 0) return '';
  return '?' + entries.map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`).join('&');
}

function apiError(method: string, path: string, status: number, text: string, retryAfter: string | string[] | undefined) {
  let message = text.slice(0, 500);
  let reason: string | undefined;
  try {
    const st = JSON.parse(text) as { message?: string; reason?: string };
    message = st.message ?? message;
    reason = st.reason;
  } catch {
    // not a Status object: keep the raw text
  }
  const ra = typeof retryAfter === 'string' ? Number(retryAfter) : undefined;
  return new KubeApiError(codeForStatus(status), status, `${method} ${path}: ${status} ${message}`, reason, Number.isFinite(ra) ? ra : undefined);
}
