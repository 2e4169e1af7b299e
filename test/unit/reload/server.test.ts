// The server helper on real TLS servers on loopback: SNI selection, alerts, client-certificate verification against
// the current client-CA pool, ticket keys, and how fast a swap reaches new handshakes.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createServer as createHttpsServer } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { connect, createServer, type Server } from 'node:tls';
import { serverTLS, watchCAPool, watchKeyPair, watchTicketKeys, type ServerTLS, type Source } from '../../../src/reload/index.ts';
import { writeAtomically } from './atomic-writer.ts';
import { eventually, makeCA, tempDir, tlsPayload, type CA, type Pair } from './fixtures.ts';
import { handshake } from './tls.ts';

let work: Awaited<ReturnType<typeof tempDir>>;
let caA: CA;
let caB: CA;
let api: Pair;
let apps: Pair;
let fallback: Pair;
const closers: (() => void)[] = [];

before(async () => {
  work = await tempDir();
  caA = await makeCA(work.path, 'Server Test CA A');
  caB = await makeCA(work.path, 'Server Test CA B');
  api = await caA.issue({ commonName: 'api', dnsNames: ['api.example.com'] });
  apps = await caA.issue({ commonName: 'apps', dnsNames: ['*.apps.example.com'] });
  fallback = await caA.issue({ commonName: 'default', dnsNames: ['default.example.com'] });
});
after(async () => {
  closers.forEach((close) => close());
  await work.remove();
});

let dirCount = 0;
async function keyPairSource(pair: Pair, debounceMs = 20) {
  const dir = join(work.path, `kp${++dirCount}`);
  await writeAtomically(dir, tlsPayload(pair));
  const source = await watchKeyPair(dir, { debounceMs });
  closers.push(source.close);
  return { dir, source };
}

async function listen(tlsConfig: ServerTLS): Promise<{ server: Server; port: number }> {
  const server = createServer(tlsConfig.options, (socket) => socket.end('ok'));
  tlsConfig.attach(server);
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(() => server.close());
  return { server, port: (server.address() as { port: number }).port };
}

const fingerprint = (pem: string) => new X509Certificate(pem).fingerprint256;

describe('serverTLS: certificate by SNI', () => {
  let sources: Source<import('../../../src/reload/index.ts').KeyPair>[];
  before(async () => {
    sources = [(await keyPairSource(api)).source, (await keyPairSource(apps)).source, (await keyPairSource(fallback)).source];
  });

  const cases: { name: string; servername: string | undefined; withDefault: boolean; expected: () => Pair | 'alert' }[] = [
    { name: 'an exact name gets its certificate', servername: 'api.example.com', withDefault: false, expected: () => api },
    { name: 'a name under a wildcard gets the wildcard certificate', servername: 'web.apps.example.com', withDefault: false, expected: () => apps },
    { name: 'two labels under a wildcard get an alert', servername: 'a.web.apps.example.com', withDefault: false, expected: () => 'alert' },
    { name: 'an unknown name gets an alert, not another certificate', servername: 'unknown.test', withDefault: false, expected: () => 'alert' },
    { name: 'a client without SNI gets an alert without a default', servername: undefined, withDefault: false, expected: () => 'alert' },
    { name: 'an unknown name gets the default when there is one', servername: 'unknown.test', withDefault: true, expected: () => fallback },
    { name: 'a client without SNI gets the default', servername: undefined, withDefault: true, expected: () => fallback },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const [apiSource, appsSource, fallbackSource] = sources as [Source<never>, Source<never>, Source<never>];
      const config = serverTLS({ certificates: [apiSource, appsSource], ...(c.withDefault ? { defaultCertificate: fallbackSource } : {}) });
      const { port } = await listen(config);
      // Verification off: the test looks at which certificate came, not whether a client would accept it.
      const result = await handshake(port, { rejectUnauthorized: false, ...(c.servername ? { servername: c.servername } : {}) });
      const expected = c.expected();
      if (expected === 'alert') {
        assert.equal(result.ok, false);
        assert.match(result.error ?? '', /ALERT_HANDSHAKE_FAILURE/);
      } else {
        assert.equal(result.fingerprint, fingerprint(expected.certPem));
      }
    });
  }
});

describe('serverTLS: client certificates', () => {
  it('verifies against the client-CA pool current at each handshake, with and without SNI', async () => {
    const { source: server } = await keyPairSource(api);
    const caDir = join(work.path, 'client-cas');
    await writeAtomically(caDir, { 'ca.crt': caA.certPem });
    const clientCAs = await watchCAPool(caDir, { debounceMs: 20 });
    closers.push(clientCAs.close);
    const { port } = await listen(serverTLS({ certificates: [server], defaultCertificate: server, clientCAs }));
    const clientOfA = await caA.issue({ commonName: 'client-a', clientAuth: true, serverAuth: false });
    const clientOfB = await caB.issue({ commonName: 'client-b', clientAuth: true, serverAuth: false });
    const attempt = (client: Pair, servername?: string) => answered(port, client, servername);
    assert.equal(await attempt(clientOfA, 'api.example.com'), true);
    assert.equal(await attempt(clientOfB, 'api.example.com'), false);
    assert.equal(await attempt(clientOfA), true);

    await writeAtomically(caDir, { 'ca.crt': caB.certPem });
    await eventually(() => (clientCAs.generation() === 2 ? true : undefined));
    assert.equal(await attempt(clientOfB, 'api.example.com'), true);
    assert.equal(await attempt(clientOfA, 'api.example.com'), false);
    assert.equal(await attempt(clientOfB), true, 'a client without SNI is checked by the replaced default context');
    assert.equal(await attempt(clientOfA), false);
  });
});

/**
 * True when the server answered `ok`. In TLS 1.3 a client learns that its certificate was refused only when it
 * reads (the server's alert follows the client's Finished), so the test reads rather than waiting for the handshake.
 */
function answered(port: number, client: Pair, servername?: string): Promise<boolean> {
  return new Promise((resolve) => {
    const identity = servername ? { servername } : { checkServerIdentity: () => undefined };
    const socket = connect({ host: '127.0.0.1', port, ca: caA.certPem, cert: client.certPem, key: client.keyPem, ...identity });
    let body = '';
    socket.on('data', (chunk: Buffer) => (body += chunk.toString()));
    socket.on('end', () => resolve(body === 'ok'));
    socket.on('error', () => resolve(false));
  });
}

describe('serverTLS: session-ticket keys', () => {
  it('lets a session from one replica resume on another and applies new keys', async () => {
    const { source: cert } = await keyPairSource(api);
    const ticketDir = join(work.path, 'tickets');
    await writeAtomically(ticketDir, { 'ticket.key': Buffer.alloc(48, 1) });
    const ticketKeys = await watchTicketKeys(ticketDir, { debounceMs: 20 });
    closers.push(ticketKeys.close);
    const replica1 = await listen(serverTLS({ certificates: [cert], ticketKeys }));
    const replica2 = await listen(serverTLS({ certificates: [cert], ticketKeys }));
    const options = { servername: 'api.example.com', ca: caA.certPem };
    const first = await handshake(replica1.port, options);
    assert.ok(first.session, 'the first replica sent a session ticket');
    const resumed = await handshake(replica2.port, { ...options, session: first.session });
    assert.equal(resumed.resumed, true);

    await writeAtomically(ticketDir, { 'ticket.key': Buffer.alloc(48, 2) });
    await eventually(() => (ticketKeys.generation() === 2 ? true : undefined));
    assert.deepEqual(replica2.server.getTicketKeys(), Buffer.alloc(48, 2));
    const afterRotation = await handshake(replica2.port, { ...options, session: first.session });
    assert.equal(afterRotation.ok, true);
    assert.equal(afterRotation.resumed, false, 'a ticket sealed with the old keys no longer resumes');
  });
});

describe('serverTLS: reload latency', () => {
  it('serves a swapped certificate to new handshakes well under a second after the ..data rename', async () => {
    // Default debounce and poll, as a workload would run it.
    const dir = join(work.path, 'latency');
    await writeAtomically(dir, tlsPayload(api));
    const source = await watchKeyPair(dir);
    closers.push(source.close);
    const config = serverTLS({ certificates: [source], defaultCertificate: source });
    const server = createHttpsServer(config.options, (_req, res) => res.end('ok'));
    config.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => server.close());
    const port = (server.address() as { port: number }).port;

    const next = await caB.issue({ commonName: 'api', dnsNames: ['api.example.com'] });
    const wanted = fingerprint(next.certPem);
    const swappedAt = await writeAtomically(dir, tlsPayload(next));
    let latency = Infinity;
    for (let i = 0; i < 500; i++) {
      const result = await handshake(port, { servername: 'api.example.com', rejectUnauthorized: false });
      if (result.fingerprint === wanted) {
        latency = performance.now() - swappedAt;
        break;
      }
    }
    console.log(`# reload latency ..data swap → first handshake with the new certificate: ${latency.toFixed(1)} ms`);
    assert.ok(latency < 500, `took ${latency} ms`);
  });
});
