// Properties of the Ingress/Gateway annotation parser (controllers/shim/annotations.ts): annotations are written by
// whoever may edit an Ingress, and what they ask for becomes a Certificate.
import assert from 'node:assert/strict';
import { CertificateSpec, KEY_USAGES } from '../../../src/api/certificate.ts';
import {
  CERT_MANAGER_CLUSTER_ISSUER_ANNOTATION,
  CERT_MANAGER_FIELD_ANNOTATIONS,
  CERT_MANAGER_ISSUER_ANNOTATION,
  certificateSpecFromAnnotations,
  CLUSTER_ISSUER_ANNOTATION,
  FIELD_ANNOTATIONS,
  ISSUER_ANNOTATION,
  TLS_ACME_ANNOTATION,
  type AnnotationOptions,
  type ShimField,
} from '../../../src/controllers/shim/annotations.ts';
import { validateCertificateSpec } from '../../../src/policy/validate-certificate.ts';
import { AWKWARD_CHARACTERS, mutateString, property, PROTOTYPE_KEYS, shrinkJson, type Random } from './harness.ts';

// What each annotation usually holds; the generator mixes these with near misses and hostile text.
const VALUES: Record<ShimField | 'issuer', readonly string[]> = {
  issuer: ['ca', 'letsencrypt-prod', ' padded ', ''],
  commonName: ['www.example.com', 'x', ' ', 'a'.repeat(64), 'a'.repeat(65)],
  duration: ['2160h', '720h', '1h', '59s', '1.5h', '0', '3d', '2562048h'],
  renewBefore: ['360h', '1h', '3000h', '0s', '-1h'],
  renewBeforePercentage: ['33', '1', '99', '0', '100', '33.3', '-5', ' 50', '0x10'],
  privateKeyAlgorithm: ['RSA', 'ECDSA', 'Ed25519', 'rsa', 'DSA'],
  privateKeySize: ['2048', '256', '384', '4096', '1024', '00256', 'big'],
  privateKeyRotationPolicy: ['Always', 'Never', 'always'],
  usages: ['digital signature,key encipherment,server auth', 'server auth', 'client auth, server auth', ',', 'serverAuth', ' server auth ,, client auth'],
  http01EditInPlace: ['true', 'false', 'True', ''],
};

const ISSUER_KEYS = [ISSUER_ANNOTATION, CLUSTER_ISSUER_ANNOTATION, CERT_MANAGER_ISSUER_ANNOTATION, CERT_MANAGER_CLUSTER_ISSUER_ANNOTATION];
const FIELDS = Object.keys(FIELD_ANNOTATIONS) as ShimField[];
const OWN_KEYS = new Set([...ISSUER_KEYS, ...Object.values(FIELD_ANNOTATIONS), ...Object.values(CERT_MANAGER_FIELD_ANNOTATIONS), TLS_ACME_ANNOTATION]);

function pickValue(r: Random, usual: readonly string[], clean: boolean): string {
  if (clean) return usual[r.int(Math.min(3, usual.length))]!;
  return r.weighted<string>([
    [6, () => r.pick(usual)],
    [3, () => mutateString(r, r.pick(usual))],
    [1, () => r.pick(PROTOTYPE_KEYS)],
    [1, () => r.string(AWKWARD_CHARACTERS, r.range(0, 4))],
    [1, () => r.pick(usual).repeat(r.range(10, 40))],
  ]);
}

interface Input {
  annotations: Record<string, string>;
  opts: AnnotationOptions;
}

function input(r: Random): Input {
  // A third of the inputs use only the usual values, so that many ask for a Certificate rather than being refused.
  const clean = r.chance(0.35);
  const value = (usual: readonly string[]) => pickValue(r, usual, clean);
  const entries: [string, string][] = [];
  for (const key of ISSUER_KEYS) if (r.chance(0.3)) entries.push([key, value(VALUES.issuer)]);
  if (r.chance(0.3)) entries.push([TLS_ACME_ANNOTATION, r.pick(['true', 'false', 'TRUE'])]);
  for (const field of FIELDS) {
    if (r.chance(0.25)) entries.push([FIELD_ANNOTATIONS[field], value(VALUES[field])]);
    if (r.chance(0.1)) entries.push([CERT_MANAGER_FIELD_ANNOTATIONS[field], value(VALUES[field])]);
  }
  for (let n = r.range(0, 2); n > 0; n--) entries.push([r.pick(['kubernetes.io/ingress.class', 'certsmith.dev/unknown', ...PROTOTYPE_KEYS]), value(['nginx'])]);
  return {
    // fromEntries, as JSON.parse does it: "__proto__" becomes an own key, not the prototype.
    annotations: Object.fromEntries(r.shuffle(entries)),
    opts: {
      honourCertManager: r.chance(0.5),
      ...(r.chance(0.5) ? { defaultIssuer: { kind: r.pick(['Issuer', 'ClusterIssuer'] as const), name: 'default' } } : {}),
    },
  };
}

/** Whether the annotations name an issuer the options let count, which is what makes the object ours. */
function namesAnIssuer({ annotations: a, opts }: Input): boolean {
  const has = (k: string) => Object.hasOwn(a, k);
  if (has(ISSUER_ANNOTATION) || has(CLUSTER_ISSUER_ANNOTATION)) return true;
  if (opts.honourCertManager && (has(CERT_MANAGER_ISSUER_ANNOTATION) || has(CERT_MANAGER_CLUSTER_ISSUER_ANNOTATION))) return true;
  return a[TLS_ACME_ANNOTATION] === 'true' && opts.defaultIssuer !== undefined;
}

property<Input>({
  name: 'certificateSpecFromAnnotations never throws, acts only on an issuer annotation, and ignores the order of annotations',
  iterations: 2000,
  generate: input,
  shrink: shrinkJson(['annotations', 'opts', 'honourCertManager']),
  check: (i) => {
    const result = certificateSpecFromAnnotations(i.annotations, i.opts);
    assert.equal(result.kind !== 'notAnnotated', namesAnIssuer(i));
    const reversed = Object.fromEntries(Object.entries(i.annotations).reverse());
    assert.deepEqual(certificateSpecFromAnnotations(reversed, i.opts), result);
  },
});

property<Input>({
  name: 'what the annotations ask for makes a Certificate spec the CRD schema and validation accept',
  iterations: 2000,
  generate: input,
  shrink: shrinkJson(['annotations', 'opts', 'honourCertManager']),
  check: (i) => {
    const result = certificateSpecFromAnnotations(i.annotations, i.opts);
    if (result.kind !== 'annotated') return;
    const spec = { secretName: 'web-tls', issuerRef: result.issuerRef, dnsNames: ['www.example.com'], ...result.fields };
    const parsed = CertificateSpec.safeParse(spec);
    assert.ok(parsed.success, `the CRD schema refuses it: ${parsed.error?.message}`);
    assert.deepEqual(validateCertificateSpec(spec), []);
    for (const u of result.fields.usages ?? []) assert.ok((KEY_USAGES as readonly string[]).includes(u));
  },
});

property<Input>({
  name: 'every problem the annotations have names the annotation it comes from',
  iterations: 2000,
  generate: input,
  shrink: shrinkJson(['annotations', 'opts', 'honourCertManager']),
  check: (i) => {
    const result = certificateSpecFromAnnotations(i.annotations, i.opts);
    if (result.kind !== 'invalid') return;
    assert.ok(result.problems.length > 0);
    for (const p of result.problems) {
      const key = p.slice(0, p.indexOf(':'));
      assert.ok(OWN_KEYS.has(key) || [...OWN_KEYS].some((k) => p.startsWith(`${k} and `)), `the problem names no annotation: ${p}`);
    }
  },
});
