// DNS-01 through a user's HTTP endpoint, for DNS hosts we have no provider for: we POST what to publish, they do it.
// The endpoint is the tenant's choice, so each POST runs under the limits of ../http-limits.ts.
import { CertsmithError } from '../../errors.ts';
import { type BoundedResponse, createOriginGate, excerpt, type OriginGate, sendBounded, WEBHOOK_READ_LIMITS } from '../http-limits.ts';
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
  /** Whole request, from waiting for a slot to the last byte (default 30 s, WEBHOOK_READ_LIMITS). */
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

export const DEFAULT_WEBHOOK_TIMEOUT_MS = WEBHOOK_READ_LIMITS.deadlineMs;

export interface WebhookDeps {
  /** Slots per endpoint origin, shared by every provider the solvers make (default: one of this provider's own). */
  gate?: OriginGate;
}

export function createWebhookProvider(config: WebhookConfig, deps: WebhookDeps = {}): Dns01Provider {
  let url: URL;
  try {
    url = new URL(config.url);
  } catch {
    throw new CertsmithError('InvalidSpec', `webhook url "${excerpt(config.url, 120)}" is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new CertsmithError('InvalidSpec', `webhook url must be https:// or http://, not ${url.protocol}//`);
  if (config.caBundle !== undefined && url.protocol !== 'https:')
    throw new CertsmithError('InvalidSpec', 'webhook caBundle is set but the url is not https://');
  // Strict parsing: only CERTIFICATE blocks, so a pasted private key is refused here, not sent along as trust.
  const ca = config.caBundle === undefined ? undefined : parseCertificatesPem(config.caBundle).map((der) => encodePem('CERTIFICATE', der));
  const limits = { ...WEBHOOK_READ_LIMITS, ...(config.timeoutMs !== undefined ? { deadlineMs: config.timeoutMs } : {}) };
  const gate = deps.gate ?? createOriginGate();
  // Never the query string in messages: it may carry a secret.
  const endpoint = excerpt(`${url.origin}${url.pathname}`, 120);

  const send = async (action: WebhookRequest['action'], r: TxtRecord): Promise<void> => {
    const body: WebhookRequest = { action, fqdn: absolute(r.fqdn), zone: r.zone ? absolute(r.zone) : null, value: r.value };
    const text = JSON.stringify(body);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(text)),
      'user-agent': 'certsmith-dns01-webhook',
    };
    if (config.bearerToken) headers.authorization = `Bearer ${config.bearerToken}`;
    let res: BoundedResponse;
    try {
      res = await sendBounded({ url, method: 'POST', headers, body: text, ...(ca ? { options: { ca } } : {}) }, limits, gate);
    } catch (err) {
      throw unreachable(endpoint, err as Error);
    }
    // Any 2xx means done, whatever follows it: a long body was cut after its start (WEBHOOK_READ_LIMITS).
    if (res.status >= 200 && res.status < 300) return;
    const quoted = excerpt(res.body.toString('utf8'));
    throw new CertsmithError('Dns01WebhookFailed', `webhook ${endpoint} answered ${res.status} to ${action} of "${body.fqdn}"${quoted ? `: ${quoted}` : ''}`);
  };
  return {
    present: (r) => send('present', r),
    cleanup: (r) => send('cleanup', r),
  };
}

function absolute(name: string): string {
  return `${canonicalName(name)}.`;
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
