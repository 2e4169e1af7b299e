// An operator started against a cluster without its CRDs says which are missing and exits, rather than waiting for
// caches that can never sync.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { startControlPlane, type ControlPlane } from '../env/controlplane.ts';
import { startOperator } from './helpers/operator.ts';
import { waitFor } from './helpers/wait.ts';

let cp: ControlPlane;

before(async () => {
  cp = await startControlPlane({}); // no CRDs installed
});

after(async () => {
  await cp?.stop();
});

it('exits with a message naming the CRDs the API server does not serve', async () => {
  const logDir = await mkdtemp(join(tmpdir(), 'certsmith-startup-'));
  const operator = startOperator({ kubeconfigPath: cp.kubeconfigPath, logDir, args: ['--leader-elect=false'] });
  try {
    const code = await waitFor('the operator to exit', async () => operator.exitCode() ?? undefined, { timeoutMs: 30_000 });
    assert.equal(code, 1);
    const logs = await operator.logs();
    assert.match(logs, /does not serve certificates\.certsmith\.dev, issuers\.certsmith\.dev, clusterissuers\.certsmith\.dev/);
    assert.match(logs, /kubectl apply --server-side -f crds\//);
  } finally {
    await operator.stop();
  }
});
