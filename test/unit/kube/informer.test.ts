// The informer's recovery paths (410, stalls, errors, relists) driven by a scripted API and a manual clock, so each
// case runs in milliseconds. The same informer against the real API server is in test/integration/informer.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { KubeObject } from '../../../src/api/meta.ts';
import type { KubeClient, ListOptions, WatchEvent, WatchOptions } from '../../../src/kube/client.ts';
import { KubeApiError } from '../../../src/kube/errors.ts';
import { createInformer, watchBackoffMs, type InformerOptions } from '../../../src/kube/informer.ts';
import type { Resource } from '../../../src/kube/resources.ts';
import type { Timers } from '../../../src/time/timers.ts';

const configMaps: Resource = { group: '', version: 'v1', plural: 'configmaps', kind: 'ConfigMap', namespaced: true };
type ConfigMap = KubeObject & { data?: Record<string, string> };

const settle = async () => {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
};

/** A clock and timers that move only when told. */
function manualTime() {
  let now = Date.parse('2026-01-01T00:00:00Z');
  let seq = 0;
  const pending = new Map<number, { at: number; fn: () => void }>();
  const timers: Timers = {
    setTimeout(fn, ms) {
      const id = ++seq;
      pending.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimeout(h) {
      pending.delete(h as number);
    },
  };
  return {
    clock: { now: () => new Date(now) },
    timers,
    pendingDelays: () => [...pending.values()].map((p) => p.at - now).sort((a, b) => a - b),
    /** Moves time forward, firing due timers in order and letting the promises they wake run. */
    async advance(ms: number) {
      const target = now + ms;
      for (;;) {
        let next: [number, { at: number; fn: () => void }] | undefined;
        for (const e of pending) if (e[1].at <= target && (!next || e[1].at < next[1].at)) next = e;
        if (!next) break;
        pending.delete(next[0]);
        now = next[1].at;
        next[1].fn();
        await settle();
      }
      now = target;
      await settle();
    },
  };
}

interface WatchSession {
  opts: WatchOptions;
  emit(type: WatchEvent<ConfigMap>['type'], obj: ConfigMap): void;
  end(): void;
  fail(err: Error): void;
  closed: boolean;
}

/** An in-memory API: objects with resourceVersions, paginated lists, and watches the test drives by hand. */
function scriptedApi() {
  const objects = new Map<string, ConfigMap>();
  let rv = 100;
  const watches: WatchSession[] = [];
  const lists: ListOptions[] = [];
  const listErrors: Error[] = [];
  const watchErrors: Error[] = [];

  function put(namespace: string, name: string, data: Record<string, string> = {}, labels?: Record<string, string>): ConfigMap {
    const obj: ConfigMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace, resourceVersion: String(++rv), ...(labels ? { labels } : {}) },
      data,
    };
    objects.set(`${namespace}/${name}`, obj);
    return obj;
  }
  function remove(namespace: string, name: string): ConfigMap {
    const obj = objects.get(`${namespace}/${name}`)!;
    objects.delete(`${namespace}/${name}`);
    rv++;
    return obj;
  }

  const notUsed = () => Promise.reject(new Error('not used by the informer'));
  const client: KubeClient = {
    server: 'https://scripted.invalid',
    get: notUsed,
    create: notUsed,
    replace: notUsed,
    apply: notUsed,
    mergePatch: notUsed,
    delete: notUsed,
    getPath: notUsed,
    requestCounts: () => ({}),
    async list<T extends KubeObject>(_r: Resource, o: ListOptions = {}) {
      lists.push(o);
      const err = listErrors.shift();
      if (err) throw err;
      // Only "key=value" selectors, enough for these cases.
      const [lk, lv] = o.labelSelector?.split('=') ?? [];
      const all = [...objects.values()].filter((x) => (!o.namespace || x.metadata.namespace === o.namespace) && (!lk || x.metadata.labels?.[lk] === lv));
      const from = Number(o.continue ?? 0);
      const limit = o.limit ?? all.length;
      const items = all.slice(from, from + limit).map((x) => structuredClone(x)) as unknown as T[];
      const more = from + limit < all.length;
      return { items, resourceVersion: String(rv), ...(more ? { continue: String(from + limit) } : {}) };
    },
    watch<T extends KubeObject>(_r: Resource, o: WatchOptions, onEvent: (e: WatchEvent<T>) => void) {
      const err = watchErrors.shift();
      if (err) return Promise.reject(err);
      return new Promise<void>((resolve, reject) => {
        const session: WatchSession = {
          opts: o,
          closed: false,
          emit: (type, obj) => onEvent({ type, object: structuredClone(obj) as unknown as T }),
          end: () => {
            session.closed = true;
            resolve();
          },
          fail: (e) => {
            session.closed = true;
            reject(e);
          },
        };
        o.signal.addEventListener('abort', () => session.end());
        watches.push(session);
      });
    },
  };
  return {
    client,
    put,
    remove,
    lists,
    watches,
    failNextList: (e: Error) => listErrors.push(e),
    failNextWatch: (e: Error) => watchErrors.push(e),
    openWatch: () => watches.find((w) => !w.closed),
    currentRv: () => String(rv),
  };
}

/** Records what the callbacks saw, as short strings ("add ns/name@rv"), in order. */
function harness(extra: Partial<InformerOptions<ConfigMap>> = {}) {
  const api = scriptedApi();
  const time = manualTime();
  const seen: string[] = [];
  const logLines: string[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void logLines.push(s) });
  const id = (o: ConfigMap) => `${o.metadata.namespace}/${o.metadata.name}@${o.metadata.resourceVersion}`;
  const make = (more: Partial<InformerOptions<ConfigMap>> = {}) =>
    createInformer<ConfigMap>({
      client: api.client,
      resource: configMaps,
      log,
      clock: time.clock,
      timers: time.timers,
      random: () => 0.5,
      watchTimeoutSeconds: 300,
      onAdd: (o) => seen.push(`add ${id(o)}`),
      onUpdate: (a, b) => seen.push(`update ${id(a)} -> ${b.metadata.resourceVersion}`),
      onDelete: (o) => seen.push(`delete ${id(o)}`),
      onResync: (o) => seen.push(`resync ${id(o)}`),
      ...extra,
      ...more,
    });
  return { api, time, seen, logLines, make };
}

/** The names in the store, in store order. */
const storedNames = (inf: { list(): ConfigMap[] }) => inf.list().map((o) => o.metadata.name);

describe('informer', () => {
  it('setLabelSelector relists at once: what left the selection is deleted, what entered it added, and the next watch uses it', async () => {
    const h = harness({ labelSelector: 'shard=a' });
    h.api.put('ns', 'one', {}, { shard: 'a' });
    h.api.put('ns', 'two', {}, { shard: 'b' });
    const inf = h.make();
    await inf.start();
    assert.deepEqual(storedNames(inf), ['one']);
    await settle();
    assert.equal(h.api.openWatch()?.opts.labelSelector, 'shard=a');
    h.seen.length = 0;
    await inf.setLabelSelector('shard=b');
    assert.deepEqual(storedNames(inf), ['two']);
    assert.deepEqual(h.seen, ['add ns/two@102', 'delete ns/one@101']);
    assert.equal(h.api.lists.at(-1)?.labelSelector, 'shard=b');
    await settle();
    assert.equal(h.api.openWatch()?.opts.labelSelector, 'shard=b');
    // No failure was counted: no backoff timer is pending beyond the watch's own.
    assert.equal(h.logLines.filter((l) => l.includes('list or watch failed')).length, 0);
    inf.stop();
  });

  it('keep stores only what it accepts, drops an object it stops accepting as a delete, and setKeep relists for a new choice', async () => {
    const byShard = (shard: string) => (o: ConfigMap) => o.data?.['shard'] === shard;
    const h = harness({ keep: byShard('a') });
    h.api.put('ns', 'one', { shard: 'a' });
    h.api.put('ns', 'two', { shard: 'b' });
    const inf = h.make();
    await inf.start();
    assert.deepEqual(storedNames(inf), ['one']);
    await settle();
    h.seen.length = 0;
    // Events: one of another choice is not stored; one that moves out leaves as a delete of what was stored.
    h.api.openWatch()!.emit('ADDED', h.api.put('ns', 'three', { shard: 'b' }));
    h.api.openWatch()!.emit('MODIFIED', h.api.put('ns', 'one', { shard: 'b' }));
    assert.deepEqual(inf.list(), []);
    assert.deepEqual(h.seen, ['delete ns/one@101']);
    h.seen.length = 0;
    await inf.setKeep(byShard('b'));
    assert.deepEqual(
      inf
        .list()
        .map((o) => o.metadata.name)
        .sort(),
      ['one', 'three', 'two'],
    );
    assert.deepEqual(h.seen.sort(), ['add ns/one@104', 'add ns/three@103', 'add ns/two@102']);
    // The watch is the whole resource: the choice is made here, not by the server.
    await settle();
    assert.equal(h.api.openWatch()?.opts.labelSelector, undefined);
    inf.stop();
  });

  it('setLabelSelector retries a failed relist with backoff and never watches the old selection from the new list', async () => {
    const h = harness({ labelSelector: 'shard=a' });
    h.api.put('ns', 'one', {}, { shard: 'a' });
    h.api.put('ns', 'two', {}, { shard: 'b' });
    const inf = h.make();
    await inf.start();
    await settle();
    h.api.failNextList(new Error('boom'));
    const done = inf.setLabelSelector('shard=b');
    await settle();
    assert.equal(h.logLines.filter((l) => l.includes('list or watch failed')).length, 1);
    await h.time.advance(2000);
    await done;
    assert.deepEqual(storedNames(inf), ['two']);
    assert.equal(h.api.openWatch()?.opts.labelSelector, 'shard=b');
    inf.stop();
  });

  it('resolves start only once every page of the list is stored, and emits one add per object', async () => {
    const h = harness();
    for (let i = 0; i < 1200; i++) h.api.put('ns', `cm-${String(i).padStart(4, '0')}`);
    const inf = h.make();
    let resolved = false;
    const started = inf.start().then(() => (resolved = true));
    assert.equal(inf.hasSynced(), false);
    await started;
    assert.equal(resolved, true);
    assert.equal(inf.hasSynced(), true);
    assert.equal(inf.list().length, 1200);
    assert.equal(h.seen.filter((s) => s.startsWith('add ')).length, 1200);
    assert.deepEqual(
      h.api.lists.map((l) => [l.limit, l.continue]),
      [
        [500, undefined],
        [500, '500'],
        [500, '1000'],
      ],
    );
    inf.stop();
  });

  it('applies watch events to the store and fires add, update and delete', async () => {
    const h = harness();
    h.api.put('ns', 'a');
    const inf = h.make();
    await inf.start();
    await settle();
    const w = h.api.openWatch()!;
    assert.equal(w.opts.resourceVersion, h.api.currentRv(), 'the watch starts where the list ended');
    w.emit('ADDED', h.api.put('ns', 'b', { k: 'v1' }));
    w.emit('MODIFIED', h.api.put('ns', 'b', { k: 'v2' }));
    w.emit('DELETED', h.api.remove('ns', 'a'));
    assert.deepEqual(inf.get('ns', 'b')?.data, { k: 'v2' });
    assert.equal(inf.get('ns', 'a'), undefined);
    assert.deepEqual(h.seen, ['add ns/a@101', 'add ns/b@102', 'update ns/b@102 -> 103', 'delete ns/a@101']);
    inf.stop();
  });

  it('re-opens a watch the server ended from the last resourceVersion, including a bookmark, without relisting', async () => {
    const h = harness();
    const inf = h.make();
    await inf.start();
    await settle();
    const first = h.api.openWatch()!;
    first.emit('ADDED', h.api.put('ns', 'a'));
    first.emit('BOOKMARK', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: '', resourceVersion: '555' } });
    await h.time.advance(300_000); // the server closes the watch after its timeout
    first.end();
    await settle();
    const second = h.api.openWatch()!;
    assert.notEqual(second, first);
    assert.equal(second.opts.resourceVersion, '555');
    assert.equal(h.api.lists.length, 1, 'no relist');
    inf.stop();
  });

  it('relists after 410 Gone and emits deletes, updates and adds for what changed meanwhile', async () => {
    const h = harness();
    h.api.put('ns', 'stays');
    h.api.put('ns', 'changes', { v: '1' });
    h.api.put('ns', 'goes');
    const inf = h.make();
    await inf.start();
    await settle();
    h.seen.length = 0;
    // Changes the informer never heard about, then the watch is told its resourceVersion is too old.
    h.api.remove('ns', 'goes');
    h.api.put('ns', 'changes', { v: '2' });
    h.api.put('ns', 'new');
    h.api.openWatch()!.fail(new KubeApiError('KubeGone', 410, 'too old resource version', 'Expired'));
    await settle();
    assert.equal(h.api.lists.length, 2, 'relisted at once, without backoff');
    assert.deepEqual(h.seen.sort(), ['add ns/new@106', 'delete ns/goes@103', 'update ns/changes@102 -> 105'].sort());
    assert.deepEqual(
      inf
        .list()
        .map((o) => o.metadata.name)
        .sort(),
      ['changes', 'new', 'stays'],
    );
    assert.ok(h.api.openWatch(), 'watching again');
    inf.stop();
  });

  it('backs off 1 s, 2 s, 4 s after watch errors, relists after the third, and starts over after a watch that worked', async () => {
    const h = harness();
    const inf = h.make();
    await inf.start();
    await settle();
    const unavailable = () => new KubeApiError('KubeUnavailable', 0, 'connect ECONNREFUSED');
    h.api.openWatch()!.fail(unavailable());
    await settle();
    assert.equal(h.api.openWatch(), undefined, 'no watch during the backoff');
    assert.deepEqual(h.time.pendingDelays(), [1000]);
    h.api.failNextWatch(unavailable());
    await h.time.advance(1000);
    assert.deepEqual(h.time.pendingDelays(), [2000]);
    h.api.failNextWatch(unavailable());
    await h.time.advance(2000);
    assert.deepEqual(h.time.pendingDelays(), [4000]);
    assert.equal(h.api.lists.length, 1);
    await h.time.advance(4000);
    assert.equal(h.api.lists.length, 2, 'relisted after three failures in a row');
    const healthy = h.api.openWatch()!;
    healthy.emit('ADDED', h.api.put('ns', 'a'));
    healthy.fail(unavailable());
    await settle();
    assert.deepEqual(h.time.pendingDelays(), [1000], 'a watch that delivered events starts the backoff over');
    await h.time.advance(1000);
    assert.equal(h.api.lists.length, 2, 'and does not relist');
    assert.ok(h.api.openWatch());
    inf.stop();
  });

  it('keeps retrying a list that fails, and resolves start once it succeeds', async () => {
    const h = harness();
    h.api.put('ns', 'a');
    h.api.failNextList(new KubeApiError('KubeUnavailable', 503, 'apiserver starting'));
    h.api.failNextList(new KubeApiError('KubeUnavailable', 503, 'apiserver starting'));
    const inf = h.make();
    let resolved = false;
    void inf.start().then(() => (resolved = true));
    await settle();
    assert.equal(resolved, false);
    await h.time.advance(1000);
    assert.equal(resolved, false);
    await h.time.advance(2000);
    assert.equal(resolved, true);
    assert.deepEqual(storedNames(inf), ['a']);
    inf.stop();
  });

  it('cuts a watch that stays silent past its timeout plus 60 s, and watches again', async () => {
    const h = harness();
    const inf = h.make();
    await inf.start();
    await settle();
    const stalled = h.api.openWatch()!;
    assert.equal(stalled.opts.timeoutSeconds, 300, 'timeout jittered around 300 s (pinned at the middle here)');
    await h.time.advance(359_000);
    assert.equal(stalled.closed, false, 'not yet');
    await h.time.advance(1000);
    assert.equal(stalled.closed, true, 'aborted by the watchdog');
    assert.equal(stalled.opts.signal.aborted, true);
    await h.time.advance(1000); // the backoff after a stall
    const next = h.api.openWatch();
    assert.ok(next && next !== stalled, 'a new watch is open');
    inf.stop();
  });

  it('does not cut a watch that keeps delivering events', async () => {
    const h = harness();
    const inf = h.make();
    await inf.start();
    await settle();
    const w = h.api.openWatch()!;
    for (let i = 0; i < 10; i++) {
      await h.time.advance(50_000);
      w.emit('ADDED', h.api.put('ns', `cm-${i}`));
    }
    assert.equal(w.closed, false);
    assert.equal(inf.list().length, 10);
    inf.stop();
  });

  it('backs off rather than spinning when the server closes watches at once without events', async () => {
    const h = harness();
    const inf = h.make();
    await inf.start();
    await settle();
    h.api.openWatch()!.end();
    await settle();
    assert.equal(h.api.openWatch(), undefined);
    assert.deepEqual(h.time.pendingDelays(), [1000]);
    inf.stop();
  });

  it('logs a callback that throws and keeps the store and the loop going', async () => {
    const h = harness();
    h.api.put('ns', 'a');
    const inf = h.make({
      onAdd: (o) => {
        if (o.metadata.name === 'a') throw new Error('handler bug');
        h.seen.push(`add ${o.metadata.name}`);
      },
    });
    await inf.start();
    await settle();
    h.api.openWatch()!.emit('ADDED', h.api.put('ns', 'b'));
    assert.deepEqual(h.seen, ['add b']);
    assert.ok(inf.get('ns', 'a'), 'the object is stored even though its handler threw');
    assert.ok(h.logLines.some((l) => l.includes('add handler failed') && l.includes('handler bug')));
    inf.stop();
  });

  it('calls onResync for every stored object each period, and never when resync is off', async () => {
    const h = harness();
    h.api.put('ns', 'a');
    h.api.put('ns', 'b');
    const inf = h.make({ resyncMs: 60_000 });
    await inf.start();
    await settle();
    await h.time.advance(120_000);
    assert.deepEqual(
      h.seen.filter((s) => s.startsWith('resync')),
      ['resync ns/a@101', 'resync ns/b@102', 'resync ns/a@101', 'resync ns/b@102'],
    );
    inf.stop();

    const off = harness();
    off.api.put('ns', 'a');
    const inf2 = off.make({ resyncMs: 0 });
    await inf2.start();
    await off.time.advance(600_000);
    assert.deepEqual(
      off.seen.filter((s) => s.startsWith('resync')),
      [],
    );
    inf2.stop();
  });

  it('stores what transform returns', async () => {
    const h = harness({ transform: (o) => ({ ...o, data: undefined }) });
    h.api.put('ns', 'a', { big: 'x'.repeat(1000) });
    const inf = h.make();
    await inf.start();
    assert.equal(inf.get('ns', 'a')?.data, undefined);
    assert.equal(inf.get('ns', 'a')?.metadata.name, 'a');
    inf.stop();
  });

  it('lists by namespace and gets by namespace and name', async () => {
    const h = harness();
    h.api.put('one', 'a');
    h.api.put('two', 'a');
    h.api.put('two', 'b');
    const inf = h.make();
    await inf.start();
    assert.deepEqual(
      inf
        .list('two')
        .map((o) => o.metadata.name)
        .sort(),
      ['a', 'b'],
    );
    assert.equal(inf.list().length, 3);
    assert.equal(inf.get('one', 'a')?.metadata.namespace, 'one');
    assert.equal(inf.get('one', 'b'), undefined);
    inf.stop();
  });

  it('keeps its indexes in step with adds, updates, deletes and relists', async () => {
    const h = harness({ indexers: { byKey: (o) => Object.values(o.data ?? {}) } });
    h.api.put('ns', 'a', { k: 'red' });
    h.api.put('ns', 'b', { k: 'red', j: 'blue' });
    const inf = h.make();
    await inf.start();
    await settle();
    const names = (v: string) =>
      inf
        .byIndex('byKey', v)
        .map((o) => o.metadata.name)
        .sort();
    assert.deepEqual([names('red'), names('blue')], [['a', 'b'], ['b']]);
    const w = h.api.openWatch()!;
    w.emit('MODIFIED', h.api.put('ns', 'a', { k: 'blue' }));
    w.emit('ADDED', h.api.put('other', 'c', { k: 'red' }));
    w.emit('DELETED', h.api.remove('ns', 'b'));
    assert.deepEqual([names('red'), names('blue')], [['c'], ['a']]);
    assert.deepEqual(
      inf.list('ns').map((o) => o.metadata.name),
      ['a'],
      'the namespace index too',
    );
    // Changes missed, then a relist: the indexes are rebuilt from what the server has.
    h.api.put('ns', 'a', { k: 'green' });
    h.api.openWatch()!.fail(new KubeApiError('KubeGone', 410, 'too old resource version', 'Expired'));
    await settle();
    assert.deepEqual([names('red'), names('blue'), names('green')], [['c'], [], ['a']]);
    assert.deepEqual(inf.byIndex('no-such-index', 'red'), []);
    inf.stop();
  });

  it('leaves out of an index an object its indexer throws on, and logs it', async () => {
    const h = harness({ indexers: { byKey: (o) => [o.data!['k']!.toUpperCase()] } });
    h.api.put('ns', 'good', { k: 'x' });
    h.api.put('ns', 'bad', {});
    const inf = h.make();
    await inf.start();
    assert.deepEqual(
      inf.byIndex('byKey', 'X').map((o) => o.metadata.name),
      ['good'],
    );
    assert.equal(inf.get('ns', 'bad')?.metadata.name, 'bad', 'still stored');
    assert.ok(h.logLines.some((l) => l.includes('indexer failed')));
    inf.stop();
  });

  it('stops at once: the watch is aborted, a backoff is cut short, and nothing fires afterwards', async () => {
    const h = harness();
    const inf = h.make();
    await inf.start();
    await settle();
    const w = h.api.openWatch()!;
    w.fail(new KubeApiError('KubeUnavailable', 0, 'reset'));
    await settle();
    assert.deepEqual(h.time.pendingDelays(), [1000]);
    inf.stop();
    await settle();
    assert.deepEqual(h.time.pendingDelays(), [], 'no timers left');
    await h.time.advance(60_000);
    assert.equal(h.api.openWatch(), undefined, 'no new watch');

    const h2 = harness();
    const inf2 = h2.make();
    await inf2.start();
    await settle();
    const w2 = h2.api.openWatch()!;
    inf2.stop();
    assert.equal(w2.opts.signal.aborted, true);
    w2.emit('ADDED', h2.api.put('ns', 'late'));
    assert.equal(inf2.get('ns', 'late'), undefined);
    assert.deepEqual(h2.seen, []);
  });

  it('resolves start when stopped before the first list succeeds, without claiming to be synced', async () => {
    const h = harness();
    h.api.failNextList(new KubeApiError('KubeUnavailable', 503, 'down'));
    const inf = h.make();
    const started = inf.start();
    await settle();
    inf.stop();
    await started;
    assert.equal(inf.hasSynced(), false);
  });

  it('tells every added handler, in the order they were added, after the handler given to createInformer', async () => {
    const h = harness();
    h.api.put('ns', 'a');
    const inf = h.make();
    const second: string[] = [];
    inf.addHandler({
      onAdd: (o) => h.seen.push(`second add ${o.metadata.name}`),
      onUpdate: (_a, b) => second.push(`update ${b.metadata.name}`),
      onDelete: (o) => second.push(`delete ${o.metadata.name}`),
    });
    inf.addHandler({ onAdd: (o) => h.seen.push(`third add ${o.metadata.name}`) });
    await inf.start();
    await settle();
    const w = h.api.openWatch()!;
    w.emit('MODIFIED', h.api.put('ns', 'a', { k: 'v' }));
    w.emit('DELETED', h.api.remove('ns', 'a'));
    assert.deepEqual(h.seen, ['add ns/a@101', 'second add a', 'third add a', 'update ns/a@101 -> 102', 'delete ns/a@102']);
    assert.deepEqual(second, ['update a', 'delete a']);
    inf.stop();
  });

  it('keeps telling the other handlers when one throws', async () => {
    const h = harness({ onAdd: () => {} });
    h.api.put('ns', 'a');
    const inf = h.make();
    inf.addHandler({
      onAdd: () => {
        throw new Error('first handler bug');
      },
    });
    inf.addHandler({ onAdd: (o) => h.seen.push(`after add ${o.metadata.name}`) });
    await inf.start();
    assert.deepEqual(h.seen, ['after add a']);
    assert.ok(h.logLines.some((l) => l.includes('add handler failed') && l.includes('first handler bug')));
    inf.stop();
  });

  it('stops telling a handler once it is removed, and tells one added after start only of what follows', async () => {
    const h = harness({ onAdd: undefined, onUpdate: undefined, onDelete: undefined, onResync: undefined, resyncMs: 60_000 });
    h.api.put('ns', 'a');
    const inf = h.make();
    const removed: string[] = [];
    const remove = inf.addHandler({ onAdd: (o) => removed.push(`add ${o.metadata.name}`), onResync: (o) => removed.push(`resync ${o.metadata.name}`) });
    await inf.start();
    await settle();
    const late: string[] = [];
    inf.addHandler({ onAdd: (o) => late.push(`add ${o.metadata.name}`), onResync: (o) => late.push(`resync ${o.metadata.name}`) });
    remove();
    remove(); // a second call changes nothing
    h.api.openWatch()!.emit('ADDED', h.api.put('ns', 'b'));
    await h.time.advance(60_000);
    assert.deepEqual(removed, ['add a']);
    assert.deepEqual(late, ['add b', 'resync a', 'resync b'], 'no replay of a, stored before it was added');
    inf.stop();
  });

  it('lets a handler remove itself while an event is being told', async () => {
    const h = harness({ onAdd: undefined });
    const inf = h.make();
    const seen: string[] = [];
    const removeFirst = inf.addHandler({
      onAdd: (o) => {
        seen.push(`first ${o.metadata.name}`);
        removeFirst();
      },
    });
    inf.addHandler({ onAdd: (o) => seen.push(`second ${o.metadata.name}`) });
    await inf.start();
    await settle();
    const w = h.api.openWatch()!;
    w.emit('ADDED', h.api.put('ns', 'a'));
    w.emit('ADDED', h.api.put('ns', 'b'));
    assert.deepEqual(seen, ['first a', 'second a', 'second b']);
    inf.stop();
  });

  const backoffCases = [
    { failures: 1, random: 0.5, want: 1000 },
    { failures: 2, random: 0.5, want: 2000 },
    { failures: 5, random: 0.5, want: 16_000 },
    { failures: 6, random: 0.5, want: 30_000 },
    { failures: 40, random: 0.5, want: 30_000 },
    { failures: 1, random: 0, want: 800 },
    { failures: 6, random: 0.999999, want: 30_000 },
    { failures: 5, random: 0, want: 12_800 },
  ];
  for (const c of backoffCases) {
    it(`waits ${c.want} ms after ${c.failures} failure(s) with jitter ${c.random}`, () => {
      assert.equal(
        watchBackoffMs(c.failures, () => c.random),
        c.want,
      );
    });
  }
});
