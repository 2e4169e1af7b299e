// The only importer of acme-client, used through its public API: Client's methods, the `axios` instance it exports
// (routed through our transport by axios-route.ts) and `crypto.getJwk`. acme-client does the protocol (JWS signing,
// nonces and their badNonce retries, EAB, alternate-chain selection); this module adds what it lacks: Retry-After
// on polls and the Link of order lists (read from the routed response), the `profile` and `replaces` order fields
// (createOrder sends them on), IP identifiers, and ARI (an unsigned GET, src/acme/ari.ts).
// test/integration/acme-client-contract.test.ts pins every acme-client behaviour relied on here.
//
// Why routing over a signer of our own: acme-client's public calls cover every signed request the operator makes,
// once its answers' headers are at hand. A second JWS signer would repeat its nonce, badNonce and key-algorithm
// handling beside it, a second place to get them wrong; and acme-client's HTTP would need routing anyway, for the
// issuer's CA bundle.
import { createHash } from 'node:crypto';
import acme from 'acme-client';
import type { Authorization, Order } from 'acme-client';
import { routeThrough } from './axios-route.ts';
import { AcmeError, isAcmeError, parseRetryAfter, problemExcerpt } from './errors.ts';
import { excerpt } from './http-limits.ts';
import { createTransport, type TransportOptions, type TransportResponse } from './transport.ts';

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

type LibraryClient = InstanceType<typeof acme.Client>;
type Challenge = Parameters<LibraryClient['completeChallenge']>[0];
type OrderRequest = Parameters<LibraryClient['createOrder']>[0] & { profile?: string; replaces?: string };

// The directory (for renewalInfo) is read again after a day, as acme-client does with its own copy.
const DIRECTORY_MAX_AGE_MS = 24 * 3_600_000;

export function createAcmeClient(opts: AcmeClientOptions): AcmeClient {
  const transport = createTransport(opts);
  const now = opts.now ?? (() => new Date());
  const router = routeThrough(acme.axios);
  const libraryClient = (accountUrl: string | undefined) =>
    new acme.Client({
      directoryUrl: opts.directoryUrl,
      accountKey: opts.accountKeyPem,
      ...(accountUrl ? { accountUrl } : {}),
      ...(opts.eab ? { externalAccountBinding: { kid: opts.eab.keyID, hmacKey: toBase64(opts.eab.hmacKey) } } : {}),
    });
  let client = libraryClient(opts.accountUrl);
  const retryAfter = (res: TransportResponse | undefined) => (res ? parseRetryAfter(res.headers['retry-after'], now()) : undefined);

  /** One acme-client call, through this issuer's transport; acme-client's own refusals get a stable code. */
  async function call<T>(fn: () => Promise<T>): Promise<{ value: T; last: TransportResponse | undefined }> {
    try {
      return await router.run(transport, fn);
    } catch (err) {
      // acme-client reports an answer it cannot use (an unexpected status, no Location) with a plain Error.
      if (err instanceof Error && err.constructor === Error) {
        // Its message may quote the server (a status, a URL): an excerpt of it.
        throw new AcmeError('AcmeBadResponse', `the ACME server's answer was not usable: ${excerpt(err.message)}`, { cause: err });
      }
      throw err;
    }
  }

  /** A call signed with the account's URL (kid): refused here when there is none, since acme-client's updateAccount would register one. */
  function signed<T>(fn: () => Promise<T>) {
    try {
      client.getAccountUrl();
    } catch {
      return Promise.reject(new AcmeError('AcmeAccountProblem', 'the ACME account is not registered yet: register it before using it'));
    }
    return call(fn);
  }

  let directory: { value: AcmeDirectory; at: number } | undefined;
  async function getDirectory(): Promise<AcmeDirectory> {
    if (directory && now().getTime() - directory.at < DIRECTORY_MAX_AGE_MS) return directory.value;
    const res = await transport.request(opts.directoryUrl, 'get');
    if (typeof res.data !== 'object' || res.data === null) {
      throw new AcmeError('AcmeBadResponse', `the ACME directory ${opts.directoryUrl} is not a JSON object`);
    }
    directory = { value: res.data as AcmeDirectory, at: now().getTime() };
    return directory.value;
  }

  let thumbprint: string | undefined;

  return {
    directoryUrl: opts.directoryUrl,
    directory: getDirectory,
    async registerAccount({ email }) {
      const contact = email ? [`mailto:${email}`] : undefined;
      // A client without an account URL, so acme-client asks newAccount even when this one was given an account.
      const registrar = libraryClient(undefined);
      // newAccount answers 200 for this key's existing account (RFC 8555 7.3.1), which acme-client follows with an
      // update carrying whatever it sent: without a contact, CAs refuse that as an empty update (Pebble: "use
      // POST-as-GET"). Asked with onlyReturnExisting alone, the follow-up has no fields and is a POST-as-GET: the
      // existing account is taken as it is, and only a contact is updated. A new account is created (with the
      // terms, contact and EAB) only when there is none.
      let account = await call(() => registrar.createAccount({ onlyReturnExisting: true })).then(
        (r) => r.value,
        (err: unknown) => {
          if (isAcmeError(err) && err.problemType === 'accountDoesNotExist') return undefined;
          throw err;
        },
      );
      if (!account) account = (await call(() => registrar.createAccount({ termsOfServiceAgreed: true, ...(contact ? { contact } : {}) }))).value;
      else if (contact) account = (await call(() => registrar.updateAccount({ contact }))).value;
      let accountUrl: string;
      try {
        accountUrl = registrar.getAccountUrl();
      } catch {
        throw new AcmeError('AcmeBadResponse', 'the ACME server registered the account but sent no Location for it');
      }
      client = registrar;
      return { accountUrl, status: String(account.status ?? 'valid') };
    },
    async accountStatus() {
      // updateAccount with no fields is a POST-as-GET of the account.
      const { value } = await signed(() => client.updateAccount());
      return String(value.status ?? 'unknown');
    },
    async listOrders() {
      const { value: account } = await signed(() => client.updateAccount());
      let next: string | undefined = account.orders;
      const urls: string[] = [];
      for (let page = 0; next && page < 1000; page++) {
        const url = next;
        // acme-client has no call for the orders list (RFC 8555 7.1.2.1); its getOrder is a POST-as-GET of the URL
        // it is given, which is how a list page is read too.
        const { value, last } = await signed(() => client.getOrder({ url } as Order));
        urls.push(...((value as { orders?: string[] }).orders ?? []));
        next = nextLink(last?.headers.link);
      }
      return urls;
    },
    accountKeyThumbprint() {
      // acme-client's JWK has its members in lexicographic order, RFC 7638's canonical form, and is what its key
      // authorizations are made from.
      thumbprint ??= createHash('sha256')
        .update(JSON.stringify(acme.crypto.getJwk(opts.accountKeyPem)))
        .digest('base64url');
      return thumbprint;
    },
    async newOrder(req) {
      // createOrder sends its argument as the payload, so `profile` and `replaces` reach the CA.
      const payload: OrderRequest = {
        identifiers: req.identifiers,
        ...(req.profile ? { profile: req.profile } : {}),
        ...(req.replaces ? { replaces: req.replaces } : {}),
      };
      const { value, last } = await signed(() => client.createOrder(payload));
      return withRetry(orderOf(value, value.url), retryAfter(last));
    },
    async getOrder(url) {
      const { value, last } = await signed(() => client.getOrder({ url } as Order));
      return withRetry(orderOf(value, url), retryAfter(last));
    },
    async getAuthorization(url) {
      const { value, last } = await signed(() => client.getAuthorizations({ authorizations: [url] } as Order));
      const authz = value[0];
      if (!authz) throw new AcmeError('AcmeBadResponse', `the ACME server sent no authorization for ${url}`);
      return withRetry(authorizationOf(authz, url), retryAfter(last));
    },
    async keyAuthorization(challenge) {
      return (await call(() => client.getChallengeKeyAuthorization(challenge as Challenge))).value;
    },
    async submitChallenge(url) {
      const { value } = await signed(() => client.completeChallenge({ url } as Challenge));
      return challengeOf(value);
    },
    async finalize(order, csrDer) {
      const csrPem = `-----BEGIN CERTIFICATE REQUEST-----\n${Buffer.from(csrDer).toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
      const { value, last } = await signed(() => client.finalizeOrder({ url: order.url, finalize: order.finalize } as Order, csrPem));
      return withRetry(orderOf(value, order.url), retryAfter(last));
    },
    async downloadCertificate(order, preferredChain) {
      return (await signed(() => client.getCertificate(order as unknown as Order, preferredChain))).value;
    },
    async renewalInfo(certID) {
      const dir = await getDirectory();
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

// The problems a CA puts in an order, authorization or challenge reach conditions and events: excerpts only.
function withProblemExcerpt<T extends { error?: unknown }>(obj: T): T {
  if (obj.error === undefined) return obj;
  const error = problemExcerpt(obj.error);
  const { error: _, ...rest } = obj;
  return (error ? { ...rest, error } : rest) as T;
}

function orderOf(o: Order, url: string): AcmeOrder {
  return withProblemExcerpt({ ...(o as unknown as Omit<AcmeOrder, 'url'>), url });
}

function challengeOf(c: unknown): AcmeChallenge {
  return withProblemExcerpt(c as AcmeChallenge);
}

function authorizationOf(a: Authorization, url: string): AcmeAuthorization {
  const authz = a as unknown as Omit<AcmeAuthorization, 'url'>;
  // The identifier is named in messages ("the CA asked to authorize …"); a real one (a DNS name, an IP address) is
  // at most 253 printable characters and comes through unchanged.
  const value = authz.identifier?.value;
  return {
    ...authz,
    ...(typeof value === 'string' ? { identifier: { ...authz.identifier, value: excerpt(value, 253) } } : {}),
    ...(Array.isArray(authz.challenges) ? { challenges: authz.challenges.map(challengeOf) } : {}),
    url,
  };
}

function withRetry<T extends object>(obj: T, retryAfterMs: number | undefined): T & { retryAfterMs?: number } {
  return retryAfterMs === undefined ? obj : { ...obj, retryAfterMs };
}

// CAs hand out EAB keys base64url-encoded (RFC 8555 7.3.4); acme-client decodes them as standard base64.
function toBase64(b64url: string): string {
  return Buffer.from(b64url.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('base64');
}
