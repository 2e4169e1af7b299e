// List-then-watch cache of one resource that survives whatever the API server does to it: watches that end
// (re-opened from the last resourceVersion), 410 Gone (relist, emitting deletes for what vanished meanwhile),
// errors and restarts (backoff with jitter, relist after repeated failures), and silent stalls (a watchdog
// aborts a watch that stays quiet past its own timeout).
import type { Logger } from 'pino';
import type { KubeObject } from '../api/meta.ts';
import { systemClock, type Clock } from '../time/clock.ts';
import { createSleeper } from '../time/sleeper.ts';
import { realTimers, type Timers } from '../time/timers.ts';
import type { KubeClient, WatchEvent } from './client.ts';
import { isGone } from './errors.ts';
import type { Resource } from './resources.ts';

/** What a watcher of an informer is told. Every callback is optional; each runs on its own (one that throws is logged). */
export interface InformerHandler<T extends KubeObject> {
  onAdd?: (obj: T) => void;
  onUpdate?: (oldObj: T, newObj: T) => void;
  onDelete?: (obj: T) => void;
  /** Every stored object, each resync period (resyncMs). */
  onResync?: (obj: T) => void;
}

/** The callbacks given here are the first handler; addHandler() adds more. */
export interface InformerOptions<T extends KubeObject> extends InformerHandler<T> {
  client: KubeClient;
  resource: Resource;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Calls onResync for every stored object at this period; 0 or absent turns it off. */
  resyncMs?: number;
  /** Asked of the server per watch, jittered ±20% so many informers do not re-open together (default 300). */
  watchTimeoutSeconds?: number;
  log: Logger;
  /**
   * Keeps only the objects it accepts, deciding on each as it arrives (whole, before transform): for a selection no
   * label or field selector can make. An object it stops accepting leaves the store with onDelete. setKeep() changes it.
   */
  keep?: (obj: T) => boolean;
  /** Drops fields never read, to save memory; applied to every object before it is stored. */
  transform?: (obj: T) => T;
  /**
   * Named indexes: each function gives the values an object is found under with byIndex(name, value), so a handler
   * looking for "the Certificates naming this Secret" does not scan every Certificate (quadratic at 10,000).
   */
  indexers?: Record<string, (obj: T) => readonly string[]>;
  clock?: Clock;
  timers?: Timers;
  /** Source of jitter in [0, 1); tests pin it. */
  random?: () => number;
}

/** What starting and stopping an informer needs, whatever it holds: for lists of informers of different kinds. */
export type InformerLifecycle = Pick<Informer<KubeObject>, 'start' | 'stop' | 'hasSynced'>;

export interface Informer<T extends KubeObject> {
  /** Resolves once the first full list is in the store (or at once if stop() comes first: see hasSynced()). */
  start(): Promise<void>;
  stop(): void;
  hasSynced(): boolean;
  get(namespace: string | undefined, name: string): T | undefined;
  /** Every object, or those of one namespace (from a per-namespace index, not a scan). */
  list(namespace?: string): T[];
  /** The objects an indexer put under `value` (none for an unknown index). */
  byIndex(index: string, value: string): T[];
  /**
   * Adds a handler, called after those added before it; returns what removes it. Meant to be called before start():
   * a handler added later hears only the events that follow (no replay of what is stored — list() has it).
   */
  addHandler(handler: InformerHandler<T>): () => void;
  /**
   * Watches another label selection from now on: relists at once (objects no longer selected are deleted from the
   * store, with onDelete; new ones added, with onAdd) and resolves when the store holds the new selection.
   */
  setLabelSelector(selector: string): Promise<void>;
  /** Keeps what this accepts from now on (see InformerOptions.keep), by a relist as for setLabelSelector. */
  setKeep(keep: (obj: T) => boolean): Promise<void>;
}

const PAGE_SIZE = 500;
const BACKOFF_BASE_MS = 1000;
const BACKOFF_CAP_MS = 30_000;
/** Consecutive watch failures after which the resourceVersion is no longer trusted and the informer relists. */
const RELIST_AFTER_FAILURES = 3;
/** Extra silence allowed beyond a watch's own timeout before the watchdog declares the stream dead. */
const WATCHDOG_GRACE_MS = 60_000;

/** Delay before retry number `failures` (1-based): 1 s doubling, ±20% jitter, never above 30 s. */
export function watchBackoffMs(failures: number, random: () => number = Math.random): number {
  const base = BACKOFF_BASE_MS * 2 ** Math.min(Math.max(0, failures - 1), 10);
  return Math.min(Math.round(base * (0.8 + 0.4 * random())), BACKOFF_CAP_MS);
}

const keyOf = (ns: string | undefined, name: string) => `${ns ?? ''}/${name}`;
/** Built in: list(namespace) reads it. */
const NAMESPACE_INDEX = 'namespace';

export function createInformer<T extends KubeObject>(opts: InformerOptions<T>): Informer<T> {
  const clock = opts.clock ?? systemClock;
  const timers = opts.timers ?? realTimers;
  const random = opts.random ?? Math.random;
  const watchTimeout = opts.watchTimeoutSeconds ?? 300;
  const log = opts.log.child({
    informer: opts.resource.plural,
    ...(opts.namespace ? { namespace: opts.namespace } : {}),
    ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
  });
  let labelSelector = opts.labelSelector;
  let keep = opts.keep;
  /** Set by setLabelSelector and setKeep: the running watch is cut and the loop relists with the new selection. */
  let reselect: PromiseWithResolvers<void> | undefined;
  let relisted: PromiseWithResolvers<void> | undefined;
  const store = new Map<string, T>();
  const indexers: Record<string, (obj: T) => readonly string[]> = {
    [NAMESPACE_INDEX]: (o) => [o.metadata.namespace ?? ''],
    ...opts.indexers,
  };
  /** index name → value → keys of the objects under it. */
  const indexes = new Map<string, Map<string, Set<string>>>(Object.keys(indexers).map((n) => [n, new Map()]));
  let resourceVersion = '';
  let synced = false;
  let stopped = false;
  let running: Promise<void> | undefined;
  let watchAbort: AbortController | undefined;
  const pause = createSleeper(timers);
  let resyncHandle: unknown;
  /** Consecutive list/watch failures; any event from the server proves it works again and clears it. */
  let failures = 0;
  let resolveStarted: () => void = () => {};
  const started = new Promise<void>((r) => (resolveStarted = r));
  /** Replaced, never changed in place, so a handler added or removed during an emit does not disturb it. */
  let handlers: readonly InformerHandler<T>[] = [];
  function addHandler(handler: InformerHandler<T>): () => void {
    const own = { ...handler };
    handlers = [...handlers, own];
    return () => {
      handlers = handlers.filter((h) => h !== own);
    };
  }
  if (opts.onAdd || opts.onUpdate || opts.onDelete || opts.onResync) {
    addHandler({ onAdd: opts.onAdd, onUpdate: opts.onUpdate, onDelete: opts.onDelete, onResync: opts.onResync });
  }

  /** Runs one handler; whatever it throws is logged and never reaches the loop or the other handlers. */
  function call(what: string, fn: () => void) {
    try {
      fn();
    } catch (err) {
      log.error({ err: (err as Error)?.message ?? String(err) }, `${what} handler failed`);
    }
  }
  function emitAdd(obj: T) {
    for (const h of handlers) if (h.onAdd) call('add', () => h.onAdd!(obj));
  }
  function emitUpdate(prev: T, obj: T) {
    for (const h of handlers) if (h.onUpdate) call('update', () => h.onUpdate!(prev, obj));
  }
  function emitDelete(obj: T) {
    for (const h of handlers) if (h.onDelete) call('delete', () => h.onDelete!(obj));
  }

  function shape(obj: T): T {
    if (!opts.transform) return obj;
    try {
      return opts.transform(obj);
    } catch (err) {
      log.error({ err: (err as Error)?.message ?? String(err) }, 'transform failed; kept the object whole');
      return obj;
    }
  }

  function valuesOf(index: string, obj: T): readonly string[] {
    try {
      return indexers[index]!(obj);
    } catch (err) {
      log.error({ err: (err as Error)?.message ?? String(err), index }, 'indexer failed; object left out of the index');
      return [];
    }
  }

  /** Puts the object in the store and its indexes, out of those of the object it replaces. */
  function put(k: string, obj: T) {
    const prev = store.get(k);
    if (prev) unindex(k, prev);
    store.set(k, obj);
    for (const [index, byValue] of indexes) {
      for (const v of valuesOf(index, obj)) {
        let keys = byValue.get(v);
        if (!keys) byValue.set(v, (keys = new Set()));
        keys.add(k);
      }
    }
  }

  function remove(k: string) {
    const prev = store.get(k);
    if (!prev) return;
    unindex(k, prev);
    store.delete(k);
  }

  function unindex(k: string, obj: T) {
    for (const [index, byValue] of indexes) {
      for (const v of valuesOf(index, obj)) {
        const keys = byValue.get(v);
        keys?.delete(k);
        if (keys?.size === 0) byValue.delete(v);
      }
    }
  }

  function lookup(index: string, value: string): T[] {
    const keys = indexes.get(index)?.get(value);
    if (!keys) return [];
    const out: T[] = [];
    for (const k of keys) {
      const o = store.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  /** Lists every page, swaps the store in one step, then emits what changed against the previous store. */
  async function relist(): Promise<void> {
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await opts.client.list<T>(opts.resource, {
        namespace: opts.namespace,
        labelSelector,
        fieldSelector: opts.fieldSelector,
        limit: PAGE_SIZE,
        continue: cont,
      });
      if (stopped) return;
      for (const item of page.items) if (!keep || keep(item)) fresh.set(keyOf(item.metadata.namespace, item.metadata.name), shape(item));
      cont = page.continue;
      rv = page.resourceVersion;
    } while (cont);
    const previous = new Map(store);
    store.clear();
    for (const byValue of indexes.values()) byValue.clear();
    for (const [k, obj] of fresh) put(k, obj);
    resourceVersion = rv;
    for (const [k, obj] of fresh) {
      const prev = previous.get(k);
      if (!prev) emitAdd(obj);
      else if (prev.metadata.resourceVersion !== obj.metadata.resourceVersion) emitUpdate(prev, obj);
    }
    for (const [k, obj] of previous) if (!fresh.has(k)) emitDelete(obj);
    log.debug({ objects: store.size, resourceVersion }, 'listed');
  }

  function applyEvent(event: WatchEvent<T>) {
    if (stopped) return;
    if (event.type === 'BOOKMARK') {
      resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion;
      return;
    }
    if (event.type !== 'ADDED' && event.type !== 'MODIFIED' && event.type !== 'DELETED') return;
    resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion;
    const k = keyOf(event.object.metadata.namespace, event.object.metadata.name);
    const prev = store.get(k);
    // An object no longer kept is gone for this store's watchers, as if deleted.
    const gone = event.type === 'DELETED' || (keep !== undefined && !keep(event.object));
    if (gone) {
      if (!prev) return;
      remove(k);
      emitDelete(event.type === 'DELETED' ? shape(event.object) : prev);
      return;
    }
    const obj = shape(event.object);
    put(k, obj);
    if (prev) emitUpdate(prev, obj);
    else emitAdd(obj);
  }

  /**
   * One watch from the current resourceVersion. Returns 'ended' when the server closed it in due course, and
   * 'stalled' when it went quiet (the watchdog cut it) or closed at once without a word (a server going down).
   */
  async function watchOnce(): Promise<'ended' | 'stalled'> {
    const seconds = Math.max(1, Math.round(watchTimeout * (0.8 + 0.4 * random())));
    const silenceLimitMs = seconds * 1000 + WATCHDOG_GRACE_MS;
    const controller = new AbortController();
    watchAbort = controller;
    const openedAt = clock.now().getTime();
    let lastActivity = openedAt;
    let events = 0;
    let cutByWatchdog = false;
    let watchdog: unknown;
    const arm = (ms: number) => {
      watchdog = timers.setTimeout(() => {
        const quiet = clock.now().getTime() - lastActivity;
        if (quiet < silenceLimitMs) return arm(silenceLimitMs - quiet);
        cutByWatchdog = true;
        log.warn({ quietMs: quiet }, 'watch went silent; reopening it');
        controller.abort();
      }, ms);
    };
    arm(silenceLimitMs);
    try {
      await opts.client.watch<T>(
        opts.resource,
        {
          namespace: opts.namespace,
          labelSelector,
          fieldSelector: opts.fieldSelector,
          resourceVersion,
          timeoutSeconds: seconds,
          signal: controller.signal,
        },
        (e) => {
          lastActivity = clock.now().getTime();
          events++;
          failures = 0;
          applyEvent(e);
        },
      );
    } finally {
      timers.clearTimeout(watchdog);
      if (watchAbort === controller) watchAbort = undefined;
    }
    if (cutByWatchdog) return 'stalled';
    // A healthy server holds a watch open for its timeout; one closed early and empty must not be re-opened in
    // a tight loop.
    const lasted = clock.now().getTime() - openedAt;
    return events === 0 && lasted < (seconds * 1000) / 2 ? 'stalled' : 'ended';
  }

  async function loop(): Promise<void> {
    let needList = true;
    while (!stopped) {
      let failure: unknown;
      let reselectFailed = false;
      try {
        if (reselect) {
          relisted = reselect;
          reselect = undefined;
          needList = true;
        }
        if (needList) {
          await relist();
          relisted?.resolve();
          relisted = undefined;
          if (stopped) break;
          needList = false;
          if (!synced) {
            synced = true;
            resolveStarted();
          }
        }
        const outcome = await watchOnce();
        if (outcome === 'ended') failures = 0;
        else failure = new Error('watch stalled or closed early');
      } catch (err) {
        failure = err;
        // A relist for a new selection failed: the next attempt must relist too, never watch from the old one.
        if (relisted) {
          reselect ??= relisted;
          relisted = undefined;
          reselectFailed = true;
        }
      }
      if (stopped) break;
      // The watch was cut to change the selection, not by a failure.
      if (reselect && !reselectFailed) continue;
      if (failure === undefined) continue;
      if (isGone(failure)) {
        log.info('resourceVersion expired; relisting');
        needList = true;
        continue;
      }
      failures++;
      // After repeated failures the resourceVersion may be what the server refuses: start over from a list.
      if (failures >= RELIST_AFTER_FAILURES) needList = true;
      const delay = watchBackoffMs(failures, random);
      const err = failure as { message?: string; code?: string };
      log.warn({ err: err?.message ?? String(failure), code: err?.code, failures, retryInMs: delay }, 'list or watch failed');
      await pause.sleep(delay);
    }
  }

  /** Cuts the running watch so the loop relists with the current selection; resolves when the store holds it. */
  function relistNow(): Promise<void> {
    if (!running || stopped) return Promise.resolve();
    reselect ??= Promise.withResolvers<void>();
    const done = reselect.promise;
    watchAbort?.abort();
    pause.wake();
    return done;
  }

  function scheduleResync(periodMs: number) {
    resyncHandle = timers.setTimeout(() => {
      if (stopped) return;
      const resyncing = handlers.filter((h) => h.onResync);
      if (synced && resyncing.length > 0) {
        for (const obj of [...store.values()]) for (const h of resyncing) call('resync', () => h.onResync!(obj));
      }
      scheduleResync(periodMs);
    }, periodMs);
  }

  return {
    start() {
      if (!running && !stopped) {
        running = loop().catch((err: unknown) => {
          // The loop catches everything it awaits; reaching here is a bug worth a loud log, not a crash.
          log.error({ err: (err as Error)?.message ?? String(err) }, 'informer loop ended unexpectedly');
        });
        if (opts.resyncMs && opts.resyncMs > 0) scheduleResync(opts.resyncMs);
      }
      return started;
    },
    stop() {
      if (stopped) return;
      stopped = true;
      reselect?.resolve();
      relisted?.resolve();
      watchAbort?.abort();
      pause.wake();
      if (resyncHandle !== undefined) timers.clearTimeout(resyncHandle);
      resolveStarted();
    },
    setLabelSelector(selector) {
      if (selector === labelSelector && !reselect) return Promise.resolve();
      labelSelector = selector;
      return relistNow();
    },
    setKeep(accept) {
      keep = accept;
      return relistNow();
    },
    hasSynced: () => synced,
    get: (ns, name) => store.get(keyOf(ns, name)),
    list: (ns) => (ns === undefined ? [...store.values()] : lookup(NAMESPACE_INDEX, ns)),
    byIndex: lookup,
    addHandler,
  };
}
