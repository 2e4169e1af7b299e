// DNS-01 through a user's HTTP endpoint, for DNS hosts we have no provider for: we POST what to publish, they do it.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { CertsmithError } from '../../errors.ts';
import { encodePem, parseCertificatesPem } from '../../pki/pem.ts';
import type { Dns01Provider, TxtRecord } from './types.ts';
import { canonicalName } from './wire.ts';

export interface WebhookConfig {
  /** https:// (or http:// inside the cluster) endpoint that receives the POSTs. */
  url: string;
  /** Sent as `Authorization: Bearer <token>`. */
  bearerToken?: string;
  /** PEM CA certificates to trust for the endpoint instead of the system roots. */
  caBundle?: string;
  /** Whole request, connect to last byte (default 30 s). */
  timeoutMs?: number;
}

/**
 * Body of each POST. Names are absolute, with the trailing dot; zone is null when the issuer does not know it.
 * Any 2xx answer means done; present and cleanup must be idempotent on the receiving side too.
 */
export interface WebhookRequest {
  action: 'present' | 'cleanup';
  fqdn: string;
  zone: string | null;
  value: string;
}

export const DEFAULT_WEBHOOK_TIMEOUT_MS = 30_000;
const EXCERPT_CHARS = 200;
const BODY_LIMIT = 4096;

export function createWebhookProvider(config: WebhookConfig): Dns01Provider {
  let url: URL;
  try {
    url = new URL(config.url);
  } catch {
    throw new CertsmithError('InvalidSpec', `webhook url "${config.url}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new CertsmithError('InvalidSpec', `webhook url must be https:// or http://, not ${url.protocol}//`);
  if (config.caBundle !== undefined && url.protocol !== 'https:')
    throw new CertsmithError('InvalidSpec', 'webhook caBundle is set but the url is not https://');
  // Strict parsing: only CERTIFICATE blocks, so a pasted private key is refused here, not sent along as trust.
  const ca = config.caBundle === undefined ? undefined : parseCertificatesPem(config.caBundle).map((der) => encodePem('CERTIFICATE', der));
  const timeoutMs = config.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
  // Never the query string in messages: it may carry a secret.
  const endpoint = `${url.origin}${url.pathname}`;

  const send = async (action: WebhookRequest['action'], r: TxtRecord): Promise<void> => {
    const body: WebhookRequest = { action, fqdn: absolute(r.fqdn), zone: r.zone ? absolute(r.zone) : null, value: r.value };
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'certsmith-dns01-webhook' };
    if (config.bearerToken) headers.authorization = `Bearer ${config.bearerToken}`;
    const { status, excerpt } = await post(url, JSON.stringify(body), headers, ca, timeoutMs, endpoint);
    if (status >= 200 && status < 300) return;
    throw new CertsmithError('Dns01WebhookFailed', `webhook ${endpoint} answered ${status} to ${action} of "${body.fqdn}"${excerpt ? `: ${excerpt}` : ''}`);
  };
  return {
    present: (r) => send('present', r),
    cleanup: (r) => send('cleanup', r),
  };
}

function absolute(name: string): string {
  return `${canonicalName(name)}.`;
}

function post(
  url: URL,
  body: string,
  headers: Record<string, string>,
  ca: string[] | undefined,
  timeoutMs: number,
  endpoint: string,
): Promise<{ status: number; excerpt: string }> {
  return new Promise((resolve, reject) => {
    const options = { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } };
    const onResponse = (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let kept = 0;
      res.on('data', (chunk: Buffer) => {
        // Keep only the start: enough for a message, never a whole error page in memory.
        if (kept < BODY_LIMIT) {
          chunks.push(chunk);
          kept += chunk.length;
        }
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, excerpt: excerptOf(Buffer.concat(chunks).toString('utf8')) });
      });
      res.on('error', fail);
    };
    const req = url.protocol === 'https:' ? httpsRequest(url, ca ? { ...options, ca } : options, onResponse) : httpRequest(url, options, onResponse);
    const timer = setTimeout(() => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' })), timeoutMs);
    function fail(err: Error) {
      clearTimeout(timer);
      reject(unreachable(endpoint, err));
    }
    req.on('error', fail);
    req.end(body);
  });
}

function excerptOf(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > EXCERPT_CHARS ? `${flat.slice(0, EXCERPT_CHARS)}…` : flat;
}

const TLS_TRUST_ERRORS = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function unreachable(endpoint: string, err: Error): CertsmithError {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  let why = err.message;
  if (code === 'ECONNREFUSED') why = 'connection refused: nothing listens there';
  else if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') why = `the host name does not resolve (${code})`;
  else if (TLS_TRUST_ERRORS.has(code)) why = `its TLS certificate is not trusted (${code}): ${err.message}; set caBundle to the CA that signed it`;
  return new CertsmithError('Dns01Unreachable', `webhook ${endpoint} could not be reached: ${why}`, { cause: err });
}
