// An HTTPS client that trusts the TrustBundle as it is now and presents its own certificate, one request a second.
//   URL          default https://reload-demo.demo.svc:8443/
//   ROOTS_DIR    a TrustBundle ConfigMap (trust-bundle.pem)             default /etc/certsmith/trust
//   TLS_DIR      the client's kubernetes.io/tls Secret                   default /etc/certsmith/tls
import { request } from 'node:https';
import { httpsAgents, watchCAPool, watchKeyPair } from 'certsmith/reload';

const log = (msg, fields) => console.log(JSON.stringify({ msg, ...fields }));
const hooks = {
  reloaded: (e) => log('reloaded', e),
  rejected: (e) => log('rejected, kept the last good material', e),
  retired: (e) => log('retired agent', e),
};

const url = new URL(process.env.URL ?? 'https://reload-demo.demo.svc:8443/');
const rootCAs = await watchCAPool(process.env.ROOTS_DIR ?? '/etc/certsmith/trust', { file: 'trust-bundle.pem', hooks });
const identity = await watchKeyPair(process.env.TLS_DIR ?? '/etc/certsmith/tls', { hooks });
const client = httpsAgents({ rootCAs, identity, hooks });

setInterval(() => {
  // Ask for the agent at each request: a trust change means a new agent.
  const req = request(url, { agent: client.agent() }, (res) => {
    let body = '';
    res.on('data', (chunk) => (body += chunk));
    res.on('end', () => log('response', { status: res.statusCode, generation: client.generation(), body: body.trim() }));
  });
  req.on('error', (err) => log('request failed', { error: err.message, generation: client.generation() }));
  req.end();
}, 1_000);

process.on('SIGTERM', () => client.close().then(() => process.exit(0)));
