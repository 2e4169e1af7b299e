// The issuers the shim tests share: a self-signed root bootstrapping a CA ClusterIssuer `test-ca`, and an ACME
// ClusterIssuer `pebble` (HTTP-01 answered by the operator itself) — both Ready when this returns.
import { readFileSync } from 'node:fs';
import type { KubeClient } from '../../../src/kube/client.ts';
import { Resources } from '../../../src/kube/resources.ts';
import type { Pebble } from '../../env/pebble.ts';
import { certificate, clusterIssuer, waitForReady } from './objects.ts';

/**
 * A CA ClusterIssuer `name` on a self-signed root: ClusterIssuer `<name>-selfsigned`, the root Certificate and
 * Secret `<name>-root` in `namespace` (the cluster-resource namespace). Resolves once the CA issuer is Ready.
 */
export async function createCaClusterIssuer(client: KubeClient, namespace: string, name: string, timeoutMs = 120_000): Promise<void> {
  await client.create(Resources.clusterIssuers, clusterIssuer(`${name}-selfsigned`, { selfSigned: {} }));
  await client.create(
    Resources.certificates,
    certificate(namespace, `${name}-root`, {
      secretName: `${name}-root`,
      commonName: `${name} root`,
      isCA: true,
      issuerRef: { kind: 'ClusterIssuer', name: `${name}-selfsigned` },
    }),
  );
  await waitForReady(client, Resources.certificates, namespace, `${name}-root`, undefined, timeoutMs);
  await client.create(Resources.clusterIssuers, clusterIssuer(name, { ca: { secretName: `${name}-root` } }));
  await waitForReady(client, Resources.clusterIssuers, undefined, name, undefined, timeoutMs);
}

export async function createTestIssuers(client: KubeClient, pebble: Pebble, rootCommonName: string): Promise<void> {
  await client.create(Resources.clusterIssuers, clusterIssuer('selfsigned', { selfSigned: {} }));
  await client.create(
    Resources.certificates,
    certificate('certsmith', 'root-ca', {
      secretName: 'root-ca',
      isCA: true,
      commonName: rootCommonName,
      issuerRef: { kind: 'ClusterIssuer', name: 'selfsigned' },
    }),
  );
  await waitForReady(client, Resources.certificates, 'certsmith', 'root-ca');
  await client.create(Resources.clusterIssuers, clusterIssuer('test-ca', { ca: { secretName: 'root-ca' } }));
  await createPebbleIssuer(client, pebble, 30_000);
  await waitForReady(client, Resources.clusterIssuers, undefined, 'test-ca');
}

/** An ACME ClusterIssuer `pebble` whose HTTP-01 challenges the operator answers itself; resolves once it is Ready. */
export async function createPebbleIssuer(client: KubeClient, pebble: Pebble, timeoutMs: number): Promise<void> {
  await client.create(
    Resources.clusterIssuers,
    clusterIssuer('pebble', {
      acme: {
        server: pebble.directoryUrl,
        caBundle: readFileSync(pebble.caFile).toString('base64'),
        privateKeySecretRef: { name: 'pebble-account' },
        solvers: [{ http01: {} }],
      },
    }),
  );
  await waitForReady(client, Resources.clusterIssuers, undefined, 'pebble', undefined, timeoutMs);
}
