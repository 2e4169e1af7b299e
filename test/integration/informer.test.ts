// The informer against a real kube-apiserver: initial list, watch events, label selectors, watches the server
// closes, and an API server restart.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { KubeObject } from '../../src/api/meta.ts';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { createInformer, type Informer, type InformerOptions } from '../../src/kube/informer.ts';
import { Resources, type Resource } from '../../src/kube/resources.ts';
import { startControlPlane, type ControlPlane } from '../env/controlplane.ts';
import { waitFor } from './helpers/wait.ts';

const configMaps: Resource = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true };
type ConfigMap = KubeObject & { data?: Record<string, string> };

const log = pino({ level: process.env.CERTSMITH_TEST_VERBOSE ? 'debug' : 'silent' });
let cp: ControlPlane;
let client: KubeClient;
const informers: Informer<ConfigMap>[] = [];

before(async () => {
  cp = await startControlPlane({ withControllerManager: false });
  client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath });
});

after(async () => {
  for (const i of informers) i.stop();
  await cp?.stop();
});

async function namespace(name: string) {
  await client.create(Resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

function configMap(ns: string, name: string, data: Record<string, string> = {}, labels?: Record<string, string>): ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, ...(labels ? { labels } : {}) }, data };
}

async function edit(ns: string, name: string, change: (cm: ConfigMap) => void) {
  const cm = (await client.get<ConfigMap>(configMaps, ns, name))!;
  change(cm);
  await client.replace(configMaps, cm);
}

/**
 * Makes an informer that records callbacks as "add name", "update name", "delete name". It has a client of its own,
 * so its request counts show whether events came by watch (one list) or by relisting.
 */
function watched(opts: Partial<InformerOptions<ConfigMap>> & { namespace: string }) {
  const seen: string[] = [];
  const own = createKubeClient({ kubeconfigPath: cp.kubeconfigPath });
  const informer = createInformer<ConfigMap>({
    client: own,
    resource: configMaps,
    log,
    onAdd: (o) => seen.push(`add ${o.metadata.name}`),
    onUpdate: (_a, b) => seen.push(`update ${b.metadata.name}`),
    onDelete: (o) => seen.push(`delete ${o.metadata.name}`),
    ...opts,
  });
  informers.push(informer);
  return { informer, seen, lists: () => own.requestCounts().GET ?? 0, watches: () => own.requestCounts().WATCH ?? 0 };
}

const names = (i: Informer<ConfigMap>, ns?: string) =>
  i
    .list(ns)
    .map((o) => o.metadata.name)
    .sort();

describe('informer on a real API server', () => {
  it('lists the ConfigMaps that exist before it starts, and resolves start with them stored', async () => {
    await namespace('inf-list');
    for (const n of ['one', 'two', 'three']) await client.create(configMaps, configMap('inf-list', n, { n }));
    const { informer, seen } = watched({ namespace: 'inf-list' });
    await informer.start();
    assert.equal(informer.hasSynced(), true);
    assert.deepEqual(names(informer), ['one', 'three', 'two']);
    assert.deepEqual(seen.sort(), ['add one', 'add three', 'add two']);
    assert.deepEqual(informer.get('inf-list', 'two')?.data, { n: 'two' });
    assert.equal(informer.get('inf-list', 'two')?.kind, 'ConfigMap', 'list items carry their kind');
  });

  it('sees ConfigMaps added, updated and deleted', async () => {
    await namespace('inf-watch');
    const { informer, seen, lists } = watched({ namespace: 'inf-watch' });
    await informer.start();
    await client.create(configMaps, configMap('inf-watch', 'a', { v: '1' }));
    await waitFor('the add', () => informer.get('inf-watch', 'a'));
    await edit('inf-watch', 'a', (cm) => (cm.data = { v: '2' }));
    await waitFor('the update', () => informer.get('inf-watch', 'a')?.data?.v === '2');
    await client.delete(configMaps, 'inf-watch', 'a');
    await waitFor('the delete', () => informer.get('inf-watch', 'a') === undefined);
    assert.deepEqual(seen, ['add a', 'update a', 'delete a']);
    assert.equal(lists(), 1, 'one list; everything after it came by watch');
  });

  it('keeps text whole when a watch chunk ends inside a multi-byte character', async () => {
    await namespace('inf-utf8');
    const { informer } = watched({ namespace: 'inf-utf8' });
    await informer.start();
    // 3- and 4-byte characters over ~600 KiB: the stream is cut in many places, some inside a character.
    const text = 'é€😀'.repeat(70_000);
    await client.create(configMaps, configMap('inf-utf8', 'wide', { text }));
    const got = await waitFor('the add', () => informer.get('inf-utf8', 'wide'));
    assert.equal(got.data?.['text']?.length, text.length);
    assert.ok(got.data?.['text'] === text, 'no character replaced');
  });

  it('holds only objects matching its label selector, and treats relabelling as add or delete', async () => {
    await namespace('inf-labels');
    await client.create(configMaps, configMap('inf-labels', 'in', {}, { app: 'yes' }));
    await client.create(configMaps, configMap('inf-labels', 'out', {}, { app: 'no' }));
    const { informer, seen, lists } = watched({ namespace: 'inf-labels', labelSelector: 'app=yes' });
    await informer.start();
    assert.deepEqual(names(informer), ['in']);
    await client.create(configMaps, configMap('inf-labels', 'unlabelled'));
    await edit('inf-labels', 'out', (cm) => (cm.metadata.labels = { app: 'yes' }));
    await waitFor('the relabelled object', () => informer.get('inf-labels', 'out'));
    await edit('inf-labels', 'in', (cm) => (cm.metadata.labels = { app: 'no' }));
    await waitFor('the object labelled away', () => informer.get('inf-labels', 'in') === undefined);
    assert.deepEqual(names(informer), ['out']);
    assert.deepEqual(seen, ['add in', 'add out', 'delete in']);
    assert.equal(lists(), 1);
  });

  it('re-opens watches the server closes, without missing or repeating events', async () => {
    await namespace('inf-reopen');
    const { informer, seen, lists, watches } = watched({ namespace: 'inf-reopen', watchTimeoutSeconds: 1 });
    await informer.start();
    const created: string[] = [];
    // Spread over several one-second watches, so some writes land between a watch closing and the next opening.
    for (let i = 0; i < 12; i++) {
      const name = `cm-${String(i).padStart(2, '0')}`;
      await client.create(configMaps, configMap('inf-reopen', name));
      created.push(name);
      await new Promise((r) => setTimeout(r, 300));
    }
    await waitFor('every object', () => informer.list().length === created.length);
    assert.deepEqual(names(informer), created);
    assert.deepEqual(
      seen,
      created.map((n) => `add ${n}`),
      'each object added exactly once, in order',
    );
    assert.equal(lists(), 1, 'closed watches were re-opened from their resourceVersion, not relisted');
    assert.ok(watches() >= 3, `several watches were opened (${watches()})`);
  });

  it('recovers after the API server restarts: objects created afterwards arrive, and nothing is lost', async () => {
    await namespace('inf-restart');
    await client.create(configMaps, configMap('inf-restart', 'before'));
    const { informer, seen } = watched({ namespace: 'inf-restart' });
    await informer.start();
    await cp.restartApiserver();
    await client.create(configMaps, configMap('inf-restart', 'after'));
    await waitFor('the object created after the restart', () => informer.get('inf-restart', 'after'), { timeoutMs: 90_000 });
    await edit('inf-restart', 'before', (cm) => (cm.data = { changed: 'yes' }));
    await waitFor('an update after the restart', () => informer.get('inf-restart', 'before')?.data?.changed === 'yes');
    assert.deepEqual(names(informer), ['after', 'before']);
    assert.deepEqual(seen, ['add before', 'add after', 'update before']);
  });
});
