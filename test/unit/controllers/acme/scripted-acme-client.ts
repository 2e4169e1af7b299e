// An in-memory AcmeClient for unit tests of the issuance paths Pebble reaches only with kills and restarts. It keeps
// a CA's state (account, orders, authorizations, challenges, certificates) that a test moves step by step — validate
// a name, finish an order, forget everything — answers from it, lets a test put an answer or a problem in front of
// the next call of a method, and records every call. A unit-test double, not a CA: the Pebble tests cover RFC 8555.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import type { AcmeAuthorization, AcmeChallenge, AcmeClient, AcmeDirectory, AcmeIdentifier, AcmeOrder, AcmeRenewalInfo } from '../../../../src/acme/client.ts';
import { type AcmeError, problemError } from '../../../../src/acme/errors.ts';
import { encodePem, generatePrivateKey, signCertificate } from '../../../../src/pki/index.ts';
import * as x509 from '../../../../src/pki/x509.ts';

type Method = Exclude<keyof AcmeClient, 'directoryUrl'>;

/** One call the client was asked, with the URL (or identifiers) it named. */
export interface AcmeRequest {
  method: Method;
  url?: string;
  identifiers?: AcmeIdentifier[];
  replaces?: string;
  profile?: string;
}

export interface ScriptedOrder {
  identifiers: AcmeIdentifier[];
  /** Default pending, with one pending authorization per identifier. */
  status?: AcmeOrder['status'];
  /** Default an hour after `now()`. */
  expires?: string;
  profile?: string;
  replaces?: string;
  /** Authorizations already valid (the CA reuses an earlier one): no challenge to answer for these names. */
  validNames?: string[];
}

export interface ScriptedAcmeClientOptions {
  /** The CA's clock: order expiry, certificate validity. */
  now?: () => Date;
  /** Challenge types every authorization offers; default http-01 and dns-01. */
  challengeTypes?: string[];
  /** What finalize moves a ready order to: valid at once (default), or processing until `finishOrder`. */
  finalizeTo?: 'valid' | 'processing';
}

export interface ScriptedAcmeClient extends AcmeClient {
  /** Every call, in order. */
  readonly requests: readonly AcmeRequest[];
  /** The calls of one method. */
  asked(method: Method): AcmeRequest[];

  /** An order the CA holds for the current account, as a newOrder would have made it (by a process that is gone). */
  addOrder(order: ScriptedOrder): AcmeOrder;
  /** The order as the CA holds it now. */
  order(url: string): AcmeOrder;
  /** Every order the CA holds, of any account, oldest first. */
  orders(): AcmeOrder[];
  /** Changes an order as the CA would (status, error, retryAfterMs, expires…). */
  updateOrder(url: string, patch: Partial<Omit<AcmeOrder, 'url'>>): void;
  /** Changes an authorization (its retryAfterMs, status…). */
  updateAuthorization(url: string, patch: Partial<Omit<AcmeAuthorization, 'url'>>): void;
  /** The CA's verdict on a name's submitted (or pending) challenge; the order follows: ready when all are valid, invalid when one is. */
  validate(orderURL: string, name: string, outcome?: 'valid' | { invalid: string; problemType?: string }): void;
  /** A processing order becomes valid, with its certificate. */
  finishOrder(url: string): Promise<void>;
  /** Serve this PEM for an order's certificate instead of the one issued for its CSR. */
  setCertificate(orderURL: string, pem: string): void;
  /** The next call of `method` throws `error` instead of answering (queued: one per call). */
  failNext(method: Method, error: Error): void;
  /** The next call of `method` answers `value` instead of what the CA's state says (queued: one per call). */
  answerNext<M extends Method>(method: M, value: Awaited<ReturnType<AcmeClient[M]>>): void;
  /** A CA restarted without its database: orders, authorizations and the account are gone until the account registers again. */
  restart(): void;
  /** PEM of the CA's root, which every issued chain ends with. */
  rootPem(): Promise<string>;
}

const PROBLEM = 'urn:ietf:params:acme:error:';

/** An ACME problem as the real client throws it (same code, problem type, HTTP status and Retry-After). */
export function problem(httpStatus: number, type: string, detail: string, opts: { method?: string; url?: string; retryAfterMs?: number } = {}): AcmeError {
  return problemError(opts.method ?? 'POST', opts.url ?? 'https://ca.test/acme', httpStatus, { type: `${PROBLEM}${type}`, detail }, opts.retryAfterMs);
}

interface Authz extends AcmeAuthorization {
  orderURL: string;
}

interface Order extends AcmeOrder {
  account: string;
  csr?: Uint8Array;
}

export function createScriptedAcmeClient(opts: ScriptedAcmeClientOptions = {}): ScriptedAcmeClient {
  const base = 'https://ca.test/acme';
  const now = opts.now ?? (() => new Date());
  const challengeTypes = opts.challengeTypes ?? ['http-01', 'dns-01'];
  const requests: AcmeRequest[] = [];
  const queued = new Map<Method, (() => unknown)[]>();
  let orders = new Map<string, Order>();
  let authzs = new Map<string, Authz>();
  let certificates = new Map<string, string>();
  let serial = 0;
  let account = `${base}/account/1`;
  let accountKnown = true;
  let root: { key: KeyObject; der: Uint8Array; pem: string } | undefined;
  const thumbprint = 'scripted-thumbprint';

  const next = () => ++serial;
  const notFound = (url: string) => problem(404, 'malformed', `no such resource: ${url}`, { url });

  /** Records the call, then throws or answers what the test put in front of it, if anything. */
  function ask(request: AcmeRequest, signed = true): { scripted: true; value: unknown } | undefined {
    requests.push(request);
    const answer = queued.get(request.method)?.shift();
    if (answer) return { scripted: true, value: answer() };
    if (signed && !accountKnown) throw problem(400, 'accountDoesNotExist', 'the account is not known to this CA', request.url ? { url: request.url } : {});
    return undefined;
  }

  function orderOf(url: string): Order {
    const o = orders.get(url);
    if (!o) throw notFound(url);
    return o;
  }

  function authzOf(url: string): Authz {
    const a = authzs.get(url);
    if (!a) throw notFound(url);
    return a;
  }

  function createOrder(o: ScriptedOrder): Order {
    const url = `${base}/order/${next()}`;
    const valid = new Set(o.validNames ?? []);
    const authorizations = o.identifiers.map((id) => {
      const wildcard = id.type === 'dns' && id.value.startsWith('*.');
      const name = wildcard ? id.value.slice(2) : id.value;
      const authzURL = `${base}/authz/${next()}`;
      const status = valid.has(id.value) ? 'valid' : 'pending';
      authzs.set(authzURL, {
        url: authzURL,
        orderURL: url,
        status,
        identifier: { type: id.type, value: name },
        ...(wildcard ? { wildcard: true } : {}),
        challenges: challengeTypes.map((type) => ({ type, url: `${base}/chall/${next()}`, status, token: `token-${next()}` })),
      });
      return authzURL;
    });
    const order: Order = {
      url,
      account,
      status: o.status ?? (authorizations.every((a) => authzs.get(a)!.status === 'valid') ? 'ready' : 'pending'),
      identifiers: o.identifiers.map((i) => ({ ...i })),
      authorizations,
      finalize: `${url}/finalize`,
      expires: o.expires ?? new Date(now().getTime() + 3_600_000).toISOString(),
      ...(o.profile ? { profile: o.profile } : {}),
      ...(o.replaces ? { replaces: o.replaces } : {}),
    };
    orders.set(url, order);
    return order;
  }

  function view(o: Order): AcmeOrder {
    const { account: _a, csr: _c, ...rest } = o;
    return structuredClone(rest);
  }

  function authzView(a: Authz): AcmeAuthorization {
    const { orderURL: _o, ...rest } = a;
    return structuredClone(rest);
  }

  /** The order follows its authorizations, as a CA's does. */
  function settleOrder(o: Order): void {
    if (o.status !== 'pending') return;
    const all = o.authorizations.map((u) => authzs.get(u)!);
    const failed = all.find((a) => a.status === 'invalid');
    if (failed) {
      o.status = 'invalid';
      o.error = { type: `${PROBLEM}unauthorized`, detail: `authorization for ${failed.identifier.value} failed` };
    } else if (all.every((a) => a.status === 'valid')) {
      o.status = 'ready';
    }
  }

  async function caRoot() {
    if (!root) {
      const key = await generatePrivateKey({ algorithm: 'ECDSA', size: 256 });
      const notBefore = new Date(now().getTime() - 3_600_000);
      const der = await signCertificate({
        publicKey: key,
        subject: { commonName: 'scripted ACME root' },
        dnsNames: [],
        ipAddresses: [],
        uris: [],
        emailAddresses: [],
        usages: ['cert sign'],
        isCA: true,
        notBefore,
        notAfter: new Date(notBefore.getTime() + 10 * 365 * 86_400_000),
        signer: { privateKey: key },
      });
      root = { key, der, pem: encodePem('CERTIFICATE', der) };
    }
    return root;
  }

  async function issue(o: Order): Promise<void> {
    const ca = await caRoot();
    const csr = new x509.Pkcs10CertificateRequest(o.csr!);
    const publicKey = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
    const notBefore = now();
    const der = await signCertificate({
      publicKey,
      subject: {},
      dnsNames: o.identifiers.filter((i) => i.type === 'dns').map((i) => i.value),
      ipAddresses: o.identifiers.filter((i) => i.type === 'ip').map((i) => i.value),
      uris: [],
      emailAddresses: [],
      usages: ['digital signature', 'server auth'],
      isCA: false,
      notBefore,
      notAfter: new Date(notBefore.getTime() + 90 * 86_400_000),
      signer: { privateKey: ca.key, certificateDer: ca.der },
    });
    o.status = 'valid';
    o.certificate = `${base}/cert/${next()}`;
    if (!certificates.has(o.url)) certificates.set(o.url, encodePem('CERTIFICATE', der) + ca.pem);
  }

  const client: ScriptedAcmeClient = {
    directoryUrl: `${base}/directory`,
    requests,
    asked: (method) => requests.filter((r) => r.method === method),

    async directory() {
      const s = ask({ method: 'directory' }, false);
      if (s) return s.value as AcmeDirectory;
      return { newOrder: `${base}/new-order` };
    },
    async registerAccount() {
      const s = ask({ method: 'registerAccount' }, false);
      if (s) return s.value as { accountUrl: string; status: string };
      if (!accountKnown) {
        account = `${base}/account/${next()}`;
        accountKnown = true;
      }
      return { accountUrl: account, status: 'valid' };
    },
    async accountStatus() {
      const s = ask({ method: 'accountStatus' });
      return s ? (s.value as string) : 'valid';
    },
    async listOrders() {
      const s = ask({ method: 'listOrders' });
      if (s) return s.value as string[];
      return [...orders.values()].filter((o) => o.account === account).map((o) => o.url);
    },
    accountKeyThumbprint() {
      requests.push({ method: 'accountKeyThumbprint' });
      return thumbprint;
    },
    async newOrder(req) {
      const s = ask({
        method: 'newOrder',
        identifiers: req.identifiers,
        ...(req.profile ? { profile: req.profile } : {}),
        ...(req.replaces ? { replaces: req.replaces } : {}),
      });
      if (s) return s.value as AcmeOrder;
      return view(
        createOrder({ identifiers: req.identifiers, ...(req.profile ? { profile: req.profile } : {}), ...(req.replaces ? { replaces: req.replaces } : {}) }),
      );
    },
    async getOrder(url) {
      const s = ask({ method: 'getOrder', url });
      if (s) return s.value as AcmeOrder;
      return view(orderOf(url));
    },
    async getAuthorization(url) {
      const s = ask({ method: 'getAuthorization', url });
      if (s) return s.value as AcmeAuthorization;
      return authzView(authzOf(url));
    },
    async keyAuthorization(challenge) {
      const s = ask({ method: 'keyAuthorization' }, false);
      if (s) return s.value as string;
      const keyAuthorization = `${challenge.token}.${thumbprint}`;
      return challenge.type === 'dns-01' ? createHash('sha256').update(keyAuthorization).digest('base64url') : keyAuthorization;
    },
    async submitChallenge(url) {
      const s = ask({ method: 'submitChallenge', url });
      if (s) return s.value as AcmeChallenge;
      for (const a of authzs.values()) {
        const ch = a.challenges.find((c) => c.url === url);
        if (!ch) continue;
        if (ch.status === 'pending') ch.status = 'processing';
        return structuredClone(ch);
      }
      throw notFound(url);
    },
    async finalize(order, csrDer) {
      const s = ask({ method: 'finalize', url: order.url });
      if (s) return s.value as AcmeOrder;
      const o = orderOf(order.url);
      if (o.status !== 'ready') throw problem(403, 'orderNotReady', `order is ${o.status}`, { url: order.finalize });
      o.csr = csrDer;
      if ((opts.finalizeTo ?? 'valid') === 'processing') o.status = 'processing';
      else await issue(o);
      return view(o);
    },
    async downloadCertificate(order) {
      const s = ask({ method: 'downloadCertificate', url: order.certificate });
      if (s) return s.value as string;
      const o = [...orders.values()].find((x) => x.certificate === order.certificate);
      const pem = o && certificates.get(o.url);
      if (!pem) throw notFound(order.certificate);
      return pem;
    },
    async renewalInfo(certID) {
      const s = ask({ method: 'renewalInfo', url: certID }, false);
      return s ? (s.value as AcmeRenewalInfo | undefined) : undefined;
    },
    close() {
      requests.push({ method: 'close' });
    },

    addOrder: (o) => view(createOrder(o)),
    order: (url) => view(orderOf(url)),
    orders: () => [...orders.values()].map(view),
    updateOrder(url, patch) {
      Object.assign(orderOf(url), structuredClone(patch));
    },
    updateAuthorization(url, patch) {
      Object.assign(authzOf(url), structuredClone(patch));
    },
    validate(orderURL, name, outcome = 'valid') {
      const o = orderOf(orderURL);
      const a = o.authorizations.map((u) => authzs.get(u)!).find((x) => (x.wildcard ? `*.${x.identifier.value}` : x.identifier.value) === name);
      if (!a) throw new Error(`order ${orderURL} has no authorization for ${name}`);
      if (outcome === 'valid') {
        a.status = 'valid';
        for (const ch of a.challenges) if (ch.status === 'processing') ch.status = 'valid';
      } else {
        a.status = 'invalid';
        for (const ch of a.challenges) {
          if (ch.status !== 'processing') continue;
          ch.status = 'invalid';
          ch.error = { type: `${PROBLEM}${outcome.problemType ?? 'connection'}`, detail: outcome.invalid };
        }
      }
      settleOrder(o);
    },
    async finishOrder(url) {
      const o = orderOf(url);
      if (o.status !== 'processing') throw new Error(`order ${url} is ${o.status}, not processing`);
      await issue(o);
    },
    setCertificate(orderURL, pem) {
      certificates.set(orderURL, pem);
    },
    failNext(method, error) {
      queued.set(method, [
        ...(queued.get(method) ?? []),
        () => {
          throw error;
        },
      ]);
    },
    answerNext(method, value) {
      queued.set(method, [...(queued.get(method) ?? []), () => structuredClone(value)]);
    },
    restart() {
      orders = new Map();
      authzs = new Map();
      certificates = new Map();
      accountKnown = false;
    },
    async rootPem() {
      return (await caRoot()).pem;
    },
  };
  return client;
}
