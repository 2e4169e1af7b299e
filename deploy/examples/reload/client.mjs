// An HTTPS client that trusts the TrustBundle as it is now and presents its own certificate.
//   URL          default https://reload-demo.demo.svc:8443/
//   ROOTS_DIR    a TrustBundle ConfigMap                                 default /etc/certsmith/trust
//   ROOTS_FILE   the key in that ConfigMap                               default trust-bundle.pem
//   TLS_DIR      the client's kubernetes.io/tls Secret                   default /etc/certsmith/tls
//   RATE         requests per second, spread over WORKERS loops          default 1 (each response is logged)
//   WORKERS      concurrent request loops; loop 0 closes its connection after every request (a handshake each)
//   STATS_PORT   optional plain-HTTP port answering GET /stats with request counts as JSON
import { request } from 'node:https';
import { createServer as createHttpServer } from 'node:http';
import { httpsAgents, watchCAPool, watchKeyPair } from 'certsmith/reload';

const log = (msg, fields) => console.log(JSON.stringify({ msg, ...fields }));
const hooks = {
  reloaded: (e) => log('reloaded', e),
  rejected: (e) => log('rejected, kept the last good material', e),
  retired: (e) => log('retired agent', e),
};

const url = new URL(process.env.URL ?? 'https://reload-demo.demo.svc:8443/');
const rate = Number(process.env.RATE ?? 1);
const workers = Number(process.env.WORKERS ?? 1);
const verbose = rate <= 1;
const rootCAs = await watchCAPool(process.env.ROOTS_DIR ?? '/etc/certsmith/trust', { file: process.env.ROOTS_FILE ?? 'trust-bundle.pem', hooks });
// TLS_BUNDLE_FILE: the identity is a podCertificate volume's credential bundle (key and chain in one file).
const bundle = process.env.TLS_BUNDLE_FILE;
const identity = await watchKeyPair(process.env.TLS_DIR ?? '/etc/certsmith/tls', { hooks, ...(bundle ? { credentialBundleFile: bundle } : {}) });
// No cached TLS sessions: every new connection is a full handshake against the trust of the moment.
const client = httpsAgents({ rootCAs, identity, hooks, agentOptions: { keepAlive: true, maxSockets: workers, maxCachedSessions: 0 } });

const stats = { ok: 0, failed: 0, errors: {}, byGeneration: {}, startedAt: Date.now() };
const fail = (what) => {
  stats.failed++;
  stats.errors[what] = (stats.errors[what] ?? 0) + 1;
  log('request failed', { error: what, generation: client.generation() });
};

function once(worker) {
  return new Promise((resolve) => {
    // Ask for the agent at each request: a trust change means a new agent.
    const generation = client.generation();
    const req = request(url, { agent: client.agent(), timeout: 10_000, headers: worker === 0 && workers > 1 ? { connection: 'close' } : {} }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => {
        if (res.statusCode === 200) {
          stats.ok++;
          stats.byGeneration[generation] = (stats.byGeneration[generation] ?? 0) + 1;
          if (verbose) log('response', { status: res.statusCode, generation, body: body.trim() });
        } else fail(`HTTP ${res.statusCode}`);
        resolve();
      });
      res.on('error', (err) => {
        fail(err.code ?? err.message);
        resolve();
      });
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', (err) => {
      fail(err.code ?? err.message);
      resolve();
    });
    req.end();
  });
}

let stopped = false;
const loops = Array.from({ length: workers }, async (_, worker) => {
  while (!stopped) {
    await once(worker);
    // Paced to RATE in total: wait when ahead of schedule.
    const ahead = (stats.ok + stats.failed) / rate - (Date.now() - stats.startedAt) / 1000;
    if (ahead > 0.005) await new Promise((r) => setTimeout(r, ahead * 1000));
  }
});

const statsServer = process.env.STATS_PORT
  ? createHttpServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ...stats, generation: client.generation(), identityGeneration: identity.generation() }));
    }).listen(Number(process.env.STATS_PORT))
  : undefined;

process.on('SIGTERM', async () => {
  stopped = true;
  await Promise.all(loops);
  statsServer?.close();
  await client.close();
  process.exit(0);
});
