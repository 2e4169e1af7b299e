// Pebble, the ACME test CA, and pebble-challtestsrv as its DNS (every name resolves to 127.0.0.1).
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Resolver } from 'node:dns/promises';
import { request as httpRequest } from 'node:http';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { binaryPath } from './binaries.ts';
import { createTestCA } from './certs.ts';
import { freePort } from './ports.ts';
import { removeOnExit, startProcess, waitUntil } from './processes.ts';

export interface ChallTestSrv {
  /** host:port of its DNS server (UDP and TCP), for Pebble's -dnsserver. */
  dnsAddress: string;
  managementUrl: string;
  /** Answers A queries for `host` with these addresses instead of 127.0.0.1. */
  addA(host: string, addresses: string[]): Promise<void>;
  /** Back to answering 127.0.0.1 for `host`. */
  clearA(host: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * pebble-challtestsrv as a DNS server only: A queries for any name answer 127.0.0.1, AAAA queries answer nothing
 * (so Pebble never validates against ::1). Its HTTP-01, HTTPS-01, TLS-ALPN-01 and DoH servers are off.
 */
export async function startChallTestSrv(opts: {
  binDir: string;
  logDir?: string;
  handleSignals?: boolean;
  /** What every A query answers (default 127.0.0.1); on a node, its address, where NodePorts and the ingress listen. */
  defaultIPv4?: string;
  /** Address the DNS server listens on (default 127.0.0.1); pods on a node reach the node's. */
  listenHost?: string;
}): Promise<ChallTestSrv> {
  const defaultIPv4 = opts.defaultIPv4 ?? '127.0.0.1';
  const command = binaryPath(opts.binDir, 'pebble-challtestsrv');
  const dir = await mkdtemp(join(tmpdir(), 'certsmith-dns-'));
  const forgetDir = removeOnExit(dir);
  if (opts.logDir) await mkdir(opts.logDir, { recursive: true });
  const dnsAddress = `${opts.listenHost ?? '127.0.0.1'}:${await freePort()}`;
  const managementUrl = `http://127.0.0.1:${await freePort()}`;
  const p = startProcess({
    name: 'pebble-challtestsrv',
    command,
    args: [
      '-dnsserver',
      dnsAddress,
      '-management',
      managementUrl.slice('http://'.length),
      '-defaultIPv4',
      defaultIPv4,
      '-defaultIPv6',
      '',
      '-http01',
      '',
      '-https01',
      '',
      '-tlsalpn01',
      '',
      '-doh',
      '',
    ],
    logFile: join(opts.logDir ?? dir, 'pebble-challtestsrv.log'),
    handleSignals: opts.handleSignals ?? true,
  });
  const stop = async () => {
    await p.stop();
    await rm(dir, { recursive: true, force: true });
    forgetDir();
  };
  try {
    await waitUntil(p, 'challtestsrv management API', () => httpResponds(`${managementUrl}/`), 20_000);
    const resolver = new Resolver({ timeout: 500, tries: 1 });
    resolver.setServers([dnsAddress]);
    await waitUntil(
      p,
      `challtestsrv DNS to answer ${defaultIPv4}`,
      async () => (await resolver.resolve4('ready.certsmith.test')).includes(defaultIPv4),
      20_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  const addA = async (host: string, addresses: string[]) => {
    const res = await fetch(`${managementUrl}/add-a`, { method: 'POST', body: JSON.stringify({ host: host.endsWith('.') ? host : `${host}.`, addresses }) });
    if (!res.ok) throw new Error(`challtestsrv /add-a answered ${res.status}: ${await res.text()}`);
  };
  const clearA = async (host: string) => {
    const res = await fetch(`${managementUrl}/clear-a`, { method: 'POST', body: JSON.stringify({ host: host.endsWith('.') ? host : `${host}.` }) });
    if (!res.ok) throw new Error(`challtestsrv /clear-a answered ${res.status}: ${await res.text()}`);
  };
  return { dnsAddress, managementUrl, addA, clearA, stop };
}

export interface PebbleProfile {
  description: string;
  /** Seconds. */
  validityPeriod: number;
}

export interface PebbleOptions {
  binDir: string;
  /** Port Pebble connects to for HTTP-01 validation (default: a free port; serve the challenge there). */
  httpPort?: number;
  /** Port Pebble connects to for TLS-ALPN-01 validation (default: a free port). */
  tlsPort?: number;
  /** host:port of the DNS server Pebble resolves names with (e.g. startChallTestSrv().dnsAddress). */
  dnsServer?: string;
  /** Lifetime in seconds of certificates from the `default` profile (default 90 days). */
  certificateValidityPeriod?: number;
  /** Replaces the default profiles (`default`, and `shortlived` of 6 days). */
  profiles?: Record<string, PebbleProfile>;
  /** Extra environment, e.g. PEBBLE_CHAIN_LENGTH, PEBBLE_ALTERNATE_ROOTS or PEBBLE_WFE_NONCEREJECT. */
  env?: Record<string, string>;
  /** Key ID → base64url HMAC key: newAccount then requires external account binding. */
  eabKeys?: Record<string, string>;
  /** Retry-After seconds Pebble sends on authorization and order polls (default 3 and 5, Pebble's own). */
  retryAfter?: { authz: number; order: number };
  /** Address Pebble's ACME and management listeners bind to (default 127.0.0.1); pods on a node need the node's. */
  listenHost?: string;
  logDir?: string;
  handleSignals?: boolean;
}

export interface Pebble {
  directoryUrl: string;
  managementUrl: string;
  /** The CA that signs Pebble's own HTTPS listeners (not the CA it issues from: see rootsPem). */
  caFile: string;
  httpPort: number;
  tlsPort: number;
  /** PEM of a root Pebble issues from (generated at each start; more than one with PEBBLE_ALTERNATE_ROOTS). */
  rootsPem(index?: number): Promise<string>;
  /** Overrides the ARI answer for a certificate (management API /set-renewal-info/). */
  setRenewalInfo(certificatePem: string, window: { start: Date; end: Date }): Promise<void>;
  /** Stops Pebble and starts it again on the same ports: every account, order and root is forgotten. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPebble(opts: PebbleOptions): Promise<Pebble> {
  const command = binaryPath(opts.binDir, 'pebble');
  const dir = await mkdtemp(join(tmpdir(), 'certsmith-pebble-'));
  const forgetDir = removeOnExit(dir);
  if (opts.logDir) await mkdir(opts.logDir, { recursive: true });
  const host = opts.listenHost ?? '127.0.0.1';
  const ca = await createTestCA(dir, 'certsmith test Pebble listener CA');
  const serving = await ca.issue('pebble', {
    commonName: 'pebble',
    dnsNames: ['localhost', 'pebble'],
    ipAddresses: [...new Set(['127.0.0.1', host])],
  });
  const port = await freePort();
  const mgmtPort = await freePort();
  const httpPort = opts.httpPort ?? (await freePort());
  const tlsPort = opts.tlsPort ?? (await freePort());
  const validity = opts.certificateValidityPeriod ?? 7_776_000;
  // Pebble 2.10 takes lifetimes from profiles only (certificateValidityPeriod is deprecated and ignored).
  const config = {
    pebble: {
      listenAddress: `${host}:${port}`,
      managementListenAddress: `${host}:${mgmtPort}`,
      certificate: serving.certFile,
      privateKey: serving.keyFile,
      httpPort,
      tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: opts.eabKeys !== undefined,
      ...(opts.eabKeys ? { externalAccountMACKeys: opts.eabKeys } : {}),
      domainBlocklist: ['blocked-domain.example'],
      retryAfter: opts.retryAfter ?? { authz: 3, order: 5 },
      profiles: opts.profiles ?? {
        default: { description: 'The default profile', validityPeriod: validity },
        shortlived: { description: 'Short-lived certificates', validityPeriod: 518_400 },
      },
    },
  };
  const configFile = join(dir, 'pebble-config.json');
  await writeFile(configFile, JSON.stringify(config, null, 2));
  const launch = () =>
    startProcess({
      name: 'pebble',
      command,
      args: ['-config', configFile, ...(opts.dnsServer ? ['-dnsserver', opts.dnsServer] : [])],
      logFile: join(opts.logDir ?? dir, 'pebble.log'),
      // Deterministic tests: no random sleeps before validating, no rejected nonces, no reused authorizations.
      env: { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0', ...opts.env },
      handleSignals: opts.handleSignals ?? true,
    });
  let p = launch();
  const stop = async () => {
    await p.stop();
    await rm(dir, { recursive: true, force: true });
    forgetDir();
  };
  const caPem = readFileSync(ca.certFile);
  const directoryUrl = `https://${host}:${port}/dir`;
  const managementUrl = `https://${host}:${mgmtPort}`;
  const ready = async () => {
    await waitUntil(p, 'Pebble directory', () => httpsGet(directoryUrl, caPem).then((r) => r.status === 200), 20_000);
    await waitUntil(p, 'Pebble management API', () => httpsGet(`${managementUrl}/roots/0`, caPem).then((r) => r.status === 200), 20_000);
  };
  try {
    await ready();
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    directoryUrl,
    managementUrl,
    caFile: ca.certFile,
    httpPort,
    tlsPort,
    async rootsPem(index = 0) {
      const r = await httpsGet(`${managementUrl}/roots/${index}`, caPem);
      if (r.status !== 200) throw new Error(`Pebble ${managementUrl}/roots/${index} answered ${r.status}: ${r.body}`);
      return r.body;
    },
    async setRenewalInfo(certificatePem, window) {
      const ariResponse = JSON.stringify({ suggestedWindow: { start: window.start.toISOString(), end: window.end.toISOString() } });
      const r = await httpsPost(`${managementUrl}/set-renewal-info/`, caPem, JSON.stringify({ Certificate: certificatePem, ARIResponse: ariResponse }));
      if (r.status !== 200) throw new Error(`Pebble set-renewal-info answered ${r.status}: ${r.body}`);
    },
    async restart() {
      await p.stop();
      p = launch();
      await ready();
    },
    stop,
  };
}

/** GET over HTTPS trusting only `ca` (a PEM buffer). */
export function httpsGet(url: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // Pebble rejects requests without a User-Agent (RFC 8555 §6.1).
    const req = request(url, { ca, timeout: 5000, headers: { 'user-agent': 'certsmith-test-env' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.end();
  });
}

function httpsPost(url: string, ca: Buffer, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { method: 'POST', ca, timeout: 5000, headers: { 'user-agent': 'certsmith-test-env', 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`POST ${url} timed out`)));
    req.end(body);
  });
}

function httpResponds(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpRequest(url, { timeout: 2000 }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
