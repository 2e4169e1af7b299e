// Writes crds/*.yaml from the zod schemas in src/api, and the same bytes into the Helm chart (charts/certsmith/
// files/crds/, which its templates install) and the kustomize base (deploy/base/crds/). `--check` fails when any
// is stale instead of writing.
import { mkdir, readFile, writeFile, readdir, unlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { renderCrdFiles } from './render-crds.ts';

const root = join(import.meta.dirname, '..');
const dirs = [join(root, 'crds'), join(root, 'charts', 'certsmith', 'files', 'crds'), join(root, 'deploy', 'base', 'crds')];
const check = process.argv.includes('--check');
const files = renderCrdFiles();
const stale: string[] = [];

for (const dir of dirs) {
  if (!check) await mkdir(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    const path = join(dir, name);
    const current = await readFile(path, 'utf8').catch(() => undefined);
    if (current === content) continue;
    stale.push(relative(root, path));
    if (!check) await writeFile(path, content);
  }
  for (const name of await readdir(dir)) {
    if (name.endsWith('.yaml') && !(name in files)) {
      stale.push(relative(root, join(dir, name)));
      if (!check) await unlink(join(dir, name));
    }
  }
}
if (check && stale.length > 0) {
  console.error(`generated CRDs are stale (${stale.join(', ')}): run 'npm run generate' and commit the result`);
  process.exit(1);
}
console.log(check ? 'crds/ and its copies are up to date' : `wrote ${Object.keys(files).length} CRDs to crds/, charts/certsmith/files/crds/ and deploy/base/crds/`);
