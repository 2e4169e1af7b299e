// Handshakes per second: the certsmith/reload server (serverTLS on a kubelet-style directory, answered through its
// SNICallback) against a plain static tls.createServer, both on the same ECDSA P-256 certificate, each in its own
// process. One client process keeps a fixed number of new connections in flight (full handshakes, no resumption)
// against one server at a time, in short rounds that alternate between the two, so drifting load on the machine
// falls on both alike. Also reports each server's CPU time per handshake, which depends less on that load.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { writeAtomically } from '../test/unit/reload/atomic-writer.ts';
import { makeCA, tempDir, tlsPayload } from '../test/unit/reload/fixtures.ts';

export const HANDSHAKE_TARGET_RATIO = 0.95;
const CONCURRENCY = 16;
/** A Node client spends more CPU per handshake than the server: two client processes share the load. */
const CLIENTS = 2;
const ROUND_MS = 2000;
const SERVER_NAME = 'handshake.bench.test';

export interface HandshakeSide {
  handshakes: number;
  errors: number;
  seconds: number;
  perSecond: number;
  /** Server process CPU (user + system) per handshake, microseconds. */
  serverCpuMicrosPerHandshake: number;
  /** Server CPU seconds per second of load: near 1 means the server (one thread) was the limit, not the client. */
  serverBusy: number;
}

export interface HandshakeResult {
  concurrency: number;
  secondsEach: number;
  rounds: number;
  static: HandshakeSide;
  reload: HandshakeSide;
  /** reload / static handshakes per second. */
  ratio: number;
  /** static / reload server CPU per handshake. */
  cpuRatio: number;
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function startServer(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'handshake-server.ts'), ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  const first = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`handshake server ${args[0]} exited with ${code}`)));
  });
  return { child, port: Number(first) };
}

/** `secondsEach` seconds of load on each server, in alternating rounds of 2 s. */
export async function benchHandshakes(opts: { secondsEach: number }): Promise<HandshakeResult> {
  const work = await tempDir();
  const children: ChildProcess[] = [];
  try {
    const ca = await makeCA(work.path, 'bench handshake CA');
    const pair = await ca.issue({ commonName: SERVER_NAME, dnsNames: [SERVER_NAME] }); // ECDSA P-256
    await writeFile(join(work.path, 'tls.crt'), pair.certPem);
    await writeFile(join(work.path, 'tls.key'), pair.keyPem);
    await writeAtomically(join(work.path, 'mounted'), tlsPayload(pair));
    const servers = {
      static: await startServer(['static', join(work.path, 'tls.crt'), join(work.path, 'tls.key')]),
      reload: await startServer(['reload', join(work.path, 'mounted')]),
    };
    children.push(servers.static.child, servers.reload.child);
    const clients = Array.from({ length: CLIENTS }, () =>
      fork(join(import.meta.dirname, 'handshake-client.ts'), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
    );
    children.push(...clients);
    const round = async (port: number, ms: number) => {
      const replies = await Promise.all(
        clients.map(
          (client) =>
            new Promise<{ handshakes: number; errors: number; seconds: number }>((resolve) => {
              client.once('message', (m) => resolve(m as { handshakes: number; errors: number; seconds: number }));
              client.send({ port, ms, concurrency: CONCURRENCY / CLIENTS });
            }),
        ),
      );
      return {
        handshakes: replies.reduce((a, r) => a + r.handshakes, 0),
        errors: replies.reduce((a, r) => a + r.errors, 0),
        seconds: Math.max(...replies.map((r) => r.seconds)),
      };
    };

    // Warm both up (JIT, OpenSSL's tables, the reload server's context cache) before measuring.
    await round(servers.static.port, 1000);
    await round(servers.reload.port, 1000);
    const totals = {
      static: { handshakes: 0, errors: 0, seconds: 0, cpu: 0 },
      reload: { handshakes: 0, errors: 0, seconds: 0, cpu: 0 },
    };
    const rounds = Math.max(1, Math.round((opts.secondsEach * 1000) / ROUND_MS));
    for (let i = 0; i < rounds; i++) {
      // Alternate which goes first, so neither always follows the other.
      const order = i % 2 === 0 ? (['static', 'reload'] as const) : (['reload', 'static'] as const);
      for (const kind of order) {
        const pid = servers[kind].child.pid!;
        const cpuBefore = cpuSeconds(pid);
        const r = await round(servers[kind].port, ROUND_MS);
        const t = totals[kind];
        t.cpu += cpuSeconds(pid) - cpuBefore;
        t.handshakes += r.handshakes;
        t.errors += r.errors;
        t.seconds += r.seconds;
      }
    }
    const side = (t: (typeof totals)['static']): HandshakeSide => ({
      handshakes: t.handshakes,
      errors: t.errors,
      seconds: +t.seconds.toFixed(1),
      perSecond: Math.round(t.handshakes / t.seconds),
      serverCpuMicrosPerHandshake: Math.round((t.cpu / t.handshakes) * 1e6),
      serverBusy: +(t.cpu / t.seconds).toFixed(2),
    });
    const s = side(totals.static);
    const r = side(totals.reload);
    return {
      concurrency: CONCURRENCY,
      secondsEach: +((rounds * ROUND_MS) / 1000).toFixed(1),
      rounds,
      static: s,
      reload: r,
      ratio: +(r.perSecond / s.perSecond).toFixed(3),
      cpuRatio: +(s.serverCpuMicrosPerHandshake / r.serverCpuMicrosPerHandshake).toFixed(3),
    };
  } finally {
    for (const c of children) {
      c.stdin?.end();
      if (c.connected) c.disconnect();
      c.kill();
    }
    await work.remove();
  }
}
