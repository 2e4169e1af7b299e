// Writes a directory the way the kubelet updates a Secret or ConfigMap volume (pkg/volume/util/atomic_writer.go):
// a new timestamped directory `..2026_11_29_12_05_01.<random>`, a `..data_tmp` symlink to it renamed over `..data`
// (one atomic step), the visible files as symlinks `tls.crt -> ..data/tls.crt`, then the old directory removed.
import { mkdir, mkdtemp, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';

export type Payload = Record<string, string | Buffer>;

function timestampPrefix(now: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `..${now.getUTCFullYear()}_${pad(now.getUTCMonth() + 1)}_${pad(now.getUTCDate())}_${pad(now.getUTCHours())}_${pad(now.getUTCMinutes())}_${pad(now.getUTCSeconds())}.`;
}

/** Replaces the whole payload of `dir` at once; returns the moment of the `..data` rename (performance.now()). */
export async function writeAtomically(dir: string, payload: Payload, now = new Date()): Promise<number> {
  await mkdir(dir, { recursive: true });
  const previous = await readlink(join(dir, '..data')).catch(() => undefined);
  const tsDir = await mkdtemp(join(dir, timestampPrefix(now)));
  for (const [name, data] of Object.entries(payload)) await writeFile(join(tsDir, name), data, { mode: 0o644 });
  await symlink(basename(tsDir), join(dir, '..data_tmp'));
  await rename(join(dir, '..data_tmp'), join(dir, '..data'));
  const swappedAt = performance.now();
  for (const name of Object.keys(payload)) {
    await symlink(join('..data', name), join(dir, name)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
  }
  for (const entry of await readdir(dir)) {
    if (!entry.startsWith('..') && !(entry in payload)) await rm(join(dir, entry));
  }
  if (previous) await rm(join(dir, previous), { recursive: true, force: true });
  return swappedAt;
}
