// Writes crds/*.yaml from the zod schemas in src/api, and the same bytes into the Helm chart (charts/certsmith/
// files/crds/, which its templates install) and the kustomize base (deploy/base/crds/). `--check` fails when any
// is stale instead of writing. It also writes docs/reference/*.md (every field, from the same schemas).
import { mkdir, readFile, writeFile, readdir, unlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { renderCrdFiles } from './render-crds.ts';
import { renderReferenceFiles } from './render-reference.ts';

const root = join(import.meta.dirname, '..');
const dirs = [join(root, 'crds'), join(root, 'charts', 'certsmith', 'files', 'crds'), join(root, 'deploy', 'base', 'crds')];
const check = process.argv.includes('--check');
const files = renderCrdFiles();
const referenceDir = join(root, 'docs', 'reference');
const stale: string[] = [];

async function sync(dir: string, wanted: Record<string, string>, extension: string): Promise<void> {
  if (!check) await mkdir(dir, { recursive: true });
  for (const [name, content] of Object.entries(wanted)) {
    const path = join(dir, name);
    const current = await readFile(path, 'utf8').catch(() => undefined);
    if (current === content) continue;
    stale.push(relative(root, path));
    if (!check) await writeFile(path, content);
  }
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.endsWith(extension) && !(name in wanted)) {
      stale.push(relative(root, join(dir, name)));
      if (!check) await unlink(join(dir, name));
    }
  }
}

for (const dir of dirs) await sync(dir, files, '.yaml');
await sync(referenceDir, renderReferenceFiles(), '.md');
if (check && stale.length > 0) {
  console.error(`generated CRDs or docs/reference are stale (${stale.join(', ')}): run 'npm run generate' and commit the result`);
  process.exit(1);
}
console.log(
  check
    ? 'crds/, its copies and docs/reference/ are up to date'
    : `wrote ${Object.keys(files).length} CRDs to crds/, charts/certsmith/files/crds/ and deploy/base/crds/, and docs/reference/`,
);
