// Answers HTTP-01 challenges (RFC 8555 8.3) on every replica. Key authorizations come from the Certificates'
// status through `lookup`, so whichever replica the CA's request reaches can answer it: the API is the shared
// storage, as certmagic's distributed solving uses its own. Which answer a request gets is decided in
// http01-answer.ts; this file holds the sockets.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ChallengeAnswer, decideHttp01, type Http01Decision } from './http01-answer.ts';
import { FORWARDED_HEADER, type PeerAsker } from './http01-peers.ts';

export interface Http01Server {
  port: number;
  close(): Promise<void>;
}

// How long a request no challenge answers waits for the index to be loaded before it is answered 503.
const LOAD_WAIT_MS = 10_000;
// A request held for the load keeps its socket and parser (headers up to 16 KiB) for up to loadWaitMs. 256 take
// under 10 MiB, and are more than the validation requests a restarting replica sees in those seconds (a CA asks from
// a handful of vantage points per challenge); beyond them a flood of unknown tokens is answered 503 at once.
const MAX_WAITING_FOR_LOAD = 256;
// A CA's validation request is a few hundred bytes written at once, through at most an ingress controller: 10 s is
// ample for it, where Node's default (60 s, checked every 30 s) lets a client trickling bytes hold a socket 90 s.
const HEADER_DEADLINE_MS = 10_000;
// Between requests a challenge server has nothing to wait for: 5 s (its keep-alive timeout until now) lets an ingress
// controller reuse its upstream connection for the next challenge (it reads the timeout from Keep-Alive), and soon
// frees a socket that stays silent or whose client stopped reading.
const IDLE_DEADLINE_MS = 5_000;
// A kept-alive connection is closed this long after the idle deadline it advertises, so a client that honours the
// advertised one never sends a request into a closing socket (Node's keepAliveTimeoutBuffer, set here explicitly).
const KEEP_ALIVE_GRACE_MS = 1_000;
/** Only what may be a challenge is asked of peers (each checks the token and name itself). */
const CHALLENGE_PATH = /^\/\.well-known\/acme-challenge\/[A-Za-z0-9_-]{1,256}$/;

export async function startHttp01Server(opts: {
  host: string;
  port: number;
  /** The live challenges with this token; each is answered only to a request for its own identifier. */
  lookup: (token: string) => readonly ChallengeAnswer[];
  /**
   * Resolves once `lookup` knows every challenge in play. A process that has just started (a restarted container
   * keeps its pod IP, and stays behind the solver Service) listens before its cache is loaded; answering 404 then
   * would fail a challenge another process submitted. Until it resolves, a request no challenge answers waits for it.
   */
  loaded?: Promise<void>;
  loadWaitMs?: number;
  /** Requests held for the load at once; one more is answered 503 at once. */
  maxWaitingForLoad?: number;
  /** Time a request has, from its first byte, to send its headers (and any body); then it is cut. */
  headerDeadlineMs?: number;
  /**
   * Time a connection may go with nothing read or written: silent after connecting, idle between requests, or its
   * client no longer reading answers. A request held while challenges load is exempt (loadWaitMs bounds it).
   */
  idleDeadlineMs?: number;
  onRequest?: (found: boolean) => void;
  /**
   * With --shards: a challenge this replica does not know may be another's (http01-peers.ts). Asked once per
   * request the cache cannot answer, never for a request a peer sent.
   */
  askPeers?: PeerAsker;
}): Promise<Http01Server> {
  let loaded = opts.loaded === undefined;
  const whenLoaded = (opts.loaded ?? Promise.resolve()).then(() => {
    loaded = true;
  });
  const loadWaitMs = opts.loadWaitMs ?? LOAD_WAIT_MS;
  const maxWaitingForLoad = opts.maxWaitingForLoad ?? MAX_WAITING_FOR_LOAD;
  const headerDeadlineMs = opts.headerDeadlineMs ?? HEADER_DEADLINE_MS;
  const idleDeadlineMs = opts.idleDeadlineMs ?? IDLE_DEADLINE_MS;
  let waitingForLoad = 0;

  const serverOptions: http.ServerOptions = {
    headersTimeout: headerDeadlineMs,
    // The body too: a GET has none to wait for, and the answer is sent without reading one.
    requestTimeout: headerDeadlineMs,
    // Node checks those two on a timer (every 30 s by default); often enough that a cut comes close to the deadline.
    connectionsCheckingInterval: Math.min(1_000, Math.ceil(headerDeadlineMs / 4)),
    keepAliveTimeout: idleDeadlineMs,
    keepAliveTimeoutBuffer: KEEP_ALIVE_GRACE_MS,
  };
  const server = http.createServer(serverOptions, (req, res) => {
    const request = { method: req.method ?? '', url: req.url ?? '', host: req.headers.host };
    const decision = decideHttp01(request, opts.lookup, loaded);
    if (decision.kind === 'wait-for-load') {
      if (waitingForLoad >= maxWaitingForLoad) {
        notLoaded(res, 'too many requests waiting for challenges to load\n');
        return;
      }
      // A place is held until the request is answered or its client goes away, whichever comes first.
      waitingForLoad++;
      let holding = true;
      const release = () => {
        if (holding) waitingForLoad--;
        holding = false;
      };
      res.once('close', release);
      // Silent while it waits, the connection is not idle on its client's account. Node sets the keep-alive
      // deadline again once the answer is written.
      req.socket.setTimeout(0);
      void waitAtMost(whenLoaded, loadWaitMs).then(() => {
        release();
        if (loaded) answerOrAsk(req, res, request, decideHttp01(request, opts.lookup, true));
        else notLoaded(res, 'challenges not loaded yet\n');
      });
      return;
    }
    answerOrAsk(req, res, request, decision);
  });

  function answerOrAsk(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    request: { method: string; url: string; host: string | undefined },
    decision: Http01Decision,
  ) {
    const ask = opts.askPeers;
    if (decision.kind !== 'not-found' || !ask || req.headers[FORWARDED_HEADER] !== undefined || !CHALLENGE_PATH.test(request.url)) {
      answer(res, request.method, decision);
      return;
    }
    void ask(request).then((keyAuthorization) => answer(res, request.method, keyAuthorization === undefined ? decision : { kind: 'answer', keyAuthorization }));
  }
  // Inactivity on a socket: one that never sends a byte, and one whose client stopped reading (its answers stall).
  server.timeout = idleDeadlineMs;

  /** 503, never the 404 that would fail a challenge a Certificate not loaded yet may hold. */
  function notLoaded(res: http.ServerResponse, body: string): void {
    opts.onRequest?.(false);
    res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' }).end(body);
  }

  function answer(res: http.ServerResponse, method: string, decision: Http01Decision): void {
    const keyAuthorization = decision.kind === 'answer' ? decision.keyAuthorization : undefined;
    opts.onRequest?.(keyAuthorization !== undefined);
    if (keyAuthorization === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(keyAuthorization) });
    res.end(method === 'HEAD' ? undefined : keyAuthorization);
  }

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

/** Token → key authorization and identifier for every HTTP-01 challenge a Certificate's status has in play. */
export interface ChallengeIndex {
  /** Replaces what is known for one Certificate (key: namespace/name). */
  set(key: string, challenges: readonly { identifier: string; type: string; token: string; keyAuthorization: string; state: string }[] | undefined): void;
  /**
   * The live challenges with this token: more than one when Certificates share an authorization (a CA hands the same
   * pending one to every order of an account for the name), so one Certificate leaving does not take the other's.
   */
  lookup(token: string): readonly ChallengeAnswer[];
  /** How many tokens are served. */
  size(): number;
}

export function createChallengeIndex(): ChallengeIndex {
  const tokensOf = new Map<string, string[]>();
  // token → Certificate key → its challenges with that token
  const byToken = new Map<string, Map<string, ChallengeAnswer[]>>();
  return {
    set(key, challenges) {
      for (const token of tokensOf.get(key) ?? []) {
        const holders = byToken.get(token);
        holders?.delete(key);
        if (holders?.size === 0) byToken.delete(token);
      }
      tokensOf.delete(key);
      const live = (challenges ?? []).filter((c) => c.type === 'http-01' && (c.state === 'presented' || c.state === 'submitted'));
      if (live.length === 0) return;
      for (const c of live) {
        let holders = byToken.get(c.token);
        if (!holders) byToken.set(c.token, (holders = new Map()));
        holders.set(key, [...(holders.get(key) ?? []), { identifier: c.identifier, keyAuthorization: c.keyAuthorization }]);
      }
      tokensOf.set(key, [...new Set(live.map((c) => c.token))]);
    },
    lookup: (token) => [...(byToken.get(token)?.values() ?? [])].flat(),
    size: () => byToken.size,
  };
}
