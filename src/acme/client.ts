// The only importer of acme-client. It does the protocol (JWS signing, nonces and their badNonce retries, EAB,
// account registration, alternate-chain selection); this module gives it our transport and adds what it lacks:
// Retry-After on polls, the `profile` and `replaces` order fields, IP identifiers, and ARI (src/acme/ari.ts).
import { createHash } from 'node:crypto';
import acme from 'acme-client';
import { AcmeError, parseRetryAfter } from './errors.ts';
import { createTransport, type Transport, type TransportOptions, type TransportResponse } from './transport.ts';

export interface AcmeIdentifier {
  type: 'dns' | 'ip';
  value: string;
}

export interface AcmeDirectory {
  newOrder: string;
  renewalInfo?: string;
  meta?: { termsOfService?: string; externalAccountRequired?: boolean; profiles?: Record<string, string> };
}

export interface AcmeOrder {
  url: string;
  status: 'pending' | 'ready' | 'processing' | 'valid' | 'invalid';
  identifiers: AcmeIdentifier[];
  authorizations: string[];
  finalize: string;
  expires?: string;
  certificate?: string;
  /** The profile the CA issues under, when it states one. */
  profile?: string;
  /** ARI certID of the certificate the order replaces, when it states one. */
  replaces?: string;
  error?: { type?: string; detail?: string };
  /** From Retry-After: when to look at the order again. */
  retryAfterMs?: number;
}

export interface AcmeChallenge {
  type: string;
  url: string;
  status: 'pending' | 'processing' | 'valid' | 'invalid';
  token: string;
  error?: { type?: string; detail?: string };
}

export interface AcmeAuthorization {
  url: string;
  status: 'pending' | 'valid' | 'invalid' | 'deactivated' | 'expired' | 'revoked';
  identifier: AcmeIdentifier;
  wildcard?: boolean;
  challenges: AcmeChallenge[];
  expires?: string;
  retryAfterMs?: number;
}

export interface AcmeRenewalInfo {
  start: Date;
  end: Date;
  explanationURL?: string;
  retryAfterMs?: number;
}

export interface AcmeClientOptions extends TransportOptions {
  directoryUrl: string;
  accountKeyPem: string;
  accountUrl?: string;
  /** External account binding: the key ID and the base64url HMAC key the CA handed out. */
  eab?: { keyID: string; hmacKey: string };
}

export interface AcmeClient {
  readonly directoryUrl: string;
  directory(): Promise<AcmeDirectory>;
  /** Registers the account, or finds the existing one for this key; agrees to the terms of service. */
  registerAccount(opts: { email?: string }): Promise<{ accountUrl: string; status: string }>;
  /** The account's status at the CA (POST-as-GET): valid, deactivated or revoked. */
  accountStatus(): Promise<string>;
  /** URLs of the account's orders (RFC 8555 7.1.2.1), every page. */
  listOrders(): Promise<string[]>;
  /** RFC 7638 JWK thumbprint of the account key (base64url SHA-256). */
  accountKeyThumbprint(): string;
  newOrder(req: { identifiers: AcmeIdentifier[]; profile?: string; replaces?: string }): Promise<AcmeOrder>;
  getOrder(url: string): Promise<AcmeOrder>;
  getAuthorization(url: string): Promise<AcmeAuthorization>;
  /** HTTP-01: the response body; DNS-01: the TXT record value. */
  keyAuthorization(challenge: { type: string; token: string }): Promise<string>;
  submitChallenge(url: string): Promise<AcmeChallenge>;
  finalize(order: { url: string; finalize: string }, csrDer: Uint8Array): Promise<AcmeOrder>;
  downloadCertificate(order: { url: string; certificate: string; status: 'valid' }, preferredChain?: string): Promise<string>;
  /** RFC 9773; undefined when the CA offers no renewalInfo. */
  renewalInfo(certID: string): Promise<AcmeRenewalInfo | undefined>;
  close(): void;
}

// The parts of acme-client's Client that are not in its type declarations.
interface ClientInternals {
  http: { request: Transport['request']; getDirectory(): Promise<AcmeDirectory>; getJwk(): Record<string, string> };
  api: {
    apiRequest(url: string, payload: unknown, validStatusCodes: number[]): Promise<TransportResponse>;
    apiResourceRequest(
      resource: string,
      payload: unknown,
      validStatusCodes: number[],
      opts?: { includeJwsKid?: boolean; includeExternalAccountBinding?: boolean },
    ): Promise<TransportResponse>;
    accountUrl: string | null;
  };
}

export function createAcmeClient(opts: AcmeClientOptions): AcmeClient {
  const transport = createTransport(opts);
  const now = opts.now ?? (() => new Date());
  const client = new acme.Client({
    directoryUrl: opts.directoryUrl,
    accountKey: opts.accountKeyPem,
    ...(opts.accountUrl ? { accountUrl: opts.accountUrl } : {}),
    ...(opts.eab ? { externalAccountBinding: { kid: opts.eab.keyID, hmacKey: toBase64(opts.eab.hmacKey) } } : {}),
  });
  const internals = client as unknown as ClientInternals;
  internals.http.request = (url, method, o) => transport.request(url, method, o);
  const retryAfter = (res: TransportResponse) => parseRetryAfter(res.headers['retry-after'], now());

  return {
    directoryUrl: opts.directoryUrl,
    directory: () => internals.http.getDirectory(),
    async registerAccount({ email }) {
      const contact = email ? [`mailto:${email}`] : undefined;
      // newAccount answers 201 for a new account and 200 for this key's existing one (RFC 8555 7.3.1). acme-client's
      // createAccount follows a 200 with an update that is empty without a contact, which servers refuse; here the
      // existing account is taken as it is, and only a contact is updated.
      const res = await internals.api.apiResourceRequest(
        'newAccount',
        { termsOfServiceAgreed: true, ...(contact ? { contact } : {}) },
        [200, 201],
        { includeJwsKid: false, includeExternalAccountBinding: true },
      );
      const accountUrl = res.headers.location;
      if (typeof accountUrl !== 'string') throw new AcmeError('AcmeBadResponse', 'the ACME server registered the account but sent no Location for it');
      internals.api.accountUrl = accountUrl;
      let status = String((res.data as { status?: string }).status ?? 'valid');
      if (res.status === 200 && contact) {
        const updated = await internals.api.apiRequest(accountUrl, { contact }, [200]);
        status = String((updated.data as { status?: string }).status ?? status);
      }
      return { accountUrl, status };
    },
    async accountStatus() {
      const res = await internals.api.apiRequest(client.getAccountUrl(), null, [200]);
      return String((res.data as { status?: string }).status ?? 'unknown');
    },
    async listOrders() {
      const account = await internals.api.apiRequest(client.getAccountUrl(), null, [200]);
      let next = (account.data as { orders?: string }).orders;
      const urls: string[] = [];
      for (let page = 0; next && page < 1000; page++) {
        const res = await internals.api.apiRequest(next, null, [200]);
        urls.push(...((res.data as { orders?: string[] }).orders ?? []));
        next = nextLink(res.headers.link);
      }
      return urls;
    },
    accountKeyThumbprint() {
      // acme-client builds the JWK with its members in lexicographic order, which is RFC 7638's canonical form.
      return createHash('sha256').update(JSON.stringify(internals.http.getJwk())).digest('base64url');
    },
    async newOrder(req) {
      const res = await internals.api.apiResourceRequest(
        'newOrder',
        { identifiers: req.identifiers, ...(req.profile ? { profile: req.profile } : {}), ...(req.replaces ? { replaces: req.replaces } : {}) },
        [201],
      );
      const location = res.headers.location;
      if (typeof location !== 'string') throw new AcmeError('AcmeBadResponse', 'the ACME server created an order but sent no Location for it');
      return withRetry({ ...(res.data as Omit<AcmeOrder, 'url'>), url: location }, retryAfter(res));
    },
    async getOrder(url) {
      const res = await internals.api.apiRequest(url, null, [200]);
      return withRetry({ ...(res.data as Omit<AcmeOrder, 'url'>), url }, retryAfter(res));
    },
    async getAuthorization(url) {
      const res = await internals.api.apiRequest(url, null, [200]);
      return withRetry({ ...(res.data as Omit<AcmeAuthorization, 'url'>), url }, retryAfter(res));
    },
    keyAuthorization: (challenge) => client.getChallengeKeyAuthorization(challenge as Parameters<typeof client.getChallengeKeyAuthorization>[0]),
    async submitChallenge(url) {
      const res = await internals.api.apiRequest(url, {}, [200]);
      return res.data as AcmeChallenge;
    },
    async finalize(order, csrDer) {
      const res = await internals.api.apiRequest(order.finalize, { csr: Buffer.from(csrDer).toString('base64url') }, [200]);
      return withRetry({ ...(res.data as Omit<AcmeOrder, 'url'>), url: order.url }, retryAfter(res));
    },
    downloadCertificate(order, preferredChain) {
      return client.getCertificate(order as Parameters<typeof client.getCertificate>[0], preferredChain);
    },
    async renewalInfo(certID) {
      const dir = await internals.http.getDirectory();
      if (!dir.renewalInfo) return undefined;
      const url = `${dir.renewalInfo.replace(/\/$/, '')}/${certID}`;
      const res = await transport.request(url, 'get');
      const body = res.data as { suggestedWindow?: { start?: string; end?: string }; explanationURL?: string };
      const start = Date.parse(body?.suggestedWindow?.start ?? '');
      const end = Date.parse(body?.suggestedWindow?.end ?? '');
      // RFC 9773 4.2: a window whose end is not after its start is invalid; treat it as no answer.
      if (Number.isNaN(start) || Number.isNaN(end) || end <= start) {
        throw new AcmeError('AcmeBadResponse', `the ACME server's renewalInfo for ${certID} has no valid suggestedWindow`);
      }
      const ra = retryAfter(res);
      return {
        start: new Date(start),
        end: new Date(end),
        ...(body.explanationURL ? { explanationURL: body.explanationURL } : {}),
        ...(ra !== undefined ? { retryAfterMs: ra } : {}),
      };
    },
    close: () => transport.close(),
  };
}

/** The rel="next" target of a Link header, if any. */
function nextLink(link: string | string[] | undefined): string | undefined {
  for (const part of (Array.isArray(link) ? link : [link ?? '']).flatMap((l) => l.split(','))) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (m) return m[1];
  }
  return undefined;
}

function withRetry<T extends object>(obj: T, retryAfterMs: number | undefined): T & { retryAfterMs?: number } {
  return retryAfterMs === undefined ? obj : { ...obj, retryAfterMs };
}

// CAs hand out EAB keys base64url-encoded (RFC 8555 7.3.4); acme-client decodes them as standard base64.
function toBase64(b64url: string): string {
  return Buffer.from(b64url.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('base64');
}
