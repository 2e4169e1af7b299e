import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { certificateSpecFromAnnotations, type AnnotationOptions } from '../../../src/controllers/shim/annotations.ts';
import { assertLinear } from '../timing.ts';

const off: AnnotationOptions = { honourCertManager: false };
const on: AnnotationOptions = { honourCertManager: true };
const withDefault: AnnotationOptions = { honourCertManager: false, defaultIssuer: { kind: 'ClusterIssuer', name: 'letsencrypt' } };

describe('certificateSpecFromAnnotations: which issuer', () => {
  const cases: { name: string; annotations: Record<string, string>; opts?: AnnotationOptions; issuer?: { kind: string; name: string } }[] = [
    { name: 'no annotations: not annotated', annotations: {} },
    {
      name: 'certsmith.dev/cluster-issuer names a ClusterIssuer',
      annotations: { 'certsmith.dev/cluster-issuer': 'ca' },
      issuer: { kind: 'ClusterIssuer', name: 'ca' },
    },
    { name: 'certsmith.dev/issuer names an Issuer', annotations: { 'certsmith.dev/issuer': 'local' }, issuer: { kind: 'Issuer', name: 'local' } },
    { name: "cert-manager's annotation is ignored without the migration flag", annotations: { 'cert-manager.io/cluster-issuer': 'ca' } },
    {
      name: "cert-manager's cluster-issuer is honoured with the flag",
      annotations: { 'cert-manager.io/cluster-issuer': 'ca' },
      opts: on,
      issuer: { kind: 'ClusterIssuer', name: 'ca' },
    },
    {
      name: "cert-manager's issuer is honoured with the flag",
      annotations: { 'cert-manager.io/issuer': 'local' },
      opts: on,
      issuer: { kind: 'Issuer', name: 'local' },
    },
    {
      name: "certsmith.dev wins over cert-manager's when both are present",
      annotations: { 'certsmith.dev/issuer': 'mine', 'cert-manager.io/cluster-issuer': 'theirs' },
      opts: on,
      issuer: { kind: 'Issuer', name: 'mine' },
    },
    {
      name: 'kubernetes.io/tls-acme "true" uses the default issuer',
      annotations: { 'kubernetes.io/tls-acme': 'true' },
      opts: withDefault,
      issuer: { kind: 'ClusterIssuer', name: 'letsencrypt' },
    },
    { name: 'kubernetes.io/tls-acme without a default issuer is not ours to act on', annotations: { 'kubernetes.io/tls-acme': 'true' } },
    { name: 'kubernetes.io/tls-acme "false" asks for nothing', annotations: { 'kubernetes.io/tls-acme': 'false' }, opts: withDefault },
    {
      name: 'an explicit issuer wins over tls-acme',
      annotations: { 'kubernetes.io/tls-acme': 'true', 'certsmith.dev/issuer': 'local' },
      opts: withDefault,
      issuer: { kind: 'Issuer', name: 'local' },
    },
    { name: 'field annotations alone ask for nothing', annotations: { 'certsmith.dev/duration': 'nonsense' } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = certificateSpecFromAnnotations(c.annotations, c.opts ?? off);
      if (!c.issuer) return assert.deepEqual(r, { kind: 'notAnnotated' });
      assert.equal(r.kind, 'annotated', JSON.stringify(r));
      assert.deepEqual(r.kind === 'annotated' && r.issuerRef, c.issuer);
    });
  }
});

describe('certificateSpecFromAnnotations: the Certificate fields', () => {
  it('maps every field annotation onto the spec', () => {
    const r = certificateSpecFromAnnotations(
      {
        'certsmith.dev/cluster-issuer': 'ca',
        'certsmith.dev/common-name': 'web.example.test',
        'certsmith.dev/duration': '720h',
        'certsmith.dev/renew-before': '240h',
        'certsmith.dev/private-key-algorithm': 'RSA',
        'certsmith.dev/private-key-size': '3072',
        'certsmith.dev/private-key-rotation-policy': 'Never',
        'certsmith.dev/usages': 'digital signature, key encipherment,server auth',
        'certsmith.dev/acme-http01-edit-in-place': 'true',
      },
      off,
    );
    assert.deepEqual(r, {
      kind: 'annotated',
      issuerRef: { kind: 'ClusterIssuer', name: 'ca' },
      fields: {
        commonName: 'web.example.test',
        duration: '720h',
        renewBefore: '240h',
        privateKey: { algorithm: 'RSA', size: 3072, rotationPolicy: 'Never' },
        usages: ['digital signature', 'key encipherment', 'server auth'],
      },
      http01EditInPlace: true,
    });
  });

  it('renew-before-percentage becomes a number', () => {
    const r = certificateSpecFromAnnotations({ 'certsmith.dev/issuer': 'x', 'certsmith.dev/renew-before-percentage': '25' }, off);
    assert.deepEqual(r.kind === 'annotated' && r.fields, { renewBeforePercentage: 25 });
  });

  it("cert-manager's field annotations count only with the flag, and certsmith.dev's win", () => {
    const annotations = {
      'cert-manager.io/cluster-issuer': 'ca',
      'cert-manager.io/duration': '100h',
      'cert-manager.io/common-name': 'a.test',
      'certsmith.dev/common-name': 'b.test',
      'acme.cert-manager.io/http01-edit-in-place': 'true',
    };
    const r = certificateSpecFromAnnotations(annotations, on);
    assert.deepEqual(r.kind === 'annotated' && [r.fields, r.http01EditInPlace], [{ commonName: 'b.test', duration: '100h' }, true]);
    const r2 = certificateSpecFromAnnotations({ ...annotations, 'certsmith.dev/issuer': 'x' }, off);
    assert.deepEqual(r2.kind === 'annotated' && [r2.fields, r2.http01EditInPlace], [{ commonName: 'b.test' }, false]);
  });
});

describe('certificateSpecFromAnnotations: bad values name the annotation and the value', () => {
  const issuer = { 'certsmith.dev/cluster-issuer': 'ca' };
  const cases: { name: string; annotations: Record<string, string>; opts?: AnnotationOptions; problems: RegExp[] }[] = [
    {
      name: 'both issuer annotations',
      annotations: { 'certsmith.dev/issuer': 'a', 'certsmith.dev/cluster-issuer': 'b' },
      problems: [/^certsmith\.dev\/issuer and certsmith\.dev\/cluster-issuer are both set/],
    },
    { name: 'an empty issuer name', annotations: { 'certsmith.dev/issuer': ' ' }, problems: [/^certsmith\.dev\/issuer: " " is empty: name the Issuer/] },
    // Found by test/unit/fuzz/annotations.test.ts: the Certificate made from it was one the API server refuses.
    {
      name: 'an issuer name longer than an object name may be, quoting only its start',
      annotations: { 'certsmith.dev/cluster-issuer': 'a'.repeat(254) },
      problems: [/^certsmith\.dev\/cluster-issuer: "a{16}…" \(254 characters\) is too long for a ClusterIssuer name: the limit is 253$/],
    },
    {
      name: 'a duration that is not Go syntax',
      annotations: { ...issuer, 'certsmith.dev/duration': '90d' },
      problems: [/^certsmith\.dev\/duration: "90d" is not a valid duration: use Go syntax/],
    },
    {
      name: 'a duration longer than 64 characters, quoted only in part',
      annotations: { ...issuer, 'certsmith.dev/renew-before': `${'0'.repeat(100_000)}1h` },
      problems: [
        /^certsmith\.dev\/renew-before: "0{16}…" \(100002 characters\) is not a valid duration \(longer than the limit of 64 characters\): use Go syntax/,
      ],
    },
    {
      name: 'a duration below the minimum',
      annotations: { ...issuer, 'certsmith.dev/duration': '30s' },
      problems: [/^certsmith\.dev\/duration: duration "30s" is shorter than the minimum of 1m/],
    },
    {
      name: 'renew-before not shorter than the duration',
      annotations: { ...issuer, 'certsmith.dev/duration': '24h', 'certsmith.dev/renew-before': '48h' },
      problems: [/^certsmith\.dev\/renew-before: renewBefore "48h" must be shorter than the duration \(24h\)/],
    },
    {
      name: 'a percentage out of range',
      annotations: { ...issuer, 'certsmith.dev/renew-before-percentage': '100' },
      problems: [/^certsmith\.dev\/renew-before-percentage: "100" is not a percentage/],
    },
    {
      name: 'a percentage that is no number',
      annotations: { ...issuer, 'certsmith.dev/renew-before-percentage': '1/3' },
      problems: [/renew-before-percentage: "1\/3" is not a percentage/],
    },
    {
      name: 'renew-before and renew-before-percentage together',
      annotations: { ...issuer, 'certsmith.dev/renew-before': '24h', 'certsmith.dev/renew-before-percentage': '30' },
      problems: [/^certsmith\.dev\/renew-before and certsmith\.dev\/renew-before-percentage are both set/],
    },
    {
      name: 'an unknown algorithm',
      annotations: { ...issuer, 'certsmith.dev/private-key-algorithm': 'DSA' },
      problems: [/^certsmith\.dev\/private-key-algorithm: "DSA" is not supported: use RSA, ECDSA or Ed25519$/],
    },
    {
      name: 'a size that is no number',
      annotations: { ...issuer, 'certsmith.dev/private-key-size': 'big' },
      problems: [/^certsmith\.dev\/private-key-size: "big" is not a key size/],
    },
    {
      name: 'a size the default algorithm does not have',
      annotations: { ...issuer, 'certsmith.dev/private-key-size': '2048' },
      problems: [/^certsmith\.dev\/private-key-size: privateKey\.size 2048 is not valid for ECDSA \(the default algorithm\): use 256, 384, 521$/],
    },
    {
      name: 'a size with Ed25519',
      annotations: { ...issuer, 'certsmith.dev/private-key-algorithm': 'Ed25519', 'certsmith.dev/private-key-size': '256' },
      problems: [/private-key-size: privateKey\.size 256 cannot be used with Ed25519/],
    },
    {
      name: 'an unknown rotation policy',
      annotations: { ...issuer, 'certsmith.dev/private-key-rotation-policy': 'Sometimes' },
      problems: [/rotation-policy: "Sometimes" is not supported: use Always or Never$/],
    },
    {
      name: 'an unknown usage',
      annotations: { ...issuer, 'certsmith.dev/usages': 'server auth,teleport' },
      problems: [/^certsmith\.dev\/usages: "server auth,teleport" has unknown usages "teleport": use "signing"/],
    },
    {
      name: 'a common name over 64 characters',
      annotations: { ...issuer, 'certsmith.dev/common-name': `${'a'.repeat(70)}.test` },
      problems: [/^certsmith\.dev\/common-name: commonName "a+\.test" is 75 characters long; the limit is 64/],
    },
    {
      name: 'edit-in-place that is not a boolean',
      annotations: { ...issuer, 'certsmith.dev/acme-http01-edit-in-place': 'yes' },
      problems: [/acme-http01-edit-in-place: "yes" is not "true" or "false"/],
    },
    {
      name: "a bad cert-manager value, named by cert-manager's key",
      annotations: { 'cert-manager.io/issuer': 'x', 'cert-manager.io/renew-before': 'soon' },
      opts: on,
      problems: [/^cert-manager\.io\/renew-before: "soon" is not a valid duration/],
    },
    {
      name: 'every bad value at once',
      annotations: { ...issuer, 'certsmith.dev/duration': 'x', 'certsmith.dev/private-key-algorithm': 'y' },
      problems: [/duration: "x"/, /private-key-algorithm: "y"/],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = certificateSpecFromAnnotations(c.annotations, c.opts ?? off);
      assert.equal(r.kind, 'invalid', JSON.stringify(r));
      const problems = r.kind === 'invalid' ? r.problems : [];
      assert.equal(problems.length, c.problems.length, problems.join('\n'));
      c.problems.forEach((re, i) => assert.match(problems[i]!, re));
    });
  }
});

describe('certificateSpecFromAnnotations: long values', () => {
  // All annotations of an object together may hold 256 KiB; two 120 kB durations took 85 ms of CPU and came back
  // whole in the problems (and so in the events) before durations were bounded.
  it('refuses two 120 kB durations in well under 10 ms, with short messages', (t) => {
    const annotations = (size: number) => ({
      'certsmith.dev/cluster-issuer': 'ca',
      'certsmith.dev/duration': `.${'9'.repeat(size)}h`,
      'certsmith.dev/renew-before': `.${'9'.repeat(size)}m`,
    });
    const r = certificateSpecFromAnnotations(annotations(120_000), off);
    assert.equal(r.kind, 'invalid');
    assert.deepEqual(r.kind === 'invalid' && r.problems.map((p) => p.length < 250), [true, true]);
    t.diagnostic(assertLinear({ input: annotations, run: (a) => certificateSpecFromAnnotations(a, off), size: 120_000, ceilingMs: 10 }));
  });
});
