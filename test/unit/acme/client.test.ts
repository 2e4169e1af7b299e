// The ACME client's own wiring, against small real HTTPS servers that answer as an ACME CA would (without checking
// signatures; test/integration/acme-client-contract.test.ts does the protocol against Pebble). What is pinned here:
// each client's requests go through its own transport, acme-client never sleeps through a refusal, and what
// certsmith adds on top of acme-client (account lookup, order-list paging, Retry-After) reads the CA's answers right.
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import acme from 'acme-client';
import { createAcmeClient, type AcmeClient } from '../../../src/acme/client.ts';
import { isAcmeError } from '../../../src/acme/errors.ts';
import { createTestCA } from '../../env/certs.ts';

const URN = 'urn:ietf:params:acme:error:';

interface Jws {
  header: { alg: string; nonce?: string; url: string; kid?: string; jwk?: object };
  payload: Record<string, unknown> | undefined;
  raw: { protected: string; payload: string; signature: string };
}

interface Account {
  jwk: string;
  contact?: string[];
  termsOfServiceAgreed?: boolean;
  eab?: Jws['raw'];
}

interface FakeCa {
  base: string;
  caPem: string;
  accounts: Map<string, Account>;
  /** Order URLs of the one account, listed two to a page. */
  orders: string[];
  /** Answers to order polls, by order id. */
  orderAnswers: Map<string, { status: number; body: object; headers?: Record<string, string> }>;
  requests: { method: string; path: string; jws?: Jws }[];
  close(): Promise<void>;
}

/** An HTTPS server speaking enough ACME for the client's calls, with its own CA. */
async function startFakeCa(dir: string, name: string): Promise<FakeCa> {
  const ca = await createTestCA(await mkdtemp(join(dir, `${name}-`)), `certsmith test ${name} CA`);
  const serving = await ca.issue('acme', { commonName: 'acme', ipAddresses: ['127.0.0.1'] });
  let nonce = 0;
  const state: Omit<FakeCa, 'base' | 'close'> = { caPem: ca.certPem, accounts: new Map(), orders: [], orderAnswers: new Map(), requests: [] };
  const server = https.createServer({ cert: serving.certPem, key: await readFile(serving.keyFile) }, (req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (text += d));
    req.on('end', () => {
      const path = req.url ?? '/';
      const jws = text ? parseJws(text) : undefined;
      state.requests.push({ method: req.method ?? '', path, ...(jws ? { jws } : {}) });
      const send = (status: number, body: object | undefined, headers: Record<string, string> = {}) => {
        const type = status >= 400 ? 'application/problem+json' : 'application/json';
        res
          .writeHead(status, { 'replay-nonce': `${name}-${++nonce}`, ...(body ? { 'content-type': type } : {}), ...headers })
          .end(body ? JSON.stringify(body) : undefined);
      };
      const accountOf = (kid: string | undefined) => [...state.accounts.entries()].find(([url]) => url === kid);
      if (path === '/dir') return send(200, { newNonce: `${base}/nonce`, newAccount: `${base}/new-account`, newOrder: `${base}/new-order` });
      if (path === '/nonce') return send(200, undefined);
      if (path === '/new-account' && jws) {
        const jwk = JSON.stringify(jws.header.jwk);
        const found = [...state.accounts.entries()].find(([, a]) => a.jwk === jwk);
        if (found) return send(200, { status: 'valid', orders: `${base}/orders/1` }, { location: found[0] });
        if (jws.payload?.onlyReturnExisting) return send(400, { type: `${URN}accountDoesNotExist`, detail: 'no account for this key' });
        const url = `${base}/account/${state.accounts.size + 1}`;
        const p = jws.payload ?? {};
        state.accounts.set(url, {
          jwk,
          ...(p.contact ? { contact: p.contact as string[] } : {}),
          ...(p.termsOfServiceAgreed !== undefined ? { termsOfServiceAgreed: p.termsOfServiceAgreed as boolean } : {}),
          ...(p.externalAccountBinding ? { eab: p.externalAccountBinding as Jws['raw'] } : {}),
        });
        return send(201, { status: 'valid', orders: `${base}/orders/1` }, { location: url });
      }
      const account = accountOf(jws?.header.kid);
      if (path.startsWith('/account/') && account) {
        if (jws?.payload?.contact) account[1].contact = jws.payload.contact as string[];
        return send(200, { status: 'valid', orders: `${base}/orders/1`, ...(account[1].contact ? { contact: account[1].contact } : {}) });
      }
      if (path.startsWith('/orders/1') && account) {
        const page = Number(new URL(path, base).searchParams.get('page') ?? '1');
        const next: Record<string, string> = page * 2 < state.orders.length ? { link: `<${base}/orders/1?page=${page + 1}>;rel="next"` } : {};
        return send(200, { orders: state.orders.slice((page - 1) * 2, page * 2) }, next);
      }
      if (path.startsWith('/order/') && account) {
        const answer = state.orderAnswers.get(path.slice('/order/'.length));
        if (answer) return send(answer.status, answer.body, answer.headers);
      }
      send(404, { type: `${URN}malformed`, detail: `nothing at ${path}` });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    ...state,
    base,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function parseJws(text: string): Jws {
  const raw = JSON.parse(text) as Jws['raw'];
  const decode = (s: string) => JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as unknown;
  return { header: decode(raw.protected) as Jws['header'], payload: raw.payload ? (decode(raw.payload) as Record<string, unknown>) : undefined, raw };
}

const accountKeyPem = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

describe('the ACME client', () => {
  let dir: string;
  let caA: FakeCa;
  let caB: FakeCa;
  const clients: AcmeClient[] = [];
  const clientOf = (ca: FakeCa, opts: Partial<Parameters<typeof createAcmeClient>[0]> = {}) => {
    const c = createAcmeClient({ directoryUrl: `${ca.base}/dir`, accountKeyPem: accountKeyPem(), caPem: ca.caPem, ...opts });
    clients.push(c);
    return c;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'certsmith-acme-client-'));
    caA = await startFakeCa(dir, 'a');
    caB = await startFakeCa(dir, 'b');
  });

  after(async () => {
    for (const c of clients) c.close();
    await caA.close();
    await caB.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('routing', () => {
    it("sends each client's requests through its own transport, so two CAs with different CA bundles are used at once", async () => {
      const a = clientOf(caA);
      const b = clientOf(caB);
      const [ra, rb] = await Promise.all([a.registerAccount({}), b.registerAccount({})]);
      assert.match(ra.accountUrl, new RegExp(`^${caA.base}/account/`));
      assert.match(rb.accountUrl, new RegExp(`^${caB.base}/account/`));
      assert.deepEqual(await Promise.all([a.accountStatus(), b.accountStatus()]), ['valid', 'valid']);
    });

    it('refuses a request acme-client makes outside a certsmith call, so none reaches a CA without its trust and limits', async () => {
      clientOf(caA);
      await assert.rejects(acme.axios.get(`${caA.base}/dir`), (err) => {
        assert.ok(isAcmeError(err), String(err));
        assert.equal(err.code, 'AcmeUnrouted');
        return true;
      });
    });

    it('hands a refusal back at once as an AcmeError with its Retry-After, without acme-client sleeping through it', async () => {
      const c = clientOf(caA);
      await c.registerAccount({});
      caA.orderAnswers.set('limited', { status: 429, body: { type: `${URN}rateLimited`, detail: 'slow down' }, headers: { 'retry-after': '3600' } });
      const started = performance.now();
      await assert.rejects(c.getOrder(`${caA.base}/order/limited`), (err) => {
        assert.ok(isAcmeError(err), String(err));
        assert.equal(err.code, 'AcmeRateLimited');
        assert.equal(err.retryAfterMs, 3_600_000);
        return true;
      });
      assert.ok(performance.now() - started < 2_000);
    });
  });

  describe('registerAccount', () => {
    it('creates an account with the terms agreed and the contact when the key has none', async () => {
      const c = clientOf(caA);
      const { accountUrl, status } = await c.registerAccount({ email: 'ops@example.test' });
      assert.equal(status, 'valid');
      const account = caA.accounts.get(accountUrl);
      assert.deepEqual({ contact: account?.contact, terms: account?.termsOfServiceAgreed }, { contact: ['mailto:ops@example.test'], terms: true });
    });

    it("takes the key's existing account as it is when no email is given", async () => {
      const key = accountKeyPem();
      const first = await clientOf(caA, { accountKeyPem: key }).registerAccount({ email: 'first@example.test' });
      const again = await clientOf(caA, { accountKeyPem: key }).registerAccount({});
      assert.equal(again.accountUrl, first.accountUrl);
      assert.deepEqual(caA.accounts.get(first.accountUrl)?.contact, ['mailto:first@example.test']);
      const updates = caA.requests.filter((r) => r.path === new URL(first.accountUrl).pathname && r.jws?.payload !== undefined);
      assert.deepEqual(updates, [], 'no update was sent to the existing account');
    });

    it("updates only the contact of the key's existing account", async () => {
      const key = accountKeyPem();
      const first = await clientOf(caA, { accountKeyPem: key }).registerAccount({});
      const again = await clientOf(caA, { accountKeyPem: key, accountUrl: first.accountUrl }).registerAccount({ email: 'new@example.test' });
      assert.equal(again.accountUrl, first.accountUrl);
      assert.deepEqual(caA.accounts.get(first.accountUrl)?.contact, ['mailto:new@example.test']);
    });

    it('binds the account to the external account key, read as base64url', async () => {
      const hmac = Buffer.from([0xfb, 0xff, 0xbe, ...Array.from({ length: 29 }, (_, i) => i)]);
      const hmacKey = hmac.toString('base64url');
      assert.match(hmacKey, /[-_]/, 'the key uses the characters base64 and base64url differ in');
      const { accountUrl } = await clientOf(caA, { eab: { keyID: 'kid-1', hmacKey } }).registerAccount({});
      const eab = caA.accounts.get(accountUrl)?.eab;
      assert.ok(eab, 'the account was created with an external account binding');
      assert.equal((JSON.parse(Buffer.from(eab.protected, 'base64url').toString()) as { kid: string }).kid, 'kid-1');
      assert.equal(createHmac('sha256', hmac).update(`${eab.protected}.${eab.payload}`).digest('base64url'), eab.signature);
    });
  });

  describe('orders', () => {
    it("lists every page of the account's orders, following Link rel=next", async () => {
      const c = clientOf(caA);
      await c.registerAccount({});
      caA.orders.splice(0, caA.orders.length, ...['1', '2', '3', '4', '5'].map((n) => `${caA.base}/order/${n}`));
      assert.deepEqual(await c.listOrders(), caA.orders);
    });

    it('reads Retry-After from an order poll', async () => {
      const c = clientOf(caA);
      await c.registerAccount({});
      const order = { status: 'processing', identifiers: [{ type: 'ip', value: '192.0.2.1' }], authorizations: [], finalize: `${caA.base}/finalize/p` };
      caA.orderAnswers.set('processing', { status: 200, body: order, headers: { 'retry-after': '7' } });
      caA.orderAnswers.set('ready', { status: 200, body: { ...order, status: 'ready' } });
      const processing = await c.getOrder(`${caA.base}/order/processing`);
      assert.deepEqual(processing, { ...order, url: `${caA.base}/order/processing`, retryAfterMs: 7_000 });
      assert.equal((await c.getOrder(`${caA.base}/order/ready`)).retryAfterMs, undefined);
    });

    it("gives an order's problem back with its type and detail cut to short printable excerpts", async () => {
      const c = clientOf(caA);
      await c.registerAccount({});
      const order = { status: 'invalid', identifiers: [{ type: 'dns', value: 'a.example' }], authorizations: [], finalize: `${caA.base}/finalize/x` };
      const error = { type: `${URN}unauthorized\r\n${'u'.repeat(5_000)}`, detail: `\x1b[2Jno\nway ${'d'.repeat(500_000)}` };
      caA.orderAnswers.set('invalid', { status: 200, body: { ...order, error } });
      const got = await c.getOrder(`${caA.base}/order/invalid`);
      assert.match(got.error?.type ?? '', /^urn:ietf:params:acme:error:unauthorized u+…$/);
      assert.match(got.error?.detail ?? '', /^\[2Jno way d+…$/);
      assert.ok((got.error?.detail ?? '').length <= 161);
    });

    it("gives an authorization's identifier and its challenges' problems back as short printable excerpts", async () => {
      const c = clientOf(caA);
      await c.registerAccount({});
      const authz = {
        status: 'invalid',
        identifier: { type: 'dns', value: `${'a'.repeat(100_000)}\n.example` },
        challenges: [{ type: 'http-01', url: `${caA.base}/chall/1`, status: 'invalid', token: 't', error: { detail: `refused\r\n${'r'.repeat(100_000)}` } }],
      };
      caA.orderAnswers.set('authz-hostile', { status: 200, body: authz });
      const got = await c.getAuthorization(`${caA.base}/order/authz-hostile`);
      assert.match(got.identifier.value, /^a{253}…$/);
      assert.match(got.challenges[0]?.error?.detail ?? '', /^refused r+…$/);
      caA.orderAnswers.set('authz-plain', { status: 200, body: { ...authz, identifier: { type: 'dns', value: 'www.example.test' }, challenges: [] } });
      assert.equal((await c.getAuthorization(`${caA.base}/order/authz-plain`)).identifier.value, 'www.example.test', 'a real name comes through unchanged');
    });

    it('refuses a signed call before the account is registered, instead of letting acme-client register one', async () => {
      const c = clientOf(caB);
      const before = caB.requests.length;
      await assert.rejects(c.listOrders(), (err) => {
        assert.ok(isAcmeError(err), String(err));
        assert.equal(err.code, 'AcmeAccountProblem');
        return true;
      });
      assert.equal(caB.requests.length, before, 'nothing was sent');
    });
  });

  describe('a hostile server', () => {
    it("refuses a directory larger than the transport's cap while acme-client registers, with AcmeResponseTooLarge", { timeout: 15_000 }, async () => {
      let written = 0;
      const server = http.createServer((_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(64 * 1024, ' ');
        const pump = () => {
          while (!res.destroyed) {
            written += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
        };
        pump();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const c = createAcmeClient({ directoryUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/dir`, accountKeyPem: accountKeyPem() });
        clients.push(c);
        await assert.rejects(c.registerAccount({}), (err) => {
          assert.ok(isAcmeError(err), String(err));
          assert.equal(err.code, 'AcmeResponseTooLarge');
          return true;
        });
        assert.ok(written < 32 * 1024 * 1024, `the server wrote ${written} bytes`);
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });
});
