// The certsmith CLI as a person runs it: a child process against the real control plane and the real operator.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Certificate } from '../../src/api/certificate.ts';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { Resources } from '../../src/kube/resources.ts';
import { startControlPlane, type ControlPlane } from '../env/controlplane.ts';
import { certificate, clusterIssuer, createNamespace, waitForReady } from './helpers/objects.ts';
import { startOperator, type OperatorProcess } from './helpers/operator.ts';
import { reconcileCount, reconciledAgain, touch } from './helpers/reconciles.ts';
import { waitFor } from './helpers/wait.ts';

const root = join(import.meta.dirname, '..', '..');
const crdsDir = join(root, 'crds');
const NS = 'cli';
let cp: ControlPlane;
let client: KubeClient;
let operator: OperatorProcess;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'src/cli/main.ts'), '--kubeconfig', cp.kubeconfigPath, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

async function cliJson<T>(...args: string[]): Promise<{ run: Run; json: T }> {
  const run = await cli(...args, '-o', 'json');
  try {
    return { run, json: JSON.parse(run.stdout) as T };
  } catch {
    throw new Error(`not JSON (exit ${run.code}): ${run.stdout}\n${run.stderr}`);
  }
}

before(async () => {
  const logDir = await mkdtemp(join(tmpdir(), 'certsmith-cli-'));
  cp = await startControlPlane({ crdsDir });
  client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath });
  await createNamespace(client, 'certsmith');
  await createNamespace(client, NS);
  // With leader election (the default): `check` looks at the Lease.
  operator = startOperator({ kubeconfigPath: cp.kubeconfigPath, logDir });
  await client.create(Resources.clusterIssuers, clusterIssuer('selfsigned', { selfSigned: {} }));
  await client.create(
    Resources.certificates,
    certificate('certsmith', 'cli-root', {
      secretName: 'cli-root',
      isCA: true,
      commonName: 'certsmith cli test root',
      duration: '8760h',
      issuerRef: { kind: 'ClusterIssuer', name: 'selfsigned' },
    }),
  );
  await waitForReady(client, Resources.certificates, 'certsmith', 'cli-root');
  await client.create(Resources.clusterIssuers, clusterIssuer('cli-ca', { ca: { secretName: 'cli-root' } }));
  await waitForReady(client, Resources.clusterIssuers, undefined, 'cli-ca');
  await client.create(
    Resources.certificates,
    certificate(NS, 'web', {
      secretName: 'web-tls',
      issuerRef: { kind: 'ClusterIssuer', name: 'cli-ca' },
      dnsNames: ['web.example.test', 'www.example.test'],
      ipAddresses: ['10.9.8.7'],
      privateKey: { algorithm: 'ECDSA', size: 256 },
    }),
  );
  await waitForReady(client, Resources.certificates, NS, 'web');
});

after(async () => {
  await operator?.stop();
  await cp?.stop();
});

describe('certsmith CLI', () => {
  it('status shows a Ready Certificate for people: condition, Secret, next renewal, events', async () => {
    const r = await cli('status', 'web', '-n', NS);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Certificate:\s+cli\/web$/m);
    assert.match(r.stdout, /^Ready:\s+True \(Ready\): Certificate is up to date/m);
    assert.match(r.stdout, /^Issuer:\s+ClusterIssuer\/cli-ca$/m);
    assert.match(r.stdout, /^Names:\s+web\.example\.test, www\.example\.test, 10\.9\.8\.7$/m);
    // 90 days by default, renewed at two thirds: a little under 60 days from now.
    assert.match(r.stdout, /^Next renewal:\s+\S+ \(in 59d\)$/m);
    assert.match(r.stdout, /^Secret web-tls:$/m);
    assert.match(r.stdout, /Data:\s+ca\.crt \(\d+ bytes\), tls\.crt \(\d+ bytes\), tls\.key \(\d+ bytes\)/);
    assert.doesNotMatch(r.stdout, /PRIVATE KEY|BEGIN/, 'no key material or PEM is printed');
    assert.match(r.stdout, /^Events:\n\s+TYPE\s+REASON\s+AGE\s+MESSAGE\n\s+Normal\s+Issued\s/m);
  });

  it('status -o json gives the same facts to scripts', async () => {
    const { run, json } = await cliJson<Record<string, any>>('status', 'web', '-n', NS);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(json.name, 'web');
    assert.equal(json.ready.status, 'True');
    assert.equal(json.revision, 1);
    assert.equal(json.secret.exists, true);
    assert.equal(json.secret.revision, 1);
    assert.deepEqual([...json.secret.certificate.dnsNames].sort(), ['web.example.test', 'www.example.test']);
    assert.equal(json.secret.certificate.publicKey, 'ECDSA P-256');
    assert.ok(json.events.some((e: { reason: string }) => e.reason === 'Issued'));
  });

  it('inspect decodes the Secret: SANs, key type, expiry, and the CA that signed it', async () => {
    const { run, json } = await cliJson<Record<string, any>>('inspect', 'web-tls', '-n', NS);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual([...json.chain[0].dnsNames].sort(), ['web.example.test', 'www.example.test']);
    assert.deepEqual(json.chain[0].ipAddresses, ['10.9.8.7']);
    assert.equal(json.chain[0].issuer, 'CN=certsmith cli test root');
    assert.deepEqual(json.privateKey, { type: 'ECDSA P-256', matchesCertificate: true });
    assert.equal(json.signedBy.kind, 'ca.crt');
    assert.equal(json.signedBy.subject, 'CN=certsmith cli test root');
    assert.deepEqual(json.issuerRef, { kind: 'ClusterIssuer', name: 'cli-ca' });

    const text = await cli('inspect', 'web-tls', '-n', NS);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^Signed by:\s+CN=certsmith cli test root \(ca\.crt; signature verified\)$/m);
    assert.match(text.stdout, /^Key:\s+ECDSA P-256 \(tls\.key matches the certificate\)$/m);
    assert.match(text.stdout, /^Expires:\s+\S+ \(in (89|90)d\)$/m);
    assert.doesNotMatch(text.stdout, /PRIVATE KEY|BEGIN/);
  });

  it('renew re-issues the certificate: the revision goes up once and the Secret holds a new certificate', async () => {
    const before = (await cliJson<Record<string, any>>('inspect', 'web-tls', '-n', NS)).json.chain[0].serialNumber;
    const r = await cli('renew', 'web', '-n', NS);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Renewal of Certificate cli\/web requested: the operator replaces revision 1 now/);
    const cert = await waitFor('revision 2', async () => {
      const c = await client.get<Certificate>(Resources.certificates, NS, 'web');
      return c?.status?.revision === 2 ? c : undefined;
    });
    assert.equal(cert.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    const after = (await cliJson<Record<string, any>>('inspect', 'web-tls', '-n', NS)).json;
    assert.notEqual(after.chain[0].serialNumber, before);
    assert.equal(after.revision, 2);
    // Done once: no further issuance follows from the same request, when the operator looks at it again (a touch no
    // controller reads; the request's annotation is still there).
    const reconciles = await reconcileCount(operator, 'certificates');
    await touch(client, Resources.certificates, NS, 'web');
    await reconciledAgain(operator, 'certificates', reconciles, 1);
    const still = await client.get<Certificate>(Resources.certificates, NS, 'web');
    assert.equal(still?.status?.revision, 2);
  });

  it('renew --wait returns the new revision', async () => {
    const { run, json } = await cliJson<Record<string, any>>('renew', 'web', '-n', NS, '--wait', '--timeout', '60');
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(json, { namespace: NS, name: 'web', revision: 2, requested: true, newRevision: 3 });
  });

  it('a missing certificate is a clear error with exit code 1', async () => {
    for (const command of ['status', 'renew']) {
      const r = await cli(command, 'nope', '-n', NS);
      assert.equal(r.code, 1, `${command}: ${r.stdout}`);
      assert.match(r.stderr, /^certsmith: Certificate cli\/nope not found/, command);
    }
    const s = await cli('inspect', 'nope-tls', '-n', NS);
    assert.equal(s.code, 1);
    assert.match(s.stderr, /^certsmith: Secret cli\/nope-tls not found/);
    const j = await cliJson<Record<string, any>>('status', 'nope', '-n', NS);
    assert.equal(j.run.code, 1);
    assert.equal(j.json.error.code, 'KubeNotFound');
  });

  it('check passes with the operator running: API reachable, CRDs current, Lease held', async () => {
    // The Lease is taken within a few seconds of start.
    const { run, json } = await waitFor(
      'check to pass',
      async () => {
        const c = await cliJson<{ ok: boolean; checks: { name: string; ok: boolean; message: string }[] }>('check');
        if (!c.json.ok) throw new Error(JSON.stringify(c.json.checks.filter((x) => !x.ok)));
        return c;
      },
      { timeoutMs: 30_000, intervalMs: 1000 },
    );
    assert.equal(run.code, 0);
    assert.deepEqual(
      json.checks.map((c) => c.name),
      [
        'api',
        'crd/certificates.certsmith.dev',
        'crd/issuers.certsmith.dev',
        'crd/clusterissuers.certsmith.dev',
        'crd/trustbundles.certsmith.dev',
        'crd/sessionticketkeys.certsmith.dev',
        'crd/issuancepolicies.certsmith.dev',
        'operator/lease',
      ],
    );
    const text = await cli('check');
    assert.equal(text.code, 0, text.stdout);
    assert.match(text.stdout, /All checks passed\./);
  });

  it('check reports the Lease problem once the operator has stopped, with exit code 1', async () => {
    await operator.stop();
    const { run, json } = await cliJson<{ ok: boolean; checks: { name: string; ok: boolean; message: string }[] }>('check');
    assert.equal(run.code, 1);
    assert.equal(json.ok, false);
    const lease = json.checks.find((c) => c.name === 'operator/lease');
    assert.equal(lease?.ok, false);
    assert.match(lease!.message, /Lease certsmith\/certsmith-operator is not held/);
    assert.ok(
      json.checks.filter((c) => c.name !== 'operator/lease').every((c) => c.ok),
      'only the Lease fails',
    );
    const text = await cli('check');
    assert.match(text.stdout, /operator\/lease\s+FAIL\s+Lease certsmith\/certsmith-operator is not held/);
    assert.match(text.stdout, /1 of 8 checks failed\./);
  });
});
