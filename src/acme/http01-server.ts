// Answers HTTP-01 challenges (RFC 8555 8.3) on every replica. Key authorizations come from the Certificates'
// status through `lookup`, so whichever replica the CA's request reaches can answer it: the API is the shared
// storage, as certmagic's distributed solving uses its own.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

const PREFIX = '/.well-known/acme-challenge/';
// base64url, as RFC 8555 8.1 makes tokens.
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

export interface Http01Server {
  port: number;
  close(): Promise<void>;
}

// How long a request for an unknown token waits for the index to be loaded before it is answered 503.
const LOAD_WAIT_MS = 10_000;

export async function startHttp01Server(opts: {
  host: string;
  port: number;
  lookup: (token: string) => string | undefined;
  /**
   * Resolves once `lookup` knows every challenge in play. A process that has just started (a restarted container
   * keeps its pod IP, and stays behind the solver Service) listens before its cache is loaded; answering 404 then
   * would fail a challenge another process submitted. Until it resolves, an unknown token waits for it.
   */
  loaded?: Promise<void>;
  loadWaitMs?: number;
  onRequest?: (found: boolean) => void;
}): Promise<Http01Server> {
  let loaded = opts.loaded === undefined;
  const whenLoaded = opts.loaded?.then(() => {
    loaded = true;
  });
  const loadWaitMs = opts.loadWaitMs ?? LOAD_WAIT_MS;

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const token = path.startsWith(PREFIX) ? path.slice(PREFIX.length) : undefined;
    const method = req.method ?? '';
    const askable = (method === 'GET' || method === 'HEAD') && token !== undefined && TOKEN.test(token);
    const keyAuthorization = askable ? opts.lookup(token) : undefined;
    if (keyAuthorization === undefined && askable && !loaded && whenLoaded) {
      void waitAtMost(whenLoaded, loadWaitMs).then(() => {
        if (loaded) answer(res, method, opts.lookup(token));
        else {
          opts.onRequest?.(false);
          res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' }).end('challenges not loaded yet\n');
        }
      });
      return;
    }
    answer(res, method, keyAuthorization);
  });

  function answer(res: http.ServerResponse, method: string, keyAuthorization: string | undefined): void {
    opts.onRequest?.(keyAuthorization !== undefined);
    if (keyAuthorization === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(keyAuthorization) });
    res.end(method === 'HEAD' ? undefined : keyAuthorization);
  }
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function waitAtMost(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  // Unref'd: a request still waiting never holds a stopping process open.
  const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms).unref()));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Token → key authorization for every HTTP-01 challenge a Certificate's status has in play. */
export interface ChallengeIndex {
  /** Replaces what is known for one Certificate (key: namespace/name). */
  set(key: string, challenges: readonly { type: string; token: string; keyAuthorization: string; state: string }[] | undefined): void;
  lookup(token: string): string | undefined;
  size(): number;
}

export function createChallengeIndex(): ChallengeIndex {
  const byCert = new Map<string, string[]>();
  const byToken = new Map<string, string>();
  return {
    set(key, challenges) {
      for (const t of byCert.get(key) ?? []) byToken.delete(t);
      byCert.delete(key);
      const live = (challenges ?? []).filter((c) => c.type === 'http-01' && (c.state === 'presented' || c.state === 'submitted'));
      if (live.length === 0) return;
      for (const c of live) byToken.set(c.token, c.keyAuthorization);
      byCert.set(
        key,
        live.map((c) => c.token),
      );
    },
    lookup: (token) => byToken.get(token),
    size: () => byToken.size,
  };
}
