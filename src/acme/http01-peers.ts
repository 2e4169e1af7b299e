// With --shards, a replica caches only its shards' Certificates, so the key authorization the CA asks for may be in
// another replica's cache: whichever pod the solver Service picks asks the other live replicas (their addresses are
// in their member Leases) and passes the first answer on. No API write per challenge; bounded in time, size and
// number, and a request asked on behalf of a peer is never asked on again (no loops, no amplification chains).
import http from 'node:http';

/** Set on a request one replica sends another: that one answers from its own cache only. */
export const FORWARDED_HEADER = 'x-certsmith-http01-forwarded';

export interface PeerAskerOptions {
  /** host:port of the other live replicas' challenge servers. */
  peers: () => readonly string[];
  /** Whole budget of one ask, every peer at once (default 2 s: a CA waits ~10 s for an answer). */
  timeoutMs?: number;
  /** Asks in flight at once; beyond it a miss is answered 404 at once (a flood of unknown tokens). Default 64. */
  maxInFlight?: number;
}

/** A key authorization is ~90 bytes; anything longer than this is not one. */
const MAX_ANSWER_BYTES = 4096;

export type PeerAsker = (request: { url: string; host: string | undefined }) => Promise<string | undefined>;

export function createPeerAsker(opts: PeerAskerOptions): PeerAsker {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const maxInFlight = opts.maxInFlight ?? 64;
  let inFlight = 0;

  function askOne(peer: string, request: { url: string; host: string | undefined }, signal: AbortSignal): Promise<string | undefined> {
    return new Promise((resolve) => {
      const m = /^(.+):(\d+)$/.exec(peer);
      if (!m) return resolve(undefined);
      const req = http.get(
        {
          host: m[1]!.replace(/^\[|\]$/g, ''),
          port: Number(m[2]),
          path: request.url,
          headers: { host: request.host ?? '', [FORWARDED_HEADER]: '1' },
          signal,
          agent: false,
        },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            return resolve(undefined);
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_ANSWER_BYTES) {
              req.destroy();
              return resolve(undefined);
            }
            chunks.push(c);
          });
          res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
          res.on('error', () => resolve(undefined));
        },
      );
      req.on('error', () => resolve(undefined));
    });
  }

  return async (request) => {
    const peers = opts.peers();
    if (peers.length === 0 || inFlight >= maxInFlight) return undefined;
    inFlight++;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), timeoutMs).unref();
    try {
      // The first peer with an answer wins; the others are cut.
      const answers = peers.map((p) => askOne(p, request, abort.signal).then((a) => (a === undefined ? Promise.reject(new Error('no answer')) : a)));
      return await Promise.any(answers).catch(() => undefined);
    } finally {
      clearTimeout(timer);
      abort.abort();
      inFlight--;
    }
  };
}
