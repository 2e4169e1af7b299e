// BIND9 (named) as a real primary for DNS-01 tests: zones from zone-file lines, TSIG keys allowed to update TXT
// records in their zones, on a free port of 127.0.0.1. Installed by test/env/system-packages.sh; like the other
// helpers here it does not import src/, so the harness checks the code rather than sharing its mistakes.
import { accessSync, constants } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Resolver } from 'node:dns/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './ports.ts';
import { removeOnExit, startProcess, waitUntil } from './processes.ts';

export interface BindTsigKey {
  name: string;
  /** BIND's spelling: hmac-sha256, hmac-sha512, ... */
  algorithm: string;
  /** Base64. */
  secret: string;
}

export interface BindZone {
  name: string;
  /** Extra zone-file lines, relative to the apex (e.g. `www IN A 127.0.0.1`); SOA and NS ns1 come built in. */
  records?: string[];
  /** Keys granted `zonesub TXT` updates in this zone. None: the zone takes no updates. */
  tsigKeys?: BindTsigKey[];
}

export interface Bind {
  /** HOST:PORT (127.0.0.1 unless listenHost says otherwise), UDP and TCP. */
  address: string;
  port: number;
  zones: string[];
  logFile: string;
  stop(): Promise<void>;
}

export async function startBind(opts: {
  zones: BindZone[];
  logDir?: string;
  handleSignals?: boolean;
  /** Address to listen on (default 127.0.0.1); pods on a node reach the node's. */
  listenHost?: string;
}): Promise<Bind> {
  const named = findNamed();
  const host = opts.listenHost ?? '127.0.0.1';
  const dir = await mkdtemp(join(tmpdir(), 'certsmith-bind-'));
  const forgetDir = removeOnExit(dir);
  if (opts.logDir) await mkdir(opts.logDir, { recursive: true });
  const port = await freePort();

  const keys = new Map<string, BindTsigKey>();
  for (const z of opts.zones) for (const k of z.tsigKeys ?? []) keys.set(k.name, k);
  const conf = [
    ...[...keys.values()].map((k) => `key "${k.name}" {\n  algorithm ${k.algorithm};\n  secret "${k.secret}";\n};`),
    'options {',
    `  directory "${dir}";`,
    `  listen-on port ${port} { ${host}; };`,
    '  listen-on-v6 { none; };',
    '  recursion no;',
    '  allow-transfer { none; };',
    '  dnssec-validation no;',
    // Everything named writes goes to the temp dir: nothing under /var/run or /var/cache is needed.
    '  pid-file none;',
    '  session-keyfile none;',
    `  managed-keys-directory "${dir}";`,
    '};',
    // No rndc control channel: it would listen on 127.0.0.1:953 and clash between parallel tests.
    'controls { };',
    ...opts.zones.map((z) => {
      const grants = (z.tsigKeys ?? []).map((k) => `grant "${k.name}" zonesub TXT;`).join(' ');
      const policy = grants ? `\n  update-policy { ${grants} };` : '';
      return `zone "${z.name}" {\n  type primary;\n  file "${zoneFile(dir, z.name)}";${policy}\n};`;
    }),
  ].join('\n');
  const confFile = join(dir, 'named.conf');
  await writeFile(confFile, `${conf}\n`);
  for (const z of opts.zones) {
    const apex = z.name.replace(/\.$/, '');
    const lines = [
      '$TTL 60',
      `@ IN SOA ns1.${apex}. hostmaster.${apex}. ( 1 3600 600 86400 60 )`,
      `@ IN NS ns1.${apex}.`,
      'ns1 IN A 127.0.0.1',
      ...(z.records ?? []),
    ];
    await writeFile(zoneFile(dir, z.name), `${lines.join('\n')}\n`);
  }
  // named runs as us (no -u) and writes its journal (.jnl) files here; others may read, e.g. to debug with named-checkconf.
  await chmod(dir, 0o755);

  const logFile = join(opts.logDir ?? dir, 'named.log');
  // -g: foreground, log to stderr; -4: IPv4 only; -n 1: one worker thread, the tests need no more.
  const p = startProcess({ name: 'named', command: named, args: ['-g', '-4', '-n', '1', '-c', confFile], logFile, handleSignals: opts.handleSignals ?? true });
  const stop = async () => {
    await p.stop();
    await rm(dir, { recursive: true, force: true });
    forgetDir();
  };
  try {
    const resolver = new Resolver({ timeout: 500, tries: 1 });
    resolver.setServers([`${host}:${port}`]);
    for (const z of opts.zones) {
      await waitUntil(p, `named to answer SOA for ${z.name}`, async () => (await resolver.resolveSoa(z.name)).nsname.length > 0, 20_000);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { address: `${host}:${port}`, port, zones: opts.zones.map((z) => z.name), logFile, stop };
}

function zoneFile(dir: string, zone: string): string {
  return join(dir, `${zone.replace(/\.$/, '') || 'root'}.zone`);
}

/** named from PATH or /usr/sbin (Debian's place, often not on PATH); a clear failure when it is not installed. */
export function findNamed(): string {
  const candidates = [
    ...(process.env.PATH ?? '')
      .split(delimiter)
      .filter(Boolean)
      .map((d) => join(d, 'named')),
    '/usr/sbin/named',
  ];
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // keep looking
    }
  }
  throw new Error('named (BIND9) is not installed: run `bash test/env/system-packages.sh` (installs Debian packages bind9 and bind9-dnsutils)');
}
