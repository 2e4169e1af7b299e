// /healthz, /readyz and /metrics on one small HTTP server.
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** The metrics registry as /metrics needs it: the text in pieces (CertsmithRegistry). */
export interface MetricsSource {
  contentType: string;
  exposition(): AsyncIterable<string>;
}

export interface HealthServerOptions {
  host: string;
  /** 0 picks a free port; the returned `port` says which. */
  port: number;
  registry: MetricsSource;
  readiness: () => boolean | Promise<boolean>;
  liveness?: () => boolean;
}

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

function reply(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8') {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Writes the exposition as it is produced, waiting for the socket to drain between pieces: at 10,000 Certificates
 * the text is ~6 MiB, and each piece is garbage by the time the next one is made. A failure before the first piece
 * is a 500; after it, the response is cut short, which Prometheus reports as a failed scrape.
 */
async function streamMetrics(res: ServerResponse, source: MetricsSource): Promise<void> {
  let started = false;
  const begin = () => {
    if (started) return;
    res.writeHead(200, { 'content-type': source.contentType, 'cache-control': 'no-store' });
    started = true;
  };
  try {
    for await (const piece of source.exposition()) {
      if (res.destroyed) return;
      begin();
      if (!res.write(piece)) await drainedOrClosed(res);
    }
    begin();
    res.end();
  } catch (err) {
    if (!started) reply(res, 500, `metrics failed: ${reason(err)}\n`);
    else res.destroy();
  }
}

function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

// A check that throws counts as failing; it must never take the server (or the process) down.
async function check(fn: () => boolean | Promise<boolean>): Promise<{ ok: boolean; why?: string }> {
  try {
    return { ok: (await fn()) === true };
  } catch (err) {
    return { ok: false, why: reason(err) };
  }
}

export async function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  const liveness = opts.liveness ?? (() => true);
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://health').pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return reply(res, 405, 'method not allowed\n');
    }
    switch (path) {
      case '/healthz':
        void check(liveness).then(({ ok, why }) => (ok ? reply(res, 200, 'ok\n') : reply(res, 500, why ? `unhealthy: ${why}\n` : 'unhealthy\n')));
        return;
      case '/readyz':
        void check(opts.readiness).then(({ ok, why }) => (ok ? reply(res, 200, 'ok\n') : reply(res, 503, why ? `not ready: ${why}\n` : 'not ready\n')));
        return;
      case '/metrics':
        void streamMetrics(res, opts.registry);
        return;
      default:
        reply(res, 404, 'not found\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  let closing: Promise<void> | undefined;
  return {
    port: (server.address() as AddressInfo).port,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
