// ACME issuance over DNS-01 against a real Pebble that resolves through a real BIND9 primary: the operator writes
// TXT records with RFC 2136 updates signed by TSIG (or through a webhook), checks BIND sees them, and removes them.
// BIND's zone also answers A 127.0.0.1 for every name, so HTTP-01 works for names split off to an http01 solver.
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AcmeChallengeStatus, Certificate, CertificateSpec } from '../../src/api/certificate.ts';
import { findCondition } from '../../src/api/conditions.ts';
import type { AcmeIssuer, AcmeSolver } from '../../src/api/issuer.ts';
import { parseServerAddress } from '../../src/acme/dns01/address.ts';
import { createRfc2136Provider } from '../../src/acme/dns01/rfc2136.ts';
import { exchange } from '../../src/acme/dns01/transport.ts';
import { decodeMessage, encodeQuery, RRType, txtValue } from '../../src/acme/dns01/wire.ts';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { Resources } from '../../src/kube/resources.ts';
import { describeCertificate, parseCertificatesPem } from '../../src/pki/index.ts';
import { systemClock } from '../../src/time/clock.ts';
import { startBind, type Bind } from '../env/bind.ts';
import { createTestCA } from '../env/certs.ts';
import { startControlPlane, type ControlPlane } from '../env/controlplane.ts';
import { startPebble, type Pebble } from '../env/pebble.ts';
import { freePort } from '../env/ports.ts';
import { certificate, clusterIssuer, createNamespace, decode, waitForReady, type Secret } from './helpers/objects.ts';
import { startOperator, type OperatorProcess } from './helpers/operator.ts';
import { waitFor } from './helpers/wait.ts';

const crdsDir = join(import.meta.dirname, '..', '..', 'crds');
const NS = 'dns';
const ZONE = 'dns01.test';
const tsig = { name: 'certsmith-update', algorithm: 'hmac-sha256', secret: randomBytes(32).toString('base64') };
let cp: ControlPlane;
let bind: Bind;
let pebble: Pebble;
let client: KubeClient;
let operator: OperatorProcess;

const rfc2136 = (secretName = 'tsig'): AcmeSolver['dns01'] => ({
  rfc2136: { nameserver: bind.address, tsigKeyName: tsig.name, tsigAlgorithm: 'HMACSHA256', tsigSecretSecretRef: { name: secretName } },
});

function acmeSpec(keySecret: string, solvers: AcmeSolver[]): AcmeIssuer {
  return {
    server: pebble.directoryUrl,
    caBundle: readFileSync(pebble.caFile).toString('base64'),
    privateKeySecretRef: { name: keySecret },
    solvers,
  };
}

async function createIssuer(name: string, solvers: AcmeSolver[]) {
  await client.create(Resources.clusterIssuers, clusterIssuer(name, { acme: acmeSpec(`${name}-account`, solvers) }));
  await waitForReady(client, Resources.clusterIssuers, undefined, name, undefined, 30_000);
}

function secret(name: string, data: Record<string, string>): Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: 'certsmith' },
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
  };
}

async function txtValues(fqdn: string): Promise<string[]> {
  const answer = decodeMessage(await exchange(parseServerAddress(bind.address), encodeQuery({ id: randomInt(0x10000), name: fqdn, type: RRType.TXT }), 3000));
  return answer.answers.flatMap((rr) => (rr.data.kind === 'TXT' ? [txtValue(rr.data)] : []));
}

async function leafOf(name: string) {
  const s = await client.get<Secret>(Resources.secrets, NS, `${name}-tls`);
  return describeCertificate(parseCertificatesPem(decode(s, 'tls.crt'))[0]!);
}

function create(name: string, issuerName: string, spec: Partial<CertificateSpec>) {
  return client.create(
    Resources.certificates,
    certificate(NS, name, { secretName: `${name}-tls`, issuerRef: { kind: 'ClusterIssuer', name: issuerName }, ...spec }),
  );
}

before(async () => {
  const logDir = await mkdtemp(join(tmpdir(), 'certsmith-dns01-'));
  cp = await startControlPlane({ crdsDir });
  bind = await startBind({ zones: [{ name: ZONE, records: ['* IN A 127.0.0.1'], tsigKeys: [tsig] }], logDir });
  const solverPort = await freePort();
  pebble = await startPebble({ binDir: cp.binDir, httpPort: solverPort, dnsServer: bind.address, logDir, retryAfter: { authz: 1, order: 1 } });
  client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath });
  await createNamespace(client, 'certsmith');
  await createNamespace(client, NS);
  await client.create(Resources.secrets, secret('tsig', { secret: tsig.secret }));
  await client.create(Resources.secrets, secret('tsig-wrong', { secret: randomBytes(32).toString('base64') }));
  operator = startOperator({
    kubeconfigPath: cp.kubeconfigPath,
    logDir,
    args: [
      '--leader-elect=false',
      `--acme-http01-solver-port=${solverPort}`,
      `--acme-http01-check-port=${solverPort}`,
      `--acme-recursive-nameservers=${bind.address}`,
      `--acme-dns01-check-nameservers=${bind.address}`,
    ],
  });
  await createIssuer('dns', [{ dns01: rfc2136() }]);
});

after(async () => {
  await operator?.stop();
  await pebble?.stop();
  await bind?.stop();
  await cp?.stop();
});

describe('DNS-01 through RFC 2136', () => {
  it('issues a wildcard with its apex, and leaves no challenge record behind', async () => {
    await create('wild', 'dns', { dnsNames: ['*.wild.dns01.test', 'wild.dns01.test'] });
    await waitForReady(client, Resources.certificates, NS, 'wild', undefined, 60_000);
    assert.deepEqual((await leafOf('wild')).dnsNames.sort(), ['*.wild.dns01.test', 'wild.dns01.test']);
    assert.deepEqual(await txtValues('_acme-challenge.wild.dns01.test.'), [], 'both TXT values were cleaned up');
  });

  it('splits one certificate across solvers by selector: HTTP-01 for one name, DNS-01 for the zone the selector names', async () => {
    await createIssuer('split', [{ http01: {} }, { selector: { dnsZones: ['split.dns01.test'] }, dns01: rfc2136() }]);
    await create('split', 'split', { dnsNames: ['web.dns01.test', 'x.split.dns01.test'] });
    const seen = new Map<string, string>();
    await waitFor(
      'the certificate to be issued',
      async () => {
        const c = await client.get<Certificate>(Resources.certificates, NS, 'split');
        for (const ch of c?.status?.acmeOrder?.challenges ?? ([] as AcmeChallengeStatus[])) seen.set(ch.identifier, ch.type);
        return findCondition(c?.status?.conditions, 'Ready')?.status === 'True';
      },
      { timeoutMs: 60_000, intervalMs: 20 },
    );
    assert.deepEqual(Object.fromEntries(seen), { 'web.dns01.test': 'http-01', 'x.split.dns01.test': 'dns-01' });
    assert.deepEqual((await leafOf('split')).dnsNames.sort(), ['web.dns01.test', 'x.split.dns01.test']);
  });
});

describe('DNS-01 through a webhook', () => {
  let server: Server;
  const received: { action: string; fqdn: string; zone: string | null; authorization?: string }[] = [];
  before(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'certsmith-webhook-'));
    const ca = await createTestCA(dir, 'webhook test CA');
    const serving = await ca.issue('webhook', { commonName: 'webhook', ipAddresses: ['127.0.0.1'] });
    // The webhook stands for a DNS provider's API: it writes the record into BIND with a key of its own.
    const provider = createRfc2136Provider({ nameserver: bind.address, tsigKeyName: tsig.name, tsigSecret: tsig.secret }, { clock: systemClock });
    server = createServer({ cert: readFileSync(serving.certFile), key: readFileSync(serving.keyFile) }, (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const r = JSON.parse(body) as { action: 'present' | 'cleanup'; fqdn: string; zone: string | null; value: string };
        received.push({ action: r.action, fqdn: r.fqdn, zone: r.zone, ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
        provider[r.action]({ fqdn: r.fqdn, value: r.value }).then(
          () => res.writeHead(204).end(),
          (err: Error) => res.writeHead(500).end(err.message),
        );
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    await client.create(Resources.secrets, secret('hook-token', { token: 'let-me-in' }));
    await createIssuer('hook', [
      {
        dns01: {
          webhook: {
            url: `https://127.0.0.1:${(server.address() as AddressInfo).port}/dns`,
            tokenSecretRef: { name: 'hook-token' },
            caBundle: Buffer.from(ca.certPem).toString('base64'),
          },
        },
      },
    ]);
  });
  after(() => server?.close());

  it('presents and cleans up through the endpoint, with the bearer token and the zone', async () => {
    await create('hooked', 'hook', { dnsNames: ['hooked.dns01.test'] });
    await waitForReady(client, Resources.certificates, NS, 'hooked', undefined, 60_000);
    await waitFor('the cleanup call', () => received.some((r) => r.action === 'cleanup'));
    assert.deepEqual(
      received.map((r) => [r.action, r.fqdn, r.zone, r.authorization]),
      [
        ['present', '_acme-challenge.hooked.dns01.test.', 'dns01.test.', 'Bearer let-me-in'],
        ['cleanup', '_acme-challenge.hooked.dns01.test.', 'dns01.test.', 'Bearer let-me-in'],
      ],
    );
    assert.deepEqual(await txtValues('_acme-challenge.hooked.dns01.test.'), []);
  });
});

describe('bad input', () => {
  it('a missing TSIG Secret is named in the condition', async () => {
    await createIssuer('no-tsig', [{ dns01: rfc2136('absent') }]);
    await create('no-tsig', 'no-tsig', { dnsNames: ['no-tsig.dns01.test'] });
    const c = await waitForReady(client, Resources.certificates, NS, 'no-tsig', (cond) => cond.status === 'False' && cond.reason === 'Failed', 30_000);
    assert.match(findCondition(c.status?.conditions, 'Ready')!.message ?? '', /the TSIG Secret certsmith\/absent does not exist/);
  });

  it('a TSIG key BIND does not accept is named in the condition', async () => {
    await createIssuer('bad-tsig', [{ dns01: rfc2136('tsig-wrong') }]);
    await create('bad-tsig', 'bad-tsig', { dnsNames: ['bad-tsig.dns01.test'] });
    const c = await waitForReady(client, Resources.certificates, NS, 'bad-tsig', (cond) => cond.status === 'False' && cond.reason === 'Failed', 30_000);
    assert.match(findCondition(c.status?.conditions, 'Ready')!.message ?? '', /BADSIG/);
    assert.match(findCondition(c.status?.conditions, 'Ready')!.message ?? '', new RegExp(tsig.name));
  });
});
