import { dump } from 'js-yaml';
import { customResourceDefinitions } from '../src/api/crds.ts';

/** File name → YAML for every CRD; deterministic, so a stale crds/ shows as a diff. */
export function renderCrdFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const crd of customResourceDefinitions()) {
    const header = '# Generated from src/api by `npm run generate`. Do not edit.\n';
    // Plain js-yaml: client-node's dumpYaml passes objects through its typed models, which drop keys such as
    // x-kubernetes-validations.
    files[`${crd.spec.group}_${crd.spec.names.plural}.yaml`] = header + dump(crd, { noRefs: true, lineWidth: -1, sortKeys: false });
  }
  return files;
}
