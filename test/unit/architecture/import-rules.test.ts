// The import rules of docs/architecture.md, checked on every file of src/. A failure names the file, the line and
// the import that breaks a rule.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { extractImports, findCycles, resolveImport, topLevelOf, type ImportRef } from './import-graph.ts';

const root = join(import.meta.dirname, '../../..');

interface Import {
  file: string; // "src/policy/names.ts"
  target: string; // what resolveImport made of the specifier
  ref: ImportRef;
}

const under = (folder: string) => (path: string) => path.startsWith(`src/${folder}/`);
const PURE_FOLDERS = ['policy', 'pki', 'trust'];
const inPureFolder = (path: string) => PURE_FOLDERS.some((f) => under(f)(path));

// Built-ins that reach the disk, the network, other processes or threads.
const IO_BUILTINS = new Set(['fs', 'net', 'http', 'https', 'http2', 'child_process', 'dns', 'dgram', 'tls', 'worker_threads']);
const isIoBuiltin = (target: string) => target.startsWith('node:') && IO_BUILTINS.has(target.slice(5).split('/')[0]!);
// node:net's address parsers are pure functions (policy/names.ts and pki/ip-address.ts use isIP); nothing else of it.
const PURE_NET_NAMES = new Set(['isIP', 'isIPv4', 'isIPv6']);
const takesOnlyPureNetNames = (i: Import) => i.target === 'node:net' && i.ref.names.length > 0 && i.ref.names.every((n) => PURE_NET_NAMES.has(n));
const IO_LAYERS = ['kube', 'runtime', 'acme', 'controllers', 'observability'];

const controllerOf = (path: string) => /^src\/controllers\/([^/]+)\//.exec(path)?.[1];

interface Rule {
  name: string;
  breaks(i: Import): boolean;
}

const rules: Rule[] = [
  {
    name: 'policy/, pki/ and trust/ do no I/O: no I/O built-in, nothing from kube/, runtime/, acme/, controllers/ or observability/',
    breaks: (i) => inPureFolder(i.file) && ((isIoBuiltin(i.target) && !takesOnlyPureNetNames(i)) || IO_LAYERS.some((l) => under(l)(i.target))),
  },
  {
    name: 'only kube/ imports @kubernetes/client-node',
    breaks: (i) => i.target === '@kubernetes/client-node' && !under('kube')(i.file),
  },
  {
    name: 'only acme/ imports acme-client',
    breaks: (i) => i.target === 'acme-client' && !under('acme')(i.file),
  },
  {
    name: 'a controller never imports another controller (shared helpers sit directly in controllers/)',
    breaks: (i) => {
      const from = controllerOf(i.file);
      const to = controllerOf(i.target);
      return from !== undefined && to !== undefined && from !== to;
    },
  },
  {
    name: 'reload/ stands alone: it imports only reload/ and node: built-ins',
    breaks: (i) => under('reload')(i.file) && !under('reload')(i.target) && !i.target.startsWith('node:'),
  },
];

function brokenRules(i: Import): string[] {
  return rules.filter((r) => r.breaks(i)).map((r) => r.name);
}

function describeImport(i: Import): string {
  return `${i.file}:${i.ref.line} imports '${i.ref.specifier}'`;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts'))
    .map((f) => `${dir}/${f}`)
    .sort();
}

function importsOf(file: string): Import[] {
  return extractImports(readFileSync(join(root, file), 'utf8')).map((ref) => ({ file, target: resolveImport(file, ref.specifier), ref }));
}

describe('extractImports', () => {
  const cases: { name: string; source: string; expected: Omit<ImportRef, 'line'>[] }[] = [
    {
      name: 'reads named, default and namespace imports with the names they take',
      source: `import a, { b, c as d } from './x.ts';\nimport * as ns from 'node:fs';`,
      expected: [
        { specifier: './x.ts', names: ['default', 'b', 'c'] },
        { specifier: 'node:fs', names: ['*'] },
      ],
    },
    {
      name: 'counts type-only imports and re-exports',
      source: `import type { A } from './a.ts';\nexport { type B } from './b.ts';\nexport * from './c.ts';`,
      expected: [
        { specifier: './a.ts', names: ['A'] },
        { specifier: './b.ts', names: ['B'] },
        { specifier: './c.ts', names: ['*'] },
      ],
    },
    {
      name: 'counts a bare import as taking no names',
      source: `import 'reflect-metadata';`,
      expected: [{ specifier: 'reflect-metadata', names: [] }],
    },
    {
      name: 'counts dynamic imports and import types inside code',
      source: `async function f(): Promise<typeof import('./t.ts')> {\n  return (await import('node:net')).isIP('x');\n}`,
      expected: [
        { specifier: './t.ts', names: ['*'] },
        { specifier: 'node:net', names: ['*'] },
      ],
    },
    {
      name: 'ignores imports in comments and strings, and local exports',
      source: `// import x from 'node:fs';\nconst s = "import('node:net')";\nexport { s };\nexport const t = 1;`,
      expected: [],
    },
  ];
  for (const c of cases) {
    it(c.name, () =>
      assert.deepEqual(
        extractImports(c.source).map(({ specifier, names }) => ({ specifier, names })),
        c.expected,
      ),
    );
  }
  it('gives the line of each import', () => {
    assert.deepEqual(
      extractImports(`\nimport './a.ts';\n\nconst m = import('./b.ts');`).map((r) => r.line),
      [2, 4],
    );
  });
});

describe('resolveImport', () => {
  const cases: { name: string; importer: string; specifier: string; expected: string }[] = [
    { name: 'a sibling file', importer: 'src/kube/client.ts', specifier: './errors.ts', expected: 'src/kube/errors.ts' },
    { name: 'a file of another folder', importer: 'src/controllers/shim/sync.ts', specifier: '../../api/meta.ts', expected: 'src/api/meta.ts' },
    { name: 'a built-in with its prefix', importer: 'src/main.ts', specifier: 'node:fs/promises', expected: 'node:fs/promises' },
    { name: 'a built-in without its prefix', importer: 'src/main.ts', specifier: 'fs', expected: 'node:fs' },
    { name: 'a scoped package subpath', importer: 'src/main.ts', specifier: '@kubernetes/client-node/dist/api', expected: '@kubernetes/client-node' },
    { name: 'a package subpath', importer: 'src/main.ts', specifier: 'zod/v4', expected: 'zod' },
  ];
  for (const c of cases) it(`resolves ${c.name}`, () => assert.equal(resolveImport(c.importer, c.specifier), c.expected));
});

describe('the rules themselves', () => {
  const cases: { name: string; file: string; specifier: string; names?: string[]; broken: boolean }[] = [
    { name: 'policy/ reading a file', file: 'src/policy/x.ts', specifier: 'node:fs/promises', broken: true },
    { name: 'pki/ opening a socket', file: 'src/pki/x.ts', specifier: 'net', names: ['connect'], broken: true },
    { name: 'pki/ parsing an address with node:net', file: 'src/pki/x.ts', specifier: 'node:net', names: ['isIP'], broken: false },
    { name: 'pki/ hashing with node:crypto', file: 'src/pki/x.ts', specifier: 'node:crypto', broken: false },
    { name: 'policy/ taking a type from kube/', file: 'src/policy/x.ts', specifier: '../kube/client.ts', broken: true },
    { name: 'runtime/ importing the Kubernetes client', file: 'src/runtime/x.ts', specifier: '@kubernetes/client-node', broken: true },
    { name: 'kube/ importing the Kubernetes client', file: 'src/kube/x.ts', specifier: '@kubernetes/client-node', broken: false },
    { name: 'signers/ importing acme-client', file: 'src/signers/x.ts', specifier: 'acme-client', broken: true },
    { name: 'one controller importing another', file: 'src/controllers/shim/x.ts', specifier: '../certificates/y.ts', broken: true },
    { name: 'a controller importing a shared controller helper', file: 'src/controllers/shim/x.ts', specifier: '../store.ts', broken: false },
    { name: 'reload/ importing the operator', file: 'src/reload/x.ts', specifier: '../pki/pem.ts', broken: true },
    { name: 'reload/ importing a package', file: 'src/reload/x.ts', specifier: 'pino', broken: true },
    { name: 'reload/ importing a built-in', file: 'src/reload/x.ts', specifier: 'node:tls', broken: false },
  ];
  for (const c of cases) {
    it(`${c.broken ? 'refuse' : 'allow'} ${c.name}`, () => {
      const i: Import = { file: c.file, target: resolveImport(c.file, c.specifier), ref: { specifier: c.specifier, line: 1, names: c.names ?? ['*'] } };
      assert.equal(brokenRules(i).length > 0, c.broken, brokenRules(i).join('; '));
    });
  }
  it('findCycles reports each cycle as the path that closes it', () => {
    const graph = new Map([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a'])],
      ['d', new Set(['a'])],
    ]);
    assert.deepEqual(findCycles(graph), [['a', 'b', 'c', 'a']]);
    assert.deepEqual(findCycles(new Map([['a', new Set(['b'])]])), []);
  });
});

describe('import rules of src/', () => {
  const imports = sourceFiles('src').flatMap(importsOf);

  it('finds the imports of src/', () => assert.ok(imports.length > 500, `only ${imports.length} imports found`));

  for (const rule of rules) {
    it(rule.name, () => {
      const broken = imports.filter((i) => rule.breaks(i)).map(describeImport);
      assert.deepEqual(broken, [], `${rule.name}:\n  ${broken.join('\n  ')}`);
    });
  }

  it('the top-level folders and files of src/ import each other without a cycle', () => {
    const edges = new Map<string, Set<string>>();
    const example = new Map<string, Import>();
    for (const i of imports) {
      const from = topLevelOf(i.file);
      const to = topLevelOf(i.target);
      if (!from || !to || from === to) continue;
      if (!edges.has(from)) edges.set(from, new Set());
      edges.get(from)!.add(to);
      if (!example.has(`${from}→${to}`)) example.set(`${from}→${to}`, i);
    }
    const cycles = findCycles(edges).map((cycle) => {
      const steps = cycle.slice(1).map((to, n) => describeImport(example.get(`${cycle[n]}→${to}`)!));
      return `${cycle.join(' → ')} (${steps.join('; ')})`;
    });
    assert.deepEqual(cycles, [], `cycles between the top level of src/:\n  ${cycles.join('\n  ')}`);
  });
});
