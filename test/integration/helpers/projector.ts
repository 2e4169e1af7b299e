// A kubelet for tests: watches one Secret or ConfigMap on the real API server (through the operator's own informer)
// and projects it into a directory the way the kubelet updates a volume (pkg/volume/util/atomic_writer.go): the
// payload goes into a new `..YYYY_MM_DD_hh_mm_ss.nnnnnnnnn` directory, a `..data_tmp` symlink to it is renamed over
// `..data` (the one atomic step), the visible files are symlinks `key -> ..data/key`, files no longer in the payload
// are removed, then the old timestamped directory. Like the kubelet, it writes only when the payload changed and
// keeps the last payload when the object is deleted. Unlike the kubelet it writes at once (no sync period), so a
// test's propagation delay can be short.
import { randomInt } from 'node:crypto';
import { mkdir, readdir, readlink, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { KubeObject } from '../../../src/api/meta.ts';
import type { KubeClient } from '../../../src/kube/client.ts';
import { createInformer } from '../../../src/kube/informer.ts';
import { Resources } from '../../../src/kube/resources.ts';
import { waitFor } from './wait.ts';

interface DataObject extends KubeObject {
  data?: Record<string, string>;
}

export interface Projection {
  /** The `..data` target, e.g. `..2026_11_29_13_05_01.123456789`. */
  dir: string;
  /** The object's resourceVersion this payload came from. */
  resourceVersion: string;
  /** performance.now() right after the `..data` rename. */
  swappedAt: number;
  payload: Map<string, Buffer>;
}

export interface Projector {
  readonly dir: string;
  /** Every payload written, oldest first. */
  readonly projections: readonly Projection[];
  /** Resolves after the first payload is in place. */
  ready(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ProjectorOptions {
  client: KubeClient;
  log: Logger;
  kind: 'Secret' | 'ConfigMap';
  namespace: string;
  name: string;
  /** The mount point; created when missing. */
  dir: string;
  /** Only these keys (a volume's `items`); default every key. */
  keys?: readonly string[];
  onProjected?: (p: Projection) => void;
}

/** `..2006_01_02_15_04_05.` as the kubelet formats it (UTC), then nine digits as Go's TempDir suffix would be. */
export function timestampedDirName(now: Date, suffix = String(randomInt(1e9)).padStart(9, '0')): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `..${now.getUTCFullYear()}_${pad(now.getUTCMonth() + 1)}_${pad(now.getUTCDate())}_${pad(now.getUTCHours())}_${pad(now.getUTCMinutes())}_${pad(now.getUTCSeconds())}.${suffix}`;
}

function payloadOf(kind: ProjectorOptions['kind'], obj: DataObject, keys: readonly string[] | undefined): Map<string, Buffer> {
  const data = obj.data ?? {};
  const out = new Map<string, Buffer>();
  for (const key of Object.keys(data).sort()) {
    if (keys && !keys.includes(key)) continue;
    out.set(key, kind === 'Secret' ? Buffer.from(data[key]!, 'base64') : Buffer.from(data[key]!, 'utf8'));
  }
  return out;
}

function samePayload(a: Map<string, Buffer> | undefined, b: Map<string, Buffer>): boolean {
  if (!a || a.size !== b.size) return false;
  for (const [k, v] of b) if (!a.get(k)?.equals(v)) return false;
  return true;
}

/** One atomic update of `dir` to `payload`; returns the new timestamped directory's name. */
async function writeAtomically(dir: string, payload: Map<string, Buffer>): Promise<{ tsDir: string; swappedAt: number }> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const previous = await readlink(join(dir, '..data')).catch(() => undefined);
  const tsDir = timestampedDirName(new Date());
  await mkdir(join(dir, tsDir), { mode: 0o755 });
  for (const [key, value] of payload) await writeFile(join(dir, tsDir, key), value, { mode: 0o644 });
  await unlink(join(dir, '..data_tmp')).catch(() => undefined);
  await symlink(tsDir, join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  const swappedAt = performance.now();
  for (const key of payload.keys()) {
    await symlink(join('..data', key), join(dir, key)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
  for (const entry of await readdir(dir)) {
    if (!entry.startsWith('..') && !payload.has(entry)) await rm(join(dir, entry), { force: true });
  }
  if (previous && previous !== tsDir) await rm(join(dir, previous), { recursive: true, force: true });
  return { tsDir, swappedAt };
}

export function startProjector(opts: ProjectorOptions): Projector {
  const projections: Projection[] = [];
  const log = opts.log.child({ projector: `${opts.kind} ${opts.namespace}/${opts.name}` });
  // One write at a time, in event order; each write projects the latest object seen.
  let chain: Promise<void> = Promise.resolve();
  let latest: DataObject | undefined;
  let stopped = false;
  let failure: Error | undefined;

  const project = (obj: DataObject) => {
    if (obj.metadata.name !== opts.name) return;
    latest = obj;
    chain = chain.then(async () => {
      const current = latest;
      if (stopped || !current) return;
      const payload = payloadOf(opts.kind, current, opts.keys);
      if (samePayload(projections.at(-1)?.payload, payload)) return;
      try {
        const { tsDir, swappedAt } = await writeAtomically(opts.dir, payload);
        const p = { dir: tsDir, resourceVersion: current.metadata.resourceVersion ?? '', swappedAt, payload };
        projections.push(p);
        opts.onProjected?.(p);
      } catch (err) {
        failure = err as Error;
        log.error({ err: failure.message }, 'projection failed');
      }
    });
  };

  const informer = createInformer<DataObject>({
    client: opts.client,
    resource: opts.kind === 'Secret' ? Resources.secrets : Resources.configMaps,
    namespace: opts.namespace,
    fieldSelector: `metadata.name=${opts.name}`,
    log,
    onAdd: project,
    onUpdate: (_old, obj) => project(obj),
    // The kubelet keeps what a volume holds when its object goes away; so does this.
  });
  void informer.start();

  return {
    dir: opts.dir,
    projections,
    async ready(timeoutMs = 30_000) {
      await waitFor(
        `${opts.kind} ${opts.namespace}/${opts.name} projected into ${opts.dir}`,
        () => {
          if (failure) throw failure;
          return projections.length > 0;
        },
        { timeoutMs, intervalMs: 50 },
      );
    },
    async stop() {
      stopped = true;
      informer.stop();
      await chain;
    },
  };
}
