// The transport talks to a real local HTTPS server whose certificate comes from a test CA, as an issuer with a
// caBundle would talk to a private ACME CA.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isAcmeError } from '../../../src/acme/errors.ts';
import { createOriginGate } from '../../../src/acme/http-limits.ts';
import { createTransport, type Transport } from '../../../src/acme/transport.ts';
import { createTestCA } from '../../env/certs.ts';
import { freePort } from '../../env/ports.ts';
import { writeEndlessly } from './hostile-responses.ts';

async function waitFor(what: string, test: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!test()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const URN = 'urn:ietf:params:acme:error:';

describe('the ACME transport', () => {
  let dir: string;
  let caPem: string;
  let otherCaPem: string;
  let server: https.Server;
  let base: string;
  let newNonceHits = 0;
  const transports: Transport[] = [];
  const transport = (opts: Parameters<typeof createTransport>[0] = {}) => {
    const t = createTransport(opts);
    transports.push(t);
    return t;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'certsmith-transport-'));
    const ca = await createTestCA(dir, 'certsmith test ACME CA');
    caPem = ca.certPem;
    otherCaPem = (await createTestCA(await mkdtemp(join(dir, 'other-')), 'certsmith test other CA')).certPem;
    const serving = await ca.issue('acme', { commonName: 'acme', ipAddresses: ['127.0.0.1'] });
    server = https.createServer({ cert: serving.certPem, key: await readFile(serving.keyFile) }, (req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => (body += d));
      req.on('end', () => {
        const problem = (status: number, doc: object, headers: Record<string, string> = {}) =>
          res.writeHead(status, { 'content-type': 'application/problem+json', ...headers }).end(JSON.stringify(doc));
        switch (req.url) {
          case '/directory':
            res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ newOrder: `${base}/new-order` }));
            return;
          case '/echo':
            res
              .writeHead(200, { 'content-type': 'application/json' })
              .end(JSON.stringify({ method: req.method, contentType: req.headers['content-type'] ?? null, userAgent: req.headers['user-agent'], body }));
            return;
          case '/cert':
            res.writeHead(200, { 'content-type': 'application/pem-certificate-chain' }).end(caPem);
            return;
          case '/rate-limited':
            problem(429, { type: `${URN}rateLimited`, detail: 'too many new orders recently', status: 429 }, { 'retry-after': '120' });
            return;
          case '/rate-limited-until':
            problem(429, { type: `${URN}rateLimited`, detail: 'too many new orders recently' }, { 'retry-after': 'Sun, 01 Mar 2026 12:05:00 GMT' });
            return;
          case '/new-nonce':
            newNonceHits++;
            res.writeHead(200, { 'replay-nonce': `network-${newNonceHits}` }).end();
            return;
          case '/nonced':
            res.writeHead(200, { 'content-type': 'application/json', 'replay-nonce': 'from-response' }).end('{}');
            return;
          case '/bad-nonce':
            problem(400, { type: `${URN}badNonce`, detail: 'JWS has an invalid anti-replay nonce' }, { 'replay-nonce': 'fresh-nonce' });
            return;
          case '/malformed':
            problem(400, { type: `${URN}malformed`, detail: 'no such thing' });
            return;
          case '/unavailable':
            res.writeHead(503, { 'content-type': 'text/html' }).end('<html>down for maintenance</html>');
            return;
          case '/broken-json':
            res.writeHead(200, { 'content-type': 'application/json' }).end('{"status": "valid"');
            return;
          case '/silent':
            return; // never answers
          default:
            res.writeHead(404).end();
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    for (const t of transports) t.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  describe('trust', () => {
    it('reaches a server whose certificate the given CA signed', async () => {
      const res = await transport({ caPem }).request(`${base}/directory`, 'get');
      assert.equal(res.status, 200);
      assert.deepEqual(res.data, { newOrder: `${base}/new-order` });
    });

    const untrusted: { name: string; caPem?: () => string }[] = [
      { name: 'refuses a server signed by a private CA when no caPem is given, pointing at caBundle' },
      { name: 'refuses a server signed by another CA than the given one, pointing at caBundle', caPem: () => otherCaPem },
    ];
    for (const c of untrusted) {
      it(c.name, async () => {
        await assert.rejects(transport(c.caPem ? { caPem: c.caPem() } : {}).request(`${base}/directory`, 'GET'), (err) => {
          assert.ok(isAcmeError(err), String(err));
          assert.equal(err.code, 'AcmeUnreachable');
          assert.match(err.message, /^cannot reach the ACME server 127\.0\.0\.1:\d+: its TLS certificate is not trusted/);
          assert.match(err.message, /set caBundle/);
          return true;
        });
      });
    }
  });

  describe('answers', () => {
    it('sends a body as JWS JSON and reads a JSON answer', async () => {
      const res = await transport({ caPem, userAgent: 'certsmith-test/1' }).request(`${base}/echo`, 'post', {
        data: { protected: 'p', payload: '', signature: 's' },
      });
      assert.equal(res.status, 200);
      assert.deepEqual(res.data, {
        method: 'POST',
        contentType: 'application/jose+json',
        userAgent: 'certsmith-test/1',
        body: '{"protected":"p","payload":"","signature":"s"}',
      });
    });

    it('sends a body given as text as it is', async () => {
      const res = await transport({ caPem }).request(`${base}/echo`, 'post', { body: '{"protected":"p", "payload":"","signature":"s"}' });
      assert.equal((res.data as { body: string }).body, '{"protected":"p", "payload":"","signature":"s"}');
    });

    it('sends no body and no content type without data', async () => {
      const res = await transport({ caPem }).request(`${base}/echo`, 'GET');
      assert.deepEqual(res.data, { method: 'GET', contentType: null, userAgent: 'certsmith', body: '' });
    });

    it('gives a certificate chain back as text', async () => {
      const res = await transport({ caPem }).request(`${base}/cert`, 'POST', { data: { payload: '' } });
      assert.equal(res.status, 200);
      assert.equal(res.data, caPem);
      assert.equal(res.headers['content-type'], 'application/pem-certificate-chain');
    });

    it('returns a badNonce refusal instead of throwing, so acme-client can retry with the new nonce', async () => {
      const res = await transport({ caPem }).request(`${base}/bad-nonce`, 'POST', { data: {} });
      assert.equal(res.status, 400);
      assert.equal((res.data as { type: string }).type, `${URN}badNonce`);
      assert.equal(res.headers['replay-nonce'], 'fresh-nonce');
    });

    it('answers a newNonce HEAD with the nonce of the last response, once, and asks the CA when it has none', async () => {
      const t = transport({ caPem });
      const before = newNonceHits;
      assert.equal((await t.request(`${base}/new-nonce`, 'HEAD')).headers['replay-nonce'], `network-${before + 1}`);
      await t.request(`${base}/nonced`, 'POST', { data: {} });
      assert.equal((await t.request(`${base}/new-nonce`, 'HEAD')).headers['replay-nonce'], 'from-response');
      assert.equal(newNonceHits, before + 1, 'the kept nonce saved a round trip');
      assert.equal((await t.request(`${base}/new-nonce`, 'HEAD')).headers['replay-nonce'], `network-${before + 2}`, 'a nonce is used once');
    });

    it("does not keep a badNonce answer's nonce, which acme-client's retry uses", async () => {
      const t = transport({ caPem });
      await t.request(`${base}/bad-nonce`, 'POST', { data: {} });
      const before = newNonceHits;
      assert.equal((await t.request(`${base}/new-nonce`, 'HEAD')).headers['replay-nonce'], `network-${before + 1}`);
    });

    it('does not hand out a kept nonce older than a minute', async () => {
      let clock = new Date('2026-03-01T12:00:00Z');
      const t = transport({ caPem, now: () => clock });
      await t.request(`${base}/nonced`, 'POST', { data: {} });
      clock = new Date(clock.getTime() + 61_000);
      const before = newNonceHits;
      assert.equal((await t.request(`${base}/new-nonce`, 'HEAD')).headers['replay-nonce'], `network-${before + 1}`);
    });

    it('throws AcmeRateLimited with the Retry-After of a 429 problem', async () => {
      await assert.rejects(transport({ caPem }).request(`${base}/rate-limited`, 'POST', { data: {} }), (err) => {
        assert.ok(isAcmeError(err), String(err));
        assert.equal(err.code, 'AcmeRateLimited');
        assert.equal(err.retryAfterMs, 120_000);
        assert.equal(err.httpStatus, 429);
        assert.equal(err.problemType, 'rateLimited');
        assert.match(err.message, /too many new orders recently; the CA asks to retry after 120 s$/);
        return true;
      });
    });

    it('reads a Retry-After date against its clock', async () => {
      const now = () => new Date('2026-03-01T12:00:00Z');
      await assert.rejects(transport({ caPem, now }).request(`${base}/rate-limited-until`, 'POST', { data: {} }), (err) => {
        assert.ok(isAcmeError(err), String(err));
        assert.equal(err.retryAfterMs, 300_000);
        return true;
      });
    });

    it('throws a 400 problem other than badNonce', async () => {
      await assert.rejects(transport({ caPem }).request(`${base}/malformed`, 'POST', { data: {} }), (err) => {
        assert.ok(isAcmeError(err), String(err));
        assert.equal(err.code, 'AcmeOrderRejected');
        assert.equal(err.retryAfterMs, undefined);
        assert.match(err.message, /malformed: no such thing$/);
        return true;
      });
    });

    it('throws AcmeUnavailable for a 503 page, quoting it', async () => {
      await assert.rejects(transport({ caPem }).request(`${base}/unavailable`, 'GET'), (err) => {
        assert.ok(isAcmeError(err), String(err));
        assert.equal(err.code, 'AcmeUnavailable');
        assert.match(err.message, /HTTP 503: <html>down for maintenance<\/html>$/);
        return true;
      });
    });

    it('throws AcmeBadResponse for JSON it cannot read', async () => {
      await assert.rejects(transport({ caPem }).request(`${base}/broken-json`, 'GET'), (err) => {
        assert.ok(isAcmeError(err), String(err));
        assert.equal(err.code, 'AcmeBadResponse');
        assert.match(err.message, /^GET https:\/\/127\.0\.0\.1:\d+\/broken-json answered unreadable JSON \(HTTP 200\)$/);
        return true;
      });
    });
  });

  describe('failures to connect', () => {
    it('throws AcmeUnreachable when nothing listens on the port', async () => {
      const port = await freePort();
      await assert.rejects(transport({ caPem }).request(`https://127.0.0.1:${port}/directory`, 'GET'), (err) => {
        assert.ok(isAcmeError(err), String(err));
        assert.equal(err.code, 'AcmeUnreachable');
        assert.equal(err.message, `cannot reach the ACME server 127.0.0.1:${port} (ECONNREFUSED)`);
        return true;
      });
    });

    it('gives up with AcmeUnreachable when the server does not answer in time', async () => {
      const started = performance.now();
      await assert.rejects(transport({ caPem, timeoutMs: 300 }).request(`${base}/silent`, 'GET'), (err) => {
        assert.ok(isAcmeError(err), String(err));
        assert.equal(err.code, 'AcmeUnreachable');
        assert.match(err.message, /^cannot reach the ACME server 127\.0\.0\.1:\d+ \(no complete answer within 300 ms\)$/);
        return true;
      });
      const took = performance.now() - started;
      assert.ok(took >= 250 && took < 5_000, `gave up after ${took} ms`);
    });
  });
});

// Any namespaced Issuer may name an ACME server, over http:// too: one that answers with an endless body, a byte at
// a time, or holds every request must cost the operator a bounded amount of memory, time and connections.
describe('the ACME transport facing a hostile server', () => {
  let server: http.Server;
  let base: string;
  /** Bytes each endless answer got written before the client closed it. */
  const written: number[] = [];
  let held: http.ServerResponse[] = [];
  let inFlight = 0;
  let peakInFlight = 0;
  const transports: Transport[] = [];
  const transport = (opts: Parameters<typeof createTransport>[0] = {}) => {
    const t = createTransport(opts);
    transports.push(t);
    return t;
  };

  const endless = (res: http.ServerResponse) => writeEndlessly(res, 'a', (n) => written.push(n));

  before(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      switch (req.url) {
        case '/endless':
          res.writeHead(200, { 'content-type': 'application/json' });
          return endless(res);
        case '/endless-error':
          res.writeHead(500, { 'content-type': 'text/html' });
          return endless(res);
        case '/declared-huge':
          // Says 1 GiB and sends it lazily: refused on the header.
          res.writeHead(200, { 'content-type': 'application/pem-certificate-chain', 'content-length': String(1024 ** 3) });
          return endless(res);
        case '/exactly-1000':
          return res.writeHead(200, { 'content-type': 'text/plain' }).end('b'.repeat(1000));
        case '/1001':
          return res.writeHead(200, { 'content-type': 'text/plain' }).end('b'.repeat(1001));
        case '/trickle': {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{');
          const timer = setInterval(() => res.write(' '), 50);
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
          res.writeHead(503, { 'content-type': 'text/html' });
          return res.end(`\x1b[31mdown\x1b[0m\r\nfor\u202e maintenance\x00\n${'<p>padding</p>\n'.repeat(60_000)}`);
        case '/ugly-problem':
          res.writeHead(400, { 'content-type': 'application/problem+json' });
          return res.end(
            JSON.stringify({
              type: `${URN}rejectedIdentifier\n${'t'.repeat(10_000)}`,
              detail: `two\nlines\x07 ${'d'.repeat(300_000)}`,
              subproblems: Array.from({ length: 2_000 }, (_, i) => ({
                identifier: { type: 'dns', value: `n${i}.example` },
                detail: `no\r\n${'s'.repeat(200)}`,
              })),
            }),
          );
        case '/odd-problem':
          res.writeHead(400, { 'content-type': 'application/problem+json' });
          return res.end(JSON.stringify({ type: 5, detail: { nested: true }, subproblems: 'none' }));
        default:
          res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    for (const t of transports) t.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const printableLine = (message: string) => {
    assert.ok(message.length < 1024, `the message is short (${message.length} characters)`);
    assert.doesNotMatch(message, /[\p{C}\n\r\u2028\u2029]/u, 'the message is one printable line');
  };

  const tooLarge: { name: string; path: string }[] = [
    { name: 'an endless body', path: '/endless' },
    { name: 'an endless error page', path: '/endless-error' },
    { name: 'a body that declares 1 GiB', path: '/declared-huge' },
  ];
  for (const c of tooLarge) {
    it(`refuses ${c.name} with AcmeResponseTooLarge once past 1 MiB, without reading the rest`, { timeout: 15_000 }, async () => {
      const started = performance.now();
      const before = written.length;
      await assert.rejects(transport().request(`${base}${c.path}`, 'GET'), (err) => {
        assert.ok(isAcmeError(err), String(err));
        assert.equal(err.code, 'AcmeResponseTooLarge');
        assert.match(err.message, /^GET http:\/\/127\.0\.0\.1:\d+\/[a-z-]+ answered more than 1 MiB, more than any ACME answer: refused$/);
        return true;
      });
      await waitFor('the server to see the connection closed', () => written.length > before);
      const sent = written.at(-1)!;
      assert.ok(sent < 32 * 1024 * 1024, `the server wrote ${sent} bytes before the client closed the connection`);
      assert.ok(performance.now() - started < 5_000);
    });
  }

  it('takes a body of exactly its cap, and refuses one byte more', async () => {
    const t = transport({ maxBodyBytes: 1000 });
    assert.equal((await t.request(`${base}/exactly-1000`, 'GET')).data, 'b'.repeat(1000));
    await assert.rejects(
      t.request(`${base}/1001`, 'GET'),
      (err) => isAcmeError(err) && err.code === 'AcmeResponseTooLarge' && /more than 1000 bytes/.test(err.message),
    );
  });

  it('gives up on a server that trickles its answer at the deadline for the whole request', { timeout: 15_000 }, async () => {
    const started = performance.now();
    await assert.rejects(transport({ timeoutMs: 600 }).request(`${base}/trickle`, 'GET'), (err) => {
      assert.ok(isAcmeError(err), String(err));
      assert.equal(err.code, 'AcmeUnreachable');
      assert.match(err.message, /^cannot reach the ACME server 127\.0\.0\.1:\d+ \(no complete answer within 600 ms\)$/);
      return true;
    });
    const took = performance.now() - started;
    assert.ok(took >= 550 && took < 3_000, `gave up after ${took} ms`);
  });

  it('keeps at most the cap of requests in flight to one server, queues a few more and refuses the rest at once', { timeout: 15_000 }, async () => {
    held = [];
    peakInFlight = 0;
    const gate = createOriginGate({ maxInFlight: 2, maxQueued: 3 });
    // Two issuers' clients naming the same server share the gate's slots.
    const [a, b] = [transport({ gate }), transport({ gate })];
    const settled = Array.from({ length: 8 }, (_, i) =>
      (i % 2 ? a : b).request(`${base}/hold`, 'GET').then(
        () => 'answered',
        (err: unknown) => (isAcmeError(err) ? `${err.code}: ${err.message}` : String(err)),
      ),
    );
    await waitFor('two requests to reach the server', () => held.length === 2);
    const refused = await Promise.race([Promise.all(settled.slice(5)), new Promise((r) => setTimeout(() => r('still waiting'), 2_000))]);
    assert.deepEqual(
      (refused as string[]).map((m) => m.replace(/\d+\.\d+\.\d+\.\d+:\d+/, 'SERVER')),
      Array(3).fill('AcmeUnreachable: cannot reach the ACME server SERVER (2 requests to it are in flight and 3 more wait already)'),
    );
    // Each answer lets one waiting request in.
    for (let answered = 0; answered < 5; ) {
      await waitFor('a queued request to go in', () => held.length > 0);
      for (const res of held.splice(0)) {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        answered++;
      }
    }
    assert.deepEqual((await Promise.all(settled)).slice(0, 5), Array(5).fill('answered'));
    assert.equal(peakInFlight, 2, 'never more than the cap at the server');
  });

  it('quotes an error page as a short printable line', async () => {
    await assert.rejects(transport().request(`${base}/ugly-error`, 'GET'), (err) => {
      assert.ok(isAcmeError(err), String(err));
      assert.equal(err.code, 'AcmeUnavailable');
      assert.match(err.message, /HTTP 503: \[31mdown \[0m for maintenance <p>padding<\/p> <p>padding<\/p> .*…$/);
      printableLine(err.message);
      return true;
    });
  });

  it('quotes a problem document with a huge, multi-line detail and thousands of subproblems as a short printable line', async () => {
    await assert.rejects(transport().request(`${base}/ugly-problem`, 'POST', { data: {} }), (err) => {
      assert.ok(isAcmeError(err), String(err));
      assert.match(err.message, /: rejectedIdentifier t+…: two lines d+… \(n0\.example: no s+…; n1\.example: no s+…; n2\.example: no s+…; and 1997 more\)$/);
      printableLine(err.message);
      assert.ok(err.problemType!.length <= 65, 'the problem type is cut too');
      return true;
    });
  });

  it('reads a problem document whose fields have the wrong types as a plain refusal', async () => {
    await assert.rejects(transport().request(`${base}/odd-problem`, 'POST', { data: {} }), (err) => {
      assert.ok(isAcmeError(err), String(err));
      assert.equal(err.code, 'AcmeProblem');
      assert.match(err.message, /: HTTP 400: HTTP 400$/);
      return true;
    });
  });
});
