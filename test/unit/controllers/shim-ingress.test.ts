import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Issuer } from '../../../src/api/issuer.ts';
import { issuerProblems, planIngress, type Ingress, type IngressTls } from '../../../src/controllers/shim/ingress.ts';
import type { ShimOwner } from '../../../src/controllers/shim/sync.ts';

const off = { honourCertManager: false };
function ingress(annotations: Record<string, string>, tls: IngressTls[], extra: Partial<NonNullable<Ingress['spec']>> = {}): Ingress {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'web', namespace: 'demo', uid: 'u-1', annotations },
    spec: { ...extra, tls },
  };
}
const issuer = { 'certsmith.dev/cluster-issuer': 'ca' };

describe('planIngress', () => {
  it('makes one Certificate per TLS entry, named after its Secret, for its hosts', () => {
    const plan = planIngress(
      ingress({ ...issuer, 'certsmith.dev/duration': '720h' }, [
        { hosts: ['a.example.test', 'b.example.test', 'a.example.test'], secretName: 'ab-tls' },
        { hosts: ['c.example.test'], secretName: 'c-tls' },
      ]),
      off,
    );
    assert.deepEqual(plan, {
      kind: 'planned',
      problems: [],
      certificates: [
        {
          name: 'ab-tls',
          spec: { secretName: 'ab-tls', issuerRef: { kind: 'ClusterIssuer', name: 'ca' }, dnsNames: ['a.example.test', 'b.example.test'], duration: '720h' },
        },
        { name: 'c-tls', spec: { secretName: 'c-tls', issuerRef: { kind: 'ClusterIssuer', name: 'ca' }, dnsNames: ['c.example.test'], duration: '720h' } },
      ],
    });
  });

  const hintCases = [
    {
      name: 'spec.ingressClassName becomes the class hint',
      ing: ingress(issuer, [{ hosts: ['a.test'], secretName: 's' }], { ingressClassName: 'nginx' }),
      hints: { 'certsmith.dev/acme-http01-ingress-class': 'nginx' },
    },
    {
      name: 'the legacy kubernetes.io/ingress.class annotation too',
      ing: ingress({ ...issuer, 'kubernetes.io/ingress.class': 'traefik' }, [{ hosts: ['a.test'], secretName: 's' }]),
      hints: { 'certsmith.dev/acme-http01-ingress-class': 'traefik' },
    },
    {
      name: 'edit in place names the Ingress itself',
      ing: ingress({ ...issuer, 'certsmith.dev/acme-http01-edit-in-place': 'true' }, [{ hosts: ['a.test'], secretName: 's' }]),
      hints: { 'certsmith.dev/acme-http01-edit-in-place': 'web' },
    },
    { name: 'no class and no edit in place: no hints', ing: ingress(issuer, [{ hosts: ['a.test'], secretName: 's' }]), hints: undefined },
  ];
  for (const c of hintCases) {
    it(c.name, () => {
      const plan = planIngress(c.ing, off);
      assert.equal(plan.kind, 'planned');
      assert.deepEqual(plan.kind === 'planned' && plan.certificates[0]!.annotations, c.hints);
    });
  }

  it('an IP address among the hosts goes to ipAddresses', () => {
    const plan = planIngress(ingress(issuer, [{ hosts: ['a.test', '192.0.2.7'], secretName: 's' }]), off);
    assert.deepEqual(plan.kind === 'planned' && [plan.certificates[0]!.spec.dnsNames, plan.certificates[0]!.spec.ipAddresses], [['a.test'], ['192.0.2.7']]);
  });

  it('not annotated: nothing planned', () => {
    assert.deepEqual(planIngress(ingress({}, [{ hosts: ['a.test'], secretName: 's' }]), off), { kind: 'notAnnotated' });
  });

  it('bad annotations: nothing planned, the problems told', () => {
    const plan = planIngress(ingress({ ...issuer, 'certsmith.dev/private-key-algorithm': 'DSA' }, [{ hosts: ['a.test'], secretName: 's' }]), off);
    assert.equal(plan.kind, 'invalid');
    assert.match(plan.kind === 'invalid' ? plan.problems[0]! : '', /private-key-algorithm: "DSA"/);
  });

  const entryCases: { name: string; tls: IngressTls[]; made: string[]; problem: RegExp }[] = [
    {
      name: 'an entry without secretName is skipped, the others go ahead',
      tls: [{ hosts: ['a.test'] }, { hosts: ['b.test'], secretName: 'b' }],
      made: ['b'],
      problem: /^spec\.tls\[0\] has no secretName \(hosts a\.test\)/,
    },
    { name: 'an entry without hosts is skipped', tls: [{ secretName: 'a' }], made: [], problem: /^spec\.tls\[0\] \(secretName a\) lists no hosts/ },
    {
      name: 'a second entry with the same secretName is skipped',
      tls: [
        { hosts: ['a.test'], secretName: 'x' },
        { hosts: ['b.test'], secretName: 'x' },
      ],
      made: ['x'],
      problem: /^spec\.tls\[1\]\.secretName "x" is also used by spec\.tls\[0\]/,
    },
    {
      name: 'a secretName no object can be named',
      tls: [{ hosts: ['a.test'], secretName: 'Web_TLS' }],
      made: [],
      problem: /^spec\.tls\[0\]: secretName "Web_TLS" is not a valid Secret name/,
    },
  ];
  for (const c of entryCases) {
    it(c.name, () => {
      const plan = planIngress(ingress(issuer, c.tls), off);
      assert.equal(plan.kind, 'planned');
      if (plan.kind !== 'planned') return;
      assert.deepEqual(
        plan.certificates.map((x) => x.name),
        c.made,
      );
      assert.equal(plan.problems.length, 1, plan.problems.join('\n'));
      assert.match(plan.problems[0]!, c.problem);
    });
  }
});

describe('issuerProblems', () => {
  const owner: ShimOwner = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'web', namespace: 'demo', uid: 'u-1' };
  const cert = (dnsNames: string[]) => ({ name: 's', spec: { secretName: 's', issuerRef: { kind: 'ClusterIssuer' as const, name: 'le' }, dnsNames } });
  const acme = (solvers: NonNullable<NonNullable<Issuer['spec']>['acme']>['solvers']): Issuer => ({
    apiVersion: 'certsmith.dev/v1alpha1',
    kind: 'ClusterIssuer',
    metadata: { name: 'le' },
    spec: { acme: { server: 'https://acme.test/dir', privateKeySecretRef: { name: 'k' }, solvers } },
  });
  const cases = [
    {
      name: 'a missing issuer',
      certs: [cert(['a.test'])],
      issuer: undefined,
      problems: [{ reason: 'IssuerNotFound', message: 'ClusterIssuer le does not exist: its Certificates wait for it' }],
    },
    {
      name: 'a wildcard with an HTTP-01-only issuer',
      certs: [cert(['*.a.test'])],
      issuer: acme([{ http01: {} }]),
      problems: [{ reason: 'NoSolver', message: /^Certificate s: wildcard \*\.a\.test can only be validated over DNS-01/ }],
    },
    {
      name: 'a wildcard with a DNS-01 solver is fine',
      certs: [cert(['*.a.test'])],
      issuer: acme([{ dns01: { webhook: { url: 'https://hook.test' } } }]),
      problems: [],
    },
    {
      name: 'a solver selecting the Ingress by the owner labels is found',
      certs: [cert(['a.test'])],
      issuer: acme([{ selector: { matchLabels: { 'certsmith.dev/owner-name': 'web' } }, http01: {} }]),
      problems: [],
    },
    { name: 'a CA issuer has no solvers to check', certs: [cert(['*.a.test'])], issuer: { ...acme([]), spec: { ca: { secretName: 'ca' } } }, problems: [] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = issuerProblems(owner, c.certs, c.issuer);
      assert.equal(got.length, c.problems.length, JSON.stringify(got));
      c.problems.forEach((p, i) => {
        assert.equal(got[i]!.reason, p.reason);
        if (p.message instanceof RegExp) assert.match(got[i]!.message, p.message);
        else assert.equal(got[i]!.message, p.message);
      });
    });
  }
});
