// An HTTPS server with mTLS whose certificate, client-CA pool and session-ticket keys follow their mounted Secrets.
//   TLS_DIR      a kubernetes.io/tls Secret (tls.crt, tls.key)           default /etc/certsmith/tls
//   TLS_BUNDLE_FILE  optional: read TLS_DIR as a podCertificate volume, key and chain in this one file
//   CLIENT_CA    a TrustBundle ConfigMap (trust-bundle.pem)             default /etc/certsmith/trust
//   CLIENT_CA_FILE  the key in that ConfigMap                            default trust-bundle.pem
//   TICKET_DIR   optional Secret with 48 bytes under ticket.key         (shared by all replicas)
//   STATS_PORT   optional plain-HTTP port answering GET /stats with handshake and request counts as JSON
import { createServer } from 'node:https';
import { createServer as createHttpServer } from 'node:http';
import { serverTLS, watchCAPool, watchKeyPair, watchTicketKeys } from 'certsmith/reload';

const log = (msg, fields) => console.log(JSON.stringify({ msg, ...fields }));
const hooks = {
  reloaded: (e) => log('reloaded', e),
  rejected: (e) => log('rejected, kept the last good material', e),
};

const tlsDir = process.env.TLS_DIR ?? '/etc/certsmith/tls';
const trustDir = process.env.CLIENT_CA ?? '/etc/certsmith/trust';
const bundle = process.env.TLS_BUNDLE_FILE;
const certificate = await watchKeyPair(tlsDir, { hooks, ...(bundle ? { credentialBundleFile: bundle } : {}) });
const clientCAs = await watchCAPool(trustDir, { file: process.env.CLIENT_CA_FILE ?? 'trust-bundle.pem', hooks });
const ticketKeys = process.env.TICKET_DIR ? await watchTicketKeys(process.env.TICKET_DIR, { hooks }) : undefined;

const stats = { requests: 0, handshakes: 0, resumed: 0, handshakeErrors: {}, certificateGeneration: 0, clientCAGeneration: 0, ticketKeysGeneration: 0 };
const tls = serverTLS({ certificates: [certificate], defaultCertificate: certificate, clientCAs, ...(ticketKeys ? { ticketKeys } : {}) });
const server = createServer(tls.options, (req, res) => {
  stats.requests++;
  // A pod certificate has no subject: name the peer by its SANs (its SPIFFE ID).
  const peer = req.socket.getPeerCertificate();
  const client = peer.subject?.CN ?? peer.subjectaltname;
  // A certificate with only SANs has an empty subject: name it by its SANs.
  const leaf = tls.getCertificate(req.socket.servername)?.leaf;
  res.end(`hello ${client}, served by ${leaf?.subjectAltName ?? leaf?.subject?.replace(/\n/g, ', ') ?? 'no certificate'}\n`);
});
server.on('secureConnection', (socket) => {
  stats.handshakes++;
  if (socket.isSessionReused()) stats.resumed++;
});
server.on('tlsClientError', (err) => {
  const code = err.code ?? err.message;
  stats.handshakeErrors[code] = (stats.handshakeErrors[code] ?? 0) + 1;
  log('handshake failed', { code });
});
tls.attach(server);
server.listen(Number(process.env.PORT ?? 8443), () => log('listening', { port: server.address().port }));

const statsServer = process.env.STATS_PORT
  ? createHttpServer((_req, res) => {
      stats.certificateGeneration = certificate.generation();
      stats.clientCAGeneration = clientCAs.generation();
      stats.ticketKeysGeneration = ticketKeys?.generation() ?? 0;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(stats));
    }).listen(Number(process.env.STATS_PORT))
  : undefined;

process.on('SIGTERM', () => {
  statsServer?.close();
  server.close(() => process.exit(0));
});
