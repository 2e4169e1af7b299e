// Pod certificates on the real node: the kubelet makes each pod's key, asks certsmith through a
// PodCertificateRequest and projects key and chain into a podCertificate volume; a TrustBundle's ClusterTrustBundle
// reaches the pods through a clusterTrustBundle projection. Two server pods and a client pod talk mTLS through
// certsmith/reload while the managed CA rotates twice, each rotation waiting for every pod to refresh onto the new
// CA before the old one leaves the bundle; not one request or handshake may fail. A pod of a namespace the
// IssuancePolicy does not select gets no certificate: its request is Denied and the kubelet reports it on the pod.
// The operator runs as a pod from the chart, with the chart's RBAC.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Issuer } from '../../src/api/issuer.ts';
import { API_VERSION, type KubeObject } from '../../src/api/meta.ts';
import type { PodCertificateRequest } from '../../src/api/pod-certificate-request.ts';
import type { TrustBundle } from '../../src/api/trust-bundle.ts';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { Resources } from '../../src/kube/resources.ts';
import { applyManifests, startCluster, type Cluster } from '../env/cluster.ts';
import { podVolumeDir } from '../env/node.ts';
import { demoClient, demoCode, demoPods, demoServer, demoService, demoStats, type DemoPod, HTTPS_PORT, POD_CREDENTIALS_FILE } from '../env/demo-workload.ts';
import { createHelm, installOperatorChart, type Helm } from '../integration/helpers/helm.ts';
import { clusterIssuer, createNamespace, updateSpec } from '../integration/helpers/objects.ts';
import { serviceAccountMay } from '../integration/helpers/signer-access.ts';
import { waitFor } from '../integration/helpers/wait.ts';

const ISSUER = 'pod-mesh';
const SIGNER = `certsmith.dev/${ISSUER}`;
const SERVER_NS = 'pods-server';
const CLIENT_NS = 'pods-client';
const DENIED_NS = 'pods-denied';
const SERVER_NAME = `api.${SERVER_NS}.svc`;
const RATE = 100;
// Each CA rotates 6 minutes after it is made, so pod certificates refresh at the earliest the API allows (10 min
// after notBefore, which is backdated 2 min) and each rotation waits for the kubelet's refresh (plus its 0–5 min jitter).
const CA_DURATION = '4h';
const ROTATE_SOON = '3h54m';
const ROTATE_LATER = '1h';
const CTB_NAME = `certsmith.dev:${ISSUER}:pod-mesh`;

interface ClientStats {
  ok: number;
  failed: number;
  errors: Record<string, number>;
}
interface ServerStats {
  requests: number;
  handshakes: number;
  handshakeErrors: Record<string, number>;
}
type PodInfo = DemoPod;

describe('pod certificates on a real node', () => {
  let cluster: Cluster;
  let client: KubeClient;
  let helm: Helm;
  const kubectl = (...args: string[]) => cluster.cp.kubectl(...args);
  const apply = (objects: Record<string, unknown>[]) => applyManifests(cluster.cp, objects, 'e2e');
  const podsOf = (ns: string, app: string) => demoPods(kubectl, ns, app);
  const stats = demoStats;
  /** Every CA certificate the ClusterTrustBundle held, by SHA-256 (lowercase hex, as the issuer's status writes it). */
  const cas = new Map<string, X509Certificate>();
  const fingerprintOf = (c: X509Certificate) => c.fingerprint256.replaceAll(':', '').toLowerCase();
  /** The CA that signed the certificate a pod's volume holds now (read from the host side of the projection). */
  const podCa = (pod: PodInfo): string | undefined => {
    const file = join(podVolumeDir(pod.uid, 'projected', 'tls'), POD_CREDENTIALS_FILE);
    if (!existsSync(file)) return undefined;
    const pem = readFileSync(file, 'utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/)?.[0];
    if (!pem) return undefined;
    const leaf = new X509Certificate(pem);
    for (const [fp, ca] of cas) if (leaf.checkIssued(ca) && leaf.verify(ca.publicKey)) return fp;
    return 'unknown CA';
  };

  before(async () => {
    cluster = await startCluster({ withOperatorImage: true, node: { syncFrequency: '10s' } });
    client = createKubeClient({ kubeconfigPath: cluster.cp.kubeconfigPath });
    helm = await createHelm(cluster.cp.binDir);
    await installOperatorChart(helm, cluster.cp.kubeconfigPath, '--set', 'replicas=1');
  });
  after(async () => {
    await helm?.cleanup();
    await cluster?.stop();
  });

  it('the operator may sign for its signer names and no other, and read pods but not write them', async () => {
    const sa = 'system:serviceaccount:certsmith:certsmith';
    // can-i prints yes and exits 0, or prints no and exits 1.
    const can = (...args: string[]) =>
      kubectl('auth', 'can-i', ...args, `--as=${sa}`).then(
        (out) => out.trim(),
        () => 'no',
      );
    const maySign = (signerName: string) => serviceAccountMay(client, { namespace: 'certsmith', name: 'certsmith' }, 'sign', signerName);
    assert.equal(await maySign('certsmith.dev/*'), true);
    assert.equal(await maySign('example.com/other'), false);
    assert.equal(await maySign('kubernetes.io/kube-apiserver-client-pod'), false);
    assert.equal(await can('patch', 'podcertificaterequests.certificates.k8s.io', '--subresource=status', '-A'), 'yes');
    assert.equal(await can('watch', 'podcertificaterequests.certificates.k8s.io', '-A'), 'yes');
    assert.equal(await can('update', 'podcertificaterequests.certificates.k8s.io', '-A'), 'no');
    assert.equal(await can('delete', 'podcertificaterequests.certificates.k8s.io', '-A'), 'no');
    assert.equal(await can('get', 'pods', '-A'), 'yes');
    assert.equal(await can('list', 'pods', '-A'), 'no');
    assert.equal(await can('update', 'pods', '-A'), 'no');
  });

  it('two CA rotations under mTLS load between pods with pod certificates: no failed request or handshake', { timeout: 50 * 60_000 }, async () => {
    for (const ns of [SERVER_NS, CLIENT_NS, DENIED_NS]) await createNamespace(client, ns);
    await client.create(
      Resources.clusterIssuers,
      clusterIssuer(ISSUER, {
        ca: {
          managed: { commonName: 'certsmith pod mesh CA', duration: CA_DURATION, rotateBefore: ROTATE_SOON, propagationDelay: '30s', retireGracePeriod: '30s' },
          podCertificates: { maxDuration: '1h' },
        },
      }),
    );
    await client.create(Resources.issuancePolicies, {
      apiVersion: API_VERSION,
      kind: 'IssuancePolicy',
      metadata: { name: 'pod-mesh' },
      spec: {
        issuers: [{ kind: 'ClusterIssuer', name: ISSUER }],
        namespaces: { names: [SERVER_NS, CLIENT_NS] },
        allowed: { dnsNames: [SERVER_NAME], uris: ['spiffe://cluster.local/ns/*/sa/default'], maxDuration: '24h' },
      },
    });
    // The CA pool, as a ClusterTrustBundle linked to the signer: what the pods' clusterTrustBundle projection selects.
    await client.create(Resources.trustBundles, {
      apiVersion: API_VERSION,
      kind: 'TrustBundle',
      metadata: { name: 'pod-mesh' },
      spec: { sources: [{ issuer: { kind: 'ClusterIssuer', name: ISSUER } }], target: { clusterTrustBundle: { signerName: SIGNER } } },
    } as TrustBundle);
    await waitFor('the ClusterTrustBundle', async () => (await client.get(Resources.clusterTrustBundles, undefined, CTB_NAME)) ?? false);

    const image = cluster.operatorImage!;
    const podCertificate = (extra: Record<string, unknown> = {}) => ({ signerName: SIGNER, keyType: 'ECDSAP256', maxExpirationSeconds: 3600, ...extra });
    await apply([demoCode(SERVER_NS), demoCode(CLIENT_NS), demoCode(DENIED_NS), demoService(SERVER_NS, 'api')]);
    const clusterIp = (await kubectl('get', 'service', 'api', '-n', SERVER_NS, '-o', 'jsonpath={.spec.clusterIP}')).trim();
    await apply([
      demoServer({
        namespace: SERVER_NS,
        name: 'api',
        image,
        replicas: 2,
        podCertificate: podCertificate({ userAnnotations: { 'certsmith.dev/dns-names': SERVER_NAME } }),
        trustSigner: SIGNER,
        trustKey: 'ca.crt',
      }),
      demoClient({
        namespace: CLIENT_NS,
        name: 'caller',
        image,
        podCertificate: podCertificate(),
        trustSigner: SIGNER,
        trustKey: 'ca.crt',
        hostAliases: [{ ip: clusterIp, hostnames: [SERVER_NAME] }],
        env: { URL: `https://${SERVER_NAME}:${HTTPS_PORT}/`, RATE: String(RATE), WORKERS: '4' },
      }),
      demoServer({ namespace: DENIED_NS, name: 'intruder', image, podCertificate: podCertificate(), trustSigner: SIGNER, trustKey: 'ca.crt' }),
    ]);
    for (const [ns, name] of [
      [SERVER_NS, 'api'],
      [CLIENT_NS, 'caller'],
    ] as const)
      await kubectl('rollout', 'status', `deployment/${name}`, '-n', ns, '--timeout=180s');
    const servers = await podsOf(SERVER_NS, 'api');
    const [caller] = await podsOf(CLIENT_NS, 'caller');
    const pods = [...servers, caller!];
    await waitFor("the client's first responses", async () => (await stats<ClientStats>(caller!)).ok > 50, { timeoutMs: 60_000 });

    // The denied pod: its request is Denied naming the policy, the kubelet says so on the pod, and it never runs.
    const [intruder] = await podsOf(DENIED_NS, 'intruder');
    const denial = await waitFor('the intruder pod certificate request to be denied', async () => {
      const { items } = await client.list<PodCertificateRequest>(Resources.podCertificateRequests, { namespace: DENIED_NS });
      return items.map((p) => p.status?.conditions?.[0]).find((c) => c?.type === 'Denied');
    });
    assert.equal(denial.reason, 'PolicyDenied');
    assert.match(denial.message, /namespace pods-denied may not use ClusterIssuer pod-mesh: IssuancePolicy pod-mesh governs it/);
    const podEvents = await waitFor('the kubelet to report the denial on the pod', async () => {
      const { items } = await client.list<KubeObject & { reason?: string; message?: string }>(Resources.events, {
        namespace: DENIED_NS,
        fieldSelector: `involvedObject.name=${intruder!.name}`,
      });
      const messages = items.map((e) => `${e.reason}: ${e.message}`);
      return messages.some((m) => m.includes('PolicyDenied')) ? messages : undefined;
    });
    assert.ok(podEvents.length > 0);
    const phase = (await kubectl('get', 'pod', '-n', DENIED_NS, intruder!.name, '-o', 'jsonpath={.status.phase}')).trim();
    assert.equal(phase, 'Pending', 'a pod without its certificate never starts');

    // Watch the issuer and the pods' mounted certificates until two rotations are done.
    const caName = (fp: string, issuer: Issuer) => issuer.status?.ca?.generations?.find((g) => g.fingerprint === fp);
    const retired = new Set<string>();
    const signers: string[] = [];
    const podIssuers = new Map<string, Set<string>>(pods.map((p) => [p.name, new Set()]));
    let latest: Issuer | undefined;
    let done = false;
    let slowedDown = false;
    const poller = (async () => {
      let known = new Set<string>();
      while (!done) {
        try {
          latest = await client.get<Issuer>(Resources.clusterIssuers, undefined, ISSUER);
          const bundle = await client.get<KubeObject & { spec?: { trustBundle?: string } }>(Resources.clusterTrustBundles, undefined, CTB_NAME);
          for (const pem of bundle?.spec?.trustBundle?.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []) {
            const ca = new X509Certificate(pem);
            cas.set(fingerprintOf(ca), ca);
          }
          const gens = new Set((latest?.status?.ca?.generations ?? []).map((g) => g.fingerprint));
          for (const fp of known) if (!gens.has(fp)) retired.add(fp);
          known = gens;
          const fp = latest?.status?.caFingerprint;
          if (fp && signers.at(-1) !== fp) signers.push(fp);
          for (const p of pods) {
            const ca = podCa(p);
            if (ca) podIssuers.get(p.name)!.add(ca);
          }
        } catch {
          // the next round sees it
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    try {
      await waitFor(
        'two CA rotations to complete (each old CA retired after every pod refreshed)',
        () => {
          if (signers.length >= 3 && !slowedDown) {
            // The third CA signs: no third rotation within the test.
            slowedDown = true;
            void updateSpec<NonNullable<Issuer['spec']>>(client, Resources.clusterIssuers, undefined, ISSUER, (s) => ({
              ...s,
              ca: { ...s.ca!, managed: { ...s.ca!.managed!, rotateBefore: ROTATE_LATER } },
            }));
          }
          return retired.size >= 2 && latest?.status?.ca?.phase === 'Stable';
        },
        { timeoutMs: 45 * 60_000, intervalMs: 2000 },
      );
    } finally {
      done = true;
      await poller;
    }
    assert.ok(caName(signers.at(-1)!, latest!), 'the last signer is in the bundle');
    assert.equal(signers.length, 3, `three CAs signed in turn: ${signers.join(', ')}`);

    // Every pod refreshed onto the newest CA, through the kubelet; and nothing failed on the way.
    const ctb = await client.get<KubeObject & { spec?: { trustBundle?: string } }>(Resources.clusterTrustBundles, undefined, CTB_NAME);
    assert.equal((ctb?.spec?.trustBundle?.match(/BEGIN CERTIFICATE/g) ?? []).length, 1, 'only the newest CA is left in the ClusterTrustBundle');
    for (const p of pods) {
      const held = [...podIssuers.get(p.name)!];
      assert.equal(held.length, 3, `${p.name} held a certificate of each of the three CAs, in turn: ${held.join(', ')}`);
      assert.equal(podCa(p), signers.at(-1), `${p.name} ends on the newest CA`);
    }
    const c = await stats<ClientStats>(caller!);
    const serverStats = await Promise.all(servers.map((p) => stats<ServerStats>(p)));
    console.log(
      `pod certificates e2e: ${c.ok} requests ok, ${c.failed} failed; server handshakes ${serverStats.map((st) => st.handshakes).join(' + ')}; ` +
        `CAs in turn ${signers.map((fp) => fp.slice(0, 12)).join(' → ')}; pods' CAs ${pods.map((p) => `${p.name}: ${[...podIssuers.get(p.name)!].map((fp) => fp.slice(0, 12)).join(' → ')}`).join('; ')}`,
    );
    assert.ok(c.ok > RATE * 60, `the client kept going: ${JSON.stringify(c)}`);
    assert.equal(c.failed, 0, `failed requests: ${JSON.stringify(c.errors)}`);
    for (const [i, st] of serverStats.entries()) assert.deepEqual(st.handshakeErrors, {}, `${servers[i]!.name} handshake errors`);
  });
});
