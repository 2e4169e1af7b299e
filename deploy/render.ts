// Renders deploy/base/certsmith.yaml from the Helm chart with `helm template` and the chart's defaults, so plain
// manifests (kubectl apply -k deploy/base) and the chart never drift: test/integration/install.test.ts renders
// again and compares. Run `node deploy/render.ts` after changing the chart. The CRDs are not rendered here:
// `npm run generate` copies them into deploy/base/crds/, so an API change needs no helm.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { binaryPath, ensureBinaries } from '../test/env/binaries.ts';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..');
export const chartDir = join(root, 'charts', 'certsmith');
export const renderedPath = join(root, 'deploy', 'base', 'certsmith.yaml');

const header = [
  '# Rendered from charts/certsmith by `node deploy/render.ts` (helm template certsmith charts/certsmith',
  '# --namespace certsmith --set crds.enabled=false --api-versions admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy).',
  '# Do not edit: change the chart and render again.',
  '',
].join('\n');

// helm template knows no cluster: say that it serves ValidatingAdmissionPolicy (Kubernetes 1.30+), so these manifests
// carry the chart's admission policy as an install on such a cluster would.
const apiVersions = ['--api-versions', 'admissionregistration.k8s.io/v1/ValidatingAdmissionPolicy'];

/** The manifests deploy/base/certsmith.yaml should hold, rendered with the given helm binary. */
export async function renderDeployBase(helm: string): Promise<string> {
  const { stdout } = await run(helm, ['template', 'certsmith', chartDir, '--namespace', 'certsmith', '--set', 'crds.enabled=false', ...apiVersions], {
    maxBuffer: 64 * 2 ** 20,
  });
  // Trailing spaces and runs of blank lines are template whitespace, not content.
  const body = stdout
    .split('\n')
    .map((l) => l.trimEnd())
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return `${header}${body}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const helm = binaryPath(await ensureBinaries({ build: false }), 'helm');
  await writeFile(renderedPath, await renderDeployBase(helm));
  console.log(`wrote ${renderedPath}`);
}
