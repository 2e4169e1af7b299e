// Reload latency of certsmith/reload: a TLS server built with serverTLS on a kubelet-style directory (watchKeyPair),
// whose certificate is swapped N times the way the kubelet does it (a new timestamped directory, `..data` renamed onto
// it). After each swap a client opens new connections back to back (full handshakes, SNI, no session) until one is
// answered with the new certificate. Latency: from the `..data` rename to the end of that handshake. The library's
// own `reloaded` hook says how much of it is the watch (debounce, read, parse) and how much the handshake after it.
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { connect, createServer } from 'node:tls';
import { serverTLS, watchKeyPair } from '../src/reload/index.ts';
import { DEFAULT_DEBOUNCE_MS } from '../src/reload/source.ts';
import { writeAtomically } from '../test/unit/reload/atomic-writer.ts';
import { makeCA, tempDir, tlsPayload, type Pair } from '../test/unit/reload/fixtures.ts';

export const RELOAD_TARGET_P99_MS = 100;
const SERVER_NAME = 'reload.bench.test';

export interface ReloadResult {
  swaps: number;
  debounceMs: number;
  /** `..data` rename → first handshake that presents the new certificate. */
  latencyMs: Stats;
  /** `..data` rename → the library accepted the new material (its `reloaded` hook). */
  reloadedAfterMs: Stats;
  /** Handshakes the client made per swap until it saw the new certificate. */
  handshakesPerSwap: number;
}

interface Stats {
  median: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export function stats(values: number[]): Stats {
  const v = [...values].sort((a, b) => a - b);
  const q = (p: number) => +v[Math.min(v.length - 1, Math.max(0, Math.ceil(p * v.length) - 1))]!.toFixed(1);
  return { median: q(0.5), p90: q(0.9), p99: q(0.99), max: q(1), mean: +(v.reduce((a, b) => a + b, 0) / v.length).toFixed(1) };
}

/** One full handshake; resolves with the certificate's fingerprint and when the handshake completed. */
function handshake(port: number): Promise<{ fingerprint: string; at: number }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername: SERVER_NAME, rejectUnauthorized: false });
    socket.once('secureConnect', () => {
      const at = performance.now();
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.destroy();
      resolve({ fingerprint, at });
    });
    socket.once('error', reject);
  });
}

export async function benchReload(opts: { count: number }): Promise<ReloadResult> {
  const work = await tempDir();
  try {
    const ca = await makeCA(work.path, 'bench reload CA');
    const pairs: Pair[] = [];
    for (let i = 0; i <= opts.count; i++) pairs.push(await ca.issue({ commonName: SERVER_NAME, dnsNames: [SERVER_NAME] }));
    const fingerprints = pairs.map((p) => new X509Certificate(p.certPem).fingerprint256);

    const dir = join(work.path, 'tls');
    await writeAtomically(dir, tlsPayload(pairs[0]!));
    let reloadedAt = 0;
    // Defaults, as a service would use them (the default debounce is what is measured).
    const source = await watchKeyPair(dir, { hooks: { reloaded: () => (reloadedAt = performance.now()) } });
    const tls = serverTLS({ certificates: [source], defaultCertificate: source });
    const server = createServer(tls.options, (socket) => socket.end());
    tls.attach(server);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;

    const latency: number[] = [];
    const reloaded: number[] = [];
    let handshakes = 0;
    try {
      if ((await handshake(port)).fingerprint !== fingerprints[0]) throw new Error('the server does not present the first certificate');
      for (let i = 1; i <= opts.count; i++) {
        // Handshakes run from before the swap: the first new certificate is seen as soon as the server has it.
        const swapped = writeAtomically(dir, tlsPayload(pairs[i]!));
        const started = performance.now();
        let seen: { fingerprint: string; at: number };
        do {
          seen = await handshake(port);
          handshakes++;
          if (performance.now() - started > 10_000) throw new Error(`swap ${i}: the new certificate did not appear within 10 s`);
        } while (seen.fingerprint !== fingerprints[i]);
        const swappedAt = await swapped;
        latency.push(seen.at - swappedAt);
        reloaded.push(reloadedAt - swappedAt);
        // The previous swap is fully read by now; an uneven rhythm keeps timers from lining up with the swaps.
        await new Promise((r) => setTimeout(r, 20 + Math.random() * 30));
      }
    } finally {
      source.close();
      await new Promise((r) => server.close(r));
    }
    return {
      swaps: opts.count,
      debounceMs: DEFAULT_DEBOUNCE_MS,
      latencyMs: stats(latency),
      reloadedAfterMs: stats(reloaded),
      handshakesPerSwap: +(handshakes / opts.count).toFixed(1),
    };
  } finally {
    await work.remove();
  }
}
