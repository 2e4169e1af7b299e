// The imports of src/ as data, for the import rules. Read with the compiler's own parser, so an import inside a
// comment or a string never counts, and every form that loads or types against a module does: static imports and
// re-exports (type-only ones too), import(...) calls and import('...') types.
import { isBuiltin } from 'node:module';
import { posix } from 'node:path';
import ts from 'typescript';

export interface ImportRef {
  specifier: string;
  line: number;
  /** The names taken from the module: '*' for all of it (namespace, export *, dynamic import); [] for a bare import. */
  names: string[];
}

/** Every import of one TypeScript source, in source order. */
export function extractImports(source: string): ImportRef[] {
  const file = ts.createSourceFile('file.ts', source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: ImportRef[] = [];
  const add = (node: ts.Node, specifier: ts.Node | undefined, names: string[]) => {
    if (!specifier || !ts.isStringLiteralLike(specifier)) return; // import(variable) cannot be resolved; none exist
    found.push({ specifier: specifier.text, line: file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1, names });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) add(node, node.moduleSpecifier, importedNames(node.importClause));
    else if (ts.isExportDeclaration(node)) add(node, node.moduleSpecifier, exportedNames(node.exportClause));
    else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) add(node, node.arguments[0], ['*']);
    else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) add(node, node.argument.literal, ['*']);
    else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression, ['*']);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

function importedNames(clause: ts.ImportClause | undefined): string[] {
  if (!clause) return [];
  const names = clause.name ? ['default'] : [];
  const bindings = clause.namedBindings;
  if (bindings && ts.isNamespaceImport(bindings)) names.push('*');
  else if (bindings) names.push(...bindings.elements.map((e) => (e.propertyName ?? e.name).text));
  return names;
}

function exportedNames(clause: ts.NamedExportBindings | undefined): string[] {
  if (!clause || ts.isNamespaceExport(clause)) return ['*'];
  return clause.elements.map((e) => (e.propertyName ?? e.name).text);
}

/**
 * What an import refers to: a repository path for a relative specifier ("src/kube/client.ts"), "node:<name>" for a
 * built-in (with or without the prefix), else the package name ("@kubernetes/client-node" for any of its subpaths).
 */
export function resolveImport(importer: string, specifier: string): string {
  if (specifier.startsWith('./') || specifier.startsWith('../')) return posix.join(posix.dirname(importer), specifier);
  if (isBuiltin(specifier)) return specifier.startsWith('node:') ? specifier : `node:${specifier}`;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** The top-level node of src/ a path belongs to: its folder ("kube"), or the file itself when directly in src/. */
export function topLevelOf(path: string): string | undefined {
  const parts = path.split('/');
  if (parts[0] !== 'src' || parts.length < 2) return undefined;
  return parts[1];
}

/** Each cycle of a directed graph once, as the path that closes it ("a → b → a"); nodes are visited in sorted order. */
export function findCycles(edges: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const cycles: string[][] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (node: string) => {
    const at = path.indexOf(node);
    if (at >= 0) {
      cycles.push([...path.slice(at), node]);
      return;
    }
    if (done.has(node)) return;
    path.push(node);
    for (const next of [...(edges.get(node) ?? [])].sort()) visit(next);
    path.pop();
    done.add(node);
  };
  for (const node of [...edges.keys()].sort()) visit(node);
  return cycles;
}
