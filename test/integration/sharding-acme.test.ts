// ACME with --shards 3 against a real Pebble resolving through a real BIND9: Pebble reaches one replica's challenge
// server only, as a CA reaching whichever pod a Service picks, so two thirds of the challenges are answered by asking
// the replica that holds them. A replica killed while its orders are in flight hands them over: the new owner
// resumes them from status, and the Certificate watch counts every order URL ever recorded.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import type { Certificate } from '../../src/api/certificate.ts';
import type { KubeObject } from '../../src/api/meta.ts';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { Resources } from '../../src/kube/resources.ts';
import { shardLeaseName } from '../../src/sharding/coordinator.ts';
import { certificateShard, shardOf } from '../../src/sharding/shards.ts';
import { startBind, type Bind } from '../env/bind.ts';
import { startControlPlane, type ControlPlane } from '../env/controlplane.ts';
import { startPebble, type Pebble } from '../env/pebble.ts';
import { freePort } from '../env/ports.ts';
import { createPebbleIssuer } from './helpers/issuers.ts';
import { certificate, createNamespace, waitForReady } from './helpers/objects.ts';
import { startOperator, type OperatorProcess } from './helpers/operator.ts';
import { waitFor } from './helpers/wait.ts';

const crdsDir = join(import.meta.dirname, '..', '..', 'crds');
const NS = 'web';
const ZONE = 'shards.test';
const SHARDS = 3;
let cp: ControlPlane;
let bind: Bind;
let pebble: Pebble;
let client: KubeClient;
let logDir: string;
let solverPort: number;
const replicas = new Map<string, OperatorProcess>();
const watching = new AbortController();
/** Certificate name → every ACME order URL its status recorded. */
const orders = new Map<string, Set<string>>();

type Lease = KubeObject & { spec?: { holderIdentity?: string } };

async function holders(): Promise<(string | undefined)[]> {
  const out: (string | undefined)[] = [];
  for (let s = 0; s < SHARDS; s++)
    out.push((await client.get<Lease>(Resources.leases, 'certsmith', shardLeaseName('certsmith-operator', s)))?.spec?.holderIdentity || undefined);
  return out;
}

function start(name: string, solver = 0) {
  const op = startOperator({
    kubeconfigPath: cp.kubeconfigPath,
    logDir,
    name,
    args: [
      '--shards',
      String(SHARDS),
      `--acme-http01-solver-port=${solver}`,
      `--acme-http01-check-port=${solverPort}`,
      `--acme-recursive-nameservers=${bind.address}`,
      `--acme-dns01-check-nameservers=${bind.address}`,
    ],
  });
  replicas.set(name, op);
  return op;
}

async function watchCertificates(): Promise<void> {
  let resourceVersion = (await client.list<Certificate>(Resources.certificates, { namespace: NS })).resourceVersion;
  while (!watching.signal.aborted) {
    try {
      await client.watch<Certificate>(Resources.certificates, { namespace: NS, resourceVersion, timeoutSeconds: 60, signal: watching.signal }, (e) => {
        resourceVersion = e.object.metadata.resourceVersion ?? resourceVersion;
        const url = e.object.status?.acmeOrder?.orderURL;
        if (!url) return;
        const set = orders.get(e.object.metadata.name) ?? new Set<string>();
        set.add(url);
        orders.set(e.object.metadata.name, set);
      });
    } catch (err) {
      if (watching.signal.aborted) return;
      console.error(`certificate watch: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function createCertificates(prefix: string, count: number): Promise<string[]> {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${prefix}-${i}`;
    await client.create(
      Resources.certificates,
      certificate(NS, name, { secretName: `${name}-tls`, issuerRef: { kind: 'ClusterIssuer', name: 'pebble' }, dnsNames: [`${name}.${ZONE}`] }),
    );
    names.push(name);
  }
  return names;
}

const allReady = (names: readonly string[]) =>
  Promise.all(names.map((n) => waitForReady(client, Resources.certificates, NS, n, (c, o) => c.status === 'True' && o.status?.revision === 1, 180_000)));

before(async () => {
  logDir = await mkdtemp(join(tmpdir(), 'certsmith-shards-acme-'));
  cp = await startControlPlane({ crdsDir });
  bind = await startBind({ zones: [{ name: ZONE, records: ['* IN A 127.0.0.1'] }], logDir });
  solverPort = await freePort();
  pebble = await startPebble({ binDir: cp.binDir, httpPort: solverPort, dnsServer: bind.address, logDir, retryAfter: { authz: 1, order: 1 } });
  client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath });
  await createNamespace(client, 'certsmith');
  await createNamespace(client, NS);
  void watchCertificates();
  // Pebble (and every self-check) reaches replica-a's challenge server only.
  start('replica-a', solverPort);
  start('replica-b');
  start('replica-c');
  await waitFor(
    'one shard each',
    async () => {
      const h = await holders();
      return ['replica-a', 'replica-b', 'replica-c'].every((r) => h.filter((x) => x === r).length === 1) ? h : undefined;
    },
    { timeoutMs: 60_000 },
  );
  await createPebbleIssuer(client, pebble, 60_000);
});

after(async () => {
  watching.abort();
  await Promise.all([...replicas.values()].map((o) => o.stop()));
  await pebble?.stop();
  await bind?.stop();
  await cp?.stop();
});

it('issues over HTTP-01 in every shard, though the CA reaches one replica only', async () => {
  const names = await createCertificates('one', 12);
  await allReady(names);
  const h = await holders();
  const perHolder = new Map<string, number>();
  for (const n of names) {
    const c = (await client.get<Certificate>(Resources.certificates, NS, n))!;
    const shard = certificateShard(c, SHARDS);
    perHolder.set(h[shard]!, (perHolder.get(h[shard]!) ?? 0) + 1);
  }
  console.log(`issued by holder: ${JSON.stringify(Object.fromEntries(perHolder))}`);
  assert.ok((perHolder.get('replica-b') ?? 0) + (perHolder.get('replica-c') ?? 0) > 0, 'some were answered through a peer');
});

it('a replica killed with orders in flight: the new owner resumes them, at most one extra order, none issued twice', async () => {
  const h = await holders();
  const victim = 'replica-c';
  const shard = h.indexOf(victim);
  const names = await createCertificates('two', 15);
  const victims = names.filter((n) => shardOf(NS, `${n}-tls`, SHARDS) === shard);
  assert.ok(victims.length > 0, 'some Certificates fall in the victim’s shard');
  // Kill as soon as one of its orders is recorded and not yet finished.
  await waitFor('an order of the victim’s shard in flight', () => victims.some((n) => orders.has(n)), { timeoutMs: 60_000, intervalMs: 20 });
  await replicas.get(victim)!.kill();
  replicas.delete(victim);
  await allReady(names);
  const extra = names.reduce((sum, n) => sum + Math.max(0, (orders.get(n)?.size ?? 0) - 1), 0);
  console.log(`orders recorded for ${names.length} Certificates: ${names.reduce((s, n) => s + (orders.get(n)?.size ?? 0), 0)}; extra ${extra}`);
  assert.ok(extra <= 1, `${extra} extra orders after one kill`);
  for (const n of names) {
    const c = await client.get<Certificate>(Resources.certificates, NS, n);
    assert.equal(c?.status?.revision, 1, `${n} was issued once`);
  }
});
