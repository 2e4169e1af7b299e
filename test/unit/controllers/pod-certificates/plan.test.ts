// What the signer answers a PodCertificateRequest, from the facts gathered: one table of situations, each with the
// plan it must come to (deny with the API's reason, wait for the CA, or issue with the SPIFFE URI and DNS names).
import assert from 'node:assert/strict';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { describe, it } from 'node:test';
import { POD_DNS_NAMES_ANNOTATION, PcrReason, type PodCertificateRequestSpec } from '../../../../src/api/pod-certificate-request.ts';
import { planPodCertificate, type PodRequestFacts, type PodRequestPlan } from '../../../../src/controllers/pod-certificates/plan.ts';
import { generatePrivateKey } from '../../../../src/pki/keys.ts';
import type { KeySpec } from '../../../../src/pki/types.ts';
import type { PolicyObject } from '../../../../src/policy/issuance-policy.ts';
import { type IssuerRef, podCertificateSettings, podCertificateTimes } from '../../../../src/policy/pod-certificates.ts';
import { type CaSigner, loadCaSigner } from '../../../../src/signers/ca-signer.ts';
import { createGeneration, generationsData } from '../../../../src/signers/managed-ca.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const NOW = new Date('2030-01-01T12:00:00Z');
const NS = 'shop';
const CLUSTER: IssuerRef = { kind: 'ClusterIssuer', name: 'mesh' };
const TEAM: IssuerRef = { kind: 'Issuer', name: 'team-ca', namespace: NS };
const URI = 'spiffe://cluster.local/ns/shop/sa/web';

/** A CA as loadCaSigner reads it from its Secret, made `ago` before NOW and valid for `durationMs`. */
async function caSigner(ago: number, durationMs: number): Promise<CaSigner> {
  const generation = await createGeneration({ commonName: 'mesh CA', durationMs, key: { algorithm: 'ECDSA', size: 256 } }, new Date(NOW.getTime() - ago));
  return loadCaSigner({ data: generationsData({ signing: generation, retiring: [] }) }, 'certsmith/mesh-ca', NOW);
}

const SIGNER = await caSigner(DAY, 365 * DAY);
/** 30 minutes left: too little for the 1h minimum. */
const EXPIRING = await caSigner(DAY, DAY + 30 * 60_000);
/** Exactly the 1h minimum left after the 2-minute backdate. */
const JUST_ENOUGH = await caSigner(DAY, DAY + HOUR - 2 * 60_000);

const P256: KeySpec = { algorithm: 'ECDSA', size: 256 };
const POD_KEY: KeyObject = createPublicKey(await generatePrivateKey(P256));

const SPEC: PodCertificateRequestSpec = {
  signerName: 'certsmith.dev/mesh',
  podName: 'web-0',
  podUID: 'uid-web-0',
  serviceAccountName: 'web',
  serviceAccountUID: 'uid-sa-web',
  nodeName: 'node-a',
  nodeUID: 'uid-node-a',
  maxExpirationSeconds: 86_400,
  stubPKCS10Request: '',
};

function facts(overrides: Partial<PodRequestFacts> = {}, spec: Partial<PodCertificateRequestSpec> = {}): PodRequestFacts {
  return {
    now: NOW,
    namespace: NS,
    spec: { ...SPEC, ...spec },
    ref: CLUSTER,
    settings: podCertificateSettings({}),
    pod: { uid: 'uid-web-0', nodeName: 'node-a', serviceAccountName: 'web' },
    csr: { key: P256, publicKey: POD_KEY },
    policies: [],
    namespaceLabels: { 'kubernetes.io/metadata.name': NS, mesh: 'on' },
    policyDefault: 'Allow',
    signer: SIGNER,
    ...overrides,
  };
}

/** A policy for the mesh ClusterIssuer: the namespace's SPIFFE IDs and service names, at most `maxDuration`. */
function meshPolicy(allowed: Record<string, unknown> = {}): PolicyObject {
  return {
    name: 'mesh',
    spec: {
      issuers: [{ kind: 'ClusterIssuer', name: 'mesh' }],
      namespaces: { selector: { matchLabels: { mesh: 'on' } } },
      allowed: {
        uris: ['spiffe://cluster.local/ns/*/sa/*'],
        dnsZones: ['svc.cluster.local'],
        privateKeys: [{ algorithm: 'ECDSA', minSize: 256 }, { algorithm: 'Ed25519' }],
        usages: ['digital signature', 'server auth', 'client auth'],
        maxDuration: '24h',
        ...allowed,
      },
    },
  };
}

type Want =
  | { kind: 'deny'; reason: string; message: RegExp | string }
  | { kind: 'wait'; message: RegExp | string }
  | { kind: 'issue'; uri: string; dnsNames: string[]; lifetimeMs?: number; beginRefreshAt?: string };

function check(plan: PodRequestPlan, want: Want): void {
  assert.equal(
    plan.kind,
    want.kind,
    JSON.stringify(plan, (k, v) => (k === 'signer' || k === 'publicKey' ? '…' : v)),
  );
  if (plan.kind === 'deny' && want.kind === 'deny') assert.equal(plan.reason, want.reason);
  if ((plan.kind === 'deny' || plan.kind === 'wait') && (want.kind === 'deny' || want.kind === 'wait')) {
    if (want.message instanceof RegExp) assert.match(plan.message, want.message);
    else assert.equal(plan.message, want.message);
  }
  if (plan.kind === 'issue' && want.kind === 'issue') {
    assert.equal(plan.uri, want.uri);
    assert.deepEqual(plan.dnsNames, want.dnsNames);
    if (want.lifetimeMs !== undefined) assert.equal(plan.times.notAfter.getTime() - plan.times.notBefore.getTime(), want.lifetimeMs);
    if (want.beginRefreshAt !== undefined) assert.equal(plan.times.beginRefreshAt.toISOString(), want.beginRefreshAt);
  }
}

describe('pod certificate plan', () => {
  const cases: { name: string; facts: PodRequestFacts; want: Want }[] = [
    // The issuer's settings.
    {
      name: 'a maxDuration under 1h: wait, the issuer cannot sign pod certificates',
      facts: facts({ settings: podCertificateSettings({ maxDuration: '30m' }) }),
      want: { kind: 'wait', message: /^ClusterIssuer mesh cannot sign pod certificates: ca\.podCertificates\.maxDuration must be at least 1h/ },
    },
    {
      name: 'the settings are looked at before the request (the issuer is at fault, not the pod)',
      facts: facts({ settings: { problem: 'ca.podCertificates.maxDuration: bad' }, csr: { problem: 'garbage' }, pod: undefined }),
      want: { kind: 'wait', message: 'ClusterIssuer mesh cannot sign pod certificates: ca.podCertificates.maxDuration: bad' },
    },
    // The stub CSR.
    {
      name: 'an unreadable stub CSR: deny InvalidRequest with its problem',
      facts: facts({ csr: { problem: 'the signature of stubPKCS10Request does not verify: no proof the pod holds the key' } }),
      want: { kind: 'deny', reason: PcrReason.invalidRequest, message: 'the signature of stubPKCS10Request does not verify: no proof the pod holds the key' },
    },
    {
      name: 'a stub CSR over a key certsmith cannot sign for: deny UnsupportedKeyType',
      facts: facts({ csr: { problem: 'EC curve secp224r1 is not supported: use P-256, P-384 or P-521', unsupportedKey: true } }),
      want: { kind: 'deny', reason: PcrReason.unsupportedKeyType, message: 'EC curve secp224r1 is not supported: use P-256, P-384 or P-521' },
    },
    {
      name: 'unsupportedKey false is an invalid request',
      facts: facts({ csr: { problem: 'stubPKCS10Request is empty', unsupportedKey: false } }),
      want: { kind: 'deny', reason: PcrReason.invalidRequest, message: 'stubPKCS10Request is empty' },
    },
    // The pod and the request (checkPodRequest's refusals, as they come through).
    {
      name: 'no such pod: deny PodMismatch',
      facts: facts({ pod: undefined }),
      want: { kind: 'deny', reason: PcrReason.podMismatch, message: 'pod shop/web-0 does not exist' },
    },
    {
      name: 'a pod on another node: deny PodMismatch',
      facts: facts({ pod: { uid: 'uid-web-0', nodeName: 'node-b', serviceAccountName: 'web' } }),
      want: { kind: 'deny', reason: PcrReason.podMismatch, message: /runs on node node-b, not node-a/ },
    },
    {
      name: "an Issuer's signer from another namespace: deny NamespaceNotServed",
      facts: facts({ ref: { kind: 'Issuer', name: 'team-ca', namespace: 'cart' } }, { signerName: 'certsmith.dev/ns.cart.team-ca' }),
      want: { kind: 'deny', reason: PcrReason.namespaceNotServed, message: /signs only for pods in cart/ },
    },
    {
      name: 'a key type the issuer does not take: deny UnsupportedKeyType',
      facts: facts({ settings: podCertificateSettings({ keyTypes: ['ED25519'] }) }),
      want: { kind: 'deny', reason: PcrReason.unsupportedKeyType, message: 'key type ECDSAP256 is not accepted by ClusterIssuer mesh: use one of ED25519' },
    },
    {
      name: 'an annotation certsmith does not read: deny InvalidUnverifiedUserAnnotations',
      facts: facts({}, { unverifiedUserAnnotations: { 'example.com/role': 'admin' } }),
      want: { kind: 'deny', reason: PcrReason.invalidUserAnnotations, message: /userAnnotation example\.com\/role/ },
    },
    {
      name: 'a refusal is final even while the CA cannot sign',
      facts: facts({ pod: undefined, signer: { problem: 'CA Secret certsmith/mesh-ca does not exist' } }),
      want: { kind: 'deny', reason: PcrReason.podMismatch, message: /does not exist/ },
    },
    // The CA.
    {
      name: 'the CA cannot sign now: wait, with why',
      facts: facts({ signer: { problem: 'CA Secret certsmith/mesh-ca does not exist' } }),
      want: { kind: 'wait', message: 'ClusterIssuer mesh cannot sign now: CA Secret certsmith/mesh-ca does not exist' },
    },
    {
      name: 'the CA expires within 1h: wait, naming when',
      facts: facts({ signer: EXPIRING }),
      want: {
        kind: 'wait',
        message: `the CA of ClusterIssuer mesh expires at ${EXPIRING.caInfo.notAfter.toISOString()}, too soon for a certificate of at least 1h`,
      },
    },
    {
      name: 'the CA has exactly 1h left after the backdate: issue, ending with it',
      facts: facts({ signer: JUST_ENOUGH }),
      want: { kind: 'issue', uri: URI, dnsNames: [], lifetimeMs: HOUR },
    },
    // IssuancePolicy.
    {
      name: 'no policy governs the issuer and the default is Deny: deny PolicyDenied, naming the SPIFFE ID',
      facts: facts({ policyDefault: 'Deny' }),
      want: {
        kind: 'deny',
        reason: PcrReason.policyDenied,
        message: `pod certificate ${URI}: no IssuancePolicy governs ClusterIssuer mesh, and the operator denies what no policy allows`,
      },
    },
    {
      name: 'a DNS name outside the policy: deny PolicyDenied',
      facts: facts({ policies: [meshPolicy()] }, { unverifiedUserAnnotations: { [POD_DNS_NAMES_ANNOTATION]: 'web.shop.svc.cluster.local,evil.example.com' } }),
      want: {
        kind: 'deny',
        reason: PcrReason.policyDenied,
        message: `pod certificate ${URI}: IssuancePolicy mesh: spec.dnsNames[1] "evil.example.com" is not allowed by spec.allowed.dnsNames or spec.allowed.dnsZones`,
      },
    },
    {
      name: 'a SPIFFE ID outside the policy: deny PolicyDenied',
      facts: facts({ policies: [meshPolicy({ uris: ['spiffe://cluster.local/ns/shop/sa/frontend'] })] }),
      want: {
        kind: 'deny',
        reason: PcrReason.policyDenied,
        message: new RegExp(`^pod certificate ${URI}: IssuancePolicy mesh: spec\\.uris\\[0\\] "${URI}" is not allowed`),
      },
    },
    {
      name: "the certificate's lifetime goes to the policy: a maxDuration under it denies",
      facts: facts({ policies: [meshPolicy({ maxDuration: '12h' })] }),
      want: {
        kind: 'deny',
        reason: PcrReason.policyDenied,
        message: /^pod certificate spiffe:\/\/.*spec\.duration \(86400s\) is longer than spec\.allowed\.maxDuration 12h$/,
      },
    },
    {
      name: 'a pod asking for 12h passes that policy',
      facts: facts({ policies: [meshPolicy({ maxDuration: '12h' })] }, { maxExpirationSeconds: 12 * 3600 }),
      want: { kind: 'issue', uri: URI, dnsNames: [], lifetimeMs: 12 * HOUR },
    },
    {
      name: 'the pod usages go to the policy: one without client auth denies',
      facts: facts({ policies: [meshPolicy({ usages: ['digital signature', 'server auth'] })] }),
      want: { kind: 'deny', reason: PcrReason.policyDenied, message: /spec\.usages "client auth" is not allowed/ },
    },
    {
      name: 'a namespace the policy does not select: deny PolicyDenied',
      facts: facts({ policies: [meshPolicy()], namespaceLabels: { 'kubernetes.io/metadata.name': NS } }),
      want: {
        kind: 'deny',
        reason: PcrReason.policyDenied,
        message: /^pod certificate spiffe:\/\/cluster\.local\/ns\/shop\/sa\/web: namespace shop may not use ClusterIssuer mesh/,
      },
    },
    // Issued.
    {
      name: 'allowed by default: issue with the SPIFFE ID, 24h',
      facts: facts(),
      want: { kind: 'issue', uri: URI, dnsNames: [], lifetimeMs: DAY, beginRefreshAt: '2030-01-02T04:02:48.000Z' },
    },
    {
      name: 'allowed by the policy: issue with the DNS names the pod asked for',
      facts: facts(
        { policies: [meshPolicy()] },
        { unverifiedUserAnnotations: { [POD_DNS_NAMES_ANNOTATION]: 'Web.shop.svc.cluster.local, web.shop.svc.cluster.local,api.shop.svc.cluster.local' } },
      ),
      want: { kind: 'issue', uri: URI, dnsNames: ['web.shop.svc.cluster.local', 'api.shop.svc.cluster.local'], lifetimeMs: DAY },
    },
    {
      name: "an Issuer's own namespace, with its trust domain",
      facts: facts(
        { ref: TEAM, settings: podCertificateSettings({ trustDomain: 'prod.example', maxDuration: '6h' }) },
        { signerName: 'certsmith.dev/ns.shop.team-ca' },
      ),
      want: { kind: 'issue', uri: 'spiffe://prod.example/ns/shop/sa/web', dnsNames: [], lifetimeMs: 6 * HOUR },
    },
    {
      name: 'a pod running as "default" gets the default account in its SPIFFE ID',
      facts: facts({ pod: { uid: 'uid-web-0', nodeName: 'node-a' } }, { serviceAccountName: 'default' }),
      want: { kind: 'issue', uri: 'spiffe://cluster.local/ns/shop/sa/default', dnsNames: [] },
    },
    {
      name: 'a CA rotation brings the refresh forward',
      facts: facts({ refreshBy: new Date('2030-01-01T18:00:00Z') }),
      want: { kind: 'issue', uri: URI, dnsNames: [], lifetimeMs: DAY, beginRefreshAt: '2030-01-01T18:00:00.000Z' },
    },
  ];
  for (const c of cases) it(c.name, () => check(planPodCertificate(c.facts), c.want));

  it('issues over the pod key with the signer and the times podCertificateTimes gives', () => {
    const f = facts();
    const plan = planPodCertificate(f);
    assert.equal(plan.kind, 'issue');
    if (plan.kind !== 'issue') return;
    assert.equal(plan.publicKey, POD_KEY);
    assert.equal(plan.signer, SIGNER);
    const settings = podCertificateSettings({});
    assert.ok(!('problem' in settings));
    assert.deepEqual(plan.times, podCertificateTimes({ now: NOW, maxExpirationSeconds: 86_400, settings, caNotAfter: SIGNER.caInfo.notAfter }));
    assert.equal(plan.times.notBefore.toISOString(), '2030-01-01T11:58:00.000Z');
  });
});
