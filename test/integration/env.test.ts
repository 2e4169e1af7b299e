// The test environment itself: the real control plane and Pebble start, answer, and stop.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ensureBinaries } from '../env/binaries.ts';
import { createNamespace, startControlPlane, type ControlPlane } from '../env/controlplane.ts';
import { httpsGet, startChallTestSrv, startPebble, type ChallTestSrv, type Pebble } from '../env/pebble.ts';

const pinned = /^KUBERNETES_VERSION=(\S+)$/m.exec(readFileSync(join(import.meta.dirname, '../env/versions.env'), 'utf8'))?.[1];

describe('the control plane', () => {
  let cp: ControlPlane | undefined;
  after(async () => cp?.stop());

  it('starts etcd, kube-apiserver and kube-controller-manager, serves the pinned version, and cleans up on stop', async () => {
    cp = await startControlPlane();
    assert.ok(pinned?.startsWith('v1.37.'), `versions.env pins v1.37.x (got ${pinned})`);

    const version = JSON.parse(await getWithAdminCert(cp, '/version')) as { gitVersion: string };
    assert.equal(version.gitVersion, pinned);

    await createNamespace(cp, 'env-test');
    await createNamespace(cp, 'env-test'); // idempotent
    await cp.kubectl('create', 'configmap', 'hello', '-n', 'env-test', '--from-literal=a=b');
    assert.equal(await cp.kubectl('get', 'configmap', 'hello', '-n', 'env-test', '-o', 'jsonpath={.data.a}'), 'b');
    // The controller manager runs: it published the cluster CA into the new namespace.
    await eventually(async () => {
      assert.match(await cp!.kubectl('get', 'configmap', 'kube-root-ca.crt', '-n', 'env-test', '-o', 'name'), /kube-root-ca\.crt/);
    });
    // ClusterTrustBundle is GA in 1.37 and served without runtime-config.
    assert.match(await cp.kubectl('api-resources', '--api-group=certificates.k8s.io', '-o', 'name'), /^clustertrustbundles\.certificates\.k8s\.io$/m);

    const dir = cp.dir;
    await cp.stop();
    cp = undefined;
    assert.equal(existsSync(dir), false, 'the temp directory is removed');
  });
});

describe('Pebble', () => {
  let dns: ChallTestSrv | undefined;
  let pebble: Pebble | undefined;
  after(async () => {
    await pebble?.stop();
    await dns?.stop();
  });

  it('starts with challtestsrv as its DNS and serves the ACME directory over HTTPS trusting caFile', async () => {
    const binDir = await ensureBinaries();
    dns = await startChallTestSrv({ binDir });
    pebble = await startPebble({ binDir, dnsServer: dns.dnsAddress });

    const dir = await httpsGet(pebble.directoryUrl, readFileSync(pebble.caFile));
    assert.equal(dir.status, 200);
    const directory = JSON.parse(dir.body) as { newOrder?: string; renewalInfo?: string; meta?: { profiles?: Record<string, string> } };
    assert.ok(directory.newOrder, 'the directory names newOrder');
    assert.ok(directory.renewalInfo, 'the directory names renewalInfo (ARI)');
    assert.deepEqual(Object.keys(directory.meta?.profiles ?? {}).sort(), ['default', 'shortlived']);
    assert.match(await pebble.rootsPem(), /^-----BEGIN CERTIFICATE-----/);
  });
});

function getWithAdminCert(cp: ControlPlane, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, cp.server),
      { ca: readFileSync(cp.caFile), cert: readFileSync(cp.clientCertFile), key: readFileSync(cp.clientKeyFile) },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${path}: ${res.statusCode} ${body}`))));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function eventually(check: () => Promise<void>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
