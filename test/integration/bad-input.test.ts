// Every bad input gets a clear answer: rejected at admission, or a Ready=False condition a user can act on.
// Nothing crashes, loops, or overwrites data it does not own.
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Certificate, CertificateSpec } from '../../src/api/certificate.ts';
import type { Issuer } from '../../src/api/issuer.ts';
import { API_VERSION } from '../../src/api/meta.ts';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { Resources } from '../../src/kube/resources.ts';
import { encodePem, encodePrivateKeyPem, generatePrivateKey, signCertificate } from '../../src/pki/index.ts';
import { startControlPlane, type ControlPlane } from '../env/controlplane.ts';
import { certificate, createNamespace, decode, issuer, updateSpec, waitForReady, type Secret } from './helpers/objects.ts';
import { waitFor } from './helpers/wait.ts';
import { startOperator, type OperatorProcess } from './helpers/operator.ts';
import { reconcileCount, reconciledAgain, touch } from './helpers/reconciles.ts';

const crdsDir = join(import.meta.dirname, '..', '..', 'crds');
const NS = 'bad';
let cp: ControlPlane;
let client: KubeClient;
let operator: OperatorProcess;

const ref = { kind: 'Issuer' as const, name: 'selfsigned' };

async function keyPair(isCA: boolean) {
  const key = await generatePrivateKey({ algorithm: 'ECDSA', size: 256 });
  const now = new Date();
  const der = await signCertificate({
    publicKey: createPublicKey(key),
    subject: { commonName: isCA ? 'test CA' : 'not a CA' },
    dnsNames: isCA ? [] : ['leaf.example.test'],
    ipAddresses: [],
    uris: [],
    emailAddresses: [],
    usages: isCA ? ['cert sign', 'crl sign'] : ['digital signature', 'server auth'],
    isCA,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 86_400_000),
    signer: { privateKey: key },
  });
  return { certPem: encodePem('CERTIFICATE', der), keyPem: encodePrivateKeyPem(key, 'PKCS8') };
}

function secret(name: string, data: Record<string, string>, type = 'kubernetes.io/tls'): Secret {
  const encoded = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: NS }, type, data: encoded };
}

async function notReady(name: string, reason: string, message: RegExp) {
  const c = await waitForReady(client, Resources.certificates, NS, name, (cond) => cond.status === 'False' && cond.reason === reason);
  const cond = c.status!.conditions!.find((x) => x.type === 'Ready')!;
  assert.match(cond.message ?? '', message);
  return cond;
}

before(async () => {
  const logDir = await mkdtemp(join(tmpdir(), 'certsmith-bad-'));
  cp = await startControlPlane({ crdsDir });
  client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath });
  await createNamespace(client, 'certsmith');
  await createNamespace(client, NS);
  operator = startOperator({ kubeconfigPath: cp.kubeconfigPath, logDir, args: ['--leader-elect=false'] });
  await client.create(Resources.issuers, issuer(NS, 'selfsigned', { selfSigned: {} }));
  await waitForReady(client, Resources.issuers, NS, 'selfsigned');
});

after(async () => {
  await operator?.stop();
  await cp?.stop();
});

describe('rejected at admission by the CRD schema', () => {
  const cases: { name: string; spec: Record<string, unknown>; message: RegExp }[] = [
    { name: 'no identity at all', spec: { secretName: 's' }, message: /at least one of commonName, dnsNames/ },
    {
      name: 'both renewBefore and renewBeforePercentage',
      spec: { secretName: 's', dnsNames: ['a.example.test'], renewBefore: '1h', renewBeforePercentage: 10 },
      message: /renewBefore or renewBeforePercentage, not both/,
    },
    { name: 'an unknown key algorithm', spec: { secretName: 's', dnsNames: ['a.example.test'], privateKey: { algorithm: 'DSA' } }, message: /DSA/ },
    { name: 'an unknown usage', spec: { secretName: 's', dnsNames: ['a.example.test'], usages: ['world domination'] }, message: /world domination/ },
    { name: 'a missing issuerRef', spec: { secretName: 's', dnsNames: ['a.example.test'] }, message: /issuerRef/ },
    {
      name: 'a duration longer than 64 characters',
      spec: { secretName: 's', dnsNames: ['a.example.test'], duration: `${'0'.repeat(63)}1h` },
      message: /spec\.duration.*64/,
    },
  ];
  for (const c of cases) {
    it(`${c.name} is refused with a message`, async () => {
      const spec = c.name === 'a missing issuerRef' ? c.spec : { issuerRef: ref, ...c.spec };
      await assert.rejects(
        client.create(Resources.certificates, certificate(NS, 'rejected', spec as CertificateSpec)),
        (err: Error & { code?: string }) => err.code === 'KubeInvalid' && c.message.test(err.message),
      );
    });
  }
});

describe('reported on the Certificate by the operator', () => {
  const cases: { name: string; spec: Partial<CertificateSpec>; message: RegExp }[] = [
    { name: 'an unparseable duration', spec: { duration: '3d' }, message: /duration.*3d/ },
    { name: 'renewBefore longer than the duration', spec: { duration: '2h', renewBefore: '3h' }, message: /renewBefore/ },
    { name: 'an RSA key of 1024 bits', spec: { privateKey: { algorithm: 'RSA', size: 1024 } }, message: /1024/ },
    { name: 'an ECDSA key of 512 bits', spec: { privateKey: { algorithm: 'ECDSA', size: 512 } }, message: /512/ },
    { name: 'an Ed25519 key with a size', spec: { privateKey: { algorithm: 'Ed25519', size: 256 } }, message: /Ed25519/ },
    { name: 'more than 100 names', spec: { dnsNames: Array.from({ length: 101 }, (_, i) => `n${i}.example.test`) }, message: /100/ },
    { name: 'a malformed IP address', spec: { ipAddresses: ['300.1.2.3'] }, message: /300\.1\.2\.3/ },
    { name: 'a malformed URI', spec: { uris: ['not a uri'] }, message: /not a uri/ },
    { name: 'a malformed email address', spec: { emailAddresses: ['someone@'] }, message: /someone@/ },
    { name: 'a malformed DNS name', spec: { dnsNames: ['a..example.test'] }, message: /a\.\.example\.test/ },
    { name: 'a malformed wildcard', spec: { dnsNames: ['*.*.example.test'] }, message: /\*\.\*\.example\.test/ },
  ];
  cases.forEach((c, i) => {
    it(`${c.name} sets Ready=False InvalidSpec with a message naming it`, async () => {
      const name = `invalid-${i}`;
      await client.create(
        Resources.certificates,
        certificate(NS, name, { secretName: `${name}-tls`, issuerRef: ref, dnsNames: ['ok.example.test'], ...c.spec }),
      );
      await notReady(name, 'InvalidSpec', c.message);
      assert.equal(await client.get(Resources.secrets, NS, `${name}-tls`), undefined, 'no Secret is written');
    });
  });

  it('a well-formed wildcard is issued by a self-signed issuer', async () => {
    await client.create(Resources.certificates, certificate(NS, 'wild', { secretName: 'wild-tls', issuerRef: ref, dnsNames: ['*.example.test'] }));
    await waitForReady(client, Resources.certificates, NS, 'wild');
  });

  it('an issuerRef to a missing issuer says so, and issues once the issuer appears', async () => {
    await client.create(
      Resources.certificates,
      certificate(NS, 'orphan', { secretName: 'orphan-tls', issuerRef: { kind: 'Issuer', name: 'later' }, dnsNames: ['o.example.test'] }),
    );
    await notReady('orphan', 'IssuerNotFound', /Issuer later does not exist/);
    await client.create(Resources.issuers, issuer(NS, 'later', { selfSigned: {} }));
    await waitForReady(client, Resources.certificates, NS, 'orphan');
  });

  it('a Secret the operator does not manage is never overwritten', async () => {
    const mine = secret('precious', { 'tls.crt': 'user data', 'tls.key': 'user key' }, 'Opaque');
    await client.create(Resources.secrets, mine);
    await client.create(Resources.certificates, certificate(NS, 'intruder', { secretName: 'precious', issuerRef: ref, dnsNames: ['i.example.test'] }));
    await notReady('intruder', 'SecretConflict', /Secret precious exists and is not managed by certsmith/);
    const after = await client.get<Secret>(Resources.secrets, NS, 'precious');
    assert.equal(decode(after, 'tls.crt'), 'user data');
    assert.equal(decode(after, 'tls.key'), 'user key');
  });

  it("certsmith's own Secrets are never a Certificate's: a managed CA, session-ticket keys, an ACME order key", async () => {
    // A managed CA and session-ticket keys, made by the operator itself.
    await client.create(Resources.issuers, issuer(NS, 'own-ca', { ca: { managed: { commonName: 'own CA' } } }));
    await waitForReady(client, Resources.issuers, NS, 'own-ca');
    await client.create(Resources.sessionTicketKeys, {
      apiVersion: API_VERSION,
      kind: 'SessionTicketKeys',
      metadata: { name: 'own-tickets', namespace: NS },
      spec: { secretName: 'own-tickets' },
    });
    await waitFor('the ticket keys Secret', () => client.get<Secret>(Resources.secrets, NS, 'own-tickets'));
    // An order key lives only while an ACME order is open (no ACME server here): one as the operator writes it.
    const orderKey = secret('web-order-0123456789', { 'tls.key': 'order key' }, 'Opaque');
    orderKey.metadata.labels = {
      'app.kubernetes.io/managed-by': 'certsmith',
      'certsmith.dev/certificate-name': 'web',
      'certsmith.dev/internal': 'acme-order-key',
    };
    await client.create(Resources.secrets, orderKey);
    const cases = [
      { certificate: 'steal-ca', secret: 'own-ca-ca', holds: 'managed-ca' },
      { certificate: 'steal-tickets', secret: 'own-tickets', holds: 'session-ticket-keys' },
      { certificate: 'web', secret: 'web-order-0123456789', holds: 'acme-order-key' },
    ];
    for (const c of cases) {
      const before = (await client.get<Secret>(Resources.secrets, NS, c.secret))!;
      await client.create(
        Resources.certificates,
        certificate(NS, c.certificate, { secretName: c.secret, issuerRef: ref, dnsNames: [`${c.certificate}.example.test`] }),
      );
      await notReady(c.certificate, 'SecretConflict', new RegExp(`Secret ${c.secret} is one of certsmith's own \\(it holds ${c.holds}\\)`));
      const after = (await client.get<Secret>(Resources.secrets, NS, c.secret))!;
      assert.deepEqual(after.data, before.data, `${c.secret} is left as it was`);
    }
  });

  it('two Certificates naming one Secret: the first writes it, the second is told why it does not', async () => {
    await client.create(Resources.certificates, certificate(NS, 'first', { secretName: 'shared-tls', issuerRef: ref, dnsNames: ['first.example.test'] }));
    await waitForReady(client, Resources.certificates, NS, 'first');
    await client.create(Resources.certificates, certificate(NS, 'second', { secretName: 'shared-tls', issuerRef: ref, dnsNames: ['second.example.test'] }));
    await notReady('second', 'SecretInUse', /Secret shared-tls is written by Certificate first/);
    // Both reconciled again with nothing changed (a touch no controller reads), and counted: a loop starts with a
    // write, so if neither writes its status or the Secret, nothing loops.
    const reconciles = await reconcileCount(operator, 'certificates');
    const first = await touch<Certificate>(client, Resources.certificates, NS, 'first');
    const second = await touch<Certificate>(client, Resources.certificates, NS, 'second');
    const shared = (await client.get<Secret>(Resources.secrets, NS, 'shared-tls'))!;
    await reconciledAgain(operator, 'certificates', reconciles, 2);
    const firstLater = (await client.get<Certificate>(Resources.certificates, NS, 'first'))!;
    assert.equal(firstLater.status?.revision, first.status?.revision, 'nothing loops: the first is not re-issued');
    assert.equal(firstLater.metadata.resourceVersion, first.metadata.resourceVersion, 'and its status is not rewritten');
    assert.equal(
      (await client.get<Certificate>(Resources.certificates, NS, 'second'))!.metadata.resourceVersion,
      second.metadata.resourceVersion,
      "nor the second's",
    );
    assert.equal((await client.get<Secret>(Resources.secrets, NS, 'shared-tls'))!.metadata.resourceVersion, shared.metadata.resourceVersion, 'nor the Secret');
  });

  it('a spec changed while issuing ends with a certificate for the latest spec', async () => {
    await client.create(Resources.certificates, certificate(NS, 'moving', { secretName: 'moving-tls', issuerRef: ref, dnsNames: ['v0.example.test'] }));
    for (let v = 1; v <= 5; v++) {
      await updateSpec<CertificateSpec>(client, Resources.certificates, NS, 'moving', (spec) => ({ ...spec, dnsNames: [`v${v}.example.test`] }));
    }
    await waitForReady(client, Resources.certificates, NS, 'moving');
    const s = await client.get<Secret>(Resources.secrets, NS, 'moving-tls');
    assert.match(decode(s, 'tls.crt'), /BEGIN CERTIFICATE/);
    const { describeCertificate, parseCertificatesPem } = await import('../../src/pki/index.ts');
    assert.deepEqual(describeCertificate(parseCertificatesPem(decode(s, 'tls.crt'))[0]!).dnsNames, ['v5.example.test']);
  });
});

describe('CA issuers that cannot sign', () => {
  const cases: { name: string; data: () => Promise<Record<string, string> | undefined>; reason: string; message: RegExp }[] = [
    { name: 'a missing CA Secret', data: async () => undefined, reason: 'SecretNotFound', message: /does not exist/ },
    {
      name: 'a CA Secret without tls.key',
      data: async () => ({ 'tls.crt': (await keyPair(true)).certPem }),
      reason: 'SecretMissingKey',
      message: /has no tls\.key/,
    },
    {
      name: 'a CA Secret holding a certificate that is not a CA',
      data: async () => {
        const p = await keyPair(false);
        return { 'tls.crt': p.certPem, 'tls.key': p.keyPem };
      },
      reason: 'NotCA',
      message: /is not a CA/,
    },
    {
      name: 'a CA Secret whose key does not match its certificate',
      data: async () => ({ 'tls.crt': (await keyPair(true)).certPem, 'tls.key': (await keyPair(true)).keyPem }),
      reason: 'KeyMismatch',
      message: /does not match/,
    },
  ];
  cases.forEach((c, i) => {
    it(`${c.name}: the Issuer is not Ready with ${c.reason}, and its Certificates say so`, async () => {
      const name = `broken-ca-${i}`;
      const data = await c.data();
      if (data) await client.create(Resources.secrets, secret(`${name}-secret`, data, 'Opaque'));
      await client.create(Resources.issuers, issuer(NS, name, { ca: { secretName: `${name}-secret` } }));
      const iss = (await waitForReady(client, Resources.issuers, NS, name, (cond) => cond.status === 'False' && cond.reason === c.reason)) as Issuer;
      assert.match(iss.status!.conditions!.find((x) => x.type === 'Ready')!.message!, c.message);
      await client.create(
        Resources.certificates,
        certificate(NS, `${name}-leaf`, { secretName: `${name}-leaf-tls`, issuerRef: { kind: 'Issuer', name }, dnsNames: ['x.example.test'] }),
      );
      await notReady(`${name}-leaf`, 'IssuerNotReady', new RegExp(`Issuer ${name} is not ready`));
    });
  });
});
