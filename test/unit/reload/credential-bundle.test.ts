// A podCertificate projection's credential bundle: one file, a PKCS#8 key first and the chain after it. The pure
// parser's verdicts, its time on 1 MiB, and watchKeyPair over a kubelet-style directory holding only that file.
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServer } from 'node:tls';
import { encodePem, encodePrivateKeyPem, generatePrivateKey, signCertificate } from '../../../src/pki/index.ts';
import { parseCredentialBundle, ReloadError, serverTLS, watchKeyPair, type KeyPair, type Source } from '../../../src/reload/index.ts';
import type { RejectedEvent } from '../../../src/reload/index.ts';
import { contentHash } from '../../../src/reload/parse.ts';
import { assertLinear } from '../timing.ts';
import { writeAtomically } from './atomic-writer.ts';
import { eventually, makeCA, tempDir, type CA, type Pair } from './fixtures.ts';
import { handshake } from './tls.ts';

const FILE = 'credentials.pem';
const MiB = 1024 * 1024;

/** A chain (leaf first, then its issuer) with the leaf's key. */
interface Material extends Pair {
  caPem: string;
}

let work: Awaited<ReturnType<typeof tempDir>>;
let ca: CA;
let ecdsa: Material;
let ecdsaNext: Material;
let ed25519: Material;

before(async () => {
  work = await tempDir();
  ca = await makeCA(work.path, 'Credential Bundle Test CA');
  const issue = async (name: string) => ({ ...(await ca.issue({ commonName: name, dnsNames: [`${name}.example.com`] })), caPem: ca.certPem });
  ecdsa = await issue('pod');
  ecdsaNext = await issue('pod-next');
  ed25519 = await ed25519Material('ed-pod.example.com');
});
after(() => work.remove());

/** The kubelet's keyType ED25519, signed by an Ed25519 CA through the project's pki helpers. */
async function ed25519Material(dnsName: string): Promise<Material> {
  const hour = 3_600_000;
  const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  const notAfter = new Date(notBefore.getTime() + hour);
  const none = { ipAddresses: [], uris: [], emailAddresses: [] };
  const caKey = await generatePrivateKey({ algorithm: 'Ed25519' });
  const caDer = await signCertificate({
    publicKey: caKey,
    subject: { commonName: 'Ed25519 Test CA' },
    dnsNames: [],
    ...none,
    usages: [],
    isCA: true,
    notBefore,
    notAfter,
    signer: { privateKey: caKey },
  });
  const key = await generatePrivateKey({ algorithm: 'Ed25519' });
  const leafDer = await signCertificate({
    publicKey: key,
    subject: { commonName: dnsName },
    dnsNames: [dnsName],
    ...none,
    usages: ['digital signature', 'server auth'],
    isCA: false,
    notBefore,
    notAfter,
    signer: { privateKey: caKey, certificateDer: caDer },
  });
  return { certPem: encodePem('CERTIFICATE', leafDer), keyPem: encodePrivateKeyPem(key, 'PKCS8'), caPem: encodePem('CERTIFICATE', caDer) };
}

/** The file as the kubelet writes it: key, leaf, intermediates. */
const bundleOf = (m: Material) => m.keyPem + m.certPem + m.caPem;
const filesOf = (text: string) => new Map([[FILE, Buffer.from(text)]]);
const fingerprints = (pem: string) =>
  [...pem.matchAll(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)].map((m) => new X509Certificate(m[0]).fingerprint256);

describe('parseCredentialBundle', () => {
  const accepted: { name: string; material: () => Material; names: string[]; text?: (m: Material) => string }[] = [
    { name: 'an ECDSA key with its leaf and issuer', material: () => ecdsa, names: ['pod.example.com'] },
    { name: 'an Ed25519 key with its leaf and issuer', material: () => ed25519, names: ['ed-pod.example.com'] },
    {
      name: 'CRLF line ends and blank lines between blocks',
      material: () => ecdsa,
      names: ['pod.example.com'],
      text: (m) => `\n${m.keyPem}\n\n${m.certPem}\n${m.caPem}\n`.replaceAll('\n', '\r\n'),
    },
  ];
  for (const c of accepted) {
    it(`accepts ${c.name}`, () => {
      const m = c.material();
      const files = filesOf((c.text ?? bundleOf)(m));
      const verdict = parseCredentialBundle(files, FILE);
      assert.ok(verdict.ok, verdict.ok ? '' : verdict.reason);
      const pair = verdict.value;
      // certPem is the chain alone, leaf first; keyPem the key block alone.
      assert.deepEqual(fingerprints(pair.certPem), [...fingerprints(m.certPem), ...fingerprints(m.caPem)]);
      assert.doesNotMatch(pair.certPem, /PRIVATE KEY/);
      assert.equal(pair.keyPem.replaceAll('\r\n', '\n'), m.keyPem);
      assert.equal(pair.leaf.fingerprint256, fingerprints(m.certPem)[0]);
      assert.deepEqual(pair.names, c.names);
      assert.equal(pair.hash, contentHash(files));
    });
  }

  const crl = '-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n';
  const refused: { name: string; text: () => string; code: string; reason: string }[] = [
    { name: 'an empty file', text: () => '', code: 'Empty', reason: `${FILE} is empty` },
    { name: 'a file of white space', text: () => ' \n\t\n', code: 'Empty', reason: `${FILE} is empty` },
    {
      name: 'the key after the certificates',
      text: () => ecdsa.certPem + ecdsa.caPem + ecdsa.keyPem,
      code: 'Unparsable',
      reason: `${FILE}: the first PEM block is CERTIFICATE, not PRIVATE KEY`,
    },
    {
      name: 'certificates without a key',
      text: () => ecdsa.certPem + ecdsa.caPem,
      code: 'Unparsable',
      reason: `${FILE}: the first PEM block is CERTIFICATE, not PRIVATE KEY`,
    },
    {
      name: 'two keys',
      text: () => ecdsa.keyPem + ecdsaNext.keyPem + ecdsa.certPem,
      code: 'Unparsable',
      reason: `${FILE}: unexpected PEM block PRIVATE KEY`,
    },
    {
      name: 'a second key after the chain',
      text: () => bundleOf(ecdsa) + ecdsa.keyPem,
      code: 'Unparsable',
      reason: `${FILE}: unexpected PEM block PRIVATE KEY`,
    },
    { name: 'a key and no certificate', text: () => ecdsa.keyPem, code: 'NoCertificate', reason: `${FILE} holds no certificate` },
    {
      name: 'a key not matching the leaf',
      text: () => ecdsaNext.keyPem + ecdsa.certPem + ecdsa.caPem,
      code: 'KeyMismatch',
      reason: `${FILE}: the private key does not match the leaf certificate`,
    },
    {
      name: 'an Ed25519 key with an ECDSA leaf',
      text: () => ed25519.keyPem + ecdsa.certPem,
      code: 'KeyMismatch',
      reason: `${FILE}: the private key does not match the leaf certificate`,
    },
    {
      name: 'garbage between the key and the leaf',
      text: () => `${ecdsa.keyPem}garbage\n${ecdsa.certPem}`,
      code: 'Unparsable',
      reason: `${FILE}: text outside PEM blocks`,
    },
    {
      name: 'garbage between two certificates',
      text: () => `${ecdsa.keyPem}${ecdsa.certPem}# issuer\n${ecdsa.caPem}`,
      code: 'Unparsable',
      reason: `${FILE}: text outside PEM blocks`,
    },
    {
      name: 'a comment before the key',
      text: () => `# pod credentials\n${bundleOf(ecdsa)}`,
      code: 'Unparsable',
      reason: `${FILE}: text outside PEM blocks`,
    },
    {
      name: 'a bundle cut in the middle of a certificate',
      text: () => bundleOf(ecdsa).slice(0, -200),
      code: 'Unparsable',
      reason: `${FILE}: text outside PEM blocks`,
    },
    { name: 'another block type after the chain', text: () => bundleOf(ecdsa) + crl, code: 'Unparsable', reason: `${FILE}: unexpected PEM block X509 CRL` },
    {
      name: 'a SEC1 EC PRIVATE KEY instead of PKCS#8',
      text: () => sec1(ecdsa.keyPem) + ecdsa.certPem,
      code: 'Unparsable',
      reason: `${FILE}: the first PEM block is EC PRIVATE KEY, not PRIVATE KEY`,
    },
    {
      name: 'a PRIVATE KEY block that is no key',
      text: () => `-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n${ecdsa.certPem}`,
      code: 'Unparsable',
      reason: `${FILE}: the PRIVATE KEY block is not a PKCS#8 private key`,
    },
    {
      name: 'a leaf that does not parse',
      text: () => `${ecdsa.keyPem}-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n`,
      code: 'Unparsable',
      reason: `${FILE}: certificate 1 does not parse`,
    },
  ];
  for (const c of refused) {
    it(`refuses ${c.name}`, () => {
      assert.deepEqual(parseCredentialBundle(filesOf(c.text()), FILE), { ok: false, code: c.code, reason: c.reason });
    });
  }

  it('reads an absent file as empty', () => {
    assert.deepEqual(parseCredentialBundle(new Map(), FILE), { ok: false, code: 'Empty', reason: `${FILE} is empty` });
  });

  // The same single pass as a CA bundle: the key block is taken off the front of the iterator the chain is read from.
  const inputs: { name: string; input: (bytes: number) => string }[] = [
    {
      name: 'a key and a long chain',
      input: (bytes) => ecdsa.keyPem + ecdsa.certPem + ecdsa.caPem.repeat(Math.max(1, Math.round(bytes / ecdsa.caPem.length))),
    },
    {
      name: 'a key and BEGIN lines with no END',
      input: (bytes) => ecdsa.keyPem + '-----BEGIN CERTIFICATE-----\nAAAA\n'.repeat(Math.max(1, Math.round(bytes / 33))),
    },
    { name: 'a key and white space with a character at the end', input: (bytes) => `${ecdsa.keyPem}${' '.repeat(bytes)}x` },
  ];
  for (const c of inputs) {
    it(`parses 1 MiB of ${c.name} in linear time, well under half a second`, (t) => {
      t.diagnostic(assertLinear({ input: (bytes) => filesOf(c.input(bytes)), run: (files) => parseCredentialBundle(files, FILE), size: MiB, ceilingMs: 500 }));
    });
  }
});

/** The same key as a SEC1 `EC PRIVATE KEY` block: what other tools write, never the kubelet. */
const sec1 = (pkcs8Pem: string) => encodePrivateKeyPem(createPrivateKey(pkcs8Pem), 'PKCS1');

function recorder() {
  const rejected: RejectedEvent[] = [];
  return { rejected, hooks: { rejected: (e: RejectedEvent) => rejected.push(e) } };
}

let dirCount = 0;
const newDir = () => join(work.path, `pod${++dirCount}`);

describe('watchKeyPair with credentialBundleFile', () => {
  it('reads the bundle through ..data and follows a refresh', async () => {
    const dir = newDir();
    await writeAtomically(dir, { [FILE]: bundleOf(ecdsa) });
    const events = recorder();
    const source = await watchKeyPair(dir, { credentialBundleFile: FILE, hooks: events.hooks, debounceMs: 20 });
    try {
      assert.deepEqual(source.current().names, ['pod.example.com']);
      await writeAtomically(dir, { [FILE]: bundleOf(ecdsaNext) });
      await eventually(() => (source.generation() === 2 ? true : undefined));
      assert.deepEqual(source.current().names, ['pod-next.example.com']);
      assert.equal(events.rejected.length, 0);
    } finally {
      source.close();
    }
  });

  it('keeps the last good pair and reports a rejection for a bundle whose key does not match its leaf', async () => {
    const dir = newDir();
    await writeAtomically(dir, { [FILE]: bundleOf(ecdsa) });
    const events = recorder();
    const source = await watchKeyPair(dir, { credentialBundleFile: FILE, hooks: events.hooks, debounceMs: 20 });
    try {
      await writeAtomically(dir, { [FILE]: ecdsa.keyPem + ecdsaNext.certPem });
      const rejection = await eventually(() => events.rejected[0]);
      assert.deepEqual({ code: rejection.code, keptGeneration: rejection.keptGeneration }, { code: 'KeyMismatch', keptGeneration: 1 });
      assert.deepEqual(source.current().names, ['pod.example.com']);
      await writeAtomically(dir, { [FILE]: bundleOf(ecdsaNext) });
      await eventually(() => (source.generation() === 2 ? true : undefined));
    } finally {
      source.close();
    }
  });

  it('refuses to start on an invalid bundle, naming the problem', async () => {
    const dir = newDir();
    await writeAtomically(dir, { [FILE]: ecdsa.certPem + ecdsa.keyPem });
    await assert.rejects(
      watchKeyPair(dir, { credentialBundleFile: FILE }),
      (err: unknown) => err instanceof ReloadError && err.code === 'Unparsable' && err.message.includes(FILE),
    );
  });

  for (const extra of [{ certFile: 'tls.crt' }, { keyFile: 'tls.key' }]) {
    it(`throws a TypeError when ${Object.keys(extra)[0]} is set as well`, () => {
      assert.throws(() => watchKeyPair(newDir(), { credentialBundleFile: FILE, ...extra }), {
        name: 'TypeError',
        message: /credentialBundleFile .*do not set certFile or keyFile/,
      });
    });
  }

  for (const [name, material] of [
    ['ECDSA', () => ecdsa],
    ['Ed25519', () => ed25519],
  ] as const) {
    it(`serves the bundle's ${name} chain in a TLS handshake`, async () => {
      const m = material();
      const dir = newDir();
      await writeAtomically(dir, { [FILE]: bundleOf(m) });
      const source: Source<KeyPair> = await watchKeyPair(dir, { credentialBundleFile: FILE });
      const tls = serverTLS({ certificates: [source], defaultCertificate: source });
      const server = createServer(tls.options, (socket) => socket.end());
      tls.attach(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      try {
        const port = (server.address() as { port: number }).port;
        const result = await handshake(port, { ca: m.caPem, servername: source.current().names[0] });
        assert.deepEqual({ ok: result.ok, fingerprint: result.fingerprint }, { ok: true, fingerprint: fingerprints(m.certPem)[0] });
      } finally {
        server.close();
        source.close();
      }
    });
  }
});
