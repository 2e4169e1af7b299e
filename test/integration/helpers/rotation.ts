// What a client of a rotating CA sees, recorded while the rotation runs, and the invariants checked on it: the CA
// of every leaf is in the bundle at every moment, and each leaf is re-issued exactly once by the new CA.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Issuer } from '../../../src/api/issuer.ts';
import { REVISION_ANNOTATION } from '../../../src/api/labels.ts';
import { API_VERSION, type KubeObject } from '../../../src/api/meta.ts';
import type { TrustBundle } from '../../../src/api/trust-bundle.ts';
import type { KubeClient } from '../../../src/kube/client.ts';
import { Resources } from '../../../src/kube/resources.ts';
import { isSignedBy, parseCertificatesPem } from '../../../src/pki/index.ts';
import { certificate, decode, waitForReady, type Secret } from './objects.ts';
import { waitFor } from './wait.ts';

export interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

export const fingerprintsOf = (pem: string) =>
  parseCertificatesPem(pem)
    .map((d) => createHash('sha256').update(d).digest('hex'))
    .sort();

export interface RotationSnapshot {
  at: number;
  phase?: string;
  signing?: string;
  bundle: string[];
  leaves: { name: string; ca: string; revision: number; leafDer: Uint8Array }[];
}

export interface RotationSetup {
  client: KubeClient;
  /** The ClusterIssuer that rotates. */
  issuer: string;
  /** Where the leaves' Secrets and the bundle's ConfigMap are. */
  namespace: string;
  leaves: readonly string[];
  /** The TrustBundle (and its ConfigMap) that carries the issuer's CAs to namespaces labelled trust=yes. */
  bundle: string;
}

/**
 * The TrustBundle of the issuer's CAs and one Certificate per leaf (`<leaf>-tls`), each Ready, and the bundle
 * holding `firstCa` (a fingerprint): the state a rotation starts from.
 */
export async function createTrustedLeaves(r: RotationSetup, firstCa: string): Promise<void> {
  await r.client.create(Resources.trustBundles, {
    apiVersion: API_VERSION,
    kind: 'TrustBundle',
    metadata: { name: r.bundle },
    spec: {
      sources: [{ issuer: { kind: 'ClusterIssuer', name: r.issuer } }],
      target: { configMap: { key: 'ca.crt' }, namespaceSelector: { matchLabels: { trust: 'yes' } } },
    },
  } as TrustBundle);
  for (const name of r.leaves) {
    await r.client.create(
      Resources.certificates,
      certificate(r.namespace, name, {
        secretName: `${name}-tls`,
        dnsNames: [`${name}.apps.svc`],
        duration: '1h',
        issuerRef: { kind: 'ClusterIssuer', name: r.issuer },
      }),
    );
  }
  for (const name of r.leaves) await waitForReady(r.client, Resources.certificates, r.namespace, name);
  await waitFor('the bundle to hold the first CA', async () => {
    const cm = await r.client.get<ConfigMap>(Resources.configMaps, r.namespace, r.bundle);
    return cm?.data?.['ca.crt'] && fingerprintsOf(cm.data['ca.crt']).join() === firstCa;
  });
}

/** What a client sees, every `intervalMs`: the issuer's phase, the leaves (read first), then the bundle it trusts. */
export function startRotationRecorder(r: RotationSetup, intervalMs: number) {
  const snapshots: RotationSnapshot[] = [];
  let stopped = false;
  const done = (async () => {
    while (!stopped) {
      try {
        const i = await r.client.get<Issuer>(Resources.clusterIssuers, undefined, r.issuer);
        const leaves = [];
        for (const name of r.leaves) {
          const s = await r.client.get<Secret>(Resources.secrets, r.namespace, `${name}-tls`);
          leaves.push({
            name,
            ca: fingerprintsOf(decode(s, 'ca.crt'))[0]!,
            revision: Number(s?.metadata.annotations?.[REVISION_ANNOTATION]),
            leafDer: parseCertificatesPem(decode(s, 'tls.crt'))[0]!,
          });
        }
        const cm = await r.client.get<ConfigMap>(Resources.configMaps, r.namespace, r.bundle);
        snapshots.push({
          at: Date.now(),
          ...(i?.status?.ca?.phase ? { phase: i.status.ca.phase } : {}),
          ...(i?.status?.caFingerprint ? { signing: i.status.caFingerprint } : {}),
          bundle: fingerprintsOf(cm?.data?.['ca.crt'] ?? ''),
          leaves,
        });
      } catch {
        // a read racing a write: the next round sees it
      }
      await new Promise((res) => setTimeout(res, intervalMs));
    }
  })();
  return {
    snapshots,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

/** Trust before use, at every moment: the CA of every leaf is in the bundle clients read. */
export function assertLeavesAlwaysTrusted(snaps: readonly RotationSnapshot[]): void {
  for (const s of snaps) {
    for (const l of s.leaves) assert.ok(s.bundle.includes(l.ca), `at ${new Date(s.at).toISOString()} ${l.name} was signed by a CA the bundle did not hold`);
  }
}

/** Each leaf went from revision 1 to 2 and no further, and its last certificate verifies against the new CA. */
export async function assertReissuedOnceBy(snaps: readonly RotationSnapshot[], leaves: readonly string[], newCaDer: Uint8Array): Promise<void> {
  for (const name of leaves) {
    const revisions = [...new Set(snaps.flatMap((s) => s.leaves.filter((l) => l.name === name).map((l) => l.revision)))];
    assert.deepEqual(revisions, [1, 2], `${name} revisions`);
    const last = snaps.at(-1)!.leaves.find((l) => l.name === name)!;
    assert.ok(await isSignedBy(last.leafDer, newCaDer), `${name} verifies against the new CA`);
  }
}
