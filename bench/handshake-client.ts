// Load for the handshakes scenario, in its own process: on each IPC message { port, ms, concurrency }, keeps
// `concurrency` connections in flight for `ms` milliseconds, each a new connection with a full handshake (no session
// is offered, so none is resumed), closed right after; replies { handshakes, errors, seconds }.
import { connect } from 'node:tls';

const SERVER_NAME = 'handshake.bench.test';

function one(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, servername: SERVER_NAME, rejectUnauthorized: false });
    socket.once('secureConnect', () => {
      const resumed = socket.isSessionReused();
      socket.destroy();
      resolve(!resumed);
    });
    socket.once('error', () => resolve(false));
  });
}

process.on('message', async (m: { port: number; ms: number; concurrency: number }) => {
  const started = performance.now();
  const end = started + m.ms;
  let handshakes = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: m.concurrency }, async () => {
      while (performance.now() < end) {
        if (await one(m.port)) handshakes++;
        else errors++;
      }
    }),
  );
  process.send!({ handshakes, errors, seconds: (performance.now() - started) / 1000 });
});
process.on('disconnect', () => process.exit(0));
