// Any namespaced Issuer may name an ACME server, over http:// too. Here three tenants' Issuers name a hostile one on
// loopback — it answers the directory with 400 MiB, with a byte a second, or with an error page full of control
// characters — while other issuers (selfSigned, and Pebble over HTTP-01) keep issuing. The real operator must stay
// within the chart's memory limit, tell each tenant on its Issuer in a short printable line, and keep issuing for
// everyone else.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { load } from 'js-yaml';
import type { AcmeIssuer } from '../../src/api/issuer.ts';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { Resources } from '../../src/kube/resources.ts';
import { startControlPlane, type ControlPlane } from '../env/controlplane.ts';
import { startChallTestSrv, startPebble, type ChallTestSrv, type Pebble } from '../env/pebble.ts';
import { freePort } from '../env/ports.ts';
import { certificate, clusterIssuer, createNamespace, issuer, waitForReady } from './helpers/objects.ts';
import { startOperator, type OperatorProcess } from './helpers/operator.ts';

const root = join(import.meta.dirname, '..', '..');
const crdsDir = join(root, 'crds');
const TENANT = 'tenant';
const GOOD = 'good';
// What the review measured: 400 MiB of directory took the operator from 82 to 510 MiB.
const HUGE_BYTES = 400 * 1024 * 1024;

let cp: ControlPlane;
let dns: ChallTestSrv;
let pebble: Pebble;
let client: KubeClient;
let operator: OperatorProcess;
let hostile: http.Server;
let hostileBase: string;
/** Bytes the hostile server wrote on each huge answer before the operator closed it (or all of them). */
const hugeWritten: number[] = [];
let trickles = 0;

/** The chart's memory limit, in bytes (resources.limits.memory in charts/certsmith/values.yaml). */
function chartMemoryLimit(): number {
  const values = load(readFileSync(join(root, 'charts/certsmith/values.yaml'), 'utf8')) as { resources: { limits: { memory: string } } };
  const m = /^(\d+)(Mi|Gi)$/.exec(values.resources.limits.memory);
  assert.ok(m, `a limit in Mi or Gi: ${values.resources.limits.memory}`);
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 ** 3 : 1024 ** 2);
}

/** VmHWM (the most resident memory the process ever had) and VmRSS, in bytes. */
async function memoryOf(pid: number): Promise<{ peak: number; now: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1]) * 1024;
  return { peak: kib('VmHWM'), now: kib('VmRSS') };
}

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MiB`;

function startHostileServer(): Promise<void> {
  hostile = http.createServer((req, res) => {
    req.resume();
    switch (req.url) {
      case '/huge/directory': {
        // A directory of HUGE_BYTES, sent as fast as the operator reads it.
        res.writeHead(200, { 'content-type': 'application/json' });
        const chunk = Buffer.alloc(1024 * 1024, ' ');
        let sent = 0;
        const pump = () => {
          while (!res.destroyed && sent < HUGE_BYTES) {
            sent += chunk.length;
            if (!res.write(chunk)) return void res.once('drain', pump);
          }
          if (!res.destroyed) res.end();
        };
        res.on('close', () => hugeWritten.push(sent));
        pump();
        return;
      }
      case '/trickle/directory': {
        trickles++;
        res.writeHead(200, { 'content-type': 'application/json' });
        const timer = setInterval(() => res.write(' '), 1_000);
        res.on('close', () => clearInterval(timer));
        return;
      }
      case '/ugly/directory':
        res.writeHead(500, { 'content-type': 'text/html' });
        res.end(`\x1b[2J\x1b[31mBOOM\x1b[0m\r\n<pre>\u202eoops\x00\n${'stack frame\n'.repeat(20_000)}</pre>`);
        return;
      default:
        res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => {
    hostile.listen(0, '127.0.0.1', () => {
      hostileBase = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
      resolve();
    });
  });
}

function acmeSpec(server: string, keySecret: string, extra: Partial<AcmeIssuer> = {}): AcmeIssuer {
  return { server, privateKeySecretRef: { name: keySecret }, solvers: [{ http01: {} }], ...extra };
}

before(async () => {
  const logDir = await mkdtemp(join(tmpdir(), 'certsmith-hostile-'));
  await startHostileServer();
  cp = await startControlPlane({ crdsDir });
  dns = await startChallTestSrv({ binDir: cp.binDir, logDir });
  const solverPort = await freePort();
  pebble = await startPebble({ binDir: cp.binDir, httpPort: solverPort, dnsServer: dns.dnsAddress, logDir, retryAfter: { authz: 1, order: 1 } });
  client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath });
  for (const ns of ['certsmith', TENANT, GOOD]) await createNamespace(client, ns);
  operator = startOperator({
    kubeconfigPath: cp.kubeconfigPath,
    logDir,
    args: [
      '--leader-elect=false',
      '--acme-http01-solver-host=127.0.0.1',
      `--acme-http01-solver-port=${solverPort}`,
      `--acme-http01-check-port=${solverPort}`,
      `--acme-recursive-nameservers=${dns.dnsAddress}`,
    ],
  });
});

after(async () => {
  await operator?.stop();
  hostile?.closeAllConnections();
  await new Promise((resolve) => hostile?.close(resolve));
  await pebble?.stop();
  await dns?.stop();
  await cp?.stop();
});

describe('a hostile ACME server named by a tenant', () => {
  it('is refused on each Issuer naming it, in a short printable line, while other issuers keep issuing and the operator stays within its memory limit', async (t) => {
    const limit = chartMemoryLimit();
    // The other issuers first, so the baseline is an operator at work (acme-client loaded, an account registered).
    await client.create(Resources.issuers, issuer(GOOD, 'selfsigned', { selfSigned: {} }));
    await client.create(
      Resources.clusterIssuers,
      clusterIssuer('pebble', {
        acme: acmeSpec(pebble.directoryUrl, 'pebble-account', { caBundle: readFileSync(pebble.caFile).toString('base64'), profile: 'default' }),
      }),
    );
    await waitForReady(client, Resources.issuers, GOOD, 'selfsigned');
    await waitForReady(client, Resources.clusterIssuers, undefined, 'pebble', undefined, 60_000);
    const before = await memoryOf(operator.pid());

    // The tenant's Issuers; their server is at work while everyone else issues.
    for (const kind of ['huge', 'trickle', 'ugly']) {
      await client.create(Resources.issuers, issuer(TENANT, kind, { acme: acmeSpec(`${hostileBase}/${kind}/directory`, `${kind}-account`) }));
    }
    const names = [
      ...Array.from({ length: 5 }, (_, i) => ({ name: `self-${i}`, issuerRef: { kind: 'Issuer' as const, name: 'selfsigned' } })),
      ...Array.from({ length: 2 }, (_, i) => ({ name: `acme-${i}`, issuerRef: { kind: 'ClusterIssuer' as const, name: 'pebble' } })),
    ];
    for (const c of names) {
      await client.create(
        Resources.certificates,
        certificate(GOOD, c.name, { secretName: `${c.name}-tls`, dnsNames: [`${c.name}.good.example.test`], issuerRef: c.issuerRef }),
      );
    }

    const refused = async (name: string, message: RegExp, timeoutMs: number) => {
      const obj = await waitForReady(client, Resources.issuers, TENANT, name, (c) => c.status === 'False', timeoutMs);
      const cond = obj.status!.conditions!.find((c) => c.type === 'Ready')!;
      t.diagnostic(`Issuer ${TENANT}/${name}: ${cond.reason}: ${cond.message}`);
      assert.equal(cond.reason, 'ACMEServerUnreachable');
      assert.match(cond.message ?? '', message);
      assert.ok((cond.message ?? '').length < 400, `a short message (${cond.message?.length} characters)`);
      assert.doesNotMatch(cond.message ?? '', /[\p{C}\n\r\u2028\u2029]/u, 'one printable line');
    };
    await refused('huge', /^GET http:\/\/127\.0\.0\.1:\d+\/huge\/directory answered more than 1 MiB, more than any ACME answer: refused$/, 60_000);
    await refused('ugly', /HTTP 500: \[2J \[31mBOOM \[0m <pre> oops stack frame stack frame .*…$/, 60_000);

    // Everyone else issues meanwhile; the trickle is still holding its request.
    for (const c of names) await waitForReady(client, Resources.certificates, GOOD, c.name, undefined, 120_000);
    await refused('trickle', /^cannot reach the ACME server 127\.0\.0\.1:\d+ \(no complete answer within 30 s\)$/, 120_000);
    assert.ok(trickles >= 1);

    const after = await memoryOf(operator.pid());
    t.diagnostic(
      `operator RSS: ${mib(before.now)} before the hostile Issuers (peak ${mib(before.peak)}), ${mib(after.now)} after, peak ${mib(after.peak)}; chart limit ${mib(limit)}; ` +
        `huge answers: ${hugeWritten.map(mib).join(', ')} written of ${mib(HUGE_BYTES)} each`,
    );
    assert.ok(after.peak < limit, `the operator's peak RSS ${mib(after.peak)} stays under the chart's limit ${mib(limit)}`);
    assert.ok(hugeWritten.length >= 1 && hugeWritten.every((n) => n < 64 * 1024 * 1024), 'the operator closed each huge answer early');
    assert.equal(operator.exitCode(), null, 'the operator is still running');
  });
});
