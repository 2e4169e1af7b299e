// Properties of trust bundle building (trust/bundle.ts): sources are ConfigMaps and Secrets that tenants write, and
// the bundle goes to every target namespace, where TLS stacks load it.
import assert from 'node:assert/strict';
import { encodePem } from '../../../src/pki/pem.ts';
import { parseCAPool } from '../../../src/reload/parse.ts';
import { buildBundle, type BundleOptions, type SourceMaterial } from '../../../src/trust/bundle.ts';
import { mutateBytes, mutateString, property, refusesOnlyWith, type Random } from './harness.ts';
import { certificates, NOW, privateKeys } from './material.ts';

const samples = await certificates();
const [keyPem] = await privateKeys();

const BUNDLE_ERRORS = ['InvalidPEM', 'PrivateKeyInSource', 'BundleEmpty', 'BundleExpired', 'BundleTooLarge'] as const;

function options(r: Random): BundleOptions {
  return {
    now: NOW,
    ...(r.chance(0.4) ? { excludeExpired: r.chance(0.5) } : {}),
    ...(r.chance(0.4) ? { excludeNonCA: r.chance(0.5) } : {}),
    ...(r.chance(0.1) ? { maxBytes: r.range(500, 5000) } : {}),
  };
}

/** Certificates as a person pastes them: CRLFs, comments and blank lines between, the same one twice. */
function pasted(r: Random, pems: readonly string[]): string {
  return pems
    .map((pem) => (r.chance(0.3) ? pem.replaceAll('\n', '\r\n') : pem))
    .map((pem) => r.pick(['', '\n', '# root\n', 'subject=CN=x\nissuer=CN=x\n']) + pem)
    .join('');
}

interface Input {
  materials: SourceMaterial[];
  opts: BundleOptions;
}

function untrustedSources(r: Random): Input {
  const materials = Array.from({ length: r.range(1, 3) }, (_, i) => {
    const pems = Array.from({ length: r.range(0, 3) }, () => r.pick(samples).pem);
    const pem = r.weighted<string>([
      [3, () => pasted(r, pems)],
      [3, () => mutateString(r, pasted(r, pems))],
      [3, () => pasted(r, [...pems, encodePem('CERTIFICATE', mutateBytes(r, r.pick(samples).der, r.range(1, 2)))])],
      [1, () => pasted(r, [...pems, keyPem!])],
    ]);
    return { source: `configMap ns/source-${i} key ca.crt`, pem };
  });
  return { materials, opts: options(r) };
}

const show = ({ materials, opts }: Input) => JSON.stringify({ opts: { ...opts, now: undefined }, materials });

property<Input>({
  name: 'buildBundle throws nothing but its typed errors, and every certificate it publishes loads in OpenSSL',
  iterations: 150,
  generate: untrustedSources,
  show,
  check: ({ materials, opts }) => {
    const built = refusesOnlyWith(BUNDLE_ERRORS, () => buildBundle(materials, opts));
    if (!built.ok) {
      // A key is refused without quoting it: nothing of it may travel into a condition or an event.
      assert.ok(!built.error.message.includes('PRIVATE KEY-----') && !built.error.message.includes(keyPem!.split('\n')[1]!));
      return;
    }
    // The target namespaces' TLS stacks read it as OpenSSL does; reload's parser is that reader.
    const pool = parseCAPool(new Map([['ca.crt', Buffer.from(built.value.pem)]]));
    assert.ok(pool.ok, `reload refuses the published bundle: ${pool.ok ? '' : pool.reason}`);
    assert.equal(pool.value.certificates.length, built.value.certificates.length);
    assert.ok(
      built.value.certificates.some((c) => c.notAfter.getTime() > NOW.getTime()),
      'a bundle holds a certificate that has not expired',
    );
  },
});

property<Input & { chosen: number[] }>({
  name: 'the same certificates make a byte-identical bundle whatever the order, split, repetition and formatting of the sources',
  iterations: 30,
  generate: (r) => {
    const chosen = r.shuffle(samples.map((_, i) => i)).slice(0, r.range(1, samples.length));
    // Each source gets some of the chosen certificates, in any order, some more than once; together they hold all.
    // (An empty source is refused on its own, so none is left empty.)
    const split = Array.from({ length: r.range(0, 2) }, () => chosen.filter(() => r.chance(0.5))).filter((part) => part.length > 0);
    split.push(r.shuffle(chosen));
    const materials = r.shuffle(split).map((part, i) => ({
      source: `s${i}`,
      pem: pasted(
        r,
        r.shuffle([...part, ...part.filter(() => r.chance(0.2))]).map((j) => samples[j]!.pem),
      ),
    }));
    return { chosen, materials, opts: options(r) };
  },
  show,
  check: ({ chosen, materials, opts }) => {
    const canonical = refusesOnlyWith(BUNDLE_ERRORS, () => buildBundle([{ source: 'one', pem: chosen.map((i) => samples[i]!.pem).join('') }], opts));
    const shuffled = refusesOnlyWith(BUNDLE_ERRORS, () => buildBundle(materials, opts));
    if (!canonical.ok || !shuffled.ok) {
      assert.equal(shuffled.ok ? 'built' : shuffled.error.code, canonical.ok ? 'built' : canonical.error.code);
      return;
    }
    assert.equal(shuffled.value.pem, canonical.value.pem);
    assert.equal(shuffled.value.hash, canonical.value.hash);
    // And a bundle built from a bundle is the same bundle: the output is its own canonical form.
    const again = buildBundle([{ source: 'bundle', pem: canonical.value.pem }], opts);
    assert.equal(again.pem, canonical.value.pem);
  },
});
