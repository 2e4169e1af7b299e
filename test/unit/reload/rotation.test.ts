// A server built with serverTLS and a client built with httpsAgents, both with mTLS, while requests run without
// pause: the client trusts old+new CA, the server swaps to a certificate of the new CA, the client drops the old CA.
// Not one request may fail; new handshakes must see the new certificate; old agents must be retired.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createServer } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { httpsAgents, serverTLS, undiciDispatchers, watchCAPool, watchKeyPair, type RetiredEvent } from '../../../src/reload/index.ts';
import { writeAtomically } from './atomic-writer.ts';
import { eventually, makeCA, tempDir, tlsPayload } from './fixtures.ts';
import { get, type Response } from './tls.ts';

let work: Awaited<ReturnType<typeof tempDir>>;
before(async () => (work = await tempDir()));
after(() => work.remove());

describe('server and client helpers under rotation', () => {
  it('swap the server certificate and the client root CAs during continuous requests without a failure', async () => {
    const oldCA = await makeCA(work.path, 'Old Root');
    const newCA = await makeCA(work.path, 'New Root');
    const name = { commonName: 'api', dnsNames: ['api.example.com'] };
    const oldServer = await oldCA.issue(name);
    const newServer = await newCA.issue(name);
    const client = await oldCA.issue({ commonName: 'client', clientAuth: true, serverAuth: false });

    const dirs = {
      server: join(work.path, 'server-tls'),
      clientCAs: join(work.path, 'client-cas'),
      identity: join(work.path, 'client-tls'),
      roots: join(work.path, 'roots'),
    };
    await writeAtomically(dirs.server, tlsPayload(oldServer));
    await writeAtomically(dirs.clientCAs, { 'ca.crt': oldCA.certPem });
    await writeAtomically(dirs.identity, tlsPayload(client));
    await writeAtomically(dirs.roots, { 'trust-bundle.pem': oldCA.certPem });

    const serverCert = await watchKeyPair(dirs.server, { debounceMs: 20 });
    const clientCAs = await watchCAPool(dirs.clientCAs, { debounceMs: 20 });
    const identity = await watchKeyPair(dirs.identity, { debounceMs: 20 });
    const rootCAs = await watchCAPool(dirs.roots, { file: 'trust-bundle.pem', debounceMs: 20 });

    const tls = serverTLS({ certificates: [serverCert], defaultCertificate: serverCert, clientCAs });
    const server = createServer(tls.options, (req, res) => {
      const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
      res.end(peer.subject?.CN ?? 'anonymous');
    });
    tls.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;

    const retired: RetiredEvent[] = [];
    const agents = httpsAgents({ rootCAs, identity, hooks: { retired: (e) => retired.push(e) } });

    const results: { generation: number; response?: Response; error?: string }[] = [];
    let running = true;
    const worker = async () => {
      while ((running || results.length < 300) && results.length < 20_000) {
        const generation = agents.generation();
        try {
          results.push({ generation, response: await get(port, agents.agent(), 'api.example.com') });
        } catch (err) {
          results.push({ generation, error: String(err) });
        }
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    const requestsSoFar = (n: number) => eventually(() => (results.length >= n ? true : undefined), 10_000);

    try {
      await requestsSoFar(40);
      // 1. The client trusts both roots (a TrustBundle carrying old and new).
      await writeAtomically(dirs.roots, { 'trust-bundle.pem': oldCA.certPem + newCA.certPem });
      await eventually(() => (agents.generation() === 2 ? true : undefined));
      await requestsSoFar(results.length + 40);
      // 2. The server switches to a certificate from the new root.
      await writeAtomically(dirs.server, tlsPayload(newServer));
      await eventually(() => (serverCert.generation() === 2 ? true : undefined));
      await requestsSoFar(results.length + 40);
      // 3. The client drops the old root: its next agent connects afresh and may only meet the new certificate.
      await writeAtomically(dirs.roots, { 'trust-bundle.pem': newCA.certPem });
      await eventually(() => (agents.generation() === 3 ? true : undefined));
      await requestsSoFar(results.length + 80);
    } finally {
      running = false;
      await Promise.all(workers);
    }

    const failures = results.filter((r) => r.error !== undefined || r.response?.status !== 200);
    assert.deepEqual(failures, [], `${failures.length} of ${results.length} requests failed`);
    assert.ok(results.length >= 300, `only ${results.length} requests ran`);
    console.log(`# ${results.length} requests, ${new Set(results.map((r) => r.generation)).size} trust generations, 0 failed`);
    assert.ok(
      results.every((r) => r.response?.body === 'client'),
      'the server saw the client certificate on every request',
    );

    const newFingerprint = new X509Certificate(newServer.certPem).fingerprint256;
    const lastGeneration = results.filter((r) => r.generation === 3);
    assert.ok(lastGeneration.length > 0);
    assert.ok(
      lastGeneration.every((r) => r.response?.fingerprint === newFingerprint),
      'the newest agent only met the new certificate',
    );
    const fresh = await get(port, agents.agent(), 'api.example.com');
    assert.equal(fresh.fingerprint, newFingerprint);

    await eventually(() => (retired.length === 2 ? true : undefined), 5_000);
    assert.deepEqual(retired.map((e) => e.generation).sort(), [1, 2]);

    await agents.close();
    [serverCert, clientCAs, identity, rootCAs].forEach((s) => s.close());
    await new Promise((resolve) => server.close(resolve));
  });
});

describe('undiciDispatchers', () => {
  it('gives undici a dispatcher per trust generation and closes the old one', async () => {
    const { Agent, request } = await import('undici');
    const oldCA = await makeCA(work.path, 'Undici Old Root');
    const newCA = await makeCA(work.path, 'Undici New Root');
    const serverPair = await newCA.issue({ commonName: 'api', dnsNames: ['localhost'] });
    const certDir = join(work.path, 'undici-server');
    const rootsDir = join(work.path, 'undici-roots');
    await writeAtomically(certDir, tlsPayload(serverPair));
    await writeAtomically(rootsDir, { 'ca.crt': oldCA.certPem });
    const cert = await watchKeyPair(certDir);
    const rootCAs = await watchCAPool(rootsDir, { debounceMs: 20 });
    const tls = serverTLS({ certificates: [cert], defaultCertificate: cert });
    const server = createServer(tls.options, (_req, res) => res.end('ok'));
    tls.attach(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://localhost:${(server.address() as { port: number }).port}/`;

    const retired: RetiredEvent[] = [];
    const client = undiciDispatchers(Agent, { rootCAs, hooks: { retired: (e) => retired.push(e) } });
    await assert.rejects(request(url, { dispatcher: client.agent() }), 'the old root does not vouch for the server');
    await writeAtomically(rootsDir, { 'ca.crt': newCA.certPem });
    await eventually(() => (client.generation() === 2 ? true : undefined));
    const response = await request(url, { dispatcher: client.agent() });
    assert.equal(await response.body.text(), 'ok');
    await eventually(() => (retired.length === 1 ? true : undefined));

    await client.close();
    cert.close();
    rootCAs.close();
    await new Promise((resolve) => server.close(resolve));
  });
});
