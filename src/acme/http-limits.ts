// What an HTTP endpoint a tenant names may cost the operator. Any namespaced Issuer may name an ACME server (over
// http:// too), a DNS-01 webhook, and the names the HTTP-01 self-check fetches; such an endpoint may answer with an
// endless body, or a byte at a time. Every request to one is read here under three limits: a cap on the body's
// bytes, a deadline for the whole request (waiting for a slot, connecting, TLS, headers, the last byte: an idle
// timeout alone is reset by each trickled byte), and a cap on requests in flight to one origin. What of an answer
// reaches a status, an event or a log is an excerpt: short, printable, one line.
import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';

export interface ReadLimits {
  /** Bytes of response body read at most. */
  maxBodyBytes: number;
  /** A longer body: 'refuse' fails the request; 'truncate' keeps the first maxBodyBytes and closes the connection. */
  overflow: 'refuse' | 'truncate';
  /** The whole request, from asking for a slot to the body's last byte. */
  deadlineMs: number;
}

/**
 * ACME: every answer is small. The directory and an order are well under 10 KiB (an order for 100 names, the most a
 * CA allows, is about 15 KiB); the largest is a certificate chain: a leaf with 100 names of 253 characters and two
 * intermediates is under 50 KiB of PEM. 1 MiB is 20 times that, and with the cap on requests per origin and the
 * operator's workers, many in flight at once stay a few tens of MiB. The deadline is a slow CA's worst (a finalize
 * that signs at once is a few seconds) with room to spare; a trickling server is cut there.
 */
export const ACME_READ_LIMITS: ReadLimits = { maxBodyBytes: 1024 * 1024, overflow: 'refuse', deadlineMs: 30_000 };

/**
 * DNS-01 webhook: only the status counts; the body is read for an excerpt of an error, so its first 4 KiB are kept
 * and the connection is closed on the rest. A provider's API may be slow to change a record: 30 s, as before.
 */
export const WEBHOOK_READ_LIMITS: ReadLimits = { maxBodyBytes: 4096, overflow: 'truncate', deadlineMs: 30_000 };

/**
 * HTTP-01 self-check: the expected body is a key authorization (token "." thumbprint, under 200 bytes); a longer
 * one cannot match, so 4 KiB is plenty. It is a pre-flight retried on the next pass, so 5 s for the whole fetch.
 */
export const SELF_CHECK_READ_LIMITS: ReadLimits = { maxBodyBytes: 4096, overflow: 'truncate', deadlineMs: 5_000 };

export interface OriginLimits {
  /** Requests in flight to one origin (scheme, host, port) at most. */
  maxInFlight: number;
  /** Requests waiting for a slot at most; one more is refused at once. */
  maxQueued: number;
  /** How long a request waits for a slot at most (its own deadline runs meanwhile too). */
  maxWaitMs: number;
}

/**
 * 4 in flight per origin: a CA answers in well under a second, so a queue of a few moves fast, while a server that
 * holds every request to its deadline ties up 4 of the operator's workers, not every one that has business with it:
 * a request waits 5 s at most for a slot (a queue behind a healthy CA moves in less), then gives its worker back.
 * 32 waiting covers the most workers a burst brings (--workers is at most 64).
 */
export const ORIGIN_LIMITS: OriginLimits = { maxInFlight: 4, maxQueued: 32, maxWaitMs: 5_000 };

/** Characters of remote text (an error body, a problem's detail) a message quotes at most. */
export const EXCERPT_CHARS = 160;

/** A request stopped by one of the limits; each client turns it into its own coded error. */
export class OutboundLimitError extends Error {
  readonly limit: 'deadline' | 'too-large' | 'busy';
  constructor(limit: OutboundLimitError['limit'], message: string) {
    super(message);
    this.name = 'OutboundLimitError';
    this.limit = limit;
  }
}

export interface OriginGate {
  /**
   * Waits for a slot to `origin`; call the function it gives back once, when done. Throws OutboundLimitError
   * 'busy' when maxQueued requests wait already, 'deadline' when `signal` aborts first.
   */
  enter(origin: string, signal: AbortSignal): Promise<() => void>;
  /** Requests holding a slot to `origin`. */
  inFlight(origin: string): number;
}

/** Slots per origin, shared by the clients given the same gate (one per kind of client in the process). */
export function createOriginGate(overrides: Partial<OriginLimits> = {}): OriginGate {
  const limits = { ...ORIGIN_LIMITS, ...overrides };
  const origins = new Map<string, { active: number; waiting: { admit: () => void }[] }>();

  function release(origin: string) {
    const o = origins.get(origin);
    if (!o) return;
    const next = o.waiting.shift();
    // The slot passes straight to the next in line, so `active` stays.
    if (next) next.admit();
    else if (--o.active === 0) origins.delete(origin);
  }
  function once(origin: string): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      release(origin);
    };
  }

  return {
    enter(origin, signal) {
      if (signal.aborted) return Promise.reject(deadlineError(signal));
      let o = origins.get(origin);
      if (!o) origins.set(origin, (o = { active: 0, waiting: [] }));
      if (o.active < limits.maxInFlight) {
        o.active++;
        return Promise.resolve(once(origin));
      }
      if (o.waiting.length >= limits.maxQueued) {
        return Promise.reject(new OutboundLimitError('busy', `${limits.maxInFlight} requests to it are in flight and ${limits.maxQueued} more wait already`));
      }
      const entry = o;
      return new Promise((resolve, reject) => {
        const waiter = {
          admit: () => {
            clearTimeout(timer);
            signal.removeEventListener('abort', onAbort);
            resolve(once(origin));
          },
        };
        const leaveQueue = (err: Error) => {
          clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          const i = entry.waiting.indexOf(waiter);
          if (i >= 0) entry.waiting.splice(i, 1);
          reject(err);
        };
        const onAbort = () => leaveQueue(deadlineError(signal));
        const timer = setTimeout(
          () =>
            leaveQueue(
              new OutboundLimitError('busy', `none of the ${limits.maxInFlight} requests in flight to it finished within ${formatMs(limits.maxWaitMs)}`),
            ),
          limits.maxWaitMs,
        );
        entry.waiting.push(waiter);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    },
    inFlight: (origin) => origins.get(origin)?.active ?? 0,
  };
}

export interface BoundedRequest {
  url: URL;
  method: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** More node:http(s) options: an agent, CAs to trust, a lookup. */
  options?: https.RequestOptions;
}

export interface BoundedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** The body went on past maxBodyBytes (overflow 'truncate'): `body` is its start. */
  truncated: boolean;
}

/**
 * One request under the limits. Rejects with OutboundLimitError when one of them stops it; with node's error when the
 * endpoint cannot be reached.
 */
export async function sendBounded(r: BoundedRequest, limits: ReadLimits, gate: OriginGate): Promise<BoundedResponse> {
  const deadline = new AbortController();
  const timer = setTimeout(
    () => deadline.abort(new OutboundLimitError('deadline', `no complete answer within ${formatMs(limits.deadlineMs)}`)),
    limits.deadlineMs,
  );
  try {
    const leave = await gate.enter(r.url.origin, deadline.signal);
    try {
      return await exchange(r, limits, deadline.signal);
    } finally {
      leave();
    }
  } finally {
    clearTimeout(timer);
  }
}

function exchange(r: BoundedRequest, limits: ReadLimits, signal: AbortSignal): Promise<BoundedResponse> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      fn();
    };
    const fail = (err: Error) => {
      settle(() => reject(err));
      req.destroy();
    };
    const tooLarge = () => new OutboundLimitError('too-large', `answered more than ${formatBytes(limits.maxBodyBytes)}`);
    const request = r.url.protocol === 'http:' ? http.request : https.request;
    const req = request(r.url, { ...r.options, method: r.method.toUpperCase(), ...(r.headers ? { headers: r.headers } : {}) }, (res) => {
      const declared = Number(res.headers['content-length']);
      // A declared length over the cap is refused before a byte of it is read.
      if (limits.overflow === 'refuse' && declared > limits.maxBodyBytes) return fail(tooLarge());
      const chunks: Buffer[] = [];
      let size = 0;
      const done = (truncated: boolean) =>
        settle(() => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks, size), truncated }));
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        const room = limits.maxBodyBytes - size;
        if (chunk.length <= room) {
          chunks.push(chunk);
          size += chunk.length;
          return;
        }
        if (limits.overflow === 'refuse') return fail(tooLarge());
        chunks.push(chunk.subarray(0, room));
        size += room;
        done(true);
        req.destroy();
      });
      res.on('end', () => done(false));
      res.on('error', fail);
    });
    const onAbort = () => fail(signal.reason instanceof Error ? signal.reason : deadlineError(signal));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', fail);
    req.end(r.body);
  });
}

function deadlineError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new OutboundLimitError('deadline', 'no complete answer in time');
}

/**
 * A short, printable, single-line excerpt of text a remote endpoint chose, for a message in a status, an event or a
 * log: control and format characters (escape sequences, NUL, bidi overrides) and every kind of line break and space
 * become one space, and it is cut to `maxChars` code points, with "…" when something was left out.
 */
export function excerpt(text: string, maxChars = EXCERPT_CHARS): string {
  // Only the start is looked at, so a megabyte costs what a few hundred characters do.
  const head = text.length > maxChars * 8 ? text.slice(0, maxChars * 8) : text;
  const flat = head.replace(/[\p{C}\p{Z}\s]+/gu, ' ').trim();
  const chars = Array.from(flat);
  if (chars.length <= maxChars && head.length === text.length) return flat;
  return `${chars.slice(0, maxChars).join('').trimEnd()}…`;
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

export function formatBytes(n: number): string {
  if (n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}
