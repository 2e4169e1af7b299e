// /healthz, /readyz and /metrics on one small HTTP server.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export async function startHealthServer(opts: {
  host: string;
  port: number;
  registry: Registry;
  readiness: () => boolean | Promise<boolean>;
  liveness?: () => boolean;
}): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const reply = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(405, 'method not allowed\n');
    if (path === '/healthz') return (opts.liveness?.() ?? true) ? reply(200, 'ok\n') : reply(500, 'unhealthy\n');
    if (path === '/readyz') {
      Promise.resolve(opts.readiness()).then(
        (ready) => (ready ? reply(200, 'ok\n') : reply(503, 'caches not synced yet\n')),
        (err: Error) => reply(503, `not ready: ${err.message}\n`),
      );
      return;
    }
    if (path === '/metrics') {
      opts.registry.metrics().then(
        (text) => reply(200, text, opts.registry.contentType),
        (err: Error) => reply(500, `metrics failed: ${err.message}\n`),
      );
      return;
    }
    reply(404, 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
