// Writes crds/*.yaml from the zod schemas in src/api. `--check` fails when crds/ is stale instead of writing.
import { readFile, writeFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { renderCrdFiles } from './render-crds.ts';

const dir = join(import.meta.dirname, '..', 'crds');
const check = process.argv.includes('--check');
const files = renderCrdFiles();
const stale: string[] = [];

for (const [name, content] of Object.entries(files)) {
  const path = join(dir, name);
  const current = await readFile(path, 'utf8').catch(() => undefined);
  if (current === content) continue;
  stale.push(name);
  if (!check) await writeFile(path, content);
}
for (const name of await readdir(dir)) {
  if (name.endsWith('.yaml') && !(name in files)) {
    stale.push(name);
    if (!check) await unlink(join(dir, name));
  }
}
if (check && stale.length > 0) {
  console.error(`crds/ is stale (${stale.join(', ')}): run 'npm run generate' and commit the result`);
  process.exit(1);
}
console.log(check ? 'crds/ is up to date' : `wrote ${Object.keys(files).length} CRDs to crds/`);
