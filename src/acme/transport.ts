// HTTP transport for one ACME server: node:https with the issuer's own CA trust, under the limits of
// http-limits.ts (body size, a deadline for the whole request, requests per origin). acme-client's
// requests reach it through axios-route.ts, in place of axios's own HTTP, which trusts one global CA set and,
// through acme-client's interceptor, sleeps through Retry-After inside the call (up to an hour on a 429 — a
// blocked worker); here every error response becomes an AcmeError at once and the caller decides when to come back.
import http from 'node:http';
import https from 'node:https';
import { AcmeError, parseRetryAfter, problemError } from './errors.ts';
import { ACME_READ_LIMITS, createOriginGate, excerpt, OutboundLimitError, type OriginGate, type ReadLimits, sendBounded } from './http-limits.ts';

export interface TransportResponse {
  status: number;
  /** Lower-case header names, as node gives them. */
  headers: Record<string, string | string[] | undefined>;
  /** Parsed JSON for JSON bodies, the text otherwise. */
  data: unknown;
}

export interface TransportOptions {
  /** PEM CAs to trust instead of Node's public roots. */
  caPem?: string;
  /** The whole request, from waiting for a slot to the last byte (default ACME_READ_LIMITS: 30 s). */
  timeoutMs?: number;
  /** Body bytes read at most; a longer answer is refused with AcmeResponseTooLarge (default 1 MiB). */
  maxBodyBytes?: number;
  /** Slots per origin, shared by every ACME client of the process (default: one gate of this transport's own). */
  gate?: OriginGate;
  userAgent?: string;
  now?: () => Date;
  /** Called after every response (for metrics): method, URL, HTTP status. */
  onResponse?: (method: string, url: string, status: number) => void;
}

export interface Transport {
  /** `data` is sent as JSON; `body` is sent as it is (a JWS acme-client has already serialized). */
  request(url: string, method: string, opts?: { data?: unknown; body?: string; headers?: Record<string, string> }): Promise<TransportResponse>;
  close(): void;
}

const BAD_NONCE = 'urn:ietf:params:acme:error:badNonce';
// Nonces kept from responses (RFC 8555 7.2: every response carries a fresh one). acme-client asks newNonce with a
// HEAD before each signed request; answering from here halves the round trips. A kept nonce the CA has since
// expired costs one badNonce retry, which acme-client makes.
const NONCE_POOL_MAX = 32;
const NONCE_MAX_AGE_MS = 60_000;

export function createTransport(opts: TransportOptions = {}): Transport {
  const limits: ReadLimits = {
    ...ACME_READ_LIMITS,
    ...(opts.timeoutMs !== undefined ? { deadlineMs: opts.timeoutMs } : {}),
    ...(opts.maxBodyBytes !== undefined ? { maxBodyBytes: opts.maxBodyBytes } : {}),
  };
  const gate = opts.gate ?? createOriginGate();
  const now = opts.now ?? (() => new Date());
  // Own agents, so close() ends this issuer's connections, http:// ones too.
  const httpsAgent = new https.Agent({ keepAlive: true, ...(opts.caPem ? { ca: opts.caPem } : {}) });
  const httpAgent = new http.Agent({ keepAlive: true });

  async function send(url: string, method: string, body: Buffer | undefined, headers: Record<string, string>): Promise<TransportResponse> {
    const u = new URL(url);
    const res = await sendBounded(
      {
        url: u,
        method,
        headers: {
          'user-agent': opts.userAgent ?? 'certsmith',
          accept: 'application/json, application/pem-certificate-chain',
          ...(body ? { 'content-type': 'application/jose+json', 'content-length': String(body.length) } : {}),
          ...headers,
        },
        ...(body ? { body } : {}),
        options: { agent: u.protocol === 'http:' ? httpAgent : httpsAgent },
      },
      limits,
      gate,
    );
    const text = res.body.toString('utf8');
    const type = String(res.headers['content-type'] ?? '');
    let data: unknown = text;
    if (/json/.test(type) && text) {
      try {
        data = JSON.parse(text);
      } catch {
        throw new AcmeError('AcmeBadResponse', `${method.toUpperCase()} ${shownUrl(url)} answered unreadable JSON (HTTP ${res.status})`);
      }
    }
    return { status: res.status, headers: res.headers, data };
  }

  const nonces: { value: string; at: number }[] = [];
  const keepNonce = (headers: TransportResponse['headers']) => {
    const value = headers['replay-nonce'];
    if (typeof value !== 'string' || value === '') return;
    nonces.push({ value, at: now().getTime() });
    if (nonces.length > NONCE_POOL_MAX) nonces.shift();
  };
  const takeNonce = (): string | undefined => {
    const fresh = now().getTime() - NONCE_MAX_AGE_MS;
    for (let n = nonces.pop(); n; n = nonces.pop()) if (n.at >= fresh) return n.value;
    return undefined;
  };

  return {
    async request(url, method, o = {}) {
      // acme-client's only HEAD request is newNonce.
      if (method.toUpperCase() === 'HEAD') {
        const kept = takeNonce();
        if (kept) return { status: 200, headers: { 'replay-nonce': kept }, data: '' };
      }
      const body = o.body !== undefined ? Buffer.from(o.body) : o.data === undefined ? undefined : Buffer.from(JSON.stringify(o.data));
      let res: TransportResponse;
      try {
        res = await send(url, method, body, o.headers ?? {});
      } catch (err) {
        if (err instanceof AcmeError) throw err;
        if (err instanceof OutboundLimitError) throw limited(method, url, err);
        throw unreachable(url, err as NodeJS.ErrnoException);
      }
      opts.onResponse?.(method.toUpperCase(), url, res.status);
      // acme-client retries badNonce itself (RFC 8555 6.5), so that one answer goes back to it untouched.
      const problem = res.data as { type?: string } | undefined;
      const badNonce = res.status === 400 && problem?.type === BAD_NONCE;
      // The HEAD's own nonce goes straight back to acme-client, and so does a badNonce answer's (its retry signs
      // with it): kept as well, it would be used twice. Any other is kept for the next signed request.
      if (method.toUpperCase() !== 'HEAD' && !badNonce) keepNonce(res.headers);
      if (res.status >= 400 && !badNonce) {
        throw problemError(method, url, res.status, res.data, parseRetryAfter(res.headers['retry-after'], now()));
      }
      return res;
    },
    close() {
      httpsAgent.destroy();
      httpAgent.destroy();
    },
  };
}

/** The URL as a message shows it: the server chose it (from its directory, a Location), so it is cut short. */
function shownUrl(url: string): string {
  return excerpt(url, 120);
}

function hostOf(url: string): string {
  try {
    return excerpt(new URL(url).host, 120);
  } catch {
    return shownUrl(url);
  }
}

/** A request a limit stopped: too large is the answer's fault; a deadline or a full queue, like no answer at all. */
function limited(method: string, url: string, err: OutboundLimitError): AcmeError {
  if (err.limit === 'too-large') {
    return new AcmeError('AcmeResponseTooLarge', `${method.toUpperCase()} ${shownUrl(url)} ${err.message}, more than any ACME answer: refused`, { cause: err });
  }
  return new AcmeError('AcmeUnreachable', `cannot reach the ACME server ${hostOf(url)} (${err.message})`, { cause: err });
}

function unreachable(url: string, err: NodeJS.ErrnoException): AcmeError {
  const host = hostOf(url);
  const tls = /certificate|self[- ]signed|CERT_|UNABLE_TO_VERIFY|DEPTH_ZERO/i.test(`${err.code ?? ''} ${err.message}`);
  const hint = tls
    ? ': its TLS certificate is not trusted — set caBundle to the CA that signs it'
    : err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN'
      ? ': the name does not resolve'
      : '';
  return new AcmeError('AcmeUnreachable', `cannot reach the ACME server ${host}${hint} (${err.code ?? err.message})`, { cause: err });
}
