// ACME scenario: Certificates through Pebble over HTTP-01, created at once. pebble-challtestsrv answers every name
// with 127.0.0.1 and Pebble validates on the operator's own challenge port, as an ingress would route it. The
// orders are counted at Pebble, through the account key the operator stored: one order per Certificate is the
// promise (progress lives in status, so a re-queue or a conflict never places a second one).
import { readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAcmeClient } from '../src/acme/client.ts';
import { createKubeClient } from '../src/kube/client.ts';
import { Resources } from '../src/kube/resources.ts';
import { startControlPlane } from '../test/env/controlplane.ts';
import { startChallTestSrv, startPebble, type ChallTestSrv, type Pebble } from '../test/env/pebble.ts';
import { freePort } from '../test/env/ports.ts';
import { clusterIssuer, createNamespace, decode, waitForReady, type Secret } from '../test/integration/helpers/objects.ts';
import { startOperator, type OperatorProcess } from '../test/integration/helpers/operator.ts';
import { inBatches } from './measure.ts';
import { measureIssuance, operatorArgs, operatorImage, type IssuanceResult } from './issuance.ts';

const NS = 'bench';
const ACCOUNT_SECRET = 'pebble-account';
// Stock Pebble's Retry-After on authorization and order polls; the operator waits as long as it is told.
const RETRY_AFTER = { authz: 3, order: 5 };
// No random validation sleeps (the setting); no rejected nonces and no reused authorizations (test/env's
// defaults), so runs compare.
const PEBBLE_ENV = { PEBBLE_VA_NOSLEEP: '1', PEBBLE_WFE_NONCEREJECT: '0', PEBBLE_AUTHZREUSE: '0' };

export interface AcmeResult extends IssuanceResult {
  pebble: { env: Record<string, string>; retryAfter: typeof RETRY_AFTER };
  orders: OrderCount;
}

export interface OrderCount {
  /** Orders of the operator's account at Pebble. */
  atCa: number;
  /** atCa / Certificates: 1.0 is the promise. */
  perCertificate: number;
  byStatus: Record<string, number>;
  /** Names ordered more than once, with how often (first 10). */
  repeated: Record<string, number>;
  /** Certificates with no order at all. */
  withoutOrder: number;
}

export async function benchAcme(opts: { count: number; crdsDir: string }): Promise<AcmeResult> {
  const cp = await startControlPlane({ crdsDir: opts.crdsDir });
  const logDir = await mkdtemp(join(tmpdir(), 'certsmith-bench-acme-'));
  let dns: ChallTestSrv | undefined;
  let pebble: Pebble | undefined;
  let operator: OperatorProcess | undefined;
  try {
    dns = await startChallTestSrv({ binDir: cp.binDir, logDir });
    const solverPort = await freePort();
    pebble = await startPebble({ binDir: cp.binDir, httpPort: solverPort, dnsServer: dns.dnsAddress, logDir, env: PEBBLE_ENV, retryAfter: RETRY_AFTER });
    const client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath, maxSockets: 64 });
    await createNamespace(client, 'certsmith');
    await createNamespace(client, NS);
    const metricsPort = await freePort();
    operator = startOperator({
      ...operatorImage(),
      kubeconfigPath: cp.kubeconfigPath,
      logDir,
      args: [
        ...operatorArgs(metricsPort),
        '--acme-http01-solver-host=127.0.0.1',
        `--acme-http01-solver-port=${solverPort}`,
        `--acme-http01-check-port=${solverPort}`,
        `--acme-recursive-nameservers=${dns.dnsAddress}`,
      ],
    });
    await client.create(
      Resources.clusterIssuers,
      clusterIssuer('pebble', {
        acme: {
          server: pebble.directoryUrl,
          email: 'bench@example.test',
          caBundle: readFileSync(pebble.caFile).toString('base64'),
          privateKeySecretRef: { name: ACCOUNT_SECRET },
          solvers: [{ http01: {} }],
        },
      }),
    );
    await waitForReady(client, Resources.clusterIssuers, undefined, 'pebble', undefined, 30_000);
    await new Promise((r) => setTimeout(r, 1000));

    const result = await measureIssuance({
      cp,
      client,
      operator,
      metricsPort,
      namespace: NS,
      count: opts.count,
      spec: (n) => ({
        dnsNames: [`${n}.bench.acme.test`],
        privateKey: { algorithm: 'ECDSA', size: 256 },
        issuerRef: { kind: 'ClusterIssuer', name: 'pebble' },
      }),
    });
    const key = await client.get<Secret>(Resources.secrets, 'certsmith', ACCOUNT_SECRET);
    const orders = await countOrders(pebble, decode(key, 'tls.key'), opts.count);
    return { ...result, pebble: { env: PEBBLE_ENV, retryAfter: RETRY_AFTER }, orders };
  } finally {
    await operator?.stop();
    await pebble?.stop();
    await dns?.stop();
    await cp.stop();
  }
}

/** Every order of the account at Pebble, by status and by the names it orders. */
async function countOrders(pebble: Pebble, accountKeyPem: string, certificates: number): Promise<OrderCount> {
  const acme = createAcmeClient({ directoryUrl: pebble.directoryUrl, accountKeyPem, caPem: readFileSync(pebble.caFile, 'utf8') });
  try {
    await acme.registerAccount({});
    const urls = await acme.listOrders();
    const byStatus: Record<string, number> = {};
    const byName = new Map<string, number>();
    await inBatches(urls, 8, async (url) => {
      const order = await acme.getOrder(url);
      byStatus[order.status] = (byStatus[order.status] ?? 0) + 1;
      const names = order.identifiers
        .map((i) => i.value)
        .sort()
        .join(',');
      byName.set(names, (byName.get(names) ?? 0) + 1);
    });
    const repeated = [...byName].filter(([, n]) => n > 1).sort(([a], [b]) => a.localeCompare(b));
    return {
      atCa: urls.length,
      perCertificate: +(urls.length / certificates).toFixed(3),
      byStatus,
      repeated: Object.fromEntries(repeated.slice(0, 10)),
      withoutOrder: Math.max(0, certificates - byName.size),
    };
  } finally {
    acme.close();
  }
}
