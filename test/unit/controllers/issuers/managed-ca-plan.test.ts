import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IssuerStatus, ManagedCa } from '../../../../src/api/issuer.ts';
import type { SecretObject } from '../../../../src/api/secret.ts';
import type { TrustBundle } from '../../../../src/api/trust-bundle.ts';
import {
  afterStep,
  caSecret,
  checkCaSecret,
  managedCaOutcome,
  managedCaTimings,
  readState,
  rotationInputs,
  sourcesIssuer,
  type ManagedCaState,
  type ManagedCaTimings,
  type RotationStep,
} from '../../../../src/controllers/issuers/managed-ca-plan.ts';
import { errorCode } from '../../../../src/errors.ts';
import { encodePem, encodePrivateKeyPem, generatePrivateKey, signCertificate } from '../../../../src/pki/index.ts';
import type { RotationDecision } from '../../../../src/policy/ca-rotation.ts';
import type { StoredGeneration } from '../../../../src/signers/managed-ca.ts';
import { HOUR, noNames, wholeSecond } from '../../pki/fixtures.ts';

const S = 1000;
const t0 = new Date('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(t0.getTime() + s * S);
const gen = (fp: string, from: number, life = 90, keyPem?: string): StoredGeneration => ({
  fingerprint: fp,
  notBefore: at(from),
  notAfter: at(from + life),
  der: new Uint8Array(),
  ...(keyPem ? { keyPem } : {}),
});
const fingerprints = (gs: readonly StoredGeneration[]) => gs.map((g) => g.fingerprint);
const owner = 'Issuer/apps/org';
const ownLabels = { 'app.kubernetes.io/managed-by': 'certsmith', 'certsmith.dev/internal': 'managed-ca' };
const ownAnnotations = { 'certsmith.dev/ca-issuer': owner };
const secret = (o: { labels?: Record<string, string>; annotations?: Record<string, string>; data?: Record<string, string> }): SecretObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'org-ca', namespace: 'apps', ...(o.labels ? { labels: o.labels } : {}), ...(o.annotations ? { annotations: o.annotations } : {}) },
  ...(o.data ? { data: o.data } : {}),
});
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('managedCaTimings', () => {
  const cases: { name: string; spec: Partial<ManagedCa>; expected?: Partial<ManagedCaTimings>; error?: string }[] = [
    {
      name: 'an empty spec takes the defaults: a year, ECDSA P-256, 2m propagation, 5m grace, rotation at 1/3 left',
      spec: {},
      expected: { durationMs: 8760 * HOUR, key: { algorithm: 'ECDSA', size: 256 }, rotateBefore: {}, propagationDelayMs: 120 * S, retireGraceMs: 300 * S },
    },
    { name: 'rotateBefore is a duration', spec: { rotateBefore: '10m' }, expected: { rotateBefore: { rotateBeforeMs: 600 * S } } },
    { name: 'rotateBeforePercentage is passed on', spec: { rotateBeforePercentage: 50 }, expected: { rotateBefore: { rotateBeforePercentage: 50 } } },
    { name: 'an RSA key takes its default size', spec: { privateKey: { algorithm: 'RSA' } }, expected: { key: { algorithm: 'RSA', size: 2048 } } },
    { name: 'a duration that does not parse names its field', spec: { duration: 'a year' }, error: 'ca.managed.duration: ' },
    { name: 'a zero duration is refused', spec: { duration: '0s' }, error: 'ca.managed.duration must be longer than 0' },
    {
      name: 'a reissueWindow that does not parse is refused here, though the Certificates read it',
      spec: { reissueWindow: 'soon' },
      error: 'ca.managed.reissueWindow: ',
    },
    { name: 'a bad propagationDelay names its field', spec: { propagationDelay: '-' }, error: 'ca.managed.propagationDelay: ' },
    { name: 'an unsupported key names its field', spec: { privateKey: { algorithm: 'RSA', size: 1000 } }, error: 'ca.managed.privateKey: ' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const spec = { commonName: 'Org CA', ...c.spec };
      if (c.error) {
        assert.throws(
          () => managedCaTimings(spec),
          (err: Error) => errorCode(err) === 'InvalidSpec' && err.message.startsWith(c.error!),
        );
        return;
      }
      const t = managedCaTimings(spec);
      for (const [k, v] of Object.entries(c.expected!)) assert.deepEqual(t[k as keyof ManagedCaTimings], v, k);
    });
  }
});

describe('checkCaSecret', async () => {
  const now = wholeSecond(Date.now());
  const caKey = await generatePrivateKey({ algorithm: 'ECDSA', size: 256 });
  const cert = async (isCA: boolean) =>
    encodePem(
      'CERTIFICATE',
      await signCertificate({
        publicKey: caKey,
        subject: { commonName: 'Org CA' },
        ...noNames(),
        usages: [],
        isCA,
        notBefore: now,
        notAfter: new Date(now.getTime() + HOUR),
        signer: { privateKey: caKey },
      }),
    );
  const keyPair = async (isCA: boolean) => ({ 'tls.crt': b64(await cert(isCA)), 'tls.key': b64(encodePrivateKeyPem(caKey, 'PKCS8')) });
  const cases: { name: string; secret: () => Promise<SecretObject | undefined>; at?: Date; error?: string }[] = [
    { name: 'no Secret yet: the first generation is created', secret: async () => undefined },
    { name: 'its own Secret, still empty, is fine', secret: async () => secret({ labels: ownLabels, annotations: ownAnnotations }) },
    { name: 'its own Secret holding a CA is fine', secret: async () => secret({ labels: ownLabels, annotations: ownAnnotations, data: await keyPair(true) }) },
    {
      name: 'its own Secret whose CA expired is the rotation’s business, not an error',
      secret: async () => secret({ labels: ownLabels, annotations: ownAnnotations, data: await keyPair(true) }),
      at: new Date(now.getTime() + 2 * HOUR),
    },
    { name: 'a Secret the operator did not make is never taken over', secret: async () => secret({ annotations: ownAnnotations }), error: 'SecretConflict' },
    {
      name: 'a Secret made for another issuer is never taken over',
      secret: async () => secret({ labels: ownLabels, annotations: { 'certsmith.dev/ca-issuer': 'Issuer/apps/other' } }),
      error: 'SecretConflict',
    },
    {
      name: 'a certificate edited in by hand that is not a CA is reported',
      secret: async () => secret({ labels: ownLabels, annotations: ownAnnotations, data: await keyPair(false) }),
      error: 'NotCA',
    },
    {
      name: 'a certificate edited in by hand that is not PEM is reported',
      secret: async () => secret({ labels: ownLabels, annotations: ownAnnotations, data: { 'tls.crt': b64('junk'), 'tls.key': b64('junk') } }),
      error: 'InvalidPEM',
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const s = await c.secret();
      const check = () => checkCaSecret(s, 'apps/org-ca', owner, c.at ?? now);
      if (c.error) assert.throws(check, (err: Error) => errorCode(err) === c.error);
      else assert.doesNotThrow(check);
    });
  }
});

describe('readState', () => {
  it('no Secret: no generation and no signing time', () => {
    assert.deepEqual(readState(undefined), { gens: { retiring: [] } });
  });
  it('the signing-since annotation says when the signing generation started to sign', () => {
    const s = secret({ labels: ownLabels, annotations: { ...ownAnnotations, 'certsmith.dev/ca-signing-since': '2026-01-01T00:00:10Z' } });
    assert.deepEqual(readState(s).signingSince, at(10));
  });
});

describe('sourcesIssuer', () => {
  const bundle = (issuer: { kind: string; name: string; namespace?: string }) => ({ metadata: { name: 'b' }, spec: { sources: [{ issuer }] } }) as TrustBundle;
  const cases: { name: string; source: { kind: string; name: string; namespace?: string }; kind: 'Issuer' | 'ClusterIssuer'; expected: boolean }[] = [
    { name: 'an Issuer is sourced by kind, namespace and name', source: { kind: 'Issuer', name: 'org', namespace: 'apps' }, kind: 'Issuer', expected: true },
    {
      name: 'an Issuer of the same name in another namespace is not',
      source: { kind: 'Issuer', name: 'org', namespace: 'other' },
      kind: 'Issuer',
      expected: false,
    },
    { name: 'a ClusterIssuer needs no namespace', source: { kind: 'ClusterIssuer', name: 'org' }, kind: 'ClusterIssuer', expected: true },
    { name: 'a ClusterIssuer is not an Issuer of the same name', source: { kind: 'ClusterIssuer', name: 'org' }, kind: 'Issuer', expected: false },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(sourcesIssuer(bundle(c.source), c.kind, { metadata: { name: 'org', namespace: 'apps' } }), c.expected));
  }
});

describe('rotationInputs', () => {
  const timings = managedCaTimings({ commonName: 'Org CA' });
  const synced = (name: string, fps: string[]): TrustBundle =>
    ({
      metadata: { name, generation: 1 },
      status: {
        certificates: fps.map((fingerprint) => ({ fingerprint })),
        targetsSynced: 2,
        targetsTotal: 2,
        conditions: [{ type: 'Synced', status: 'True', reason: 'Synced', observedGeneration: 1 }],
      },
    }) as unknown as TrustBundle;
  const stable: ManagedCaState = { gens: { signing: gen('old', 0), retiring: [] } };
  const publishing: ManagedCaState = { gens: { signing: gen('old', 0), pending: gen('new', 60), retiring: [] } };
  const reissuing: ManagedCaState = { gens: { signing: gen('new', 60), retiring: [gen('old', 0)] }, signingSince: at(70) };
  const gateAt = (phase: 'Publishing' | 'Reissuing'): IssuerStatus['ca'] => ({ phase, gateOpenSince: '2026-01-01T00:01:05Z' });
  const cases: {
    name: string;
    state: ManagedCaState;
    bundles?: TrustBundle[];
    recorded?: IssuerStatus['ca'];
    expected: { bundlesNotSynced: string[]; retiringLeaves: number; gateOpenSince?: Date };
  }[] = [
    {
      name: 'a stable CA waits on no bundle and counts no leaf',
      state: stable,
      bundles: [synced('b', [])],
      expected: { bundlesNotSynced: [], retiringLeaves: 0 },
    },
    {
      name: 'while publishing, a bundle that lacks the new CA holds the switch',
      state: publishing,
      bundles: [synced('has-it', ['old', 'new']), synced('lacks-it', ['old'])],
      expected: { bundlesNotSynced: ['lacks-it'], retiringLeaves: 0 },
    },
    {
      name: 'while reissuing, the leaves of the retiring CA are counted',
      state: reissuing,
      expected: { bundlesNotSynced: [], retiringLeaves: 3 },
    },
    {
      name: 'a gate recorded while publishing counts while publishing',
      state: publishing,
      recorded: gateAt('Publishing'),
      expected: { bundlesNotSynced: [], retiringLeaves: 0, gateOpenSince: at(65) },
    },
    {
      name: 'a gate recorded while publishing does not count once reissuing',
      state: reissuing,
      recorded: gateAt('Publishing'),
      expected: { bundlesNotSynced: [], retiringLeaves: 3 },
    },
    {
      name: 'a gate recorded while reissuing counts while reissuing',
      state: reissuing,
      recorded: gateAt('Reissuing'),
      expected: { bundlesNotSynced: [], retiringLeaves: 3, gateOpenSince: at(65) },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const i = rotationInputs({
        now: at(100),
        state: c.state,
        timings,
        bundles: c.bundles ?? [],
        countLeaves: (fps) => (fps.has('old') ? 3 : 0),
        recorded: c.recorded,
      });
      assert.deepEqual(
        { bundlesNotSynced: i.bundlesNotSynced, retiringLeaves: i.retiringLeaves, ...(i.gateOpenSince ? { gateOpenSince: i.gateOpenSince } : {}) },
        c.expected,
      );
      assert.equal(i.signing?.fingerprint, c.state.gens.signing?.fingerprint);
      assert.equal(i.pending?.fingerprint, c.state.gens.pending?.fingerprint);
      assert.equal(i.propagationDelayMs, timings.propagationDelayMs);
    });
  }
});

describe('afterStep', () => {
  const now = at(100);
  const state: ManagedCaState = {
    gens: { signing: gen('old', 0, 90, 'old key'), pending: gen('next', 60, 90, 'next key'), retiring: [gen('older', -60)] },
    signingSince: at(5),
  };
  const cases: { name: string; from?: ManagedCaState; step: RotationStep; signing?: string; pending?: string; retiring: string[]; signingSince: Date }[] = [
    {
      name: 'a generation created to sign at once signs; the one it replaces retires',
      from: { gens: { signing: gen('old', 0, 90, 'old key'), retiring: [] }, signingSince: at(5) },
      step: { kind: 'create', signNow: true, generation: gen('new', 100, 90, 'new key') },
      signing: 'new',
      retiring: ['old'],
      signingSince: now,
    },
    {
      name: 'a generation created to be published waits as pending; signing is unchanged',
      from: { gens: { signing: gen('old', 0, 90, 'old key'), retiring: [] }, signingSince: at(5) },
      step: { kind: 'create', signNow: false, generation: gen('new', 100, 90, 'new key') },
      signing: 'old',
      pending: 'new',
      retiring: [],
      signingSince: at(5),
    },
    {
      name: 'a switch makes the pending generation sign and retires the old one',
      step: { kind: 'switch' },
      signing: 'next',
      retiring: ['older', 'old'],
      signingSince: now,
    },
    {
      name: 'a retire drops the named generations only',
      step: { kind: 'retire', fingerprints: ['older'] },
      signing: 'old',
      pending: 'next',
      retiring: [],
      signingSince: at(5),
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const next = afterStep(c.from ?? state, c.step, now);
      assert.equal(next.gens.signing?.fingerprint, c.signing);
      assert.equal(next.gens.pending?.fingerprint, c.pending);
      assert.deepEqual(fingerprints(next.gens.retiring), c.retiring);
      assert.deepEqual(next.signingSince, c.signingSince);
      // A generation that no longer signs or waits to sign has no key in the Secret.
      assert.ok(next.gens.retiring.every((g) => g.keyPem === undefined));
      assert.ok(next.gens.signing?.keyPem);
    });
  }
});

describe('caSecret', () => {
  it('keeps what else the Secret carries, marks its issuer and signing time, and keeps the resourceVersion for the PUT', () => {
    const existing = {
      ...secret({ labels: { team: 'a', ...ownLabels }, annotations: { note: 'x', ...ownAnnotations } }),
      metadata: {
        name: 'org-ca',
        namespace: 'apps',
        resourceVersion: '42',
        labels: { team: 'a', ...ownLabels },
        annotations: { note: 'x', ...ownAnnotations },
        managedFields: [{ manager: 'kubectl' }],
      },
    } as SecretObject;
    const body = caSecret({ existing, namespace: 'apps', name: 'org-ca', owner, state: { gens: { retiring: [] }, signingSince: at(10) }, now: at(100) });
    assert.deepEqual(body.metadata, {
      name: 'org-ca',
      namespace: 'apps',
      resourceVersion: '42',
      labels: { team: 'a', ...ownLabels },
      annotations: { note: 'x', ...ownAnnotations, 'certsmith.dev/ca-signing-since': '2026-01-01T00:00:10Z' },
    });
    assert.equal(body.type, 'Opaque');
  });
  it('a new Secret is labelled and marked, and signs from now when no time is known', () => {
    const body = caSecret({ existing: undefined, namespace: 'apps', name: 'org-ca', owner, state: { gens: { retiring: [] } }, now: at(100) });
    assert.deepEqual(body.metadata, {
      name: 'org-ca',
      namespace: 'apps',
      labels: ownLabels,
      annotations: { ...ownAnnotations, 'certsmith.dev/ca-signing-since': '2026-01-01T00:01:40Z' },
    });
  });
});

describe('managedCaOutcome', () => {
  const now = at(100);
  const state: ManagedCaState = { gens: { signing: gen('new'.padEnd(64, '0'), 60), retiring: [gen('old'.padEnd(64, '0'), 0)] }, signingSince: at(70) };
  const decision = (d: Partial<RotationDecision>): RotationDecision => ({ action: { kind: 'wait' }, phase: 'Reissuing', message: 'waiting', ...d });
  const cases: { name: string; decision: RotationDecision; changed: boolean; requeueAfterMs: number; gate?: string }[] = [
    {
      name: 'after a write it looks again at once',
      decision: decision({ action: { kind: 'switch' }, gateOpenSince: at(90) }),
      changed: true,
      requeueAfterMs: 1000,
    },
    {
      name: 'waiting for a check in 30 s looks again then',
      decision: decision({ nextCheck: at(130), gateOpenSince: at(90) }),
      changed: false,
      requeueAfterMs: 30_000,
      gate: '2026-01-01T00:01:30Z',
    },
    { name: 'a check far ahead is capped by the one-minute safety net', decision: decision({ nextCheck: at(1000) }), changed: false, requeueAfterMs: 60_000 },
    { name: 'a check already due looks again now', decision: decision({ nextCheck: at(50) }), changed: false, requeueAfterMs: 0 },
    { name: 'no check planned: the safety net', decision: decision({}), changed: false, requeueAfterMs: 60_000 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const o = managedCaOutcome(state, c.decision, c.changed, now);
      assert.equal(o.requeueAfterMs, c.requeueAfterMs);
      assert.equal(o.status.ca?.gateOpenSince, c.gate, 'a gate is recorded only while waiting on it');
    });
  }

  it('says which generation signs, until when, and where the rotation stands; lists every generation oldest first', () => {
    const o = managedCaOutcome(state, decision({ message: '2 certificate(s) signed by the old CA still to be re-issued' }), false, now);
    assert.equal(
      o.message,
      'Signing with managed CA new0000000000000, valid until 2026-01-01T00:02:30.000Z; Reissuing: 2 certificate(s) signed by the old CA still to be re-issued',
    );
    assert.deepEqual(o.status, {
      caNotAfter: '2026-01-01T00:02:30Z',
      caFingerprint: 'new'.padEnd(64, '0'),
      ca: {
        phase: 'Reissuing',
        signingSince: '2026-01-01T00:01:10Z',
        generations: [
          { fingerprint: 'old'.padEnd(64, '0'), notBefore: '2026-01-01T00:00:00Z', notAfter: '2026-01-01T00:01:30Z', role: 'retiring' },
          { fingerprint: 'new'.padEnd(64, '0'), notBefore: '2026-01-01T00:01:00Z', notAfter: '2026-01-01T00:02:30Z', role: 'signing' },
        ],
      },
    });
  });
});
