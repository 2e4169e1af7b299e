// A TLS server for the handshakes scenario, in its own process so it has a core to itself and the client's work is
// not counted against it. `static <certFile> <keyFile>`: plain tls.createServer with the certificate fixed at start.
// `reload <dir>`: the same certificate through certsmith/reload (watchKeyPair + serverTLS, the SNI path). Prints the
// port, then serves until stdin closes; every connection is closed by the client after its handshake.
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { createServer, type TlsOptions } from 'node:tls';
import { serverTLS, watchKeyPair } from '../src/reload/index.ts';

const [kind, ...args] = process.argv.slice(2);
let options: TlsOptions;
let attach: (s: ReturnType<typeof createServer>) => void = () => {};
if (kind === 'static') {
  options = { cert: readFileSync(args[0]!), key: readFileSync(args[1]!) };
} else if (kind === 'reload') {
  const source = await watchKeyPair(args[0]!);
  const tls = serverTLS({ certificates: [source], defaultCertificate: source });
  options = tls.options;
  attach = (s) => tls.attach(s);
} else {
  throw new Error(`usage: handshake-server.ts static <cert> <key> | reload <dir>`);
}
const server = createServer(options, (socket) => {
  socket.on('error', () => {}); // the client resets after its handshake
  socket.end();
});
server.on('tlsClientError', () => {});
attach(server);
server.listen(0, '127.0.0.1', () => console.log(String((server.address() as AddressInfo).port)));
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
