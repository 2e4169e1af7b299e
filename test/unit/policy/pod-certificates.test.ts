// Pod certificates as tables: which issuer serves a signer name, whether a PodCertificateRequest may be signed, the DNS
// names a pod asks for, and the times its certificate carries (with the bounds kube-apiserver holds them to).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Issuer, type IssuerKind, POD_KEY_TYPES, type PodCertificates, type PodKeyType } from '../../../src/api/issuer.ts';
import { POD_DNS_NAMES_ANNOTATION, PcrReason, type PodCertificateRequestSpec } from '../../../src/api/pod-certificate-request.ts';
import type { KeySpec } from '../../../src/pki/types.ts';
import {
  BACKDATE_MS,
  buildSignerIndex,
  checkPodRequest,
  clusterSignerNameProblem,
  DEFAULT_POD_MAX_DURATION,
  DEFAULT_REFRESH_BEFORE_PERCENTAGE,
  DEFAULT_TRUST_DOMAIN,
  type IssuerRef,
  MAX_POD_DNS_NAMES,
  MIN_POD_LIFETIME_MS,
  type PodCertificateSettings,
  podCertificateSettings,
  podCertificateTimes,
  podDnsNames,
  type PodFacts,
  podKeyTypeOf,
  REFRESH_MARGIN_MS,
  rotationRefreshBy,
  signerNameOf,
  type SignerIndex,
} from '../../../src/policy/pod-certificates.ts';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const NOW = new Date('2030-01-01T12:00:00.750Z');

function issuer(kind: IssuerKind, name: string, opts: { namespace?: string; pc?: PodCertificates | null; created?: string; deleted?: boolean } = {}): Issuer {
  return {
    apiVersion: 'certsmith.dev/v1alpha1',
    kind,
    metadata: {
      name,
      ...(kind === 'Issuer' ? { namespace: opts.namespace ?? 'apps' } : {}),
      ...(opts.created ? { creationTimestamp: opts.created } : {}),
      ...(opts.deleted ? { deletionTimestamp: '2030-01-01T00:00:00Z' } : {}),
    },
    spec: { ca: { secretName: 'ca-key', ...(opts.pc === null ? {} : { podCertificates: opts.pc ?? {} }) } },
  } as Issuer;
}

function settings(overrides: Partial<PodCertificateSettings> = {}): PodCertificateSettings {
  return { maxDurationMs: 24 * HOUR, refreshBeforePercentage: 33, trustDomain: 'cluster.local', keyTypes: POD_KEY_TYPES, ...overrides };
}

describe('signerNameOf', () => {
  const cases: { name: string; kind: IssuerKind; issuer: Issuer; want: string | undefined }[] = [
    {
      name: 'a ClusterIssuer serves certsmith.dev/<name> by default',
      kind: 'ClusterIssuer',
      issuer: issuer('ClusterIssuer', 'mesh'),
      want: 'certsmith.dev/mesh',
    },
    {
      name: 'a ClusterIssuer serves the signerName it sets',
      kind: 'ClusterIssuer',
      issuer: issuer('ClusterIssuer', 'mesh', { pc: { signerName: 'example.com/workloads' } }),
      want: 'example.com/workloads',
    },
    {
      name: 'an Issuer serves certsmith.dev/ns.<namespace>.<name>',
      kind: 'Issuer',
      issuer: issuer('Issuer', 'team-ca', { namespace: 'shop' }),
      want: 'certsmith.dev/ns.shop.team-ca',
    },
    {
      name: 'an Issuer ignores a signerName (only ClusterIssuers choose one)',
      kind: 'Issuer',
      issuer: issuer('Issuer', 'team-ca', { namespace: 'shop', pc: { signerName: 'example.com/stolen' } }),
      want: 'certsmith.dev/ns.shop.team-ca',
    },
    {
      name: 'a ClusterIssuer without podCertificates serves none',
      kind: 'ClusterIssuer',
      issuer: issuer('ClusterIssuer', 'ca', { pc: null }),
      want: undefined,
    },
    { name: 'an Issuer without podCertificates serves none', kind: 'Issuer', issuer: issuer('Issuer', 'ca', { pc: null }), want: undefined },
    {
      name: 'an ACME issuer serves none',
      kind: 'ClusterIssuer',
      issuer: { ...issuer('ClusterIssuer', 'le'), spec: { acme: { server: 'https://acme.example/dir', solvers: [] } } } as unknown as Issuer,
      want: undefined,
    },
  ];
  for (const c of cases) it(c.name, () => assert.equal(signerNameOf(c.kind, c.issuer), c.want));
});

describe('clusterSignerNameProblem', () => {
  const cases: [string, RegExp | undefined][] = [
    ['certsmith.dev/mesh', undefined],
    ['example.com/workloads', undefined],
    ['certsmith.dev/nsx.mesh', undefined],
    ['notkubernetes.io/mesh', undefined],
    ['kubernetes.io.example.com/mesh', undefined],
    ['certsmith.dev/ns.shop.team-ca', /belong to namespaced Issuers/],
    ['certsmith.dev/ns.x', /starting with certsmith\.dev\/ns\./],
    ['kubernetes.io/kube-apiserver-client-pod', /reserved for Kubernetes/],
    ['clusters.kubernetes.io/mesh', /reserved for Kubernetes/],
    ['a.b.kubernetes.io/mesh', /reserved for Kubernetes/],
  ];
  for (const [signerName, want] of cases) {
    it(`${signerName} → ${want ?? 'fine'}`, () => {
      const problem = clusterSignerNameProblem(signerName);
      if (want) assert.match(problem ?? '', want);
      else assert.equal(problem, undefined);
    });
  }
});

describe('buildSignerIndex', () => {
  const older = issuer('ClusterIssuer', 'zz-older', { pc: { signerName: 'example.com/mesh' }, created: '2029-01-01T00:00:00Z' });
  const newer = issuer('ClusterIssuer', 'aa-newer', { pc: { signerName: 'example.com/mesh' }, created: '2029-06-01T00:00:00Z' });

  function served(index: SignerIndex): Record<string, string> {
    return Object.fromEntries(
      [...index.bySigner].map(([signer, e]) => [signer, `${e.ref.kind}/${e.ref.namespace === undefined ? '' : `${e.ref.namespace}/`}${e.ref.name}`]),
    );
  }

  const orders: [string, Issuer[]][] = [
    ['older first', [older, newer]],
    ['newer first', [newer, older]],
  ];
  for (const [order, list] of orders) {
    it(`gives a shared name to the older ClusterIssuer (${order}) and refuses the other, naming the holder`, () => {
      const index = buildSignerIndex(list, []);
      assert.deepEqual(served(index), { 'example.com/mesh': 'ClusterIssuer/zz-older' });
      assert.equal(index.bySigner.get('example.com/mesh')?.issuer, older);
      assert.deepEqual(index.refused, [
        { ref: { kind: 'ClusterIssuer', name: 'aa-newer' }, signerName: 'example.com/mesh', message: 'ClusterIssuer zz-older already serves example.com/mesh' },
      ]);
    });
  }

  it('breaks a tie in creation time by name, whatever the input order', () => {
    const a = issuer('ClusterIssuer', 'a', { pc: { signerName: 'example.com/mesh' }, created: '2029-01-01T00:00:00Z' });
    const b = issuer('ClusterIssuer', 'b', { pc: { signerName: 'example.com/mesh' }, created: '2029-01-01T00:00:00Z' });
    for (const list of [
      [a, b],
      [b, a],
    ]) {
      const index = buildSignerIndex(list, []);
      assert.equal(index.bySigner.get('example.com/mesh')?.ref.name, 'a');
      assert.deepEqual(
        index.refused.map((r) => r.ref.name),
        ['b'],
      );
    }
  });

  it('refuses a reserved name and serves none for it', () => {
    const k8s = issuer('ClusterIssuer', 'k8s', { pc: { signerName: 'kubernetes.io/kube-apiserver-client-pod' } });
    const tenant = issuer('ClusterIssuer', 'tenant', { pc: { signerName: 'certsmith.dev/ns.shop.team-ca' } });
    const byDefault = issuer('ClusterIssuer', 'ns.shop.team-ca'); // its default name certsmith.dev/ns.shop.team-ca is an Issuer's
    const index = buildSignerIndex([k8s, tenant, byDefault], []);
    assert.deepEqual(served(index), {});
    assert.deepEqual(index.refused.map((r) => [r.ref.name, r.signerName]).sort(), [
      ['k8s', 'kubernetes.io/kube-apiserver-client-pod'],
      ['ns.shop.team-ca', 'certsmith.dev/ns.shop.team-ca'],
      ['tenant', 'certsmith.dev/ns.shop.team-ca'],
    ]);
    assert.match(index.refused.find((r) => r.ref.name === 'k8s')!.message, /reserved for Kubernetes/);
    assert.match(index.refused.find((r) => r.ref.name === 'tenant')!.message, /belong to namespaced Issuers/);
  });

  it('a refused reserved name does not take the name from a later ClusterIssuer that may have it', () => {
    const index = buildSignerIndex(
      [
        issuer('ClusterIssuer', 'first', { pc: { signerName: 'kubernetes.io/x' }, created: '2029-01-01T00:00:00Z' }),
        issuer('ClusterIssuer', 'second', { pc: { signerName: 'example.com/x' }, created: '2029-02-01T00:00:00Z' }),
      ],
      [],
    );
    assert.deepEqual(served(index), { 'example.com/x': 'ClusterIssuer/second' });
  });

  it('ignores deleted issuers: the younger ClusterIssuer gets the name of an older one being deleted', () => {
    const deleting = issuer('ClusterIssuer', 'old', { pc: { signerName: 'example.com/mesh' }, created: '2029-01-01T00:00:00Z', deleted: true });
    const index = buildSignerIndex([deleting, newer], [issuer('Issuer', 'gone', { namespace: 'shop', deleted: true })]);
    assert.deepEqual(served(index), { 'example.com/mesh': 'ClusterIssuer/aa-newer' });
    assert.deepEqual(index.refused, []);
  });

  it('indexes Issuers under their ns. name with their namespace, beside ClusterIssuers', () => {
    const index = buildSignerIndex(
      [issuer('ClusterIssuer', 'mesh'), issuer('ClusterIssuer', 'plain', { pc: null })],
      [issuer('Issuer', 'team-ca', { namespace: 'shop' }), issuer('Issuer', 'team-ca', { namespace: 'cart' }), issuer('Issuer', 'off', { pc: null })],
    );
    assert.deepEqual(served(index), {
      'certsmith.dev/mesh': 'ClusterIssuer/mesh',
      'certsmith.dev/ns.shop.team-ca': 'Issuer/shop/team-ca',
      'certsmith.dev/ns.cart.team-ca': 'Issuer/cart/team-ca',
    });
    assert.deepEqual(index.bySigner.get('certsmith.dev/ns.shop.team-ca')?.ref, { kind: 'Issuer', name: 'team-ca', namespace: 'shop' });
    assert.deepEqual(index.refused, []);
  });
});

describe('podCertificateSettings', () => {
  const cases: { name: string; pc: PodCertificates; want: PodCertificateSettings | RegExp }[] = [
    {
      name: 'defaults: 24h, 33 %, cluster.local, every kubelet key type',
      pc: {},
      want: { maxDurationMs: 24 * HOUR, refreshBeforePercentage: 33, trustDomain: 'cluster.local', keyTypes: POD_KEY_TYPES },
    },
    {
      name: 'what the issuer sets',
      pc: { maxDuration: '2h30m', refreshBeforePercentage: 50, trustDomain: 'prod.example', keyTypes: ['ED25519'] },
      want: { maxDurationMs: 2.5 * HOUR, refreshBeforePercentage: 50, trustDomain: 'prod.example', keyTypes: ['ED25519'] },
    },
    { name: 'exactly 1h is the shortest allowed', pc: { maxDuration: '1h' }, want: { ...settings(), maxDurationMs: HOUR } },
    { name: 'under 1h is a problem', pc: { maxDuration: '59m59s' }, want: /must be at least 1h/ },
    { name: 'zero is a problem', pc: { maxDuration: '0' }, want: /must be at least 1h/ },
    { name: 'an unparsable duration is a problem naming the field', pc: { maxDuration: '1 day' }, want: /^ca\.podCertificates\.maxDuration: / },
    { name: 'a negative duration is a problem', pc: { maxDuration: '-2h' }, want: /^ca\.podCertificates\.maxDuration: / },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = podCertificateSettings(c.pc);
      if (c.want instanceof RegExp) {
        assert.ok('problem' in got, `expected a problem, got ${JSON.stringify(got)}`);
        assert.match(got.problem, c.want);
      } else assert.deepEqual(got, c.want);
    });
  }

  it('the exported defaults are the ones applied', () => {
    assert.equal(DEFAULT_POD_MAX_DURATION, '24h');
    assert.equal(DEFAULT_REFRESH_BEFORE_PERCENTAGE, 33);
    assert.equal(DEFAULT_TRUST_DOMAIN, 'cluster.local');
  });
});

describe('podKeyTypeOf', () => {
  const cases: [KeySpec, PodKeyType | undefined][] = [
    [{ algorithm: 'RSA', size: 3072 }, 'RSA3072'],
    [{ algorithm: 'RSA', size: 4096 }, 'RSA4096'],
    [{ algorithm: 'ECDSA', size: 256 }, 'ECDSAP256'],
    [{ algorithm: 'ECDSA', size: 384 }, 'ECDSAP384'],
    [{ algorithm: 'ECDSA', size: 521 }, 'ECDSAP521'],
    [{ algorithm: 'Ed25519' }, 'ED25519'],
    [{ algorithm: 'RSA', size: 2048 }, undefined],
    [{ algorithm: 'RSA', size: 8192 }, undefined],
  ];
  for (const [key, want] of cases) it(`${key.algorithm}${key.size ?? ''} → ${want}`, () => assert.equal(podKeyTypeOf(key), want));

  it('names every key type the kubelet generates', () => {
    const named = cases.map(([, t]) => t).filter((t) => t !== undefined);
    assert.deepEqual([...named].sort(), [...POD_KEY_TYPES].sort());
  });
});

describe('checkPodRequest', () => {
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
  const POD: PodFacts = { uid: 'uid-web-0', nodeName: 'node-a', serviceAccountName: 'web' };
  const CLUSTER: IssuerRef = { kind: 'ClusterIssuer', name: 'mesh' };
  const P256: KeySpec = { algorithm: 'ECDSA', size: 256 };

  const cases: {
    name: string;
    namespace?: string;
    spec?: Partial<PodCertificateRequestSpec>;
    ref?: IssuerRef;
    settings?: Partial<PodCertificateSettings>;
    pod?: PodFacts | null;
    key?: KeySpec;
    want: { reason: string; message: RegExp | string } | undefined;
  }[] = [
    { name: 'the pod as named, a key the issuer takes, no annotations: passes', want: undefined },
    {
      name: 'DNS names in the one annotation certsmith reads: passes',
      spec: { unverifiedUserAnnotations: { [POD_DNS_NAMES_ANNOTATION]: 'web.shop.svc' } },
      want: undefined,
    },
    {
      name: "an Issuer's own namespace: passes",
      ref: { kind: 'Issuer', name: 'team-ca', namespace: 'shop' },
      spec: { signerName: 'certsmith.dev/ns.shop.team-ca' },
      want: undefined,
    },
    {
      name: "an Issuer's signer asked for from another namespace is refused",
      namespace: 'cart',
      ref: { kind: 'Issuer', name: 'team-ca', namespace: 'shop' },
      spec: { signerName: 'certsmith.dev/ns.shop.team-ca' },
      want: {
        reason: PcrReason.namespaceNotServed,
        message: "certsmith.dev/ns.shop.team-ca is Issuer shop/team-ca's signer: it signs only for pods in shop",
      },
    },
    {
      name: 'the namespace is checked before the pod (no pod read for another namespace matters)',
      namespace: 'cart',
      ref: { kind: 'Issuer', name: 'team-ca', namespace: 'shop' },
      pod: null,
      want: { reason: PcrReason.namespaceNotServed, message: /signs only for pods in shop/ },
    },
    { name: 'no such pod', pod: null, want: { reason: PcrReason.podMismatch, message: 'pod shop/web-0 does not exist' } },
    {
      name: 'a pod of the same name with another UID (recreated)',
      pod: { ...POD, uid: 'uid-other' },
      want: { reason: PcrReason.podMismatch, message: 'pod shop/web-0 has UID uid-other, not uid-web-0' },
    },
    {
      name: 'a pod on another node',
      pod: { ...POD, nodeName: 'node-b' },
      want: { reason: PcrReason.podMismatch, message: 'pod shop/web-0 runs on node node-b, not node-a' },
    },
    {
      name: 'a pod not scheduled yet',
      pod: { uid: POD.uid, serviceAccountName: 'web' },
      want: { reason: PcrReason.podMismatch, message: 'pod shop/web-0 runs on node (none), not node-a' },
    },
    {
      name: 'a pod running as another service account',
      pod: { ...POD, serviceAccountName: 'admin' },
      want: { reason: PcrReason.podMismatch, message: 'pod shop/web-0 runs as service account admin, not web' },
    },
    {
      name: 'a pod without serviceAccountName runs as "default": a request for another account is refused',
      pod: { uid: POD.uid, nodeName: 'node-a' },
      want: { reason: PcrReason.podMismatch, message: 'pod shop/web-0 runs as service account default, not web' },
    },
    {
      name: 'a pod without serviceAccountName runs as "default": a request for it passes',
      pod: { uid: POD.uid, nodeName: 'node-a' },
      spec: { serviceAccountName: 'default' },
      want: undefined,
    },
    {
      name: 'a key type the kubelet never makes (RSA 2048) is refused, listing those accepted',
      key: { algorithm: 'RSA', size: 2048 },
      want: {
        reason: PcrReason.unsupportedKeyType,
        message: 'key type RSA2048 is not accepted by ClusterIssuer mesh: use one of RSA3072, RSA4096, ECDSAP256, ECDSAP384, ECDSAP521, ED25519',
      },
    },
    {
      name: 'a key type the issuer does not take is refused, listing those it does',
      settings: { keyTypes: ['ECDSAP384', 'ED25519'] },
      want: { reason: PcrReason.unsupportedKeyType, message: 'key type ECDSAP256 is not accepted by ClusterIssuer mesh: use one of ECDSAP384, ED25519' },
    },
    { name: 'a key type the issuer takes passes', settings: { keyTypes: ['ED25519'] }, key: { algorithm: 'Ed25519' }, want: undefined },
    {
      name: 'an annotation certsmith does not read is refused',
      spec: { unverifiedUserAnnotations: { 'example.com/role': 'admin' } },
      want: { reason: PcrReason.invalidUserAnnotations, message: /userAnnotation example\.com\/role is not one certsmith reads/ },
    },
    {
      name: 'a DNS name that is not one is refused',
      spec: { unverifiedUserAnnotations: { [POD_DNS_NAMES_ANNOTATION]: 'web..shop' } },
      want: { reason: PcrReason.invalidUserAnnotations, message: /^certsmith\.dev\/dns-names: web\.\.shop has an empty label/ },
    },
    {
      name: 'the pod is checked before the key',
      pod: { ...POD, uid: 'uid-other' },
      key: { algorithm: 'RSA', size: 2048 },
      want: { reason: PcrReason.podMismatch, message: /has UID uid-other/ },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = checkPodRequest({
        namespace: c.namespace ?? 'shop',
        spec: { ...SPEC, ...c.spec },
        ref: c.ref ?? CLUSTER,
        settings: settings(c.settings),
        pod: c.pod === null ? undefined : (c.pod ?? POD),
        key: c.key ?? P256,
      });
      if (!c.want) return assert.equal(got, undefined, JSON.stringify(got));
      assert.equal(got?.reason, c.want.reason);
      if (c.want.message instanceof RegExp) assert.match(got.message, c.want.message);
      else assert.equal(got.message, c.want.message);
    });
  }
});

describe('podDnsNames', () => {
  const many = (n: number) => Array.from({ length: n }, (_, i) => `pod-${i}.shop.svc`).join(',');
  const cases: { name: string; annotations: Record<string, string> | undefined; want: string[] | RegExp }[] = [
    { name: 'no annotations: no names', annotations: undefined, want: [] },
    { name: 'an empty map: no names', annotations: {}, want: [] },
    { name: 'one name', annotations: { [POD_DNS_NAMES_ANNOTATION]: 'web.shop.svc' }, want: ['web.shop.svc'] },
    {
      name: 'a comma list, trimmed, lower-cased and deduplicated in order',
      annotations: { [POD_DNS_NAMES_ANNOTATION]: ' Web.Shop.svc ,web.shop.svc, API.shop.svc,web.SHOP.svc' },
      want: ['web.shop.svc', 'api.shop.svc'],
    },
    {
      name: 'empty entries are skipped',
      annotations: { [POD_DNS_NAMES_ANNOTATION]: ',web.shop.svc,, ,api.shop.svc,' },
      want: ['web.shop.svc', 'api.shop.svc'],
    },
    { name: 'an empty value: no names', annotations: { [POD_DNS_NAMES_ANNOTATION]: '' }, want: [] },
    { name: 'a wildcard is a DNS name (policy decides on it)', annotations: { [POD_DNS_NAMES_ANNOTATION]: '*.shop.svc' }, want: ['*.shop.svc'] },
    {
      name: 'an unknown key is refused',
      annotations: { 'example.com/other': 'x' },
      want: /^userAnnotation example\.com\/other is not one certsmith reads \(only certsmith\.dev\/dns-names\)$/,
    },
    {
      name: 'an unknown key beside the known one is refused',
      annotations: { [POD_DNS_NAMES_ANNOTATION]: 'web.shop.svc', 'zz.example/other': 'x' },
      want: /userAnnotation zz\.example\/other is not one certsmith reads/,
    },
    { name: 'a long unknown key is cut short in the message', annotations: { ['k'.repeat(200)]: 'x' }, want: /^userAnnotation k{64}… is not/ },
    {
      name: 'an invalid name is refused, naming it',
      annotations: { [POD_DNS_NAMES_ANNOTATION]: 'web.shop.svc,-bad.shop' },
      want: /^certsmith\.dev\/dns-names: -bad\.shop has an invalid label/,
    },
    { name: 'a name with a space inside is refused', annotations: { [POD_DNS_NAMES_ANNOTATION]: 'web shop.svc' }, want: /web shop\.svc has an invalid label/ },
    { name: 'a trailing dot is refused', annotations: { [POD_DNS_NAMES_ANNOTATION]: 'web.shop.svc.' }, want: /ends with a dot/ },
    {
      name: `${MAX_POD_DNS_NAMES} names are allowed`,
      annotations: { [POD_DNS_NAMES_ANNOTATION]: many(MAX_POD_DNS_NAMES) },
      want: many(MAX_POD_DNS_NAMES).split(','),
    },
    {
      name: `${MAX_POD_DNS_NAMES + 1} names are refused`,
      annotations: { [POD_DNS_NAMES_ANNOTATION]: many(MAX_POD_DNS_NAMES + 1) },
      want: new RegExp(`names ${MAX_POD_DNS_NAMES + 1} DNS names; at most ${MAX_POD_DNS_NAMES}$`),
    },
    {
      name: 'duplicates do not count towards the limit',
      annotations: { [POD_DNS_NAMES_ANNOTATION]: `${many(MAX_POD_DNS_NAMES)},${many(MAX_POD_DNS_NAMES).toUpperCase()}` },
      want: many(MAX_POD_DNS_NAMES).split(','),
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = podDnsNames(c.annotations);
      if (c.want instanceof RegExp) {
        assert.ok('problem' in got, `expected a problem, got ${JSON.stringify(got)}`);
        assert.match(got.problem, c.want);
      } else assert.deepEqual(got, { names: c.want });
    });
  }
});

describe('podCertificateTimes', () => {
  const at = (iso: string) => new Date(iso);
  // NOW is 12:00:00.750: notBefore is two minutes back, on a whole second.
  const NB = '2030-01-01T11:58:00.000Z';
  const cases: {
    name: string;
    maxExpirationSeconds?: number;
    settings?: Partial<PodCertificateSettings>;
    caNotAfter?: string;
    refreshBy?: string;
    want: { notBefore: string; notAfter: string; beginRefreshAt: string } | undefined;
  }[] = [
    {
      name: "the pod's 24h, refreshed with 33 % left",
      maxExpirationSeconds: 86_400,
      // 33 % of 24h is 7h55m12s.
      want: { notBefore: NB, notAfter: '2030-01-02T11:58:00.000Z', beginRefreshAt: '2030-01-02T04:02:48.000Z' },
    },
    {
      name: 'no maxExpirationSeconds means the API default of 24h',
      want: { notBefore: NB, notAfter: '2030-01-02T11:58:00.000Z', beginRefreshAt: '2030-01-02T04:02:48.000Z' },
    },
    {
      name: "the pod's shorter 2h",
      maxExpirationSeconds: 7200,
      settings: { refreshBeforePercentage: 50 },
      want: { notBefore: NB, notAfter: '2030-01-01T13:58:00.000Z', beginRefreshAt: '2030-01-01T12:58:00.000Z' },
    },
    {
      name: "the issuer's maxDuration under the pod's ask",
      maxExpirationSeconds: 7 * 86_400,
      settings: { maxDurationMs: 10 * HOUR, refreshBeforePercentage: 10 },
      want: { notBefore: NB, notAfter: '2030-01-01T21:58:00.000Z', beginRefreshAt: '2030-01-01T20:58:00.000Z' },
    },
    {
      name: 'the CA ends first: the certificate ends with it (on a whole second)',
      maxExpirationSeconds: 86_400,
      settings: { refreshBeforePercentage: 50 },
      caNotAfter: '2030-01-01T16:58:00.999Z',
      want: { notBefore: NB, notAfter: '2030-01-01T16:58:00.000Z', beginRefreshAt: '2030-01-01T14:28:00.000Z' },
    },
    {
      name: 'the CA leaves exactly 1h: allowed',
      caNotAfter: '2030-01-01T12:58:00.000Z',
      settings: { refreshBeforePercentage: 50 },
      want: { notBefore: NB, notAfter: '2030-01-01T12:58:00.000Z', beginRefreshAt: '2030-01-01T12:28:00.000Z' },
    },
    { name: 'the CA leaves under 1h: undefined (wait for the rotation)', caNotAfter: '2030-01-01T12:57:59.999Z', want: undefined },
    { name: 'the CA has expired: undefined', caNotAfter: '2030-01-01T11:00:00.000Z', want: undefined },
    { name: 'a maxExpirationSeconds under 1h: undefined', maxExpirationSeconds: 3599, want: undefined },
    {
      name: 'refreshBy brings the refresh forward',
      refreshBy: '2030-01-01T20:00:00.000Z',
      want: { notBefore: NB, notAfter: '2030-01-02T11:58:00.000Z', beginRefreshAt: '2030-01-01T20:00:00.000Z' },
    },
    {
      name: 'refreshBy later than the usual refresh changes nothing',
      refreshBy: '2030-01-02T10:00:00.000Z',
      want: { notBefore: NB, notAfter: '2030-01-02T11:58:00.000Z', beginRefreshAt: '2030-01-02T04:02:48.000Z' },
    },
    {
      name: 'refreshBy now (a CA being published) is held at notBefore + 10 min',
      refreshBy: NOW.toISOString(),
      want: { notBefore: NB, notAfter: '2030-01-02T11:58:00.000Z', beginRefreshAt: '2030-01-01T12:08:00.000Z' },
    },
    {
      name: 'refreshBy in the past is held at notBefore + 10 min',
      refreshBy: '2029-12-31T00:00:00.000Z',
      want: { notBefore: NB, notAfter: '2030-01-02T11:58:00.000Z', beginRefreshAt: '2030-01-01T12:08:00.000Z' },
    },
    {
      name: 'refreshBy off a whole second is floored to one',
      refreshBy: '2030-01-01T20:00:00.600Z',
      want: { notBefore: NB, notAfter: '2030-01-02T11:58:00.000Z', beginRefreshAt: '2030-01-01T20:00:00.000Z' },
    },
    {
      name: 'a refresh percentage that would land within 10 min of the end is held at notAfter − 10 min',
      maxExpirationSeconds: 3600,
      settings: { refreshBeforePercentage: 10 }, // 6 min before the end
      want: { notBefore: NB, notAfter: '2030-01-01T12:58:00.000Z', beginRefreshAt: '2030-01-01T12:48:00.000Z' },
    },
    {
      name: 'a refresh percentage that would land within 10 min of the start is held at notBefore + 10 min',
      maxExpirationSeconds: 3600,
      settings: { refreshBeforePercentage: 90 }, // 6 min after the start
      want: { notBefore: NB, notAfter: '2030-01-01T12:58:00.000Z', beginRefreshAt: '2030-01-01T12:08:00.000Z' },
    },
    {
      name: 'a maxDuration with a fraction of a second still ends on a whole second',
      maxExpirationSeconds: 86_400,
      settings: { maxDurationMs: 2 * HOUR + 500, refreshBeforePercentage: 50 },
      want: { notBefore: NB, notAfter: '2030-01-01T13:58:00.000Z', beginRefreshAt: '2030-01-01T12:58:00.000Z' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = podCertificateTimes({
        now: NOW,
        maxExpirationSeconds: c.maxExpirationSeconds,
        settings: settings(c.settings),
        caNotAfter: at(c.caNotAfter ?? '2031-01-01T00:00:00Z'),
        ...(c.refreshBy ? { refreshBy: at(c.refreshBy) } : {}),
      });
      if (!c.want) return assert.equal(got, undefined);
      assert.deepEqual(
        got && { notBefore: got.notBefore.toISOString(), notAfter: got.notAfter.toISOString(), beginRefreshAt: got.beginRefreshAt.toISOString() },
        c.want,
      );
    });
  }

  it('notBefore is two minutes back, floored to the second', () => {
    for (const ms of [0, 1, 999]) {
      const now = new Date(Date.UTC(2030, 0, 1, 12, 0, 0, ms));
      const got = podCertificateTimes({ now, maxExpirationSeconds: 3600, settings: settings(), caNotAfter: at('2031-01-01T00:00:00Z') });
      assert.equal(got?.notBefore.getTime(), Date.UTC(2030, 0, 1, 11, 58, 0, 0));
      assert.equal(BACKDATE_MS, 2 * MINUTE);
    }
  });

  it("holds kube-apiserver's bounds for a sweep of inputs", () => {
    // mulberry32, seeded: the same inputs on every run.
    let seed = 42;
    const rand = () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
    };
    const base = Date.UTC(2030, 0, 1);
    let issued = 0;
    let refused = 0;
    for (let i = 0; i < 5000; i++) {
      const now = new Date(base + Math.floor(rand() * 365 * 24 * HOUR));
      const maxExpirationSeconds = 3600 + Math.floor(rand() * (7_862_400 - 3600));
      const s = settings({
        maxDurationMs: HOUR + Math.floor(rand() * 30 * 24 * HOUR),
        refreshBeforePercentage: 10 + Math.floor(rand() * 81),
      });
      const caNotAfter = new Date(now.getTime() + Math.floor((rand() - 0.05) * 40 * 24 * HOUR));
      const refreshBy = rand() < 0.5 ? new Date(now.getTime() + Math.floor((rand() - 0.2) * 10 * 24 * HOUR)) : undefined;
      const got = podCertificateTimes({ now, maxExpirationSeconds, settings: s, caNotAfter, ...(refreshBy ? { refreshBy } : {}) });
      const input = JSON.stringify({ now, maxExpirationSeconds, s, caNotAfter, refreshBy });
      const room = Math.min(caNotAfter.getTime() - (now.getTime() - BACKDATE_MS), maxExpirationSeconds * 1000, s.maxDurationMs);
      if (!got) {
        refused++;
        assert.ok(room < MIN_POD_LIFETIME_MS + 1000, `refused although there is room: ${input}`);
        continue;
      }
      issued++;
      const nb = got.notBefore.getTime();
      const na = got.notAfter.getTime();
      const br = got.beginRefreshAt.getTime();
      for (const t of [nb, na, br]) assert.equal(t % 1000, 0, `not a whole second: ${input}`);
      assert.ok(nb <= now.getTime() - BACKDATE_MS && nb > now.getTime() - BACKDATE_MS - 1000, `notBefore: ${input}`);
      assert.ok(na - nb >= MIN_POD_LIFETIME_MS, `lifetime under 1h: ${input}`);
      assert.ok(na - nb <= maxExpirationSeconds * 1000, `lifetime over maxExpirationSeconds: ${input}`);
      assert.ok(na - nb <= s.maxDurationMs, `lifetime over maxDuration: ${input}`);
      assert.ok(na <= caNotAfter.getTime(), `outlives the CA: ${input}`);
      assert.ok(br >= nb + REFRESH_MARGIN_MS, `beginRefreshAt within 10 min of notBefore: ${input}`);
      assert.ok(br <= na - REFRESH_MARGIN_MS, `beginRefreshAt within 10 min of notAfter: ${input}`);
      if (refreshBy && refreshBy.getTime() >= nb + REFRESH_MARGIN_MS) assert.ok(br <= refreshBy.getTime(), `refresh after refreshBy: ${input}`);
    }
    assert.ok(issued > 1000 && refused > 100, `the sweep covers both outcomes (${issued} issued, ${refused} refused)`);
  });
});

describe('rotationRefreshBy', () => {
  const next = new Date('2030-02-01T00:00:00Z');
  const cases: { name: string; phase: string | undefined; nextRotation?: Date; want: Date | undefined }[] = [
    { name: 'a new CA being published: refresh now', phase: 'Publishing', nextRotation: next, want: NOW },
    { name: 'publishing without a next rotation: still now', phase: 'Publishing', want: NOW },
    { name: 'a stable CA: by the next rotation', phase: 'Stable', nextRotation: next, want: next },
    { name: 'a stable CA without a next rotation: no deadline', phase: 'Stable', want: undefined },
    { name: 'no phase (a CA the user manages): by its next rotation if any', phase: undefined, nextRotation: next, want: next },
    { name: 'no phase and no rotation: no deadline', phase: undefined, want: undefined },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(rotationRefreshBy({ phase: c.phase, now: NOW, ...(c.nextRotation ? { nextRotation: c.nextRotation } : {}) }), c.want);
    });
  }
});
