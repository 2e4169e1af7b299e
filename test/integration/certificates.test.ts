// Certificates issued by SelfSigned and CA issuers on the real control plane, through the real operator.
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Certificate, CertificateSpec } from '../../src/api/certificate.ts';
import { findCondition } from '../../src/api/conditions.ts';
import { MANAGED_BY_LABEL } from '../../src/api/labels.ts';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { Resources } from '../../src/kube/resources.ts';
import { describeCertificate, isSignedBy, keySpecOf, parseCertificatesPem, parsePrivateKeyPem, publicKeyMatches } from '../../src/pki/index.ts';
import { startControlPlane, type ControlPlane } from '../env/controlplane.ts';
import { certificate, clusterIssuer, createNamespace, decode, issuer, updateSpec, waitForReady, type Secret } from './helpers/objects.ts';
import { startOperator, type OperatorProcess } from './helpers/operator.ts';
import { waitFor } from './helpers/wait.ts';

const crdsDir = join(import.meta.dirname, '..', '..', 'crds');
const NS = 'certs';
let cp: ControlPlane;
let client: KubeClient;
let operator: OperatorProcess;
let logDir: string;

const caIssuer = { kind: 'ClusterIssuer' as const, name: 'test-ca' };

async function readSecret(name: string): Promise<Secret> {
  const s = await client.get<Secret>(Resources.secrets, NS, name);
  assert.ok(s, `Secret ${NS}/${name} exists`);
  return s;
}

async function issue(name: string, spec: Omit<CertificateSpec, 'secretName' | 'issuerRef'> & Partial<CertificateSpec>, timeoutMs = 60_000) {
  await client.create(Resources.certificates, certificate(NS, name, { secretName: `${name}-tls`, issuerRef: caIssuer, ...spec }));
  return waitForReady(client, Resources.certificates, NS, name, undefined, timeoutMs) as Promise<Certificate>;
}

before(async () => {
  logDir = await mkdtemp(join(tmpdir(), 'certsmith-certs-'));
  cp = await startControlPlane({ crdsDir });
  client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath });
  await createNamespace(client, 'certsmith');
  await createNamespace(client, NS);
  operator = startOperator({ kubeconfigPath: cp.kubeconfigPath, logDir, args: ['--leader-elect=false'] });
  await client.create(Resources.clusterIssuers, clusterIssuer('selfsigned', { selfSigned: {} }));
  await client.create(
    Resources.certificates,
    certificate('certsmith', 'root-ca', {
      secretName: 'root-ca',
      isCA: true,
      commonName: 'certsmith test root',
      duration: '8760h',
      issuerRef: { kind: 'ClusterIssuer', name: 'selfsigned' },
    }),
  );
  await waitForReady(client, Resources.certificates, 'certsmith', 'root-ca');
  await client.create(Resources.clusterIssuers, clusterIssuer('test-ca', { ca: { secretName: 'root-ca' } }));
  await waitForReady(client, Resources.clusterIssuers, undefined, 'test-ca');
});

after(async () => {
  await operator?.stop();
  await cp?.stop();
});

describe('issuance', () => {
  it('a self-signed root CA bootstraps a CA ClusterIssuer', async () => {
    const root = await client.get<Secret>(Resources.secrets, 'certsmith', 'root-ca');
    const info = describeCertificate(parseCertificatesPem(decode(root, 'tls.crt'))[0]!);
    assert.equal(info.isCA, true);
    assert.equal(info.selfSigned, true);
    assert.equal(decode(root, 'ca.crt'), decode(root, 'tls.crt'), 'ca.crt of a self-signed certificate is itself');
    assert.equal(root?.metadata.labels?.[MANAGED_BY_LABEL], 'certsmith');
  });

  const keyCases: { name: string; algorithm: 'RSA' | 'ECDSA' | 'Ed25519'; size?: number; timeoutMs?: number }[] = [
    { name: 'rsa-2048', algorithm: 'RSA', size: 2048 },
    { name: 'rsa-3072', algorithm: 'RSA', size: 3072 },
    { name: 'rsa-4096', algorithm: 'RSA', size: 4096 },
    { name: 'rsa-8192', algorithm: 'RSA', size: 8192, timeoutMs: 300_000 },
    { name: 'ecdsa-256', algorithm: 'ECDSA', size: 256 },
    { name: 'ecdsa-384', algorithm: 'ECDSA', size: 384 },
    { name: 'ecdsa-521', algorithm: 'ECDSA', size: 521 },
    { name: 'ed25519', algorithm: 'Ed25519' },
  ];
  for (const c of keyCases) {
    it(`a CA-issued ${c.name} certificate lands in a kubernetes.io/tls Secret that verifies`, async () => {
      await issue(
        c.name,
        {
          dnsNames: [`${c.name}.example.test`, `*.${c.name}.example.test`],
          ipAddresses: ['10.1.2.3', '2001:db8::1'],
          privateKey: { algorithm: c.algorithm, ...(c.size ? { size: c.size } : {}) },
        },
        c.timeoutMs,
      );
      const secret = await readSecret(`${c.name}-tls`);
      assert.equal(secret.type, 'kubernetes.io/tls');
      const chain = parseCertificatesPem(decode(secret, 'tls.crt'));
      const ca = parseCertificatesPem(decode(secret, 'ca.crt'))[0]!;
      const leaf = describeCertificate(chain[0]!);
      assert.deepEqual([...leaf.dnsNames].sort(), [`${c.name}.example.test`, `*.${c.name}.example.test`].sort());
      assert.deepEqual([...leaf.ipAddresses].sort(), ['10.1.2.3', '2001:db8::1']);
      assert.equal(leaf.isCA, false);
      assert.ok(await isSignedBy(chain[0]!, ca), 'leaf is signed by ca.crt');
      const key = parsePrivateKeyPem(decode(secret, 'tls.key'));
      assert.ok(publicKeyMatches(key, chain[0]!), 'tls.key matches tls.crt');
      assert.equal(keySpecOf(key).algorithm, c.algorithm);
      if (c.size) assert.equal(keySpecOf(key).size, c.size);
      assert.ok(leaf.usages.includes('server auth') && leaf.usages.includes('digital signature'));
    });
  }

  it('additional output formats and the secret template reach the Secret', async () => {
    await issue('formats', {
      dnsNames: ['formats.example.test'],
      additionalOutputFormats: [{ type: 'CombinedPEM' }, { type: 'DER' }],
      privateKey: { encoding: 'PKCS8' },
      secretTemplate: { labels: { team: 'payments' }, annotations: { 'example.test/owner': 'payments' } },
    });
    const s = await readSecret('formats-tls');
    assert.equal(decode(s, 'tls-combined.pem'), decode(s, 'tls.key') + decode(s, 'tls.crt'));
    assert.ok(decode(s, 'tls.key').startsWith('-----BEGIN PRIVATE KEY-----'));
    const der = Buffer.from(s.data!['key.der']!, 'base64');
    // key.der is the same private key as tls.key, in PKCS#8 DER.
    const derKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
    assert.deepEqual(derKey.export({ format: 'pem', type: 'pkcs8' }), createPrivateKey(decode(s, 'tls.key')).export({ format: 'pem', type: 'pkcs8' }));
    assert.equal(s.metadata.labels?.team, 'payments');
    assert.equal(s.metadata.annotations?.['example.test/owner'], 'payments');
  });
});

describe('lifecycle', () => {
  it('a changed spec re-issues the certificate with the new names', async () => {
    const first = await issue('changing', { dnsNames: ['one.example.test'] });
    await updateSpec<CertificateSpec>(client, Resources.certificates, NS, 'changing', (spec) => ({
      ...spec,
      dnsNames: ['one.example.test', 'two.example.test'],
    }));
    await waitForReady(
      client,
      Resources.certificates,
      NS,
      'changing',
      (c, o) => c.status === 'True' && (o.status?.revision ?? 0) > (first.status?.revision ?? 0),
    );
    const leaf = describeCertificate(parseCertificatesPem(decode(await readSecret('changing-tls'), 'tls.crt'))[0]!);
    assert.deepEqual(leaf.dnsNames.sort(), ['one.example.test', 'two.example.test']);
  });

  it('a deleted Secret comes back', async () => {
    await issue('phoenix', { dnsNames: ['phoenix.example.test'] });
    const before = await readSecret('phoenix-tls');
    await client.delete(Resources.secrets, NS, 'phoenix-tls');
    const back = await waitFor('the Secret to be written again', async () => {
      const s = await client.get<Secret>(Resources.secrets, NS, 'phoenix-tls');
      return s && s.metadata.uid !== before.metadata.uid ? s : undefined;
    });
    assert.ok(decode(back, 'tls.crt').includes('BEGIN CERTIFICATE'));
    await waitForReady(client, Resources.certificates, NS, 'phoenix');
  });

  it('certificates renew on time; rotationPolicy Always makes a new key and Never keeps it', async () => {
    // 1 minute lifetime, renewed when 75% remains: 15 seconds after notBefore.
    const short = { duration: '1m', renewBeforePercentage: 75, dnsNames: ['short.example.test'] };
    const first = new Map([
      ['rotate-always', await issue('rotate-always', { ...short, privateKey: { rotationPolicy: 'Always' } })],
      ['rotate-never', await issue('rotate-never', { ...short, privateKey: { rotationPolicy: 'Never' } })],
    ]);
    const keyAlways1 = decode(await readSecret('rotate-always-tls'), 'tls.key');
    const keyNever1 = decode(await readSecret('rotate-never-tls'), 'tls.key');
    const certNever1 = decode(await readSecret('rotate-never-tls'), 'tls.crt');
    for (const [name, c1] of first) {
      const notBefore = Date.parse(c1.status!.notBefore!);
      const notAfter = Date.parse(c1.status!.notAfter!);
      assert.equal(notAfter - notBefore, 60_000, `${name}: a 1 minute lifetime`);
      const due = notAfter - 0.75 * (notAfter - notBefore);
      assert.equal(Date.parse(c1.status!.renewalTime!), due, `${name}: renewal due when 75% of the lifetime remains`);
      const renewed = (await waitForReady(
        client,
        Resources.certificates,
        NS,
        name,
        (c, o) => c.status === 'True' && (o.status?.revision ?? 0) >= 2,
        60_000,
      )) as Certificate;
      assert.equal(renewed.status?.revision, 2, `${name}: seen at its first renewal`);
      // The issuer stamps notBefore with the time it signed, to the second: when the renewal happened.
      const leaf = describeCertificate(parseCertificatesPem(decode(await readSecret(`${name}-tls`), 'tls.crt'))[0]!);
      assert.equal(leaf.notBefore.getTime(), Date.parse(renewed.status!.notBefore!), `${name}: the Secret holds revision 2`);
      const lateMs = leaf.notBefore.getTime() - due;
      assert.ok(lateMs >= 0, `${name}: renewed ${-lateMs} ms before it was due`);
      assert.ok(lateMs <= 5_000, `${name}: renewed ${lateMs} ms after it was due (at most 5 s)`);
    }
    assert.notEqual(decode(await readSecret('rotate-always-tls'), 'tls.key'), keyAlways1, 'Always: a new key');
    assert.equal(decode(await readSecret('rotate-never-tls'), 'tls.key'), keyNever1, 'Never: the same key');
    assert.notEqual(decode(await readSecret('rotate-never-tls'), 'tls.crt'), certNever1, 'Never: still a new certificate');
  });

  it('a renewal blocked by its issuer keeps Ready=True, says why on Issuing, and completes once the issuer is back', async () => {
    await client.create(
      Resources.certificates,
      certificate(NS, 'flaky-ca', { secretName: 'flaky-ca', isCA: true, commonName: 'flaky CA', issuerRef: { kind: 'ClusterIssuer', name: 'selfsigned' } }),
    );
    await waitForReady(client, Resources.certificates, NS, 'flaky-ca');
    await client.create(Resources.issuers, issuer(NS, 'flaky', { ca: { secretName: 'flaky-ca' } }));
    await waitForReady(client, Resources.issuers, NS, 'flaky');
    // 1 minute lifetime, renewal due after 15 s.
    await client.create(
      Resources.certificates,
      certificate(NS, 'blocked-renewal', {
        secretName: 'blocked-renewal-tls',
        issuerRef: { kind: 'Issuer', name: 'flaky' },
        dnsNames: ['blocked.example.test'],
        duration: '1m',
        renewBeforePercentage: 50,
      }),
    );
    await waitForReady(client, Resources.certificates, NS, 'blocked-renewal');
    await updateSpec(client, Resources.issuers, NS, 'flaky', () => ({ ca: { secretName: 'no-such-ca' } }));
    await waitForReady(client, Resources.issuers, NS, 'flaky', (c) => c.status === 'False' && c.reason === 'SecretNotFound');

    const waiting = await waitFor(
      'the renewal to wait on the issuer',
      async () => {
        const c = await client.get<Certificate>(Resources.certificates, NS, 'blocked-renewal');
        const issuing = findCondition(c?.status?.conditions, 'Issuing');
        return issuing?.status === 'True' ? c : undefined;
      },
      { timeoutMs: 60_000 },
    );
    const issuing = findCondition(waiting.status?.conditions, 'Issuing')!;
    assert.equal(issuing.reason, 'Renewing');
    assert.match(issuing.message ?? '', /waiting: Issuer flaky is not ready: CA Secret certs\/no-such-ca does not exist/);
    assert.equal(findCondition(waiting.status?.conditions, 'Ready')?.status, 'True', 'the current certificate is still good');
    assert.equal(waiting.status?.revision, 1);

    await updateSpec(client, Resources.issuers, NS, 'flaky', () => ({ ca: { secretName: 'flaky-ca' } }));
    const renewed = await waitForReady(client, Resources.certificates, NS, 'blocked-renewal', (c, o) => c.status === 'True' && (o.status?.revision ?? 0) >= 2);
    assert.equal(findCondition(renewed.status?.conditions, 'Issuing'), undefined, 'Issuing is gone once the renewal is done');
  });

  it('an operator killed mid-flight loses nothing and issues nothing twice after restart', async () => {
    const names = Array.from({ length: 20 }, (_, i) => `burst-${i}`);
    await Promise.all(
      names.map((n) =>
        client.create(Resources.certificates, certificate(NS, n, { secretName: `${n}-tls`, issuerRef: caIssuer, dnsNames: [`${n}.example.test`] })),
      ),
    );
    const written = async () =>
      (await client.list<Secret>(Resources.secrets, { namespace: NS })).items.filter((s) => s.metadata.name.startsWith('burst-')).length;
    // Killed once issuance is under way (its first Secret is written), not after a guessed delay.
    await waitFor('the first Secret of the burst', async () => (await written()) > 0, { intervalMs: 10 });
    await operator.kill();
    const writtenAtKill = await written();
    assert.ok(writtenAtKill < names.length, `the kill landed mid-flight: ${writtenAtKill} of ${names.length} Secrets were written`);
    operator = startOperator({ kubeconfigPath: cp.kubeconfigPath, logDir, name: 'operator-2', args: ['--leader-elect=false'] });
    for (const n of names) {
      const c = await waitForReady(client, Resources.certificates, NS, n);
      assert.equal(c.status?.revision, 1, `${n} was issued once`);
      const s = await readSecret(`${n}-tls`);
      assert.equal(s.metadata.annotations?.['certsmith.dev/revision'], '1');
    }
  });
});
