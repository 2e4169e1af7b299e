// Sending one DNS message and reading its answer: TCP with the 2-byte length prefix (RFC 1035 §4.2.2), UDP with a
// fall back to TCP when the answer is truncated. Every failure to reach the server is Dns01Unreachable; bytes that
// cannot be an answer to our message are Dns01BadResponse.
import { createSocket } from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { connect, isIP } from 'node:net';
import { CertsmithError } from '../../errors.ts';
import { formatServerAddress } from './address.ts';
import type { ServerAddress } from './types.ts';

export const DEFAULT_DNS_TIMEOUT_MS = 10_000;

/** One question and its answer over TCP. */
export function exchangeTcp(server: ServerAddress, message: Uint8Array, timeoutMs = DEFAULT_DNS_TIMEOUT_MS): Promise<Uint8Array> {
  const where = formatServerAddress(server);
  if (message.length > 0xffff) return Promise.reject(new CertsmithError('InvalidSpec', `DNS message of ${message.length} bytes is too long for TCP`));
  return new Promise((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port });
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (err: Error | undefined, answer?: Uint8Array) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(answer!);
    };
    const timer = setTimeout(
      () =>
        finish(
          new CertsmithError(
            'Dns01Unreachable',
            `nameserver ${where} did not answer over TCP within ${timeoutMs} ms: check the address and that a firewall lets TCP port ${server.port} through`,
          ),
        ),
      timeoutMs,
    );
    socket.once('connect', () => {
      const framed = Buffer.alloc(2 + message.length);
      framed.writeUInt16BE(message.length, 0);
      framed.set(message, 2);
      socket.write(framed);
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2) return;
      const length = received.readUInt16BE(0);
      if (received.length < 2 + length) return;
      const answer = new Uint8Array(received.subarray(2, 2 + length));
      finish(checkAnswerId(answer, message, where), answer);
    });
    socket.once('end', () =>
      finish(new CertsmithError('Dns01BadResponse', `nameserver ${where} closed the TCP connection after ${received.length} bytes, before a whole answer`)),
    );
    socket.once('error', (err) => finish(unreachable(where, 'TCP', server.port, err)));
  });
}

/** One question and its answer over UDP; answers with another ID (stray or spoofed) are ignored. */
export async function exchangeUdp(server: ServerAddress, message: Uint8Array, timeoutMs = DEFAULT_DNS_TIMEOUT_MS): Promise<Uint8Array> {
  const where = formatServerAddress(server);
  const address = await resolveHost(server, where);
  return new Promise((resolve, reject) => {
    const socket = createSocket(address.family === 6 ? 'udp6' : 'udp4');
    let settled = false;
    const finish = (err: Error | undefined, answer?: Uint8Array) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.close();
      if (err) reject(err);
      else resolve(answer!);
    };
    const timer = setTimeout(
      () =>
        finish(
          new CertsmithError(
            'Dns01Unreachable',
            `nameserver ${where} did not answer over UDP within ${timeoutMs} ms: check the address and that a firewall lets UDP port ${server.port} through`,
          ),
        ),
      timeoutMs,
    );
    socket.on('message', (msg, rinfo) => {
      if (rinfo.port !== server.port || msg.length < 2 || msg[0] !== message[0] || msg[1] !== message[1]) return;
      const answer = new Uint8Array(msg);
      finish(checkAnswerId(answer, message, where), answer);
    });
    socket.once('error', (err) => finish(unreachable(where, 'UDP', server.port, err)));
    // connect() makes the kernel drop datagrams from other addresses for us.
    socket.connect(server.port, address.address, () => socket.send(message));
  });
}

/** UDP first (what resolvers and validators use), TCP when the answer did not fit (TC bit). */
export async function exchange(server: ServerAddress, message: Uint8Array, timeoutMs = DEFAULT_DNS_TIMEOUT_MS): Promise<Uint8Array> {
  const answer = await exchangeUdp(server, message, timeoutMs);
  const truncated = answer.length >= 3 && (answer[2]! & 0x02) !== 0;
  return truncated ? exchangeTcp(server, message, timeoutMs) : answer;
}

/** undefined when the answer is a response to `question` (same ID, QR set); otherwise the error to throw. */
function checkAnswerId(answer: Uint8Array, question: Uint8Array, where: string): CertsmithError | undefined {
  if (answer.length < 12) return new CertsmithError('Dns01BadResponse', `nameserver ${where} sent ${answer.length} bytes, shorter than a DNS header`);
  if (answer[0] !== question[0] || answer[1] !== question[1]) {
    return new CertsmithError('Dns01BadResponse', `nameserver ${where} answered with a different message ID than the question's`);
  }
  if ((answer[2]! & 0x80) === 0) return new CertsmithError('Dns01BadResponse', `nameserver ${where} sent back a query instead of a response`);
  return undefined;
}

async function resolveHost(server: ServerAddress, where: string): Promise<{ address: string; family: number }> {
  const family = isIP(server.host);
  if (family !== 0) return { address: server.host, family };
  try {
    return await lookup(server.host);
  } catch (err) {
    throw unreachable(where, 'UDP', server.port, err as Error);
  }
}

function unreachable(where: string, proto: 'TCP' | 'UDP', port: number, err: Error): CertsmithError {
  const code = (err as NodeJS.ErrnoException).code;
  let why: string;
  switch (code) {
    case 'ECONNREFUSED':
      why = `refused ${proto === 'TCP' ? 'the TCP connection' : 'the UDP query'}: nothing listens on ${proto} port ${port} there; check the nameserver address and port`;
      break;
    case 'ECONNRESET':
    case 'EPIPE':
      why = `reset the ${proto} connection`;
      break;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      why = `could not be resolved to an address (${code}): check the host name`;
      break;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ETIMEDOUT':
      why = `cannot be reached over ${proto} (${code}): check routing and firewalls`;
      break;
    default:
      why = `cannot be reached over ${proto}: ${err.message}`;
  }
  return new CertsmithError('Dns01Unreachable', `nameserver ${where} ${why}`, { cause: err });
}
