// The PodCertificateRequest signer on the real control plane (kube-apiserver validates every status it writes): a
// managed-CA ClusterIssuer and a namespaced Issuer sign requests made the way the kubelet makes them; requests for a
// pod that is not the one named, a key type the issuer does not take, userAnnotations it does not know, a namespace
// the policy refuses or a namespaced signer asked from elsewhere are Denied with a reason, and nothing is signed.
// The kubelet's side (volumes, refresh, rotation) is test/e2e/pod-certificates.test.ts on the real node.
import assert from 'node:assert/strict';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Issuer } from '../../src/api/issuer.ts';
import { API_VERSION } from '../../src/api/meta.ts';
import type { PodCertificateRequest } from '../../src/api/pod-certificate-request.ts';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { Resources } from '../../src/kube/resources.ts';
import { startControlPlane, type ControlPlane } from '../env/controlplane.ts';
import { clusterIssuer, issuer, waitForReady } from './helpers/objects.ts';
import { startOperator, type OperatorProcess } from './helpers/operator.ts';
import { createPodCertificateRequest, createPodFixture, podKey, stubCsr, type PodFixture } from './helpers/pod-certificates.ts';
import { waitFor } from './helpers/wait.ts';

const crdsDir = join(import.meta.dirname, '..', '..', 'crds');
let cp: ControlPlane;
let client: KubeClient;
let operator: OperatorProcess;
let teamA: PodFixture;
let teamB: PodFixture;

async function answered(namespace: string, name: string): Promise<PodCertificateRequest> {
  return waitFor(`PodCertificateRequest ${namespace}/${name} to be answered`, async () => {
    const pcr = await client.get<PodCertificateRequest>(Resources.podCertificateRequests, namespace, name);
    return pcr?.status?.conditions?.length ? pcr : undefined;
  });
}

async function denied(namespace: string, name: string, reason: string, message: RegExp) {
  const pcr = await answered(namespace, name);
  const cond = pcr.status!.conditions![0]!;
  assert.equal(cond.type, 'Denied', JSON.stringify(cond));
  assert.equal(cond.reason, reason);
  assert.match(cond.message, message);
  assert.equal(pcr.status?.certificateChain, undefined, 'nothing was signed');
}

before(async () => {
  const logDir = await mkdtemp(join(tmpdir(), 'certsmith-podcerts-'));
  cp = await startControlPlane({ crdsDir });
  client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath });
  for (const name of ['certsmith', 'team-a', 'team-b']) {
    await client.create(Resources.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  operator = startOperator({ kubeconfigPath: cp.kubeconfigPath, logDir, args: ['--leader-elect=false'] });
  await client.create(
    Resources.clusterIssuers,
    clusterIssuer('mesh', { ca: { managed: { commonName: 'mesh CA', duration: '48h' }, podCertificates: { maxDuration: '12h', keyTypes: ['ECDSAP256'] } } }),
  );
  await client.create(Resources.issuers, issuer('team-a', 'local', { ca: { managed: { commonName: 'team-a CA' }, podCertificates: {} } }));
  // Pods of team-b may not use the mesh issuer.
  await client.create(Resources.issuancePolicies, {
    apiVersion: API_VERSION,
    kind: 'IssuancePolicy',
    metadata: { name: 'mesh' },
    spec: {
      issuers: [{ kind: 'ClusterIssuer', name: 'mesh' }],
      namespaces: { names: ['team-a'] },
      allowed: { dnsZones: ['team-a.svc'], uris: ['spiffe://cluster.local/ns/team-a/sa/*'] },
    },
  });
  await waitForReady(client, Resources.clusterIssuers, undefined, 'mesh');
  await waitForReady(client, Resources.issuers, 'team-a', 'local');
  teamA = await createPodFixture(client, 'team-a', 'web');
  teamB = await createPodFixture(client, 'team-b', 'web');
});

after(async () => {
  await operator?.stop();
  await cp?.stop();
});

describe('pod certificates', () => {
  it('names the signer each issuer serves in its status', async () => {
    const mesh = await client.get<Issuer>(Resources.clusterIssuers, undefined, 'mesh');
    assert.equal(mesh?.status?.podCertificateSignerName, 'certsmith.dev/mesh');
    const local = await client.get<Issuer>(Resources.issuers, 'team-a', 'local');
    assert.equal(local?.status?.podCertificateSignerName, 'certsmith.dev/ns.team-a.local');
  });

  it('issues a SPIFFE certificate over the pod key, chained to the issuer CA, with kube-apiserver-valid times', async () => {
    const key = podKey('ECDSAP256');
    await createPodCertificateRequest(client, teamA, {
      name: 'web-1',
      signerName: 'certsmith.dev/mesh',
      csr: await stubCsr(key),
      userAnnotations: { 'certsmith.dev/dns-names': 'web.team-a.svc, api.team-a.svc' },
    });
    const pcr = await answered('team-a', 'web-1');
    const cond = pcr.status!.conditions![0]!;
    assert.equal(cond.type, 'Issued', JSON.stringify(cond));
    const leaf = new X509Certificate(pcr.status!.certificateChain!);
    assert.ok(leaf.publicKey.equals(createPublicKey(key)), 'issued to the pod key');
    assert.equal(leaf.subjectAltName, 'DNS:web.team-a.svc, DNS:api.team-a.svc, URI:spiffe://cluster.local/ns/team-a/sa/app');
    const mesh = await client.get<Issuer>(Resources.clusterIssuers, undefined, 'mesh');
    const ca = mesh!.status!.ca!.generations!.find((g) => g.role === 'signing')!;
    assert.equal(leaf.issuer, 'CN=mesh CA');
    assert.ok(ca, 'a signing generation');
    const notBefore = Date.parse(pcr.status!.notBefore!);
    const notAfter = Date.parse(pcr.status!.notAfter!);
    const refresh = Date.parse(pcr.status!.beginRefreshAt!);
    assert.equal(notAfter - notBefore, 12 * 3600_000, "the issuer's maxDuration caps the pod's 24h");
    assert.equal(new Date(leaf.validFrom).getTime(), notBefore);
    // 33 % before the end: 12h lifetime → refresh 8h02m after notBefore (rounded to whole seconds).
    assert.ok(Math.abs(refresh - (notAfter - 0.33 * 12 * 3600_000)) < 2000, `beginRefreshAt ${pcr.status!.beginRefreshAt}`);
  });

  it('namespaced Issuers sign for their own namespace only', async () => {
    const key = podKey('ED25519');
    await createPodCertificateRequest(client, teamA, { name: 'web-local', signerName: 'certsmith.dev/ns.team-a.local', csr: await stubCsr(key) });
    assert.equal((await answered('team-a', 'web-local')).status!.conditions![0]!.type, 'Issued');
    await createPodCertificateRequest(client, teamB, { name: 'web-steal', signerName: 'certsmith.dev/ns.team-a.local', csr: await stubCsr(key) });
    await denied('team-b', 'web-steal', 'NamespaceNotServed', /signs only for pods in team-a/);
  });

  it('denies a request naming a pod that is not the one running (another UID)', async () => {
    await createPodCertificateRequest(client, teamA, {
      name: 'web-stale',
      signerName: 'certsmith.dev/mesh',
      csr: await stubCsr(podKey('ECDSAP256')),
      podUID: '00000000-0000-0000-0000-000000000000',
    });
    await denied('team-a', 'web-stale', 'PodMismatch', /pod team-a\/web has UID .*, not 00000000/);
  });

  it('denies a key type the issuer does not take, naming the ones it does', async () => {
    await createPodCertificateRequest(client, teamA, { name: 'web-ed', signerName: 'certsmith.dev/mesh', csr: await stubCsr(podKey('ED25519')) });
    await denied('team-a', 'web-ed', 'UnsupportedKeyType', /key type ED25519 is not accepted by ClusterIssuer mesh: use one of ECDSAP256/);
  });

  it('denies userAnnotations it does not read, and DNS names that are not names', async () => {
    const csr = await stubCsr(podKey('ECDSAP256'));
    await createPodCertificateRequest(client, teamA, {
      name: 'web-anno',
      signerName: 'certsmith.dev/mesh',
      csr,
      userAnnotations: { 'example.com/role': 'admin' },
    });
    await denied('team-a', 'web-anno', 'InvalidUnverifiedUserAnnotations', /example.com\/role is not one certsmith reads/);
    await createPodCertificateRequest(client, teamA, {
      name: 'web-badname',
      signerName: 'certsmith.dev/mesh',
      csr,
      userAnnotations: { 'certsmith.dev/dns-names': 'a..b' },
    });
    await denied('team-a', 'web-badname', 'InvalidUnverifiedUserAnnotations', /certsmith.dev\/dns-names: a..b has an empty label/);
  });

  it('applies the issuance policy: a namespace it does not select, a DNS name outside its zones', async () => {
    await createPodCertificateRequest(client, teamB, { name: 'web-b', signerName: 'certsmith.dev/mesh', csr: await stubCsr(podKey('ECDSAP256')) });
    await denied('team-b', 'web-b', 'PolicyDenied', /namespace team-b may not use ClusterIssuer mesh: IssuancePolicy mesh governs it/);
    await createPodCertificateRequest(client, teamA, {
      name: 'web-zone',
      signerName: 'certsmith.dev/mesh',
      csr: await stubCsr(podKey('ECDSAP256')),
      userAnnotations: { 'certsmith.dev/dns-names': 'www.example.com' },
    });
    await denied('team-a', 'web-zone', 'PolicyDenied', /"www.example.com" is not allowed/);
  });

  it('leaves requests for signers it does not serve alone', async () => {
    await createPodCertificateRequest(client, teamA, { name: 'web-other', signerName: 'example.com/other', csr: await stubCsr(podKey('ECDSAP256')) });
    await new Promise((r) => setTimeout(r, 2000));
    const pcr = await client.get<PodCertificateRequest>(Resources.podCertificateRequests, 'team-a', 'web-other');
    assert.equal(pcr?.status?.conditions, undefined);
  });

  it('a managed CA retires its old generation only once every pod holding its certificate has refreshed or is gone', { timeout: 180_000 }, async () => {
    const p1 = await createPodFixture(client, 'team-a', 'rot-1');
    const p2 = await createPodFixture(client, 'team-a', 'rot-2');
    // Rotation 25 s after the CA is made; no bundle sources it, so the switch follows after the 1 s delay.
    await client.create(
      Resources.clusterIssuers,
      clusterIssuer('rot', {
        ca: {
          managed: { commonName: 'rot CA', duration: '4h', rotateBefore: '3h59m35s', propagationDelay: '1s', retireGracePeriod: '1s' },
          podCertificates: {},
        },
      }),
    );
    const first = (await waitForReady(client, Resources.clusterIssuers, undefined, 'rot')) as Issuer;
    const oldCa = first.status!.caFingerprint!;
    const request = async (f: PodFixture, name: string) => {
      await createPodCertificateRequest(client, f, { name, signerName: 'certsmith.dev/rot', csr: await stubCsr(podKey('ECDSAP256')) });
      const pcr = await answered('team-a', name);
      assert.equal(pcr.status!.conditions![0]!.type, 'Issued', JSON.stringify(pcr.status!.conditions));
      return pcr;
    };
    await request(p1, 'rot-1-a');
    const before = await request(p2, 'rot-2-a');
    // Issued before the rotation starts: it asks to be refreshed by then (clamped to the API's earliest, 10 min).
    assert.equal(Date.parse(before.status!.beginRefreshAt!) - Date.parse(before.status!.notBefore!), 10 * 60_000);

    const status = async () => (await client.get<Issuer>(Resources.clusterIssuers, undefined, 'rot'))!.status!;
    await waitFor(
      'the switch to the new CA, held by two pods',
      async () => {
        const st = await status();
        return st.caFingerprint !== oldCa && /2 certificate\(s\) signed by the old CA/.test(st.conditions?.[0]?.message ?? '');
      },
      { timeoutMs: 90_000 },
    );
    // One pod refreshes onto the new CA; the other is deleted. Only then does the old CA leave.
    const refreshed = await request(p1, 'rot-1-b');
    assert.notEqual(new X509Certificate(refreshed.status!.certificateChain!).issuer, '', 'signed');
    await waitFor('one pod left on the old CA', async () => /1 certificate\(s\) signed by the old CA/.test((await status()).conditions?.[0]?.message ?? ''));
    assert.ok(
      (await status()).ca!.generations!.some((g) => g.fingerprint === oldCa),
      'the old CA is still trusted',
    );
    // No kubelet here to finish a graceful deletion: a terminating pod may still serve, so it still counts until gone.
    await cp.kubectl('delete', 'pod', 'rot-2', '-n', 'team-a', '--grace-period=0', '--force');
    await waitFor(
      'the old CA to leave once the last pod holding its certificate is gone',
      async () => !(await status()).ca!.generations!.some((g) => g.fingerprint === oldCa),
      { timeoutMs: 90_000 },
    );
  });

  it('refuses a ClusterIssuer signer name reserved for namespaced Issuers', async () => {
    await client.create(
      Resources.clusterIssuers,
      clusterIssuer('thief', { ca: { managed: { commonName: 'thief' }, podCertificates: { signerName: 'certsmith.dev/ns.team-a.local' } } }),
    );
    const c = await waitForReady(client, Resources.clusterIssuers, undefined, 'thief', (cond) => cond.status === 'False');
    assert.match(JSON.stringify(c.status), /signer names starting with certsmith.dev\/ns. belong to namespaced Issuers/);
  });
});
