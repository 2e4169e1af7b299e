import { dumpYaml, loadAllYaml } from '@kubernetes/client-node';

export function toYaml(value: unknown): string {
  return dumpYaml(value, { noRefs: true, lineWidth: -1, sortKeys: false });
}

export function parseYamlDocuments(text: string): unknown[] {
  return loadAllYaml(text).filter((d) => d !== null && d !== undefined);
}
