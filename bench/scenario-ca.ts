// CA scenario: ECDSA P-256 Certificates from one CA issuer (a CA the operator issued itself from a self-signed
// issuer), created at once.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKubeClient } from '../src/kube/client.ts';
import { Resources } from '../src/kube/resources.ts';
import { startControlPlane } from '../test/env/controlplane.ts';
import { freePort } from '../test/env/ports.ts';
import { certificate, clusterIssuer, createNamespace, waitForReady } from '../test/integration/helpers/objects.ts';
import { startOperator, type OperatorProcess } from '../test/integration/helpers/operator.ts';
import { measureIssuance, operatorArgs, operatorImage, type IssuanceResult } from './issuance.ts';

const NS = 'bench';

export async function benchCa(opts: { count: number; crdsDir: string }): Promise<IssuanceResult> {
  const cp = await startControlPlane({ crdsDir: opts.crdsDir });
  const logDir = await mkdtemp(join(tmpdir(), 'certsmith-bench-ca-'));
  let operator: OperatorProcess | undefined;
  try {
    const client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath, maxSockets: 64 });
    await createNamespace(client, 'certsmith');
    await createNamespace(client, NS);
    const metricsPort = await freePort();
    operator = startOperator({
      ...operatorImage(),
      kubeconfigPath: cp.kubeconfigPath,
      logDir,
      args: operatorArgs(metricsPort),
    });
    await client.create(Resources.clusterIssuers, clusterIssuer('selfsigned', { selfSigned: {} }));
    await client.create(
      Resources.certificates,
      certificate('certsmith', 'bench-ca', {
        secretName: 'bench-ca',
        isCA: true,
        commonName: 'bench CA',
        issuerRef: { kind: 'ClusterIssuer', name: 'selfsigned' },
      }),
    );
    await waitForReady(client, Resources.certificates, 'certsmith', 'bench-ca');
    await client.create(Resources.clusterIssuers, clusterIssuer('bench-ca', { ca: { secretName: 'bench-ca' } }));
    await waitForReady(client, Resources.clusterIssuers, undefined, 'bench-ca');
    await new Promise((r) => setTimeout(r, 1000));

    return await measureIssuance({
      cp,
      client,
      operator,
      metricsPort,
      namespace: NS,
      count: opts.count,
      spec: (n) => ({
        dnsNames: [`${n}.bench.example.test`],
        privateKey: { algorithm: 'ECDSA', size: 256 },
        issuerRef: { kind: 'ClusterIssuer', name: 'bench-ca' },
      }),
    });
  } finally {
    await operator?.stop();
    await cp.stop();
  }
}
