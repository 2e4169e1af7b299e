// Small real-network helpers for the reload tests: one TLS handshake, one HTTPS request.
import { request, type Agent } from 'node:https';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';

export interface Handshake {
  ok: boolean;
  fingerprint?: string;
  error?: string;
  resumed?: boolean;
  session?: Buffer;
}

/** Connects, waits for the handshake (and TLS 1.3 session ticket), closes. */
export function handshake(port: number, options: ConnectionOptions): Promise<Handshake> {
  return new Promise((resolve) => {
    let session: Buffer | undefined;
    const socket: TLSSocket = connect({ host: '127.0.0.1', port, ...options });
    socket.on('session', (s) => (session = s));
    socket.once('secureConnect', () => {
      const result: Handshake = { ok: true, fingerprint: socket.getPeerCertificate().fingerprint256, resumed: socket.isSessionReused() };
      // Give the server a moment to send its ticket, then read it.
      setTimeout(() => {
        socket.destroy();
        resolve({ ...result, ...(session ? { session } : {}) });
      }, 20);
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, error: err.code ?? err.message }));
  });
}

export interface Response {
  status: number;
  body: string;
  fingerprint: string;
  reusedSocket: boolean;
}

export function get(port: number, agent: Agent, servername: string): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, servername, agent, path: '/' }, (res) => {
      // Read now: the socket goes back to the agent (and res.socket to null) when the response ends.
      const fingerprint = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, fingerprint, reusedSocket: req.reusedSocket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}
