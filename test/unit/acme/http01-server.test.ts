// The HTTP-01 server runs for real on a free port and is asked over real HTTP, as the CA would: with the name being
// validated in Host. Deadlines are asked of raw sockets, byte by byte where that is the point.
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createPeerAsker, FORWARDED_HEADER } from '../../../src/acme/http01-peers.ts';
import { createChallengeIndex, type Http01Server, startHttp01Server } from '../../../src/acme/http01-server.ts';

const PREFIX = '/.well-known/acme-challenge/';
/** The name the challenges below were issued for, and what the CA sends in Host when it validates it. */
const NAME = 'www.example.test';

interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** A raw request, so the path reaches the server exactly as written (fetch would normalise "..", "%2F" and the like). */
function ask(port: number, path: string, { method = 'GET', host = NAME }: { method?: string | undefined; host?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers: { host }, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const live = (token: string, keyAuthorization: string, state = 'presented', type = 'http-01', identifier = NAME) => ({
  identifier,
  type,
  token,
  keyAuthorization,
  state,
});

describe('the HTTP-01 server', () => {
  const token = 'LoqXcYV8q5ONbJQxbmR7SCTNo3tiAXDfowyjxAjEuX0';
  const keyAuthorization = `${token}.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI`;
  const index = createChallengeIndex();
  let server: Http01Server;

  before(async () => {
    index.set('web/www', [live(token, keyAuthorization)]);
    server = await startHttp01Server({ host: '127.0.0.1', port: 0, lookup: index.lookup });
  });
  after(() => server.close());

  it('listens on the port the OS chose', () => assert.ok(server.port > 0));

  it('answers a known token with 200 and exactly the key authorization', async () => {
    const res = await ask(server.port, `${PREFIX}${token}`);
    assert.equal(res.status, 200);
    assert.equal(res.body, keyAuthorization);
    assert.equal(res.headers['content-type'], 'text/plain');
    assert.equal(res.headers['content-length'], String(Buffer.byteLength(keyAuthorization)));
  });

  it('ignores a query string', async () => {
    const res = await ask(server.port, `${PREFIX}${token}?from=ca`);
    assert.equal(res.status, 200);
    assert.equal(res.body, keyAuthorization);
  });

  it('answers HEAD with 200, the length and no body', async () => {
    const res = await ask(server.port, `${PREFIX}${token}`, { method: 'HEAD' });
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-length'], String(Buffer.byteLength(keyAuthorization)));
    assert.equal(res.body, '');
  });

  const notFound: { name: string; path: string; method?: string }[] = [
    { name: 'an unknown token', path: `${PREFIX}${'A'.repeat(43)}` },
    { name: 'a token with a dot', path: `${PREFIX}${token}.x` },
    { name: 'a token with an encoded slash', path: `${PREFIX}${token}%2Fx` },
    { name: 'a path that climbs out of the challenge directory', path: `${PREFIX}../${token}` },
    { name: 'a token with a trailing slash', path: `${PREFIX}${token}/` },
    { name: 'a token longer than 256 characters', path: `${PREFIX}${'A'.repeat(257)}` },
    { name: 'an empty token', path: PREFIX },
    { name: 'a known token outside the challenge directory', path: `/${token}` },
    { name: 'a known token under a look-alike prefix', path: `/.well-known/acme-challenges/${token}` },
    { name: 'the root', path: '/' },
    { name: 'a POST to a known token', path: `${PREFIX}${token}`, method: 'POST' },
    { name: 'a PUT to a known token', path: `${PREFIX}${token}`, method: 'PUT' },
  ];
  for (const c of notFound) {
    it(`answers 404 to ${c.name}`, async () => {
      const res = await ask(server.port, c.path, { method: c.method });
      assert.equal(res.status, 404);
      assert.ok(!res.body.includes(keyAuthorization), res.body);
    });
  }

  it('serves a challenge added after it started, and stops serving it once it is gone', async () => {
    const other = 'n3w-T0ken_added';
    assert.equal((await ask(server.port, `${PREFIX}${other}`)).status, 404);
    index.set('web/api', [live(other, `${other}.thumb`)]);
    const found = await ask(server.port, `${PREFIX}${other}`);
    assert.equal(found.status, 200);
    assert.equal(found.body, `${other}.thumb`);
    index.set('web/api', undefined);
    assert.equal((await ask(server.port, `${PREFIX}${other}`)).status, 404);
  });

  it('frees its port when closed', async () => {
    const s = await startHttp01Server({ host: '127.0.0.1', port: 0, lookup: index.lookup });
    await s.close();
    await assert.rejects(ask(s.port, `${PREFIX}${token}`), { code: 'ECONNREFUSED' });
  });

  it('fails to start on a port that is taken', async () => {
    await assert.rejects(startHttp01Server({ host: '127.0.0.1', port: server.port, lookup: index.lookup }), { code: 'EADDRINUSE' });
  });
});

describe('the HTTP-01 server, for the Host a token was issued for', () => {
  // One token per identifier kind; the CA asks for each with the identifier in Host (RFC 8555 8.3, RFC 8738 3).
  const byName = { token: 'dns-Token_1', keyAuthorization: 'dns-Token_1.thumb' };
  const byIPv4 = { token: 'ipv4-Token_1', keyAuthorization: 'ipv4-Token_1.thumb' };
  const byIPv6 = { token: 'ipv6-Token_1', keyAuthorization: 'ipv6-Token_1.thumb' };
  const index = createChallengeIndex();
  let server: Http01Server;

  before(async () => {
    index.set('web/www', [live(byName.token, byName.keyAuthorization, 'presented', 'http-01', 'www.example.test')]);
    index.set('web/ip', [
      live(byIPv4.token, byIPv4.keyAuthorization, 'submitted', 'http-01', '192.0.2.10'),
      live(byIPv6.token, byIPv6.keyAuthorization, 'submitted', 'http-01', '2001:db8::10'),
    ]);
    server = await startHttp01Server({ host: '127.0.0.1', port: 0, lookup: index.lookup });
  });
  after(() => server.close());

  const cases: { name: string; challenge: typeof byName; host: string; status: 200 | 404 }[] = [
    { name: 'answers the name it was issued for', challenge: byName, host: 'www.example.test', status: 200 },
    { name: 'answers the name with a port, as Pebble sends it', challenge: byName, host: 'www.example.test:5002', status: 200 },
    { name: 'answers the name in another case', challenge: byName, host: 'WWW.Example.TEST', status: 200 },
    { name: 'answers the name written absolute, with a trailing dot', challenge: byName, host: 'www.example.test.', status: 200 },
    { name: 'refuses another name', challenge: byName, host: 'shop.example.test', status: 404 },
    { name: 'refuses a name that only starts with it', challenge: byName, host: 'www.example.test.evil.test', status: 404 },
    { name: 'refuses a subdomain of it', challenge: byName, host: 'a.www.example.test', status: 404 },
    { name: 'refuses the address the request came to', challenge: byName, host: '127.0.0.1', status: 404 },
    { name: 'refuses a Host with a port that is not a number', challenge: byName, host: 'www.example.test:http', status: 404 },
    { name: 'answers an IPv4 address it was issued for', challenge: byIPv4, host: '192.0.2.10', status: 200 },
    { name: 'answers an IPv4 address with a port', challenge: byIPv4, host: '192.0.2.10:80', status: 200 },
    { name: 'refuses another IPv4 address', challenge: byIPv4, host: '192.0.2.11', status: 404 },
    { name: 'answers an IPv6 address in brackets', challenge: byIPv6, host: '[2001:db8::10]', status: 200 },
    { name: 'answers an IPv6 address in brackets with a port', challenge: byIPv6, host: '[2001:db8::10]:80', status: 200 },
    { name: 'answers an IPv6 address written another way', challenge: byIPv6, host: '[2001:DB8:0:0:0:0:0:10]', status: 200 },
    { name: 'refuses an IPv6 address without brackets, which is no Host', challenge: byIPv6, host: '2001:db8::10', status: 404 },
    { name: 'refuses another IPv6 address', challenge: byIPv6, host: '[2001:db8::11]', status: 404 },
    { name: 'refuses an IPv4 address in brackets', challenge: byIPv4, host: '[192.0.2.10]', status: 404 },
  ];
  for (const c of cases) {
    it(`${c.name} (Host: ${c.host})`, async () => {
      const res = await ask(server.port, `${PREFIX}${c.challenge.token}`, { host: c.host });
      assert.equal(res.status, c.status);
      if (c.status === 200) assert.equal(res.body, c.challenge.keyAuthorization);
      else assert.ok(!res.body.includes(c.challenge.keyAuthorization), res.body);
    });
  }

  it('refuses a request without a Host', async () => {
    const reply = await rawExchange(server.port, `GET ${PREFIX}${byName.token} HTTP/1.0\r\n\r\n`);
    assert.match(reply, /^HTTP\/1\.1 404 /);
    assert.ok(!reply.includes(byName.keyAuthorization), reply);
  });

  it('never answers a wildcard identifier, which HTTP-01 cannot validate', async () => {
    const wildcard = createChallengeIndex();
    wildcard.set('web/wild', [live('wild-Token', 'wild-Token.thumb', 'presented', 'http-01', '*.example.test')]);
    const s = await startHttp01Server({ host: '127.0.0.1', port: 0, lookup: wildcard.lookup });
    try {
      for (const host of ['*.example.test', 'www.example.test', 'example.test']) {
        assert.equal((await ask(s.port, `${PREFIX}wild-Token`, { host })).status, 404, host);
      }
    } finally {
      await s.close();
    }
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface RawConnection {
  socket: net.Socket;
  /** Everything the server sent so far. */
  received: string;
  /** Resolves when the connection is gone, closed by the server or reset. */
  closed: Promise<void>;
}

function connectRaw(port: number): Promise<RawConnection> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const raw: RawConnection = { socket, received: '', closed: new Promise((r) => socket.once('close', () => r())) };
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (raw.received += d));
    socket.on('error', () => {}); // a reset is one way of being cut
    socket.once('connect', () => resolve(raw));
    socket.once('error', reject);
  });
}

/** What `p` resolved to, or undefined if it has not within `ms`. */
function settledWithin<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  return Promise.race([p, sleep(ms).then(() => undefined)]);
}

/** Milliseconds until the server closes the connection, or undefined if it is still open after `limitMs`. */
async function msUntilClosed(raw: RawConnection, limitMs: number): Promise<number | undefined> {
  const start = performance.now();
  const closed = await Promise.race([raw.closed.then(() => true), sleep(limitMs).then(() => false)]);
  return closed ? performance.now() - start : undefined;
}

/** Sends `text` one byte every 40 ms, until it is all sent or the connection is gone. */
function trickle(raw: RawConnection, text: string): void {
  let sent = 0;
  const timer = setInterval(() => {
    if (sent >= text.length || raw.socket.destroyed) clearInterval(timer);
    else raw.socket.write(text[sent++]!);
  }, 40);
  void raw.closed.then(() => clearInterval(timer));
}

/** Writes `request` and waits until the connection has had `count` answers in all. */
async function answered(raw: RawConnection, request: string, count: number): Promise<void> {
  raw.socket.write(request);
  while (raw.received.split('HTTP/1.1 ').length - 1 < count || !raw.received.endsWith('.thumb')) {
    if (raw.socket.destroyed) throw new Error(`closed before ${count} answers: ${raw.received}`);
    await sleep(5);
  }
}

/** Writes `request` on a fresh connection and returns all it got back before the server closed it. */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(request));
    let reply = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (reply += d));
    socket.on('end', () => resolve(reply));
    socket.on('error', reject);
  });
}

describe("the HTTP-01 server's deadlines", () => {
  // Short deadlines, so a client that breaks one is seen cut within a test's patience; the defaults are longer.
  const HEADER_MS = 800;
  const IDLE_MS = 400;
  // Node closes a kept-alive connection this long after the idle deadline it advertises (keepAliveTimeoutBuffer).
  const KEEP_ALIVE_GRACE_MS = 1_000;
  // How late a cut may come on a busy machine: Node checks the header deadline on a timer, and timers run late.
  const SLACK_MS = 1_500;
  const token = 'deadline-Token';
  const request = `GET ${PREFIX}${token} HTTP/1.1\r\nHost: ${NAME}\r\nUser-Agent: one-byte-at-a-time\r\nAccept: */*\r\n\r\n`;
  const index = createChallengeIndex();
  let server: Http01Server;

  before(async () => {
    index.set('web/www', [live(token, `${token}.thumb`)]);
    server = await startHttp01Server({ host: '127.0.0.1', port: 0, lookup: index.lookup, headerDeadlineMs: HEADER_MS, idleDeadlineMs: IDLE_MS });
  });
  after(() => server.close());

  const cases: {
    name: string;
    /** What the client does; the time until the server cuts the connection is counted from when this returns. */
    act(raw: RawConnection): Promise<void>;
    atLeastMs: number;
    atMostMs: number;
  }[] = [
    {
      name: 'closes a connection that sends nothing after the idle deadline',
      act: async () => {},
      atLeastMs: IDLE_MS,
      atMostMs: IDLE_MS + SLACK_MS,
    },
    {
      name: 'cuts a client that sends its headers a byte at a time at the header deadline',
      act: async (raw) => trickle(raw, request),
      atLeastMs: HEADER_MS,
      atMostMs: HEADER_MS + SLACK_MS,
    },
    {
      name: 'cuts a client that sends the headers of its second request a byte at a time at the header deadline',
      act: async (raw) => {
        await answered(raw, request, 1);
        trickle(raw, request);
      },
      atLeastMs: HEADER_MS,
      atMostMs: HEADER_MS + SLACK_MS,
    },
    {
      name: 'cuts a client that sends a body a byte at a time at the header deadline',
      act: async (raw) => {
        raw.socket.write(request.replace('\r\n\r\n', '\r\nContent-Length: 100000\r\n\r\n'));
        trickle(raw, 'a'.repeat(100_000));
      },
      atLeastMs: HEADER_MS,
      atMostMs: HEADER_MS + SLACK_MS,
    },
    {
      name: 'closes a kept-alive connection after the idle deadline',
      act: (raw) => answered(raw, request, 1),
      atLeastMs: IDLE_MS,
      atMostMs: IDLE_MS + KEEP_ALIVE_GRACE_MS + SLACK_MS,
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const raw = await connectRaw(server.port);
      try {
        await c.act(raw);
        const closedAfter = await msUntilClosed(raw, c.atMostMs);
        assert.ok(closedAfter !== undefined, `still open after ${c.atMostMs} ms`);
        // A little early: the moment counted from is taken after the client's first write.
        assert.ok(closedAfter >= c.atLeastMs - 50, `closed after ${Math.round(closedAfter)} ms, before the deadline`);
      } finally {
        raw.socket.destroy();
      }
    });
  }

  it('answers a client whose request comes in pieces within the header deadline', async () => {
    const raw = await connectRaw(server.port);
    try {
      for (const piece of [request.slice(0, 10), request.slice(10, 40), request.slice(40)]) {
        raw.socket.write(piece);
        await sleep(100);
      }
      await answered(raw, '', 1);
      assert.match(raw.received, /^HTTP\/1\.1 200 /);
    } finally {
      raw.socket.destroy();
    }
  });

  it('cuts a client that stops reading its answers after the idle deadline', async () => {
    // Pipelined requests for a large answer (32 MiB in all), more than both sockets' buffers hold: the server's
    // writes stall, and nothing moves on the connection.
    const big = 'big-Token';
    index.set('web/big', [live(big, 'k'.repeat(65_536))]);
    const count = 500;
    const raw = await connectRaw(server.port);
    try {
      raw.socket.pause();
      raw.socket.write(request.replace(token, big).repeat(count));
      await sleep(IDLE_MS + SLACK_MS);
      raw.socket.resume();
      assert.ok((await msUntilClosed(raw, SLACK_MS)) !== undefined, 'still open');
      const answers = raw.received.split('HTTP/1.1 200 ').length - 1;
      assert.ok(answers < count, `all ${count} requests were answered`);
    } finally {
      raw.socket.destroy();
      index.set('web/big', undefined);
    }
  });
});

describe('the HTTP-01 server of a process whose challenges are not loaded yet', () => {
  const token = 'L0aded-later_token';

  async function serverLoadedBy(loaded: Promise<void>, options: { loadWaitMs?: number; idleDeadlineMs?: number; maxWaitingForLoad?: number } = {}) {
    const index = createChallengeIndex();
    const server = await startHttp01Server({ host: '127.0.0.1', port: 0, lookup: index.lookup, loaded, ...options });
    return { index, server };
  }

  it('holds a request for an unknown token until they are, then answers it', async () => {
    const load = Promise.withResolvers<void>();
    const { index, server } = await serverLoadedBy(load.promise);
    try {
      const asked = ask(server.port, `${PREFIX}${token}`);
      await new Promise((r) => setTimeout(r, 50));
      index.set('web/www', [live(token, `${token}.thumb`)]);
      load.resolve();
      const res = await asked;
      assert.equal(res.status, 200, 'not the 404 an empty index would have given');
      assert.equal(res.body, `${token}.thumb`);
    } finally {
      await server.close();
    }
  });

  it('holds a request longer than the idle deadline, then answers it', async () => {
    const load = Promise.withResolvers<void>();
    const { index, server } = await serverLoadedBy(load.promise, { idleDeadlineMs: 100 });
    try {
      const asked = ask(server.port, `${PREFIX}${token}`);
      await sleep(500);
      index.set('web/www', [live(token, `${token}.thumb`)]);
      load.resolve();
      const res = await asked;
      assert.equal(res.status, 200);
      assert.equal(res.body, `${token}.thumb`);
    } finally {
      await server.close();
    }
  });

  it('answers a token it knows at once', async () => {
    const { index, server } = await serverLoadedBy(new Promise(() => {}));
    try {
      index.set('web/www', [live(token, `${token}.thumb`)]);
      assert.equal((await ask(server.port, `${PREFIX}${token}`)).status, 200);
    } finally {
      await server.close();
    }
  });

  it('holds a request for a token it knows for another name, and answers 404 once they are loaded', async () => {
    const load = Promise.withResolvers<void>();
    const { index, server } = await serverLoadedBy(load.promise);
    try {
      index.set('web/www', [live(token, `${token}.thumb`)]);
      let settled = false;
      const asked = ask(server.port, `${PREFIX}${token}`, { host: 'shop.example.test' }).finally(() => (settled = true));
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(settled, false, 'held: a Certificate not loaded yet may have the token for this name');
      load.resolve();
      assert.equal((await asked).status, 404);
    } finally {
      await server.close();
    }
  });

  it('answers 404 once loaded to a token nobody presented', async () => {
    const load = Promise.withResolvers<void>();
    const { server } = await serverLoadedBy(load.promise);
    try {
      const asked = ask(server.port, `${PREFIX}${token}`);
      load.resolve();
      assert.equal((await asked).status, 404);
    } finally {
      await server.close();
    }
  });

  it('answers 503 when they are not loaded within the wait, never 404', async () => {
    const { server } = await serverLoadedBy(new Promise(() => {}), { loadWaitMs: 100 });
    try {
      const res = await ask(server.port, `${PREFIX}${token}`);
      assert.equal(res.status, 503);
      assert.equal(res.headers['retry-after'], '5');
    } finally {
      await server.close();
    }
  });

  it('answers 503 at once to a request beyond the cap on waiting ones, and still answers the waiting ones once loaded', async () => {
    const load = Promise.withResolvers<void>();
    const { index, server } = await serverLoadedBy(load.promise, { maxWaitingForLoad: 2 });
    try {
      const waiting = [ask(server.port, `${PREFIX}${token}`), ask(server.port, `${PREFIX}${token}`)];
      await sleep(100);
      const beyond = await settledWithin(ask(server.port, `${PREFIX}${token}`), 1_000);
      assert.ok(beyond, 'the request beyond the cap waited too');
      assert.equal(beyond.status, 503);
      assert.equal(beyond.headers['retry-after'], '5');
      index.set('web/www', [live(token, `${token}.thumb`)]);
      load.resolve();
      for (const res of await Promise.all(waiting)) {
        assert.equal(res.status, 200);
        assert.equal(res.body, `${token}.thumb`);
      }
    } finally {
      await server.close();
    }
  });

  it('answers a token it knows at once while the waiting ones are at the cap', async () => {
    const { index, server } = await serverLoadedBy(new Promise(() => {}), { maxWaitingForLoad: 1 });
    try {
      void ask(server.port, `${PREFIX}unknown`).catch(() => {});
      await sleep(100);
      index.set('web/www', [live(token, `${token}.thumb`)]);
      assert.equal((await ask(server.port, `${PREFIX}${token}`)).status, 200);
    } finally {
      await server.close();
    }
  });

  it('gives the place of a waiting request whose client went away to the next one', async () => {
    const load = Promise.withResolvers<void>();
    const { index, server } = await serverLoadedBy(load.promise, { maxWaitingForLoad: 1 });
    try {
      const gone = await connectRaw(server.port);
      gone.socket.write(`GET ${PREFIX}${token} HTTP/1.1\r\nHost: ${NAME}\r\n\r\n`);
      await sleep(100);
      gone.socket.destroy();
      await sleep(100);
      const next = ask(server.port, `${PREFIX}${token}`);
      assert.equal(await settledWithin(next, 200), undefined, 'answered at once: the place was still taken');
      index.set('web/www', [live(token, `${token}.thumb`)]);
      load.resolve();
      assert.equal((await next).status, 200);
    } finally {
      await server.close();
    }
  });

  it('answers a request outside the challenge directory at once', async () => {
    const { server } = await serverLoadedBy(new Promise(() => {}));
    try {
      assert.equal((await ask(server.port, '/')).status, 404);
    } finally {
      await server.close();
    }
  });
});

describe('createChallengeIndex', () => {
  /** The one key authorization served for a token, if any. */
  const served = (index: ReturnType<typeof createChallengeIndex>, token: string) => {
    const answers = index.lookup(token);
    assert.ok(answers.length <= 1, `${token} has ${answers.length} answers`);
    return answers[0]?.keyAuthorization;
  };

  const cases: { name: string; challenges: ReturnType<typeof live>[]; served: Record<string, string | undefined> }[] = [
    { name: 'serves an http-01 challenge that is presented', challenges: [live('t1', 'k1', 'presented')], served: { t1: 'k1' } },
    { name: 'serves an http-01 challenge that is submitted', challenges: [live('t1', 'k1', 'submitted')], served: { t1: 'k1' } },
    { name: 'does not serve one that is still pending', challenges: [live('t1', 'k1', 'pending')], served: { t1: undefined } },
    { name: 'does not serve one that is valid', challenges: [live('t1', 'k1', 'valid')], served: { t1: undefined } },
    { name: 'does not serve one that is invalid', challenges: [live('t1', 'k1', 'invalid')], served: { t1: undefined } },
    { name: 'does not serve a dns-01 challenge', challenges: [live('t1', 'k1', 'presented', 'dns-01')], served: { t1: undefined } },
    {
      name: 'serves the live http-01 challenges among others',
      challenges: [live('t1', 'k1'), live('t2', 'k2', 'valid'), live('t3', 'k3', 'submitted'), live('t4', 'k4', 'presented', 'dns-01')],
      served: { t1: 'k1', t2: undefined, t3: 'k3', t4: undefined },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const index = createChallengeIndex();
      index.set('ns/cert', c.challenges);
      for (const [token, expected] of Object.entries(c.served)) assert.equal(served(index, token), expected, token);
      assert.equal(index.size(), Object.values(c.served).filter((v) => v !== undefined).length);
    });
  }

  it('drops the old tokens of a Certificate when its set is replaced', () => {
    const index = createChallengeIndex();
    index.set('ns/cert', [live('old1', 'k1'), live('old2', 'k2')]);
    index.set('ns/cert', [live('new', 'k3')]);
    assert.equal(served(index, 'old1'), undefined);
    assert.equal(served(index, 'old2'), undefined);
    assert.equal(served(index, 'new'), 'k3');
    assert.equal(index.size(), 1);
  });

  it('drops all tokens of a Certificate when its challenges move past submitted', () => {
    const index = createChallengeIndex();
    index.set('ns/cert', [live('t1', 'k1')]);
    index.set('ns/cert', [live('t1', 'k1', 'valid')]);
    assert.equal(served(index, 't1'), undefined);
    assert.equal(index.size(), 0);
  });

  it('drops all tokens of a Certificate that is gone', () => {
    const index = createChallengeIndex();
    index.set('ns/cert', [live('t1', 'k1')]);
    index.set('ns/cert', undefined);
    assert.equal(served(index, 't1'), undefined);
    assert.equal(index.size(), 0);
  });

  it('keeps the tokens of other Certificates when one is replaced', () => {
    const index = createChallengeIndex();
    index.set('ns/a', [live('a1', 'ka')]);
    index.set('other/a', [live('b1', 'kb')]);
    index.set('ns/a', []);
    assert.equal(served(index, 'a1'), undefined);
    assert.equal(served(index, 'b1'), 'kb');
    assert.equal(index.size(), 1);
  });

  it('keeps a token two Certificates share when one of them lets go of it', () => {
    // A CA hands every order of an account for a name the same pending authorization, so the same token.
    const index = createChallengeIndex();
    index.set('web/a', [live('shared', 'k')]);
    index.set('shop/b', [live('shared', 'k')]);
    index.set('web/a', undefined);
    assert.equal(served(index, 'shared'), 'k');
    assert.equal(index.size(), 1);
    index.set('shop/b', undefined);
    assert.equal(served(index, 'shared'), undefined);
    assert.equal(index.size(), 0);
  });

  it('gives each challenge with a token its identifier', () => {
    const index = createChallengeIndex();
    index.set('web/a', [live('t1', 'k1', 'presented', 'http-01', 'a.example.test'), live('t2', 'k2', 'presented', 'http-01', '192.0.2.1')]);
    assert.deepEqual(index.lookup('t1'), [{ identifier: 'a.example.test', keyAuthorization: 'k1' }]);
    assert.deepEqual(index.lookup('t2'), [{ identifier: '192.0.2.1', keyAuthorization: 'k2' }]);
    assert.deepEqual(index.lookup('t3'), []);
  });

  it('knows nothing at the start', () => {
    const index = createChallengeIndex();
    assert.equal(served(index, 't1'), undefined);
    assert.equal(index.size(), 0);
  });
});

describe('the HTTP-01 server with peers (--shards)', () => {
  const token = 'PeerTokenPeerTokenPeerTokenPeerTokenPeerTok';
  const keyAuthorization = `${token}.thumbprint`;
  const servers: Http01Server[] = [];
  let asked = 0;
  let holder: Http01Server;
  let front: Http01Server;
  let silentPeer: net.Server;

  before(async () => {
    const holding = createChallengeIndex();
    holding.set('web/www', [live(token, keyAuthorization)]);
    holder = await startHttp01Server({ host: '127.0.0.1', port: 0, lookup: holding.lookup, onRequest: () => asked++ });
    // A peer that accepts and never answers: the ask gives up on it within its budget.
    silentPeer = net.createServer(() => {});
    await new Promise<void>((r) => silentPeer.listen(0, '127.0.0.1', () => r()));
    const silentPort = (silentPeer.address() as net.AddressInfo).port;
    const empty = createChallengeIndex();
    front = await startHttp01Server({
      host: '127.0.0.1',
      port: 0,
      lookup: empty.lookup,
      askPeers: createPeerAsker({ peers: () => [`127.0.0.1:${silentPort}`, `127.0.0.1:${holder.port}`], timeoutMs: 500 }),
    });
    servers.push(holder, front);
  });
  after(async () => {
    await Promise.all(servers.map((s) => s.close()));
    silentPeer.close();
  });

  it('answers a challenge another replica holds with its key authorization', async () => {
    const res = await ask(front.port, `${PREFIX}${token}`);
    assert.equal(res.status, 200);
    assert.equal(res.body, keyAuthorization);
  });

  it('answers 404 when no peer knows the token, within the ask budget', async () => {
    const t0 = Date.now();
    const res = await ask(front.port, `${PREFIX}unknownunknownunknown`);
    assert.equal(res.status, 404);
    assert.ok(Date.now() - t0 < 2000, `took ${Date.now() - t0} ms`);
  });

  it('never asks on a request a peer sent, nor one that is no challenge path', async () => {
    const before = asked;
    const forwarded = await new Promise<number>((resolve, reject) => {
      const req = http.get(
        { host: '127.0.0.1', port: front.port, path: `${PREFIX}${token}`, headers: { host: NAME, [FORWARDED_HEADER]: '1' }, agent: false },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
    });
    assert.equal(forwarded, 404);
    assert.equal((await ask(front.port, '/.well-known/acme-challenge/../../etc')).status, 404);
    assert.equal(asked, before, 'the holder was not asked');
  });
});
