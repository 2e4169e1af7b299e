// DNS-01 providers against a real BIND9 primary (RFC 2136 + TSIG) and a real HTTPS webhook endpoint.
// BIND comes from test/env/system-packages.sh; without it startBind fails with a message naming that script.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isCertsmithError, type ErrorCode } from '../../src/errors.ts';
import { systemClock, type Clock } from '../../src/time/clock.ts';
import { checkTxtPropagation, findAuthoritativeNameservers } from '../../src/acme/dns01/propagation.ts';
import { createRfc2136Provider, type Rfc2136Config } from '../../src/acme/dns01/rfc2136.ts';
import type { Dns01Provider } from '../../src/acme/dns01/types.ts';
import { createWebhookProvider, type WebhookRequest } from '../../src/acme/dns01/webhook.ts';
import { startBind, type Bind } from '../env/bind.ts';
import { createTestCA } from '../env/certs.ts';
import { freePort } from '../env/ports.ts';

const secret = () => randomBytes(32).toString('base64');
const keys = {
  sha256: { name: 'certsmith-sha256', algorithm: 'hmac-sha256', secret: secret() },
  sha512: { name: 'certsmith-sha512', algorithm: 'hmac-sha512', secret: randomBytes(64).toString('base64') },
  sub: { name: 'sub-only', algorithm: 'hmac-sha256', secret: secret() },
  other: { name: 'other-only', algorithm: 'hmac-sha256', secret: secret() },
};

/** An ACME-like digest: 43 base64url characters, different each time so tests do not see each other's records. */
const digest = () => randomBytes(32).toString('base64url');

const failsWith =
  (code: ErrorCode, ...patterns: RegExp[]) =>
  (err: unknown) => {
    assert.ok(isCertsmithError(err, code), `expected ${code}, got ${isCertsmithError(err) ? `${err.code}: ${err.message}` : String(err)}`);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  };

describe('RFC 2136 provider against BIND', () => {
  let bind: Bind;
  before(async () => {
    bind = await startBind({
      zones: [
        { name: 'example.test', tsigKeys: [keys.sha256, keys.sha512] },
        { name: 'sub.example.test', tsigKeys: [keys.sub] },
        { name: 'other.test', tsigKeys: [keys.other] },
      ],
    });
  });
  after(async () => bind?.stop());

  const provider = (key: { name: string; secret: string }, config: Partial<Rfc2136Config> = {}, clock: Clock = systemClock, timeoutMs = 5000): Dns01Provider =>
    createRfc2136Provider(
      { nameserver: bind.address, tsigKeyName: key.name, tsigAlgorithm: key === keys.sha512 ? 'HMACSHA512' : 'HMACSHA256', tsigSecret: key.secret, ...config },
      { clock, timeoutMs },
    );
  const visible = async (fqdn: string, value: string) => (await checkTxtPropagation({ fqdn, value, nameservers: [bind.address] }, { timeoutMs: 5000 })).visible;

  it('present makes the TXT record visible and cleanup removes it again', async () => {
    const p = provider(keys.sha256);
    const r = { fqdn: '_acme-challenge.www.example.test', value: digest(), zone: 'example.test' };
    await p.present(r);
    assert.deepEqual(await checkTxtPropagation({ fqdn: r.fqdn, value: r.value, nameservers: [bind.address] }), { visible: true, missingOn: [], errors: [] });
    await p.cleanup(r);
    assert.deepEqual(await checkTxtPropagation({ fqdn: r.fqdn, value: r.value, nameservers: [bind.address] }), {
      visible: false,
      missingOn: [bind.address],
      errors: [],
    });
  });

  it('signs with hmac-sha512 keys too, given in BIND spelling', async () => {
    const p = provider(keys.sha512, { tsigAlgorithm: 'hmac-sha512' });
    const r = { fqdn: '_acme-challenge.sha512.example.test.', value: digest(), zone: 'example.test.' };
    await p.present(r);
    assert.equal(await visible(r.fqdn, r.value), true);
    await p.cleanup(r);
  });

  it('keeps two values on one name, and cleanup of one leaves the other', async () => {
    const p = provider(keys.sha256);
    const fqdn = '_acme-challenge.wild.example.test';
    const [a, b] = [digest(), digest()];
    await p.present({ fqdn, value: a, zone: 'example.test' });
    await p.present({ fqdn, value: b, zone: 'example.test' });
    assert.deepEqual([await visible(fqdn, a), await visible(fqdn, b)], [true, true]);
    await p.cleanup({ fqdn, value: a, zone: 'example.test' });
    assert.deepEqual([await visible(fqdn, a), await visible(fqdn, b)], [false, true]);
    await p.cleanup({ fqdn, value: b, zone: 'example.test' });
    assert.equal(await visible(fqdn, b), false);
  });

  it('repeats present and cleanup without errors (a reconciler retries after crashes)', async () => {
    const p = provider(keys.sha256);
    const r = { fqdn: '_acme-challenge.again.example.test', value: digest(), zone: 'example.test' };
    await p.present(r);
    await p.present(r);
    assert.equal(await visible(r.fqdn, r.value), true);
    await p.cleanup(r);
    await p.cleanup(r);
    assert.equal(await visible(r.fqdn, r.value), false);
  });

  it('reads an answer too big for UDP over TCP, and values over 255 bytes whole', async () => {
    const p = provider(keys.sha256);
    const fqdn = '_acme-challenge.big.example.test';
    const values = [0, 1, 2].map((i) => `${i}${'x'.repeat(400)}`);
    for (const value of values) await p.present({ fqdn, value, zone: 'example.test' });
    for (const value of values) assert.equal(await visible(fqdn, value), true, `value ${value[0]} is visible`);
    for (const value of values) await p.cleanup({ fqdn, value, zone: 'example.test' });
  });

  it('discovers the zone of a deep name by walking up for SOA', async () => {
    const p = provider(keys.sha256);
    const r = { fqdn: '_acme-challenge.a.b.c.example.test', value: digest() };
    await p.present(r);
    assert.equal(await visible(r.fqdn, r.value), true);
    await p.cleanup(r);
    assert.equal(await visible(r.fqdn, r.value), false);
  });

  it('discovers the most specific zone: a key granted only in sub.example.test can update a name there', async () => {
    const p = provider(keys.sub);
    const r = { fqdn: '_acme-challenge.x.sub.example.test', value: digest() };
    await p.present(r);
    assert.equal(await visible(r.fqdn, r.value), true);
    await p.cleanup(r);
  });

  it('reports a wrong TSIG secret as Dns01TsigRejected naming the nameserver, zone and key', async () => {
    const p = provider({ name: keys.sha256.name, secret: secret() });
    await assert.rejects(
      p.present({ fqdn: '_acme-challenge.example.test', value: digest(), zone: 'example.test' }),
      failsWith(
        'Dns01TsigRejected',
        new RegExp(`^nameserver ${bind.address} \\(zone "example.test"\\)`),
        /TSIG key "certsmith-sha256"/,
        /BADSIG/,
        /secret differs/,
      ),
    );
  });

  it('reports an unknown key name as Dns01TsigRejected telling to check the key name', async () => {
    const p = provider({ name: 'no-such-key', secret: keys.sha256.secret });
    await assert.rejects(
      p.present({ fqdn: '_acme-challenge.example.test', value: digest(), zone: 'example.test' }),
      failsWith('Dns01TsigRejected', /does not know TSIG key "no-such-key" \(hmac-sha256\) \(BADKEY\): check that the key name and algorithm/),
    );
  });

  it('reports a key used with the wrong algorithm as unknown to the server', async () => {
    const p = provider(keys.sha256, { tsigAlgorithm: 'HMACSHA512' });
    await assert.rejects(p.present({ fqdn: '_acme-challenge.example.test', value: digest(), zone: 'example.test' }), failsWith('Dns01TsigRejected', /BADKEY/));
  });

  it('reports a clock an hour off as Dns01TsigRejected telling to check NTP', async () => {
    const skewed: Clock = { now: () => new Date(Date.now() - 3_600_000) };
    const p = provider(keys.sha256, {}, skewed);
    await assert.rejects(
      p.present({ fqdn: '_acme-challenge.example.test', value: digest(), zone: 'example.test' }),
      failsWith('Dns01TsigRejected', /BADTIME/, /check NTP/),
    );
  });

  it('reports a key not allowed in the zone as Dns01UpdateRefused pointing at update-policy', async () => {
    const p = provider(keys.sha256);
    await assert.rejects(
      p.present({ fqdn: '_acme-challenge.other.test', value: digest() }),
      failsWith(
        'Dns01UpdateRefused',
        /\(zone "other.test"\) refused adding TXT "_acme-challenge.other.test" \(REFUSED\)/,
        /update-policy grants key "certsmith-sha256"/,
      ),
    );
  });

  it('reports a zone the nameserver does not serve: NOTAUTH when given, Dns01ZoneNotFound when discovered', async () => {
    const p = provider(keys.sha256);
    await assert.rejects(
      p.present({ fqdn: '_acme-challenge.nowhere.test', value: digest(), zone: 'nowhere.test' }),
      failsWith('Dns01UpdateRefused', /not authoritative for zone "nowhere.test" \(NOTAUTH\)/),
    );
    await assert.rejects(
      p.present({ fqdn: '_acme-challenge.nowhere.test', value: digest() }),
      failsWith('Dns01ZoneNotFound', /asked SOA for _acme-challenge.nowhere.test, nowhere.test, test/),
    );
  });

  it('finds the authoritative nameservers of a zone through NS and A lookups', async () => {
    assert.deepEqual(await findAuthoritativeNameservers({ zone: 'example.test', resolver: bind.address, port: bind.port }), [bind.address]);
    await assert.rejects(
      findAuthoritativeNameservers({ zone: 'missing.example.test', resolver: bind.address }),
      failsWith('Dns01ZoneNotFound', /knows no NS records for zone "missing.example.test"/),
    );
  });

  it('lists the servers that do not have the record yet, with why when they could not be asked', async () => {
    const p = provider(keys.sha256);
    const r = { fqdn: '_acme-challenge.partial.example.test', value: digest(), zone: 'example.test' };
    await p.present(r);
    const dead = `127.0.0.1:${await freePort()}`;
    const result = await checkTxtPropagation({ fqdn: r.fqdn, value: r.value, nameservers: [bind.address, dead] }, { timeoutMs: 2000 });
    assert.equal(result.visible, false);
    assert.deepEqual(result.missingOn, [dead]);
    assert.equal(result.errors.length, 1);
    assert.match(result.errors[0]!.message, new RegExp(`^nameserver ${dead} `));
    await p.cleanup(r);
  });
});

describe('RFC 2136 provider against servers that do not work', () => {
  const servers: TcpServer[] = [];
  after(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
  });
  /** A TCP server on a free port that does `onConnection` with every client. */
  async function tcpServer(onConnection: (socket: Socket) => void): Promise<string> {
    const s = createTcpServer(onConnection);
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const addr = s.address();
    return `127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  }
  const provider = (nameserver: string) =>
    createRfc2136Provider({ nameserver, tsigKeyName: 'k', tsigAlgorithm: 'HMACSHA256', tsigSecret: secret() }, { clock: systemClock, timeoutMs: 500 });
  const record = { fqdn: '_acme-challenge.example.test', value: 'v', zone: 'example.test' };

  it('reports nothing listening as Dns01Unreachable naming the address', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    await assert.rejects(provider(address).present(record), failsWith('Dns01Unreachable', new RegExp(`^nameserver ${address} refused the TCP connection`)));
  });

  it('reports a server that never answers as Dns01Unreachable after the timeout', async () => {
    const silent: Socket[] = [];
    const address = await tcpServer((s) => silent.push(s));
    await assert.rejects(provider(address).present(record), failsWith('Dns01Unreachable', /did not answer over TCP within 500 ms/));
    for (const s of silent) s.destroy();
  });

  it('reports garbage as Dns01BadResponse', async () => {
    const address = await tcpServer((s) => {
      s.once('data', (request: Buffer) => {
        // Same ID and QR set, then bytes that cannot be a message: a header claiming one question that is not there.
        const garbage = Buffer.from([request[2]!, request[3]!, 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xff]);
        s.end(Buffer.concat([Buffer.from([0, garbage.length]), garbage]));
      });
    });
    await assert.rejects(provider(address).present(record), failsWith('Dns01BadResponse', /malformed DNS message/));
  });
});

describe('webhook provider', () => {
  let dir: string;
  let server: HttpsServer;
  let url: string;
  let caBundle: string;
  const seen: { path: string; authorization: string | undefined; contentType: string | undefined; body: WebhookRequest }[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'certsmith-webhook-'));
    const ca = await createTestCA(dir, 'certsmith test webhook CA');
    const serving = await ca.issue('webhook', { commonName: 'webhook', ipAddresses: ['127.0.0.1'] });
    caBundle = ca.certPem;
    server = createHttpsServer({ cert: serving.certPem, key: await readFile(serving.keyFile) }, (req, res) => {
      let text = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (text += d));
      req.on('end', () => {
        const path = new URL(req.url ?? '/', 'https://webhook').pathname;
        if (path === '/hang') return; // never answers
        seen.push({
          path: req.url ?? '',
          authorization: req.headers.authorization,
          contentType: req.headers['content-type'],
          body: JSON.parse(text) as WebhookRequest,
        });
        if (path === '/fail') {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`zone example.test is locked\n${'by another change '.repeat(40)}`);
        } else {
          res.writeHead(204).end();
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    url = `https://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  after(async () => {
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  it('POSTs present and cleanup as JSON with the bearer token, trusting the given CA', async () => {
    seen.length = 0;
    const p = createWebhookProvider({ url: `${url}/dns?tenant=a`, bearerToken: 's3cret-token', caBundle });
    const value = digest();
    await p.present({ fqdn: '_acme-challenge.www.example.test', value, zone: 'example.test' });
    await p.cleanup({ fqdn: '_acme-challenge.WWW.example.test.', value });
    assert.deepEqual(seen, [
      {
        path: '/dns?tenant=a',
        authorization: 'Bearer s3cret-token',
        contentType: 'application/json',
        body: { action: 'present', fqdn: '_acme-challenge.www.example.test.', zone: 'example.test.', value },
      },
      {
        path: '/dns?tenant=a',
        authorization: 'Bearer s3cret-token',
        contentType: 'application/json',
        body: { action: 'cleanup', fqdn: '_acme-challenge.www.example.test.', zone: null, value },
      },
    ]);
  });

  it('sends no Authorization header without a token', async () => {
    seen.length = 0;
    await createWebhookProvider({ url: `${url}/dns`, caBundle }).present({ fqdn: 'a.example.test', value: 'v' });
    assert.equal(seen[0]?.authorization, undefined);
  });

  it('reports a 500 as Dns01WebhookFailed with the status and a short excerpt of the body, never the token', async () => {
    const p = createWebhookProvider({ url: `${url}/fail?key=query-secret`, bearerToken: 's3cret-token', caBundle });
    await assert.rejects(p.present({ fqdn: '_acme-challenge.example.test', value: 'v' }), (err) => {
      failsWith(
        'Dns01WebhookFailed',
        new RegExp(`^webhook ${url}/fail answered 500 to present of "_acme-challenge.example.test.": zone example.test is locked by another change`),
      )(err);
      const message = (err as Error).message;
      assert.ok(message.length < 400, `the message stays short (${message.length} characters)`);
      assert.doesNotMatch(message, /s3cret-token|query-secret/);
      return true;
    });
  });

  it('reports an endpoint whose CA is not trusted as Dns01Unreachable pointing at caBundle', async () => {
    const p = createWebhookProvider({ url: `${url}/dns` });
    await assert.rejects(p.present({ fqdn: 'a.example.test', value: 'v' }), failsWith('Dns01Unreachable', /TLS certificate is not trusted/, /set caBundle/));
  });

  it('reports nothing listening, and no answer in time, as Dns01Unreachable', async () => {
    const closed = createWebhookProvider({ url: `https://127.0.0.1:${await freePort()}/dns`, caBundle });
    await assert.rejects(closed.present({ fqdn: 'a.example.test', value: 'v' }), failsWith('Dns01Unreachable', /connection refused/));
    const slow = createWebhookProvider({ url: `${url}/hang`, caBundle, timeoutMs: 300 });
    await assert.rejects(slow.present({ fqdn: 'a.example.test', value: 'v' }), failsWith('Dns01Unreachable', /no complete answer within 300 ms/));
  });
});
