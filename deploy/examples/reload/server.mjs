// An HTTPS server with mTLS whose certificate, client-CA pool and session-ticket keys follow their mounted Secrets.
//   TLS_DIR      a kubernetes.io/tls Secret (tls.crt, tls.key)           default /etc/certsmith/tls
//   CLIENT_CA    a TrustBundle ConfigMap (trust-bundle.pem)             default /etc/certsmith/trust
//   TICKET_DIR   optional Secret with 48 bytes under ticket.key         (shared by all replicas)
import { createServer } from 'node:https';
import { serverTLS, watchCAPool, watchKeyPair, watchTicketKeys } from 'certsmith/reload';

const log = (msg, fields) => console.log(JSON.stringify({ msg, ...fields }));
const hooks = {
  reloaded: (e) => log('reloaded', e),
  rejected: (e) => log('rejected, kept the last good material', e),
};

const tlsDir = process.env.TLS_DIR ?? '/etc/certsmith/tls';
const trustDir = process.env.CLIENT_CA ?? '/etc/certsmith/trust';
const certificate = await watchKeyPair(tlsDir, { hooks });
const clientCAs = await watchCAPool(trustDir, { file: 'trust-bundle.pem', hooks });
const ticketKeys = process.env.TICKET_DIR ? await watchTicketKeys(process.env.TICKET_DIR, { hooks }) : undefined;

const tls = serverTLS({ certificates: [certificate], defaultCertificate: certificate, clientCAs, ...(ticketKeys ? { ticketKeys } : {}) });
const server = createServer(tls.options, (req, res) => {
  const client = req.socket.getPeerCertificate().subject?.CN;
  res.end(`hello ${client}, served by ${tls.getCertificate(req.socket.servername)?.leaf.subject.replace(/\n/g, ', ')}\n`);
});
tls.attach(server);
server.listen(Number(process.env.PORT ?? 8443), () => log('listening', { port: server.address().port }));

process.on('SIGTERM', () => server.close(() => process.exit(0)));
