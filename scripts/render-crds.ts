import { customResourceDefinitions } from '../src/api/crds.ts';
import { toYaml } from '../src/kube/yaml.ts';

/** File name → YAML for every CRD; deterministic, so a stale crds/ shows as a diff. */
export function renderCrdFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const crd of customResourceDefinitions()) {
    const header = '# Generated from src/api by `npm run generate`. Do not edit.\n';
    files[`${crd.spec.group}_${crd.spec.names.plural}.yaml`] = header + toYaml(crd);
  }
  return files;
}
