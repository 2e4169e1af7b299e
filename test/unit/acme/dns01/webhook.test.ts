// The DNS-01 webhook client against a hostile endpoint on loopback (any namespaced Issuer names its own webhook, over
// http:// too): an endless body, a trickle and many slow requests must cost the operator bounded memory, time and
// connections, and an error body reaches the message only as a short printable line.
// test/integration/dns01.test.ts covers the protocol against a well-behaved HTTPS endpoint.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createWebhookProvider } from '../../../../src/acme/dns01/webhook.ts';
import { createOriginGate } from '../../../../src/acme/http-limits.ts';
import { isCertsmithError } from '../../../../src/errors.ts';
import { writeEndlessly } from '../hostile-responses.ts';

async function waitFor(what: string, test: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!test()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('the DNS-01 webhook facing a hostile endpoint', () => {
  let server: http.Server;
  let base: string;
  const written: number[] = [];
  let held: http.ServerResponse[] = [];
  let inFlight = 0;
  let peakInFlight = 0;
  const record = { fqdn: '_acme-challenge.a.example.test', value: 'v' };

  const endless = (res: http.ServerResponse) => writeEndlessly(res, 'e', (n) => written.push(n));

  before(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        switch (req.url) {
          case '/endless-error':
            res.writeHead(500, { 'content-type': 'text/plain' });
            return endless(res);
          case '/endless-ok':
            res.writeHead(200, { 'content-type': 'text/plain' });
            return endless(res);
          case '/trickle': {
            res.writeHead(200, { 'content-type': 'text/plain' });
            const timer = setInterval(() => res.write('.'), 50);
            res.on('close', () => clearInterval(timer));
            return;
          }
          case '/hold':
            inFlight++;
            peakInFlight = Math.max(peakInFlight, inFlight);
            res.on('close', () => inFlight--);
            held.push(res);
            return;
          case '/ugly-error':
            res.writeHead(502, { 'content-type': 'text/plain' });
            return res.end(`\x1b[2J\x1b[Hbad gateway\r\n\u202eretupmoc\x00 ${'more '.repeat(1_000)}`);
          default:
            res.writeHead(204).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('reports an endless error body as Dns01WebhookFailed at once, quoting its start, without reading the rest', { timeout: 15_000 }, async () => {
    const before = written.length;
    const started = performance.now();
    await assert.rejects(createWebhookProvider({ url: `${base}/endless-error` }).present(record), (err) => {
      assert.ok(isCertsmithError(err, 'Dns01WebhookFailed'), String(err));
      assert.match(err.message, /^webhook http:\/\/127\.0\.0\.1:\d+\/endless-error answered 500 to present of "_acme-challenge\.a\.example\.test\.": e+…$/);
      return true;
    });
    assert.ok(performance.now() - started < 5_000);
    await waitFor('the server to see the connection closed', () => written.length > before);
    assert.ok(written.at(-1)! < 32 * 1024 * 1024, `the server wrote ${written.at(-1)} bytes`);
  });

  it('takes a 2xx with an endless body as done, closing the connection instead of reading on', { timeout: 15_000 }, async () => {
    const started = performance.now();
    await createWebhookProvider({ url: `${base}/endless-ok` }).present(record);
    assert.ok(performance.now() - started < 5_000);
  });

  it('gives up on a trickling answer at the deadline for the whole request', { timeout: 15_000 }, async () => {
    const started = performance.now();
    await assert.rejects(createWebhookProvider({ url: `${base}/trickle`, timeoutMs: 600 }).present(record), (err) => {
      assert.ok(isCertsmithError(err, 'Dns01Unreachable'), String(err));
      assert.match(err.message, /^webhook http:\/\/127\.0\.0\.1:\d+\/trickle could not be reached: no complete answer within 600 ms$/);
      return true;
    });
    const took = performance.now() - started;
    assert.ok(took >= 550 && took < 3_000, `gave up after ${took} ms`);
  });

  it('quotes an error body as a short printable line', async () => {
    await assert.rejects(createWebhookProvider({ url: `${base}/ugly-error` }).present(record), (err) => {
      assert.ok(isCertsmithError(err, 'Dns01WebhookFailed'), String(err));
      assert.match(err.message, /answered 502 to present of "_acme-challenge\.a\.example\.test\.": \[2J \[Hbad gateway retupmoc (more )+mor…$/);
      assert.ok(err.message.length < 400, `${err.message.length} characters`);
      assert.doesNotMatch(err.message, /[\p{C}\n\r]/u);
      return true;
    });
  });

  it('keeps at most the cap of requests in flight to one endpoint, across providers sharing a gate, and refuses the rest at once', {
    timeout: 15_000,
  }, async () => {
    held = [];
    peakInFlight = 0;
    const gate = createOriginGate({ maxInFlight: 2, maxQueued: 3 });
    // The solvers make a provider per call; what they share is the gate.
    const settled = Array.from({ length: 8 }, () =>
      createWebhookProvider({ url: `${base}/hold` }, { gate })
        .present(record)
        .then(
          () => 'done',
          (err: unknown) => (isCertsmithError(err) ? `${err.code}: ${err.message.replace(/\d+\.\d+\.\d+\.\d+:\d+/, 'ENDPOINT')}` : String(err)),
        ),
    );
    await waitFor('two requests to reach the endpoint', () => held.length === 2);
    const refused = await Promise.race([Promise.all(settled.slice(5)), new Promise((r) => setTimeout(() => r('still waiting'), 2_000))]);
    assert.deepEqual(
      refused,
      Array(3).fill('Dns01Unreachable: webhook http://ENDPOINT/hold could not be reached: 2 requests to it are in flight and 3 more wait already'),
    );
    for (let answered = 0; answered < 5; ) {
      await waitFor('a queued request to go in', () => held.length > 0);
      for (const res of held.splice(0)) {
        res.writeHead(204).end();
        answered++;
      }
    }
    assert.deepEqual((await Promise.all(settled)).slice(0, 5), Array(5).fill('done'));
    assert.equal(peakInFlight, 2, 'never more than the cap at the endpoint');
  });
});
