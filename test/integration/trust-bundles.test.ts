// TrustBundles on the real control plane, through the real operator: sources from a CA issuer, inline PEM and a
// ConfigMap; targets following namespace labels; no-op resyncs; removal; PKCS#12 and JKS truststores and
// ClusterTrustBundles; each kind of bad input, and a certificate OpenSSL cannot load never reaching a target; and
// sources only from the trust namespace and the namespaces the operator allows, refused alike elsewhere whether or not
// the object exists.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findCondition } from '../../src/api/conditions.ts';
import { API_VERSION, type Condition, type KubeObject } from '../../src/api/meta.ts';
import { TRUST_BUNDLE_LABEL, type TrustBundle, type TrustBundleSpec } from '../../src/api/trust-bundle.ts';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { Resources } from '../../src/kube/resources.ts';
import { encodePem, parseCertificatesPem } from '../../src/pki/index.ts';
import { parseCAPool } from '../../src/reload/parse.ts';
import { createGeneration } from '../../src/signers/managed-ca.ts';
import { startControlPlane, type ControlPlane } from '../env/controlplane.ts';
import { certificate, clusterIssuer, createNamespace, decode, editObject, issuer, type Secret, setNamespaceLabels, waitForReady } from './helpers/objects.ts';
import { startOperator, type OperatorProcess } from './helpers/operator.ts';
import { reconcileCount, reconciledAgain } from './helpers/reconciles.ts';
import { waitFor } from './helpers/wait.ts';
import { unloadableCertificate } from '../unit/trust/unloadable-certificate.ts';

const crdsDir = join(import.meta.dirname, '..', '..', 'crds');
// The namespace the operator is told to allow sources from (--trust-bundle-source-namespaces); 'certsmith', the
// cluster-resource namespace, is allowed without it, and 'elsewhere' is not.
const SRC = 'trust-src';
const ELSEWHERE = 'elsewhere';
let cp: ControlPlane;
let client: KubeClient;
let operator: OperatorProcess;

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

interface ClusterTrustBundle extends KubeObject {
  spec?: { signerName?: string; trustBundle?: string };
}

/** A self-signed CA valid for 60 days: until 30 days from now, or (expired) until an hour ago. */
async function caPem(commonName: string, o: { expired?: boolean; withKey?: boolean } = {}): Promise<string> {
  const notBefore = new Date(Date.now() - (o.expired ? 60 * 86_400_000 + 3_600_000 : 30 * 86_400_000));
  const ca = await createGeneration({ commonName, durationMs: 60 * 86_400_000, key: { algorithm: 'ECDSA', size: 256 } }, notBefore);
  return encodePem('CERTIFICATE', ca.der) + (o.withKey ? ca.keyPem! : '');
}

const fingerprints = (pem: string) => parseCertificatesPem(pem).map((d) => createHash('sha256').update(d).digest('hex'));

function trustBundle(name: string, spec: TrustBundleSpec): TrustBundle {
  return { apiVersion: API_VERSION, kind: 'TrustBundle', metadata: { name }, spec };
}

async function waitForCondition(name: string, type: string, test: (c: Condition) => boolean, what: string): Promise<TrustBundle> {
  return waitFor(`TrustBundle ${name}: ${what}`, async () => {
    const b = await client.get<TrustBundle>(Resources.trustBundles, undefined, name);
    const c = findCondition(b?.status?.conditions, type);
    if (!b || !c) return undefined;
    if (c.observedGeneration !== b.metadata.generation) throw new Error(`condition for an older generation: ${JSON.stringify(c)}`);
    if (!test(c)) throw new Error(`${type} is ${JSON.stringify(c)}`);
    return b;
  });
}

const getConfigMap = (ns: string, name: string) => client.get<ConfigMap>(Resources.configMaps, ns, name);
const getSecret = (ns: string, name: string) => client.get<Secret>(Resources.secrets, ns, name);

let inlineCa: string;
let configMapCa: string;
let rootCaPem: string;

before(async () => {
  const logDir = await mkdtemp(join(tmpdir(), 'certsmith-trust-'));
  cp = await startControlPlane({ crdsDir });
  client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath });
  for (const ns of ['certsmith', SRC, 'team-a', 'team-b', 'team-c']) await createNamespace(client, ns);
  await setNamespaceLabels(client, 'team-a', { trust: 'yes' });
  await setNamespaceLabels(client, 'team-b', { trust: 'yes' });
  // A short resync: every bundle is reconciled again every few seconds, which must cost no writes.
  operator = startOperator({
    kubeconfigPath: cp.kubeconfigPath,
    logDir,
    args: ['--leader-elect=false', '--resync-seconds', '2', `--trust-bundle-source-namespaces=${SRC}`],
  });
  await client.create(Resources.clusterIssuers, clusterIssuer('selfsigned', { selfSigned: {} }));
  await client.create(
    Resources.certificates,
    certificate('certsmith', 'root-ca', {
      secretName: 'root-ca',
      isCA: true,
      commonName: 'certsmith trust test root',
      issuerRef: { kind: 'ClusterIssuer', name: 'selfsigned' },
    }),
  );
  await waitForReady(client, Resources.certificates, 'certsmith', 'root-ca');
  await client.create(Resources.clusterIssuers, clusterIssuer('test-ca', { ca: { secretName: 'root-ca' } }));
  await waitForReady(client, Resources.clusterIssuers, undefined, 'test-ca');
  rootCaPem = decode(await getSecret('certsmith', 'root-ca'), 'tls.crt');
  [inlineCa, configMapCa] = await Promise.all([caPem('inline CA'), caPem('configmap CA')]);
  await client.create(Resources.configMaps, {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'extra-ca', namespace: SRC },
    // The inline CA again: the bundle holds it once.
    data: { 'ca.crt': configMapCa + inlineCa },
  } as ConfigMap);
});

after(async () => {
  await operator?.stop();
  await cp?.stop();
});

describe('TrustBundle', () => {
  // A function: the PEM is made in before().
  const spec = (): TrustBundleSpec => ({
    sources: [
      { issuer: { kind: 'ClusterIssuer', name: 'test-ca' } },
      { inline: inlineCa },
      { configMap: { namespace: SRC, name: 'extra-ca', key: 'ca.crt' } },
      { issuer: { kind: 'ClusterIssuer', name: 'selfsigned' } },
    ],
    target: { configMap: { key: 'ca-bundle.crt' }, secret: { key: 'ca.crt' }, namespaceSelector: { matchLabels: { trust: 'yes' } } },
  });
  let expected: string[];
  let firstPem: string;

  it('writes the deduplicated, sorted bundle to a ConfigMap and a Secret in every matching namespace', async () => {
    await client.create(Resources.trustBundles, trustBundle('org-roots', spec()));
    const b = await waitForCondition('org-roots', 'Synced', (c) => c.status === 'True', 'Synced');
    assert.equal(findCondition(b.status?.conditions, 'Ready')?.reason, 'Built');
    expected = [...fingerprints(rootCaPem).slice(0, 1), ...fingerprints(inlineCa), ...fingerprints(configMapCa)].sort();
    assert.deepEqual(
      b.status?.certificates?.map((c) => c.fingerprint),
      expected,
    );
    assert.equal(b.status?.targetsSynced, 4);
    assert.equal(b.status?.targetsTotal, 4);
    assert.ok(b.status?.earliestExpiry);
    assert.equal(b.status?.earliestExpiry, [...b.status!.certificates!.map((c) => c.notAfter)].sort()[0]);
    for (const ns of ['team-a', 'team-b']) {
      const cm = await getConfigMap(ns, 'org-roots');
      const secret = await getSecret(ns, 'org-roots');
      assert.deepEqual(Object.keys(cm?.data ?? {}), ['ca-bundle.crt']);
      assert.deepEqual(fingerprints(cm!.data!['ca-bundle.crt']!), expected, 'sorted by fingerprint, one copy each');
      assert.equal(decode(secret, 'ca.crt'), cm!.data!['ca-bundle.crt'], 'ConfigMap and Secret hold the same bytes');
      assert.equal(secret?.type, 'Opaque');
      assert.equal(cm?.metadata.labels?.[TRUST_BUNDLE_LABEL], 'org-roots');
      assert.equal(cm?.metadata.annotations?.['certsmith.dev/bundle-hash'], b.status?.bundleHash);
    }
    assert.equal(await getConfigMap('team-c', 'org-roots'), undefined, 'a namespace the selector does not match gets nothing');
    firstPem = (await getConfigMap('team-a', 'org-roots'))!.data!['ca-bundle.crt']!;
    assert.equal((await getConfigMap('team-b', 'org-roots'))!.data!['ca-bundle.crt'], firstPem);
  });

  it('a resync of an unchanged bundle makes no write', async () => {
    const versions = async () =>
      Promise.all([
        client.get(Resources.trustBundles, undefined, 'org-roots'),
        ...['team-a', 'team-b'].flatMap((ns) => [getConfigMap(ns, 'org-roots'), getSecret(ns, 'org-roots')]),
      ]).then((objs) => objs.map((o) => o?.metadata.resourceVersion));
    const before = await versions();
    const reconciles = await reconcileCount(operator, 'trustbundles');
    // Resyncs every 2 s, plus a namespace event that enqueues every bundle.
    await createNamespace(client, 'unrelated');
    await reconciledAgain(operator, 'trustbundles', reconciles, 3);
    assert.deepEqual(await versions(), before);
  });

  it('a deleted target comes back byte-identical', async () => {
    await client.delete(Resources.configMaps, 'team-a', 'org-roots');
    const cm = await waitFor('the target ConfigMap to come back', () => getConfigMap('team-a', 'org-roots'));
    assert.equal(cm.data?.['ca-bundle.crt'], firstPem);
  });

  it('targets follow namespace labels: added where the label appears, removed where it goes', async () => {
    await setNamespaceLabels(client, 'team-c', { trust: 'yes' });
    await setNamespaceLabels(client, 'team-b', {});
    await waitFor('team-c to get the targets', async () => (await getConfigMap('team-c', 'org-roots')) && (await getSecret('team-c', 'org-roots')));
    await waitFor('team-b to lose the targets', async () => !(await getConfigMap('team-b', 'org-roots')) && !(await getSecret('team-b', 'org-roots')));
    assert.equal((await getConfigMap('team-c', 'org-roots'))!.data!['ca-bundle.crt'], firstPem);
    await waitFor('status to count 4 targets in team-a and team-c', async () => {
      const b = await client.get<TrustBundle>(Resources.trustBundles, undefined, 'org-roots');
      return b?.status?.targetsSynced === 4 && b.status.targetsTotal === 4;
    });
  });

  it('a ConfigMap the bundle does not manage is left alone, with a condition', async () => {
    await client.create(Resources.configMaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'mine', namespace: 'team-a' },
      data: { note: 'user data' },
    } as ConfigMap);
    await client.create(
      Resources.trustBundles,
      trustBundle('mine', { ...spec(), target: { configMap: { key: 'ca.crt' }, namespaceSelector: { matchLabels: { trust: 'yes' } } } }),
    );
    const b = await waitForCondition('mine', 'Synced', (c) => c.reason === 'TargetConflict', 'TargetConflict');
    assert.match(findCondition(b.status?.conditions, 'Synced')!.message!, /ConfigMap team-a\/mine/);
    assert.deepEqual((await getConfigMap('team-a', 'mine'))?.data, { note: 'user data' });
    assert.ok(await getConfigMap('team-c', 'mine'), 'other namespaces still get theirs');
    await client.delete(Resources.trustBundles, undefined, 'mine');
    await waitFor('the managed target to go', async () => !(await getConfigMap('team-c', 'mine')));
    assert.deepEqual((await getConfigMap('team-a', 'mine'))?.data, { note: 'user data' }, 'deleting the bundle keeps what it does not manage');
  });

  it('deleting the bundle removes its targets', async () => {
    await client.delete(Resources.trustBundles, undefined, 'org-roots');
    await waitFor('every target to go', async () => {
      for (const ns of ['team-a', 'team-b', 'team-c']) {
        if ((await getConfigMap(ns, 'org-roots')) || (await getSecret(ns, 'org-roots'))) return false;
      }
      return true;
    });
  });
});

describe('TrustBundle truststores and ClusterTrustBundle', () => {
  const NS = 'java';
  const spec = (): TrustBundleSpec => ({
    sources: [{ inline: inlineCa }, { configMap: { namespace: SRC, name: 'extra-ca', key: 'ca.crt' } }],
    target: {
      configMap: { key: 'ca.crt' },
      secret: { key: 'ca.crt' },
      additionalFormats: {
        pkcs12: { key: 'truststore.p12' },
        jks: { key: 'truststore.jks', passwordSecretRef: { namespace: SRC, name: 'jks-password', key: 'password' } },
      },
      clusterTrustBundle: {},
      namespaceSelector: { matchLabels: { java: 'yes' } },
    },
  });
  const getCtb = (name: string) => client.get<ClusterTrustBundle>(Resources.clusterTrustBundles, undefined, name);
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'certsmith-truststores-'));
    await createNamespace(client, NS);
    await setNamespaceLabels(client, NS, { java: 'yes' });
    await client.create(Resources.secrets, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'jks-password', namespace: SRC },
      data: { password: Buffer.from('changeit').toString('base64') },
    } as Secret);
  });

  it('PKCS#12 and JKS next to the PEM hold the same certificates; the ClusterTrustBundle holds the PEM', async () => {
    await client.create(Resources.trustBundles, trustBundle('java-roots', spec()));
    const b = await waitForCondition('java-roots', 'Synced', (c) => c.status === 'True', 'Synced');
    assert.equal(b.status?.targetsTotal, 3, 'ConfigMap, Secret and ClusterTrustBundle');
    assert.equal(b.status?.targetsSynced, 3);
    const cm = (await getConfigMap(NS, 'java-roots'))! as ConfigMap & { binaryData?: Record<string, string> };
    const pem = cm.data!['ca.crt']!;
    assert.deepEqual(fingerprints(pem), [...fingerprints(inlineCa), ...fingerprints(configMapCa)].sort());
    assert.deepEqual(Object.keys(cm.binaryData ?? {}).sort(), ['truststore.jks', 'truststore.p12']);

    const p12 = join(dir, 'truststore.p12');
    await writeFile(p12, Buffer.from(cm.binaryData!['truststore.p12']!, 'base64'));
    const listed = execFileSync('openssl', ['pkcs12', '-in', p12, '-nokeys', '-passin', 'pass:'], { encoding: 'utf8' });
    assert.deepEqual(fingerprints(listed), fingerprints(pem), 'openssl reads the PKCS#12 back (empty password)');

    const jks = Buffer.from(cm.binaryData!['truststore.jks']!, 'base64');
    assert.equal(jks.readUInt32BE(0), 0xfeedfeed);
    const digest = createHash('sha1').update(Buffer.from('changeit', 'utf16le').swap16()).update('Mighty Aphrodite').update(jks.subarray(0, -20)).digest();
    assert.deepEqual(jks.subarray(-20), digest, 'JKS digest keyed by the password from the Secret');
    await writeFile(join(dir, 'truststore.jks'), jks);

    // Java reads both stores, the way a JVM would be given them. keytool is required (test/env/system-packages.sh
    // installs it): a machine without it fails here rather than skipping the check.
    const stores = [
      { file: 'truststore.p12', type: 'PKCS12', password: '' },
      { file: 'truststore.jks', type: 'JKS', password: 'changeit' },
    ];
    for (const s of stores) {
      const keytool = spawnSync('keytool', ['-list', '-rfc', '-keystore', join(dir, s.file), '-storetype', s.type, '-storepass', s.password], {
        encoding: 'utf8',
      });
      assert.equal(
        keytool.error,
        undefined,
        `keytool must be on PATH (openjdk-17-jre-headless, installed by test/env/system-packages.sh): ${keytool.error?.message}`,
      );
      assert.equal(keytool.status, 0, `keytool reads ${s.file}: ${keytool.stdout}${keytool.stderr}`);
      assert.deepEqual(fingerprints(keytool.stdout.replaceAll('\r', '')).sort(), fingerprints(pem), `keytool lists the bundle's certificates from ${s.file}`);
    }

    const secret = (await getSecret(NS, 'java-roots'))!;
    assert.deepEqual(Object.keys(secret.data ?? {}).sort(), ['ca.crt', 'truststore.jks', 'truststore.p12']);
    assert.equal(secret.data!['truststore.p12'], cm.binaryData!['truststore.p12'], 'Secret and ConfigMap hold the same bytes');
    assert.equal(decode(secret, 'ca.crt'), pem);

    const ctb = await getCtb('java-roots');
    assert.equal(ctb?.spec?.trustBundle, pem);
    assert.equal(ctb?.metadata.labels?.[TRUST_BUNDLE_LABEL], 'java-roots');
  });

  it('a resync with formats and a ClusterTrustBundle on makes no write', async () => {
    const versions = async () =>
      Promise.all([
        client.get(Resources.trustBundles, undefined, 'java-roots'),
        getConfigMap(NS, 'java-roots'),
        getSecret(NS, 'java-roots'),
        getCtb('java-roots'),
      ]).then((objs) => objs.map((o) => o?.metadata.resourceVersion));
    const before = await versions();
    assert.ok(before.every(Boolean));
    const reconciles = await reconcileCount(operator, 'trustbundles');
    await createNamespace(client, 'unrelated-2');
    await reconciledAgain(operator, 'trustbundles', reconciles, 3);
    assert.deepEqual(await versions(), before);
  });

  it('a ClusterTrustBundle with a signer is named after it', async () => {
    await client.create(
      Resources.trustBundles,
      trustBundle('signed-roots', { sources: [{ inline: inlineCa }], target: { clusterTrustBundle: { signerName: 'certsmith.dev/test-signer' } } }),
    );
    await waitForCondition('signed-roots', 'Synced', (c) => c.status === 'True', 'Synced');
    const ctb = await getCtb('certsmith.dev:test-signer:signed-roots');
    assert.equal(ctb?.spec?.signerName, 'certsmith.dev/test-signer');
    assert.deepEqual(fingerprints(ctb!.spec!.trustBundle!), fingerprints(inlineCa));
  });

  it('deleting the bundles removes their ClusterTrustBundles and targets', async () => {
    await client.delete(Resources.trustBundles, undefined, 'java-roots');
    await client.delete(Resources.trustBundles, undefined, 'signed-roots');
    await waitFor('the ClusterTrustBundles and targets to go', async () => {
      const left = await Promise.all([
        getCtb('java-roots'),
        getCtb('certsmith.dev:test-signer:signed-roots'),
        getConfigMap(NS, 'java-roots'),
        getSecret(NS, 'java-roots'),
      ]);
      return left.every((o) => o === undefined);
    });
  });
});

describe('TrustBundle bad input', () => {
  const target = { configMap: { key: 'ca.crt' } } as const;

  it('a source holding a private key is refused and the key reaches no target', async () => {
    await client.create(Resources.configMaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'ca-and-key', namespace: SRC },
      data: { 'ca.crt': await caPem('leaky', { withKey: true }) },
    } as ConfigMap);
    await client.create(
      Resources.trustBundles,
      trustBundle('leaky', { sources: [{ inline: inlineCa }, { configMap: { namespace: SRC, name: 'ca-and-key', key: 'ca.crt' } }], target }),
    );
    const b = await waitForCondition('leaky', 'Ready', (c) => c.reason === 'PrivateKeyInSource', 'PrivateKeyInSource');
    assert.match(findCondition(b.status?.conditions, 'Ready')!.message!, /ConfigMap trust-src\/ca-and-key key ca\.crt\) holds a private key/);
    assert.equal(findCondition(b.status?.conditions, 'Synced')?.reason, 'BundleNotReady');
    for (const ns of ['team-a', 'team-b', 'team-c']) assert.equal(await getConfigMap(ns, 'leaky'), undefined);
  });

  const cases: { name: string; spec: () => Promise<TrustBundleSpec>; type: string; reason: string; message: RegExp }[] = [
    {
      name: 'garbage PEM',
      spec: async () => ({ sources: [{ inline: 'this is not a certificate' }], target }),
      type: 'Ready',
      reason: 'InvalidPEM',
      message: /sources\[0\] \(inline\): no PEM CERTIFICATE block/,
    },
    {
      name: 'a bundle of expired certificates only',
      spec: async () => ({ sources: [{ inline: await caPem('old', { expired: true }) }], target }),
      type: 'Ready',
      reason: 'AllExpired',
      message: /all 1 certificate\(s\) from the sources have expired/,
    },
    {
      name: 'a missing source ConfigMap',
      spec: async () => ({ sources: [{ configMap: { namespace: SRC, name: 'nope', key: 'ca.crt' } }], target }),
      type: 'Ready',
      reason: 'SourceNotFound',
      message: /ConfigMap trust-src\/nope\) does not exist/,
    },
    {
      name: 'a namespace selector that matches nothing',
      spec: async () => ({ sources: [{ inline: inlineCa }], target: { ...target, namespaceSelector: { matchLabels: { nobody: 'here' } } } }),
      type: 'Synced',
      reason: 'NoMatchingNamespaces',
      message: /No namespace matches/,
    },
  ];
  for (const [i, c] of cases.entries()) {
    it(`${c.name} gives ${c.type}=False ${c.reason}`, async () => {
      const name = `bad-${i}`;
      await client.create(Resources.trustBundles, trustBundle(name, await c.spec()));
      const b = await waitForCondition(name, c.type, (x) => x.reason === c.reason, c.reason);
      const cond = findCondition(b.status?.conditions, c.type)!;
      assert.equal(cond.status, 'False');
      assert.match(cond.message!, c.message);
      assert.equal(await getConfigMap('team-a', name), undefined);
    });
  }

  it('the API server refuses a source that sets two kinds at once', async () => {
    await assert.rejects(
      client.create(Resources.trustBundles, trustBundle('two-kinds', { sources: [{ inline: inlineCa, systemRoots: true }], target })),
      /exactly one of issuer, certificate, configMap, secret, inline or systemRoots/,
    );
  });
});

describe('TrustBundle sources that OpenSSL cannot load', () => {
  const NS = 'loads';
  const target = { configMap: { key: 'ca.crt' }, namespaceSelector: { matchLabels: { loads: 'yes' } } };
  let dir: string;
  let goodCa: string;
  let mutant: Awaited<ReturnType<typeof unloadableCertificate>>;

  /** `openssl verify -CAfile <bundle>` of a certificate the bundle holds: OpenSSL loads the whole file first. */
  async function opensslLoads(bundlePem: string, certPem: string): Promise<void> {
    await writeFile(join(dir, 'bundle.pem'), bundlePem);
    await writeFile(join(dir, 'cert.pem'), certPem);
    const r = spawnSync('openssl', ['verify', '-CAfile', join(dir, 'bundle.pem'), join(dir, 'cert.pem')], { encoding: 'utf8' });
    assert.equal(r.error, undefined, `the openssl CLI must be on PATH (apt-get install -y openssl): ${r.error?.message}`);
    assert.equal(r.status, 0, `openssl verify -CAfile loads the published bundle:\n${r.stdout}${r.stderr}`);
  }

  function reloadLoads(bundlePem: string): void {
    const pool = parseCAPool(new Map([['ca.crt', Buffer.from(bundlePem)]]));
    assert.ok(pool.ok, `certsmith/reload loads the published bundle: ${pool.ok ? '' : pool.reason}`);
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'certsmith-loads-'));
    await createNamespace(client, NS);
    await setNamespaceLabels(client, NS, { loads: 'yes' });
    [goodCa, mutant] = await Promise.all([caPem('loads everywhere'), unloadableCertificate('mutant')]);
    await client.create(Resources.configMaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'mutant-ca', namespace: SRC },
      data: { 'ca.crt': goodCa + mutant.pem },
    } as ConfigMap);
  });

  it('a source gaining one is refused naming the source and the block; the target keeps the last bundle, which loads', async () => {
    await client.create(Resources.trustBundles, trustBundle('loads', { sources: [{ inline: goodCa }], target }));
    const built = await waitForCondition('loads', 'Synced', (c) => c.status === 'True', 'Synced');
    const published = (await getConfigMap(NS, 'loads'))!.data!['ca.crt']!;
    await opensslLoads(published, goodCa);
    reloadLoads(published);

    await editObject<TrustBundle>(client, Resources.trustBundles, undefined, 'loads', (b) => ({
      ...b,
      spec: { ...b.spec!, sources: [...b.spec!.sources, { configMap: { namespace: SRC, name: 'mutant-ca', key: 'ca.crt' } }] },
    }));
    const b = await waitForCondition('loads', 'Ready', (c) => c.reason === 'InvalidPEM', 'InvalidPEM');
    assert.match(
      findCondition(b.status?.conditions, 'Ready')!.message!,
      /^sources\[1\] \(ConfigMap trust-src\/mutant-ca key ca\.crt\): CERTIFICATE block 2 of 2 \(SHA-256 [0-9a-f]{16}\) does not load in OpenSSL/,
    );
    assert.equal(findCondition(b.status?.conditions, 'Synced')?.reason, 'BundleNotReady');
    assert.equal(b.status?.bundleHash, built.status?.bundleHash, 'the status still describes the bundle the targets hold');
    const held = (await getConfigMap(NS, 'loads'))!.data!['ca.crt']!;
    assert.equal(held, published, 'the target keeps the last bundle that loaded');
    await opensslLoads(held, goodCa);
    reloadLoads(held);
  });

  it('a new bundle holding one publishes nothing', async () => {
    await client.create(Resources.trustBundles, trustBundle('never-loads', { sources: [{ inline: goodCa }, { inline: mutant.pem }], target }));
    const b = await waitForCondition('never-loads', 'Ready', (c) => c.reason === 'InvalidPEM', 'InvalidPEM');
    assert.match(findCondition(b.status?.conditions, 'Ready')!.message!, /^sources\[1\] \(inline\): CERTIFICATE block 1 of 1 .* does not load in OpenSSL/);
    assert.equal(await getConfigMap(NS, 'never-loads'), undefined);
  });
});

describe('TrustBundle source namespaces', () => {
  const NS = 'readers';
  const target = { configMap: { key: 'ca.crt' }, namespaceSelector: { matchLabels: { readers: 'yes' } } };
  let srcRootPem: string;

  /** A CA Certificate signed by the selfsigned ClusterIssuer, and a ca Issuer on its Secret, in namespace ns. */
  async function caIssuer(ns: string): Promise<string> {
    await client.create(
      Resources.certificates,
      certificate(ns, 'root', { secretName: 'root', isCA: true, commonName: `${ns} root`, issuerRef: { kind: 'ClusterIssuer', name: 'selfsigned' } }),
    );
    await waitForReady(client, Resources.certificates, ns, 'root');
    await client.create(Resources.issuers, issuer(ns, 'ca', { ca: { secretName: 'root' } }));
    await waitForReady(client, Resources.issuers, ns, 'ca');
    return decode(await getSecret(ns, 'root'), 'tls.crt');
  }

  before(async () => {
    await createNamespace(client, NS);
    await setNamespaceLabels(client, NS, { readers: 'yes' });
    await createNamespace(client, ELSEWHERE);
    const pem = await caPem('elsewhere CA');
    // Everything the refused sources name exists in 'elsewhere', in a form the operator would otherwise read.
    await client.create(Resources.configMaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'roots', namespace: ELSEWHERE, labels: { roots: 'yes' } },
      data: { 'ca.crt': pem },
    } as ConfigMap);
    for (const [name, data] of [
      ['roots', { 'ca.crt': pem }],
      ['password', { password: 'changeit' }],
    ] as const) {
      await client.create(Resources.secrets, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, namespace: ELSEWHERE, labels: name === 'roots' ? { roots: 'yes' } : {} },
        data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      } as Secret);
    }
    await client.create(Resources.configMaps, {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'trust-ns-roots', namespace: 'certsmith' },
      data: { 'ca.crt': inlineCa },
    } as ConfigMap);
    [srcRootPem] = await Promise.all([caIssuer(SRC), caIssuer(ELSEWHERE)]);
  });

  // Each case names an object that exists in 'elsewhere' and one that does not; both must read the same.
  const refused: { name: string; spec: (name: string) => TrustBundleSpec; existing: string; field: string }[] = [
    {
      name: 'a ConfigMap',
      spec: (name) => ({ sources: [{ configMap: { namespace: ELSEWHERE, name, key: 'ca.crt' } }], target }),
      existing: 'roots',
      field: 'sources[0].configMap',
    },
    {
      name: 'a Secret',
      spec: (name) => ({ sources: [{ inline: inlineCa }, { secret: { namespace: ELSEWHERE, name, key: 'ca.crt' } }], target }),
      existing: 'roots',
      field: 'sources[1].secret',
    },
    {
      name: 'a Secret selector',
      spec: (value) => ({ sources: [{ secret: { namespace: ELSEWHERE, selector: { matchLabels: { roots: value } }, includeAllKeys: true } }], target }),
      existing: 'yes',
      field: 'sources[0].secret',
    },
    {
      name: "a Certificate's ca.crt",
      spec: (name) => ({ sources: [{ certificate: { namespace: ELSEWHERE, name } }], target }),
      existing: 'root',
      field: 'sources[0].certificate',
    },
    {
      name: "a ca Issuer's CA",
      spec: (name) => ({ sources: [{ issuer: { kind: 'Issuer', namespace: ELSEWHERE, name } }], target }),
      existing: 'ca',
      field: 'sources[0].issuer',
    },
    {
      name: 'a truststore password Secret',
      spec: (name) => ({
        sources: [{ inline: inlineCa }],
        target: { ...target, additionalFormats: { jks: { key: 'ca.jks', passwordSecretRef: { namespace: ELSEWHERE, name, key: 'password' } } } },
      }),
      existing: 'password',
      field: 'target.additionalFormats.jks.passwordSecretRef',
    },
  ];
  for (const [i, c] of refused.entries()) {
    it(`${c.name} in a namespace not allowed is refused with one message, whether it exists or not`, async () => {
      const messages: string[] = [];
      for (const [which, name] of [
        ['there', c.existing],
        ['missing', 'not-there'],
      ] as const) {
        const bundle = `elsewhere-${i}-${which}`;
        await client.create(Resources.trustBundles, trustBundle(bundle, c.spec(name)));
        const b = await waitForCondition(bundle, 'Ready', (x) => x.reason === 'SourceNotAllowed', 'SourceNotAllowed');
        const ready = findCondition(b.status?.conditions, 'Ready')!;
        assert.equal(ready.status, 'False');
        messages.push(ready.message!);
        assert.equal(b.status?.certificates, undefined, 'nothing from the source reaches the status');
        assert.equal(await getConfigMap(NS, bundle), undefined, 'nor a target');
      }
      assert.equal(messages[0], messages[1], 'the same message for an object that exists and one that does not');
      assert.equal(
        messages[0],
        `${c.field}: namespace ${ELSEWHERE} is not a trust source namespace; TrustBundles read from certsmith and the namespaces the operator allows (chart value trustBundles.sourceNamespaces, flag --trust-bundle-source-namespaces)`,
      );
    });
  }

  it("sources in the cluster-resource namespace and an allowed one are read, a ca Issuer's CA among them", async () => {
    await client.create(
      Resources.trustBundles,
      trustBundle('allowed', {
        sources: [{ configMap: { namespace: 'certsmith', name: 'trust-ns-roots', key: 'ca.crt' } }, { issuer: { kind: 'Issuer', namespace: SRC, name: 'ca' } }],
        target,
      }),
    );
    const b = await waitForCondition('allowed', 'Synced', (c) => c.status === 'True', 'Synced');
    const expected = [...fingerprints(inlineCa), ...fingerprints(srcRootPem).slice(0, 1)].sort();
    assert.deepEqual(
      b.status?.certificates?.map((c) => c.fingerprint),
      expected,
    );
    assert.deepEqual(fingerprints((await getConfigMap(NS, 'allowed'))!.data!['ca.crt']!), expected);
  });
});
