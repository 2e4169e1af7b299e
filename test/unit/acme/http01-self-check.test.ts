// The HTTP-01 self-check fetches the challenge from wherever the Certificate's names point: a tenant's choice. Against
// a real server on loopback: it tells a right answer from a wrong one, and an endless body, a trickle or many slow
// answers cost it bounded memory, time and connections.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createOriginGate } from '../../../src/acme/http-limits.ts';
import { http01SelfCheck, type SelfCheckOptions } from '../../../src/acme/http01-self-check.ts';
import { writeEndlessly } from './hostile-responses.ts';

async function waitFor(what: string, test: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!test()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const KEY_AUTHORIZATION = 'tok.thumbprint';
const identifier = { type: 'ip' as const, value: '127.0.0.1' };

describe('the HTTP-01 self-check', () => {
  let server: http.Server;
  let port: number;
  let held: http.ServerResponse[] = [];
  let inFlight = 0;
  let peakInFlight = 0;

  const endless = (res: http.ServerResponse) => writeEndlessly(res, 'k');

  before(async () => {
    server = http.createServer((req, res) => {
      const token = (req.url ?? '').replace('/.well-known/acme-challenge/', '');
      switch (token) {
        case 'right':
          return res.writeHead(200, { 'content-type': 'text/plain' }).end(`${KEY_AUTHORIZATION}\n`);
        case 'wrong':
          return res.writeHead(200, { 'content-type': 'text/plain' }).end('other.thumbprint');
        case 'endless':
          res.writeHead(200, { 'content-type': 'text/plain' });
          return endless(res);
        case 'endless-404':
          res.writeHead(404, { 'content-type': 'text/html' });
          return endless(res);
        case 'trickle': {
          res.writeHead(200, { 'content-type': 'text/plain' });
          const timer = setInterval(() => res.write('t'), 50);
          res.on('close', () => clearInterval(timer));
          return;
        }
        case 'hold':
          inFlight++;
          peakInFlight = Math.max(peakInFlight, inFlight);
          res.on('close', () => inFlight--);
          held.push(res);
          return;
        default:
          return res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const check = (token: string, opts: Partial<SelfCheckOptions> = {}) => http01SelfCheck(identifier, token, KEY_AUTHORIZATION, { port, ...opts });
  const url = (token: string) => `http://127.0.0.1:${port}/.well-known/acme-challenge/${token}`;

  const cases: { name: string; token: string; timeoutMs?: number; detail?: (token: string) => string; within: [number, number] }[] = [
    { name: 'passes when the key authorization comes back', token: 'right', within: [0, 3_000] },
    { name: 'fails on another key authorization', token: 'wrong', detail: (t) => `${url(t)} answered a different key authorization`, within: [0, 3_000] },
    { name: 'fails on a 404', token: 'missing', detail: (t) => `${url(t)} answered HTTP 404`, within: [0, 3_000] },
    {
      name: 'fails at once on an endless body, closing the connection past 4 KiB',
      token: 'endless',
      detail: (t) => `${url(t)} answered more than 4 KiB, not a key authorization`,
      within: [0, 3_000],
    },
    { name: 'fails at once on an endless error page', token: 'endless-404', detail: (t) => `${url(t)} answered HTTP 404`, within: [0, 3_000] },
    {
      name: 'gives up on a trickle at the deadline for the whole fetch',
      token: 'trickle',
      timeoutMs: 600,
      detail: (t) => `${url(t)} could not be fetched (no complete answer within 600 ms)`,
      within: [550, 3_000],
    },
  ];
  for (const c of cases) {
    it(c.name, { timeout: 15_000 }, async () => {
      const started = performance.now();
      const r = await check(c.token, c.timeoutMs ? { timeoutMs: c.timeoutMs } : {});
      const took = performance.now() - started;
      assert.deepEqual(r, c.detail ? { ok: false, detail: c.detail(c.token) } : { ok: true });
      assert.ok(took >= c.within[0] && took < c.within[1], `took ${took} ms`);
    });
  }

  it('shows a token the CA chose only as a short excerpt of the URL', async () => {
    const r = await check(`x${'\n'.repeat(3)}${'y'.repeat(10_000)}`);
    assert.equal(r.ok, false);
    assert.ok(r.detail!.length < 300, `${r.detail!.length} characters`);
    assert.doesNotMatch(r.detail!, /[\p{C}\n]/u);
  });

  it('keeps at most the cap of fetches in flight to one host and port, and fails the rest at once', { timeout: 15_000 }, async () => {
    held = [];
    peakInFlight = 0;
    const gate = createOriginGate({ maxInFlight: 2, maxQueued: 3 });
    const settled = Array.from({ length: 8 }, () => check('hold', { gate }));
    await waitFor('two fetches to reach the server', () => held.length === 2);
    const refused = await Promise.race([Promise.all(settled.slice(5)), new Promise((r) => setTimeout(() => r('still waiting'), 2_000))]);
    assert.deepEqual(
      refused,
      Array(3).fill({ ok: false, detail: `${url('hold')} could not be fetched (2 requests to it are in flight and 3 more wait already)` }),
    );
    for (let answered = 0; answered < 5; ) {
      await waitFor('a queued fetch to go in', () => held.length > 0);
      for (const res of held.splice(0)) {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(KEY_AUTHORIZATION);
        answered++;
      }
    }
    assert.deepEqual((await Promise.all(settled)).slice(0, 5), Array(5).fill({ ok: true }));
    assert.equal(peakInFlight, 2, 'never more than the cap at the server');
  });
});
