// List-then-watch cache of one resource, that survives everything the API server does to it: watches that end
// (re-opened from the last resourceVersion), 410 Gone (relist, emitting deletes for what vanished meanwhile),
// errors and restarts (backoff with jitter), and silent stalls (a watchdog aborts a watch that goes quiet).
import type { Logger } from 'pino';
import type { KubeObject } from '../api/meta.ts';
import type { KubeClient, WatchEvent } from './client.ts';
import { isGone } from './errors.ts';
import type { Resource } from './resources.ts';

export interface InformerOptions<T extends KubeObject> {
  client: KubeClient;
  resource: Resource;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  resyncMs?: number;
  watchTimeoutSeconds?: number;
  log: Logger;
  onAdd?: (obj: T) => void;
  onUpdate?: (oldObj: T, newObj: T) => void;
  onDelete?: (obj: T) => void;
  onResync?: (obj: T) => void;
  /** Drop fields never read, to save memory. */
  transform?: (obj: T) => T;
}

export interface Informer<T extends KubeObject> {
  start(): Promise<void>;
  stop(): void;
  hasSynced(): boolean;
  get(namespace: string | undefined, name: string): T | undefined;
  list(namespace?: string): T[];
}

const key = (ns: string | undefined, name: string) => `${ns ?? ''}/${name}`;

export function createInformer<T extends KubeObject>(opts: InformerOptions<T>): Informer<T> {
  const store = new Map<string, T>();
  const log = opts.log.child({ informer: opts.resource.plural });
  const transform = opts.transform ?? ((o: T) => o);
  let resourceVersion = '';
  let synced = false;
  let stopped = false;
  let abort: AbortController | undefined;
  let resyncTimer: NodeJS.Timeout | undefined;
  let firstSync: { resolve: () => void; reject: (e: Error) => void } | undefined;

  const safe = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (err) {
      log.error({ err: (err as Error).message }, `${what} handler failed`);
    }
  };

  async function relist(): Promise<void> {
    const fresh = new Map<string, T>();
    let cont: string | undefined;
    let rv = '';
    do {
      const page = await opts.client.list<T>(opts.resource, {
        namespace: opts.namespace,
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
        limit: 500,
        continue: cont,
      });
      for (const item of page.items) fresh.set(key(item.metadata.namespace, item.metadata.name), transform(item));
      cont = page.continue;
      rv = page.resourceVersion;
    } while (cont);
    const old = new Map(store);
    store.clear();
    for (const [k, obj] of fresh) store.set(k, obj);
    resourceVersion = rv;
    for (const [k, obj] of fresh) {
      const prev = old.get(k);
      if (!prev) safe('add', () => opts.onAdd?.(obj));
      else if (prev.metadata.resourceVersion !== obj.metadata.resourceVersion) safe('update', () => opts.onUpdate?.(prev, obj));
    }
    for (const [k, obj] of old) if (!fresh.has(k)) safe('delete', () => opts.onDelete?.(obj));
  }

  function apply(event: WatchEvent<T>) {
    if (event.type === 'BOOKMARK') {
      resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion;
      return;
    }
    const obj = transform(event.object);
    const k = key(obj.metadata.namespace, obj.metadata.name);
    resourceVersion = obj.metadata.resourceVersion ?? resourceVersion;
    const prev = store.get(k);
    if (event.type === 'DELETED') {
      store.delete(k);
      safe('delete', () => opts.onDelete?.(obj));
    } else {
      store.set(k, obj);
      if (prev) safe('update', () => opts.onUpdate?.(prev, obj));
      else safe('add', () => opts.onAdd?.(obj));
    }
  }

  async function watchOnce(): Promise<void> {
    const timeout = opts.watchTimeoutSeconds ?? 300;
    const seconds = Math.round(timeout * (0.8 + Math.random() * 0.4));
    abort = new AbortController();
    const controller = abort;
    // Watchdog: the server closes the watch after `seconds`; silence much longer than that means a dead stream.
    let lastActivity = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - lastActivity > (seconds + 60) * 1000) {
        log.warn('watch went silent; restarting it');
        controller.abort();
      }
    }, 10_000);
    watchdog.unref();
    try {
      await opts.client.watch<T>(
        opts.resource,
        {
          namespace: opts.namespace,
          labelSelector: opts.labelSelector,
          fieldSelector: opts.fieldSelector,
          resourceVersion,
          timeoutSeconds: seconds,
          signal: controller.signal,
        },
        (e) => {
          lastActivity = Date.now();
          apply(e);
        },
      );
    } finally {
      clearInterval(watchdog);
    }
  }

  async function run(): Promise<void> {
    let failures = 0;
    let needList = true;
    while (!stopped) {
      try {
        if (needList) {
          await relist();
          needList = false;
          if (!synced) {
            synced = true;
            firstSync?.resolve();
          }
        }
        await watchOnce();
        failures = 0;
      } catch (err) {
        if (stopped) break;
        if (isGone(err)) {
          log.info('resourceVersion expired; relisting');
          needList = true;
          continue;
        }
        failures++;
        // After repeated failures the resourceVersion may be stale too: start over from a list.
        if (failures >= 3) needList = true;
        const delay = Math.min(1000 * 2 ** (failures - 1), 30_000) * (0.5 + Math.random() * 0.5);
        log.warn({ err: (err as Error).message, retryInMs: Math.round(delay) }, 'list/watch failed');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  return {
    start() {
      const done = new Promise<void>((resolve, reject) => (firstSync = { resolve, reject }));
      void run();
      if (opts.resyncMs && opts.resyncMs > 0) {
        resyncTimer = setInterval(() => {
          for (const obj of store.values()) safe('resync', () => opts.onResync?.(obj));
        }, opts.resyncMs);
        resyncTimer.unref();
      }
      return done;
    },
    stop() {
      stopped = true;
      abort?.abort();
      if (resyncTimer) clearInterval(resyncTimer);
    },
    hasSynced: () => synced,
    get: (ns, name) => store.get(key(ns, name)),
    list(ns) {
      const all = [...store.values()];
      return ns === undefined ? all : all.filter((o) => o.metadata.namespace === ns);
    },
  };
}
