// Replicas with --shards 3 on the real control plane: the shards balance, a killed replica's shard moves within the
// lease duration and its Certificates keep renewing, 3 → 1 → 3 replicas loses nothing, a replica with another shard
// count refuses to run, and no Certificate revision is ever issued twice (every Secret write is watched and counted).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import type { Certificate } from '../../src/api/certificate.ts';
import { REVISION_ANNOTATION, RENEW_REVISION_ANNOTATION, SHARD_LABEL } from '../../src/api/labels.ts';
import type { KubeObject } from '../../src/api/meta.ts';
import type { SecretObject } from '../../src/api/secret.ts';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { Resources } from '../../src/kube/resources.ts';
import { shardLeaseName } from '../../src/sharding/coordinator.ts';
import { parseShardLabel, shardOf } from '../../src/sharding/shards.ts';
import { startControlPlane, type ControlPlane } from '../env/controlplane.ts';
import { certificate, clusterIssuer, createNamespace, editObject } from './helpers/objects.ts';
import { startOperator, type OperatorProcess } from './helpers/operator.ts';
import { waitFor } from './helpers/wait.ts';

const crdsDir = join(import.meta.dirname, '..', '..', 'crds');
const SHARDS = 3;
const NAMESPACES = ['team-a', 'team-b', 'team-c'];
let cp: ControlPlane;
let client: KubeClient;
let logDir: string;
const replicas = new Map<string, OperatorProcess>();
const watching = new AbortController();
/** "<namespace>/<secret>@<revision>" → the distinct tls.crt written for that revision. */
const written = new Map<string, Set<string>>();
let secretWrites = 0;
/** Revisions the test asked for: one per Certificate created, one per renewal requested. */
let revisionsAsked = 0;

type Lease = KubeObject & { spec?: { holderIdentity?: string } };

const start = (name: string, shards = SHARDS) =>
  replicas.set(name, startOperator({ kubeconfigPath: cp.kubeconfigPath, logDir, name, args: ['--shards', String(shards)] })).get(name)!;

async function holders(): Promise<(string | undefined)[]> {
  const out: (string | undefined)[] = [];
  for (let s = 0; s < SHARDS; s++) {
    const l = await client.get<Lease>(Resources.leases, 'certsmith', shardLeaseName('certsmith-operator', s));
    out.push(l?.spec?.holderIdentity || undefined);
  }
  return out;
}

/** Every shard held, each replica named holding exactly `each` (balance). */
const balanced = (names: string[], each: number) => async () => {
  const h = await holders();
  if (h.some((x) => !x || !names.includes(x))) return undefined;
  return names.every((n) => h.filter((x) => x === n).length === each) ? h : undefined;
};

async function createCertificates(prefix: string, count: number): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    const ns = NAMESPACES[i % NAMESPACES.length]!;
    const name = `${prefix}-${i}`;
    await client.create(
      Resources.certificates,
      certificate(ns, name, { secretName: `${name}-tls`, issuerRef: { kind: 'ClusterIssuer', name: 'selfsigned' }, dnsNames: [`${name}.example.test`] }),
    );
    keys.push(`${ns}/${name}`);
  }
  revisionsAsked += count;
  return keys;
}

/** Waits until each Certificate is Ready at least at `revision`; returns them. */
async function waitAllAtRevision(keys: readonly string[], revision: number, timeoutMs = 90_000): Promise<Certificate[]> {
  return waitFor(
    `${keys.length} Certificates Ready at revision ${revision}`,
    async () => {
      const all: Certificate[] = [];
      for (const ns of NAMESPACES) all.push(...(await client.list<Certificate>(Resources.certificates, { namespace: ns })).items);
      const byKey = new Map(all.map((c) => [`${c.metadata.namespace}/${c.metadata.name}`, c]));
      const lagging = keys.filter((k) => {
        const c = byKey.get(k);
        const ready = c?.status?.conditions?.find((x) => x.type === 'Ready');
        return !(ready?.status === 'True' && (c?.status?.revision ?? 0) >= revision && ready.observedGeneration === c?.metadata.generation);
      });
      if (lagging.length > 0) throw new Error(`${lagging.length} lagging, e.g. ${lagging.slice(0, 3).join(', ')}`);
      return keys.map((k) => byKey.get(k)!);
    },
    { timeoutMs, intervalMs: 1000 },
  );
}

async function renew(keys: readonly string[]): Promise<void> {
  revisionsAsked += keys.length;
  for (const k of keys) {
    const [ns, name] = k.split('/') as [string, string];
    await editObject<Certificate>(client, Resources.certificates, ns, name, (c) => ({
      ...c,
      metadata: { ...c.metadata, annotations: { ...c.metadata.annotations, [RENEW_REVISION_ANNOTATION]: String(c.status?.revision ?? 0) } },
    }));
  }
}

/** Records every Secret write in the test namespaces until the end of the file. */
async function watchSecrets(namespace: string): Promise<void> {
  let resourceVersion = (await client.list<SecretObject>(Resources.secrets, { namespace })).resourceVersion;
  while (!watching.signal.aborted) {
    try {
      await client.watch<SecretObject>(Resources.secrets, { namespace, resourceVersion, timeoutSeconds: 60, signal: watching.signal }, (e) => {
        resourceVersion = e.object.metadata.resourceVersion ?? resourceVersion;
        if (e.type !== 'ADDED' && e.type !== 'MODIFIED') return;
        const crt = e.object.data?.['tls.crt'];
        const revision = e.object.metadata.annotations?.[REVISION_ANNOTATION];
        if (!crt || !revision) return;
        const key = `${namespace}/${e.object.metadata.name}@${revision}`;
        const set = written.get(key) ?? new Set<string>();
        const before = set.size;
        set.add(createHash('sha256').update(crt).digest('hex'));
        written.set(key, set);
        if (set.size > before) secretWrites++;
      });
    } catch (err) {
      if (watching.signal.aborted) return;
      console.error(`secret watch: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

before(async () => {
  cp = await startControlPlane({ crdsDir });
  client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath });
  await createNamespace(client, 'certsmith');
  for (const ns of NAMESPACES) {
    await createNamespace(client, ns);
    void watchSecrets(ns);
  }
  logDir = await mkdtemp(join(tmpdir(), 'certsmith-shards-'));
  await client.create(Resources.clusterIssuers, clusterIssuer('selfsigned', { selfSigned: {} }));
});

after(async () => {
  watching.abort();
  await Promise.all([...replicas.values()].map((o) => o.stop()));
  await cp?.stop();
});

let certs: string[] = [];

it('three replicas each take one of three shards and issue every Certificate, writing its Secret with its shard label and the Certificate with none', async () => {
  for (const name of ['replica-a', 'replica-b', 'replica-c']) start(name);
  await waitFor('each replica holding one shard', balanced(['replica-a', 'replica-b', 'replica-c'], 1), { timeoutMs: 60_000 });
  certs = await createCertificates('first', 120);
  const ready = await waitAllAtRevision(certs, 1);
  const perShard = [0, 0, 0];
  for (const c of ready) {
    assert.equal(c.metadata.labels?.[SHARD_LABEL], undefined, `${c.metadata.name}: no write spent labelling a user's Certificate`);
    const shard = shardOf(c.metadata.namespace, c.spec!.secretName, SHARDS);
    perShard[shard]!++;
    const secret = await client.get<SecretObject>(Resources.secrets, c.metadata.namespace, c.spec!.secretName);
    assert.equal(parseShardLabel(secret?.metadata.labels?.[SHARD_LABEL], SHARDS), shard, `${c.spec!.secretName} carries its Secret name's hash shard`);
  }
  for (const n of perShard) assert.ok(n >= 20 && n <= 60, `shards hold ${perShard.join('/')} of 120`);
});

it('Certificates naming one Secret share a shard: one writes it, the others say who does, as without shards', async () => {
  const names = ['dup-a', 'dup-b', 'dup-c', 'dup-d'];
  for (const name of names) {
    await client.create(
      Resources.certificates,
      certificate('team-a', name, { secretName: 'shared-tls', issuerRef: { kind: 'ClusterIssuer', name: 'selfsigned' }, dnsNames: [`${name}.example.test`] }),
    );
    await new Promise((r) => setTimeout(r, 50));
  }
  const states = await waitFor(
    'one writer and three refused',
    async () => {
      const out: string[] = [];
      for (const name of names) {
        const c = await client.get<Certificate>(Resources.certificates, 'team-a', name);
        const ready = c?.status?.conditions?.find((x) => x.type === 'Ready');
        if (!ready) return undefined;
        out.push(`${name} ${ready.status} ${ready.reason}`);
      }
      return out.filter((x) => x.endsWith('True Issued') || x.includes(' True ')).length === 1 && out.filter((x) => x.includes('SecretInUse')).length === 3
        ? out
        : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  const writer = states.find((x) => x.includes(' True '))!.split(' ')[0];
  const secret = await client.get<SecretObject>(Resources.secrets, 'team-a', 'shared-tls');
  assert.equal(
    parseShardLabel(secret?.metadata.labels?.[SHARD_LABEL], SHARDS),
    shardOf('team-a', 'shared-tls', SHARDS),
    'the shard of the Secret name, for all four',
  );
  assert.equal(secret?.metadata.annotations?.['certsmith.dev/certificate-name'], writer, `the Secret is the writer's: ${states.join('; ')}`);
});

it('a killed replica’s shard moves to another within ~15 s, and its Certificates keep renewing', async () => {
  const before = await holders();
  const victim = 'replica-b';
  const lostShard = before.indexOf(victim);
  const killedAt = Date.now();
  await replicas.get(victim)!.kill();
  replicas.delete(victim);
  const after = await waitFor(
    `shard ${lostShard} held by a live replica`,
    async () => {
      const h = await holders();
      return h[lostShard] && h[lostShard] !== victim ? h : undefined;
    },
    { timeoutMs: 40_000, intervalMs: 200 },
  );
  const moveMs = Date.now() - killedAt;
  console.log(`shard ${lostShard} moved from ${victim} to ${after[lostShard]} in ${moveMs} ms`);
  assert.ok(moveMs <= 25_000, `the shard moved in ${moveMs} ms`);
  // Shards the survivors held stay where they were.
  for (let s = 0; s < SHARDS; s++) if (s !== lostShard) assert.equal(after[s], before[s]);

  const orphaned = certs.filter((k) => {
    const [ns, name] = k.split('/') as [string, string];
    return shardOf(ns, `${name}-tls`, SHARDS) === lostShard;
  });
  await renew(orphaned);
  await waitAllAtRevision(orphaned, 2);
});

it('3 → 1 → 3 replicas: the survivor works every shard, new replicas take their share back, nothing is lost or issued twice', async () => {
  // replica-b was killed; stopping replica-c gives its shard back at once.
  const stoppedAt = Date.now();
  assert.equal(await replicas.get('replica-c')!.stop(), 0);
  replicas.delete('replica-c');
  await waitFor('replica-a holding every shard', balanced(['replica-a'], SHARDS), { timeoutMs: 40_000, intervalMs: 200 });
  console.log(`one replica held all shards ${Date.now() - stoppedAt} ms after the scale-down`);
  const more = await createCertificates('second', 30);
  await waitAllAtRevision(more, 1);

  for (const name of ['replica-d', 'replica-e']) start(name);
  const scaledAt = Date.now();
  await waitFor('one shard each again', balanced(['replica-a', 'replica-d', 'replica-e'], 1), { timeoutMs: 60_000, intervalMs: 500 });
  console.log(`balanced again ${Date.now() - scaledAt} ms after the scale-up`);
  const last = await createCertificates('third', 30);
  await waitAllAtRevision(last, 1);

  // Every Certificate, old and new, renews once more under the new owners.
  const everyone = [...certs, ...more, ...last];
  const current = await waitAllAtRevision(everyone, 1);
  const revisions = new Map(current.map((c) => [`${c.metadata.namespace}/${c.metadata.name}`, c.status!.revision!]));
  await renew(everyone);
  const renewed = await waitAllAtRevision(everyone, 2);
  for (const c of renewed) {
    const key = `${c.metadata.namespace}/${c.metadata.name}`;
    assert.equal(c.status?.revision, revisions.get(key)! + 1, `${key} renewed exactly once`);
  }
});

it('a replica started with another shard count refuses to run and changes nothing', async () => {
  const before = await holders();
  const odd = start('replica-odd', 2);
  const code = await waitFor('replica-odd to exit', () => odd.exitCode() ?? undefined, { timeoutMs: 30_000 });
  replicas.delete('replica-odd');
  assert.notEqual(code, 0);
  const logs = await odd.logs();
  assert.match(logs, /ShardCountMismatch|--shards 3, this one with --shards 2/);
  assert.deepEqual(await holders(), before);
});

it('no Certificate revision was ever written with two different certificates', async () => {
  await new Promise((r) => setTimeout(r, 2000));
  const twice = [...written].filter(([, set]) => set.size > 1).map(([k]) => k);
  console.log(`${secretWrites} distinct Secret writes over ${written.size} revisions`);
  // The shared Secret's one revision besides those asked for.
  assert.equal(written.size, revisionsAsked + 1, 'every revision asked for was written, and no other');
  assert.deepEqual(twice, [], 'revisions issued twice');
});
