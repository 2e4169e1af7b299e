// The contract with acme-client: every behaviour of it the operator relies on, asked through src/acme/client.ts
// against a real Pebble, so an acme-client upgrade that breaks one fails here rather than in a cluster. No control
// plane: three Pebbles (a plain one with an alternate root, one that requires external account binding, one that
// rejects nonces) and pebble-challtestsrv answering every name with 127.0.0.1, where this file answers HTTP-01.
import assert from 'node:assert/strict';
import { createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { certIdOf, serialNumberBytes } from '../../src/acme/ari.ts';
import { createAcmeClient, type AcmeClient, type AcmeClientOptions, type AcmeIdentifier, type AcmeOrder } from '../../src/acme/client.ts';
import { isAcmeError } from '../../src/acme/errors.ts';
import { createCsr, describeCertificate, generatePrivateKey, isSignedBy, parseCertificatesPem } from '../../src/pki/index.ts';
import { ensureBinaries } from '../env/binaries.ts';
import { startChallTestSrv, startPebble, type ChallTestSrv, type Pebble } from '../env/pebble.ts';
import { freePort } from '../env/ports.ts';
import { waitFor } from './helpers/wait.ts';

const RETRY_AFTER = { authz: 2, order: 3 };
// Pebble's keys are base64url without padding; this one has the two characters where base64url and base64 differ.
const EAB_HMAC = Buffer.from([0xfb, 0xff, 0xbe, ...Array.from({ length: 29 }, (_, i) => i * 7)]);
const EAB_KEY = EAB_HMAC.toString('base64url');

let logDir: string;
let dns: ChallTestSrv;
let pebble: Pebble;
let eabPebble: Pebble;
let noncePebble: Pebble;
let challenges: Server;
/** HTTP-01 answers by token; `held` answers only once it resolves, and `asked` is called when Pebble asks. */
const answers = new Map<string, { body: string; held?: Promise<void>; asked?: () => void }>();
const clients: AcmeClient[] = [];

const ecKey = (curve = 'P-256') => generateKeyPairSync('ec', { namedCurve: curve }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const rsaKey = () => generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

function clientOf(p: Pebble, opts: Partial<AcmeClientOptions> = {}): AcmeClient {
  const c = createAcmeClient({ directoryUrl: p.directoryUrl, accountKeyPem: ecKey(), caPem: readFileSync(p.caFile, 'utf8'), ...opts });
  clients.push(c);
  return c;
}

async function registered(p: Pebble, opts: Partial<AcmeClientOptions> = {}): Promise<AcmeClient> {
  const c = clientOf(p, opts);
  await c.registerAccount({});
  return c;
}

function http01(authz: { challenges: { type: string; url: string; token: string }[] }) {
  const ch = authz.challenges.find((c) => c.type === 'http-01');
  assert.ok(ch, 'the CA offers http-01');
  return ch;
}

/** Answers every authorization of the order over HTTP-01 and waits until the order is ready. */
async function validate(c: AcmeClient, order: AcmeOrder): Promise<void> {
  for (const url of order.authorizations) {
    const authz = await c.getAuthorization(url);
    if (authz.status === 'valid') continue;
    const ch = http01(authz);
    answers.set(ch.token, { body: await c.keyAuthorization(ch) });
    await c.submitChallenge(ch.url);
  }
  await waitFor('the order to be ready', async () => (await c.getOrder(order.url)).status === 'ready', { intervalMs: 100, timeoutMs: 20_000 });
}

/** Orders, validates, finalizes with a new key's CSR and waits for the certificate. */
async function issue(c: AcmeClient, identifiers: AcmeIdentifier[]) {
  const order = await c.newOrder({ identifiers, profile: 'default' });
  await validate(c, order);
  const csr = await createCsr({
    privateKey: await generatePrivateKey({ algorithm: 'ECDSA', size: 256 }),
    subject: {},
    dnsNames: identifiers.filter((i) => i.type === 'dns').map((i) => i.value),
    ipAddresses: identifiers.filter((i) => i.type === 'ip').map((i) => i.value),
    uris: [],
    emailAddresses: [],
  });
  const finalized = await c.finalize(order, csr);
  const valid = await waitFor(
    'the order to be valid',
    async () => {
      const o = await c.getOrder(order.url);
      return o.status === 'valid' ? o : undefined;
    },
    { intervalMs: 100, timeoutMs: 20_000 },
  );
  return { order, finalized, valid: valid as AcmeOrder & { certificate: string; status: 'valid' } };
}

const byType = (ids: AcmeIdentifier[]) => [...ids].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));

const problemOf = (code: string, problemType: string) => (err: unknown) => {
  assert.ok(isAcmeError(err), String(err));
  assert.equal(err.code, code, err.message);
  assert.equal(err.problemType, problemType, err.message);
  return true;
};

before(async () => {
  const binDir = await ensureBinaries();
  logDir = await mkdtemp(join(tmpdir(), 'certsmith-acme-contract-'));
  const httpPort = await freePort();
  challenges = createServer((req, res) => {
    const answer = answers.get(req.url?.split('/').pop() ?? '');
    if (!answer) return void res.writeHead(404).end();
    answer.asked?.();
    void (answer.held ?? Promise.resolve()).then(() => res.writeHead(200, { 'content-type': 'text/plain' }).end(answer.body));
  });
  await new Promise<void>((resolve) => challenges.listen(httpPort, '127.0.0.1', resolve));
  dns = await startChallTestSrv({ binDir, logDir });
  const common = { binDir, httpPort, dnsServer: dns.dnsAddress, retryAfter: RETRY_AFTER };
  [pebble, eabPebble, noncePebble] = await Promise.all([
    startPebble({ ...common, logDir: join(logDir, 'plain'), env: { PEBBLE_ALTERNATE_ROOTS: '1' } }),
    startPebble({ ...common, logDir: join(logDir, 'eab'), eabKeys: { 'kid-1': EAB_KEY } }),
    startPebble({ ...common, logDir: join(logDir, 'nonce'), env: { PEBBLE_WFE_NONCEREJECT: '15' } }),
  ]);
});

after(async () => {
  for (const c of clients) c.close();
  await Promise.all([pebble?.stop(), eabPebble?.stop(), noncePebble?.stop()]);
  await dns?.stop();
  challenges?.closeAllConnections();
  await new Promise((resolve) => challenges?.close(resolve));
  await rm(logDir, { recursive: true, force: true });
});

describe('accounts', () => {
  const keys = [
    { name: 'ECDSA P-256', pem: () => ecKey('P-256') },
    { name: 'ECDSA P-384', pem: () => ecKey('P-384') },
    { name: 'RSA 2048', pem: rsaKey },
  ];
  for (const k of keys) {
    it(`registers a new account with an ${k.name} key, whose thumbprint makes the key authorizations`, async () => {
      const pem = k.pem();
      const c = clientOf(pebble, { accountKeyPem: pem });
      const { accountUrl, status } = await c.registerAccount({ email: 'ops@example.test' });
      assert.match(accountUrl, /^https:\/\/127\.0\.0\.1:\d+\/my-account\//);
      assert.equal(status, 'valid');
      assert.equal(await c.accountStatus(), 'valid', 'the account reads back with a kid-signed POST-as-GET');
      // RFC 7638: the required members only, in lexicographic order.
      const jwk = createPublicKey(pem).export({ format: 'jwk' });
      const canonical = jwk.kty === 'RSA' ? { e: jwk.e, kty: jwk.kty, n: jwk.n } : { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y };
      const thumbprint = createHash('sha256').update(JSON.stringify(canonical)).digest('base64url');
      assert.equal(c.accountKeyThumbprint(), thumbprint);
      assert.equal(await c.keyAuthorization({ type: 'http-01', token: 'tok' }), `tok.${thumbprint}`);
      assert.equal(await c.keyAuthorization({ type: 'dns-01', token: 'tok' }), createHash('sha256').update(`tok.${thumbprint}`).digest('base64url'));
    });
  }

  it("finds the key's existing account instead of creating another, with or without a contact to update", async () => {
    const pem = ecKey();
    const first = await clientOf(pebble, { accountKeyPem: pem }).registerAccount({});
    const again = await clientOf(pebble, { accountKeyPem: pem }).registerAccount({});
    const withContact = await clientOf(pebble, { accountKeyPem: pem, accountUrl: first.accountUrl }).registerAccount({ email: 'new@example.test' });
    assert.deepEqual([again, withContact], [first, first]);
  });

  it('is refused by a CA that requires external account binding when it has none', async () => {
    await assert.rejects(clientOf(eabPebble).registerAccount({}), problemOf('AcmeAccountProblem', 'externalAccountRequired'));
  });

  it('is bound to an external account with a base64url HMAC key, and found again later without the binding', async () => {
    const pem = ecKey();
    const bound = await clientOf(eabPebble, { accountKeyPem: pem, eab: { keyID: 'kid-1', hmacKey: EAB_KEY } }).registerAccount({ email: 'ops@example.test' });
    assert.equal(bound.status, 'valid');
    const found = await clientOf(eabPebble, { accountKeyPem: pem }).registerAccount({});
    assert.equal(found.accountUrl, bound.accountUrl);
  });
});

describe('orders', () => {
  let c: AcmeClient;
  before(async () => {
    c = await registered(pebble);
  });

  it('places an order for dns and ip identifiers, with an authorization of each type', async () => {
    const identifiers: AcmeIdentifier[] = [
      { type: 'dns', value: 'mixed.contract.test' },
      { type: 'ip', value: '127.0.0.1' },
    ];
    const order = await c.newOrder({ identifiers, profile: 'default' });
    assert.equal(order.status, 'pending');
    assert.match(order.url, /^https:\/\/127\.0\.0\.1:\d+\/my-order\//);
    assert.deepEqual(byType(order.identifiers), identifiers);
    const authzs = await Promise.all(order.authorizations.map((u) => c.getAuthorization(u)));
    assert.deepEqual(byType(authzs.map((a) => a.identifier)), identifiers);
    for (const a of authzs) assert.match(http01(a).token, /^[\w-]+$/);
  });

  it('sends the profile on newOrder, and the order states it', async () => {
    assert.deepEqual(Object.keys((await c.directory()).meta?.profiles ?? {}).sort(), ['default', 'shortlived']);
    const order = await c.newOrder({ identifiers: [{ type: 'dns', value: 'short.contract.test' }], profile: 'shortlived' });
    assert.equal(order.profile, 'shortlived');
  });

  it("lists every order of the account, across Pebble's pages of three", async () => {
    const own = await registered(pebble);
    const placed: string[] = [];
    for (const n of [1, 2, 3, 4, 5])
      placed.push((await own.newOrder({ identifiers: [{ type: 'dns', value: `list-${n}.contract.test` }], profile: 'default' })).url);
    assert.deepEqual((await own.listOrders()).sort(), placed.sort());
  });

  it('surfaces the Retry-After of an authorization whose challenge the CA is validating', async () => {
    const order = await c.newOrder({ identifiers: [{ type: 'dns', value: 'held.contract.test' }], profile: 'default' });
    const url = order.authorizations[0]!;
    const ch = http01(await c.getAuthorization(url));
    let release = () => {};
    let asked = () => {};
    const seen = new Promise<void>((resolve) => (asked = resolve));
    answers.set(ch.token, { body: await c.keyAuthorization(ch), held: new Promise<void>((resolve) => (release = resolve)), asked });
    await c.submitChallenge(ch.url);
    await seen;
    const polled = await c.getAuthorization(url);
    release();
    assert.equal(polled.status, 'pending');
    assert.ok(
      polled.retryAfterMs !== undefined && polled.retryAfterMs > 0 && polled.retryAfterMs <= RETRY_AFTER.authz * 1000,
      `retryAfterMs ${polled.retryAfterMs}`,
    );
    await waitFor('the authorization to be valid', async () => (await c.getAuthorization(url)).status === 'valid', { intervalMs: 100 });
  });
});

describe('issuance', () => {
  let c: AcmeClient;
  let issued: Awaited<ReturnType<typeof issue>>;
  const identifiers: AcmeIdentifier[] = [
    { type: 'dns', value: 'issued.contract.test' },
    { type: 'ip', value: '127.0.0.1' },
  ];
  before(async () => {
    c = await registered(pebble);
    issued = await issue(c, identifiers);
  });

  it("finalizes with a CSR, and the finalize answer carries the CA's Retry-After", () => {
    assert.ok(['processing', 'valid'].includes(issued.finalized.status), issued.finalized.status);
    const ms = issued.finalized.retryAfterMs;
    assert.ok(ms !== undefined && ms > 0 && ms <= RETRY_AFTER.order * 1000, `retryAfterMs ${ms}`);
  });

  it('downloads the default chain, for the names and the IP address ordered', async () => {
    const chain = parseCertificatesPem(await c.downloadCertificate(issued.valid));
    const leaf = describeCertificate(chain[0]!);
    assert.deepEqual([leaf.dnsNames, leaf.ipAddresses], [['issued.contract.test'], ['127.0.0.1']]);
    assert.ok(isSignedBy(chain[chain.length - 1]!, parseCertificatesPem(await pebble.rootsPem(0))[0]!), 'the chain leads to the default root');
  });

  it('downloads the alternate chain whose root the preferred chain names', async () => {
    const alternate = parseCertificatesPem(await pebble.rootsPem(1))[0]!;
    const chain = parseCertificatesPem(await c.downloadCertificate(issued.valid, describeCertificate(alternate).commonName));
    assert.ok(isSignedBy(chain[chain.length - 1]!, alternate), 'the chain leads to the alternate root');
  });

  it('asks renewalInfo (ARI) for the certificate by its certID, with the window and Retry-After the CA sets', async () => {
    const pem = await c.downloadCertificate(issued.valid);
    const leaf = parseCertificatesPem(pem)[0]!;
    const certID = certIdOf(leaf, describeCertificate(leaf).authorityKeyId);
    const suggested = await c.renewalInfo(certID);
    assert.ok(suggested && suggested.start < suggested.end, 'a window');
    const window = { start: new Date(Date.now() + 60_000), end: new Date(Date.now() + 120_000) };
    await pebble.setRenewalInfo(pem, window);
    const moved = await c.renewalInfo(certID);
    assert.deepEqual({ start: moved?.start, end: moved?.end, retryAfterMs: moved?.retryAfterMs }, { ...window, retryAfterMs: 6 * 3_600_000 });
  });

  it('sends replaces on newOrder, and the order states the certificate it replaces', async () => {
    // Pebble cannot match the (RFC-correct) certID of a serial that needs a leading zero byte: issue until one does not.
    let leaf = parseCertificatesPem(await c.downloadCertificate(issued.valid))[0]!;
    for (let i = 0; i < 8 && serialNumberBytes(leaf)[0] === 0; i++) {
      leaf = parseCertificatesPem(await c.downloadCertificate((await issue(c, identifiers)).valid))[0]!;
    }
    const certID = certIdOf(leaf, describeCertificate(leaf).authorityKeyId);
    const order = await c.newOrder({ identifiers, profile: 'default', replaces: certID });
    assert.equal(order.replaces, certID);
  });
});

describe('nonces', () => {
  it("takes each signed request's nonce from the previous response: no newNonce round trip between requests", async () => {
    const seen: string[] = [];
    const c = await registered(pebble, { onResponse: (method) => seen.push(method) });
    const order = await c.newOrder({ identifiers: [{ type: 'dns', value: 'nonce.contract.test' }], profile: 'default' });
    seen.length = 0;
    for (let i = 0; i < 5; i++) await c.getOrder(order.url);
    assert.deepEqual(seen, ['POST', 'POST', 'POST', 'POST', 'POST']);
  });

  it('retries a badNonce refusal with the nonce it carries, so every request goes through', async () => {
    const statuses: number[] = [];
    const c = await registered(noncePebble, { onResponse: (_m, _u, status) => statuses.push(status) });
    const order = await c.newOrder({ identifiers: [{ type: 'dns', value: 'bad-nonce.contract.test' }], profile: 'default' });
    // Pebble refuses 15% of good nonces: go on until it has refused a few (each request is retried up to 5 times).
    for (let i = 0; i < 200 && statuses.filter((s) => s === 400).length < 3; i++) assert.equal((await c.getOrder(order.url)).url, order.url);
    assert.ok(statuses.filter((s) => s === 400).length >= 3, `${statuses.length} responses, ${statuses.filter((s) => s === 400).length} badNonce`);
  });
});
