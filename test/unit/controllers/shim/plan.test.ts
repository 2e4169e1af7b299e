import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Certificate } from '../../../../src/api/certificate.ts';
import type { Issuer } from '../../../../src/api/issuer.ts';
import { planOwnerSync, syncEvents, type AnnotatedShimPlan, type FoundCertificates, type SyncDone } from '../../../../src/controllers/shim/plan.ts';
import { shimCertificate, type DesiredShimCertificate, type ShimOwner } from '../../../../src/controllers/shim/sync.ts';

const owner: ShimOwner = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'web', namespace: 'demo', uid: 'u-1' };
const desired = (name: string, dnsNames = [`${name}.example.test`], issuer = 'ca'): DesiredShimCertificate => ({
  name,
  spec: { secretName: name, issuerRef: { kind: 'ClusterIssuer', name: issuer }, dnsNames },
});
const asked = (...certificates: DesiredShimCertificate[]): AnnotatedShimPlan => ({ kind: 'planned', certificates, problems: [] });
/** A Certificate as the API server holds it after the shim wrote `d` for `by`. */
const stored = (d: DesiredShimCertificate, by: ShimOwner = owner, extra: Partial<Certificate['metadata']> = {}): Certificate => {
  const c = shimCertificate(by, d);
  return { ...c, metadata: { ...c.metadata, uid: `c-${d.name}`, resourceVersion: '5', ...extra } };
};
const other: ShimOwner = { ...owner, name: 'api', uid: 'u-2' };
const caIssuer: Issuer = { apiVersion: 'certsmith.dev/v1alpha1', kind: 'ClusterIssuer', metadata: { name: 'ca' }, spec: { selfSigned: {} } };

function found(o: { existing?: Certificate[]; inNamespace?: Certificate[]; issuers?: Record<string, Issuer | undefined> } = {}): FoundCertificates {
  return {
    existing: new Map((o.existing ?? []).map((c) => [c.metadata.name, c])),
    inNamespace: o.inNamespace ?? o.existing ?? [],
    issuers: new Map(Object.entries(o.issuers ?? { 'ClusterIssuer/ca': caIssuer })),
  };
}

describe('planOwnerSync', () => {
  const cases: { name: string; asked: AnnotatedShimPlan; found: FoundCertificates; apply: string[]; delete: string[]; warnings: string[] }[] = [
    {
      name: 'creates every Certificate that does not exist yet',
      asked: asked(desired('a-tls'), desired('b-tls')),
      found: found(),
      apply: ['a-tls (new)', 'b-tls (new)'],
      delete: [],
      warnings: [],
    },
    {
      name: 'leaves a Certificate that already says what the owner asks for',
      asked: asked(desired('a-tls')),
      found: found({ existing: [stored(desired('a-tls'))] }),
      apply: [],
      delete: [],
      warnings: [],
    },
    {
      name: 'updates an owned Certificate that says something else',
      asked: asked(desired('a-tls', ['a.example.test', 'www.example.test'])),
      found: found({ existing: [stored(desired('a-tls'))] }),
      apply: ['a-tls (over resourceVersion 5)'],
      delete: [],
      warnings: [],
    },
    {
      name: 'leaves a same-named Certificate of another owner alone, and warns',
      asked: asked(desired('a-tls'), desired('b-tls')),
      found: found({ existing: [stored(desired('a-tls'), other)] }),
      apply: ['b-tls (new)'],
      delete: [],
      warnings: [
        'CertificateConflict: Certificate a-tls already exists and is not owned by Ingress web (it is controlled by Ingress api): left alone; give the TLS entry another secretName, or delete that Certificate to let Ingress web manage it',
      ],
    },
    {
      name: 'waits for a Certificate being deleted: its deletion brings the owner back to recreate it',
      asked: asked(desired('a-tls', ['new.example.test'])),
      found: found({ existing: [stored(desired('a-tls'), owner, { deletionTimestamp: '2026-01-01T00:00:00Z' })] }),
      apply: [],
      delete: [],
      warnings: [],
    },
    {
      name: 'deletes owned Certificates no longer asked for, but not those of others or those already going',
      asked: asked(desired('a-tls')),
      found: found({
        existing: [stored(desired('a-tls'))],
        inNamespace: [
          stored(desired('a-tls')),
          stored(desired('old-tls')),
          stored(desired('api-tls'), other),
          stored(desired('going-tls'), owner, { deletionTimestamp: '2026-01-01T00:00:00Z' }),
        ],
      }),
      apply: [],
      delete: ['old-tls'],
      warnings: [],
    },
    {
      name: 'wrong annotations change nothing and are told as BadConfig',
      asked: { kind: 'invalid', problems: ['certsmith.dev/duration: not a duration', 'certsmith.dev/usages: unknown usage'] },
      found: found({ inNamespace: [stored(desired('old-tls'))] }),
      apply: [],
      delete: [],
      warnings: ['BadConfig: Certificates not changed: certsmith.dev/duration: not a duration; certsmith.dev/usages: unknown usage'],
    },
    {
      name: 'a TLS entry that cannot become a Certificate is told, and the others go ahead',
      asked: { kind: 'planned', certificates: [desired('a-tls')], problems: ['spec.tls[1] has no secretName'] },
      found: found(),
      apply: ['a-tls (new)'],
      delete: [],
      warnings: ['BadConfig: spec.tls[1] has no secretName'],
    },
    {
      name: 'a missing issuer is told on the owner',
      asked: asked(desired('a-tls', undefined, 'missing')),
      found: found({ issuers: { 'ClusterIssuer/missing': undefined } }),
      apply: ['a-tls (new)'],
      delete: [],
      warnings: ['IssuerNotFound: ClusterIssuer missing does not exist: its Certificates wait for it'],
    },
    {
      name: 'the issuer checked is that of the Certificates the owner gets, not of those in conflict',
      asked: asked(desired('a-tls', undefined, 'missing'), desired('b-tls')),
      found: found({
        existing: [stored(desired('a-tls', undefined, 'missing'), other)],
        issuers: { 'ClusterIssuer/missing': undefined, 'ClusterIssuer/ca': caIssuer },
      }),
      apply: ['b-tls (new)'],
      delete: [],
      warnings: [
        'CertificateConflict: Certificate a-tls already exists and is not owned by Ingress web (it is controlled by Ingress api): left alone; give the TLS entry another secretName, or delete that Certificate to let Ingress web manage it',
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = planOwnerSync(owner, c.asked, c.found);
      assert.deepEqual(
        plan.apply.map((a) => `${a.certificate.metadata.name} (${a.existing ? `over resourceVersion ${a.existing.metadata.resourceVersion}` : 'new'})`),
        c.apply,
      );
      assert.deepEqual(
        plan.delete.map((d) => d.metadata.name),
        c.delete,
      );
      assert.deepEqual(
        plan.warnings.map((w) => `${w.reason}: ${w.message}`),
        c.warnings,
      );
    });
  }

  it('applies the Certificate as the shim wants it: owned by the owner, with only the fields the shim sets', () => {
    const d = desired('a-tls');
    const [a] = planOwnerSync(owner, asked(d), found()).apply;
    assert.deepEqual(a?.certificate, shimCertificate(owner, d));
  });
});

describe('syncEvents', () => {
  const cases: { name: string; done: SyncDone; events: string[] }[] = [
    { name: 'nothing done, nothing told', done: { created: [], updated: [], deleted: [] }, events: [] },
    {
      name: 'one Normal event per Certificate, created before updated before deleted',
      done: { created: ['a-tls'], updated: ['b-tls'], deleted: ['c-tls'] },
      events: [
        'Normal CreateCertificate: Created Certificate a-tls',
        'Normal UpdateCertificate: Updated Certificate b-tls',
        'Normal DeleteCertificate: Deleted Certificate c-tls: no TLS entry asks for it any more (its Secret stays)',
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, () =>
      assert.deepEqual(
        syncEvents(c.done, 'TLS entry').map((e) => `${e.type} ${e.reason}: ${e.message}`),
        c.events,
      ),
    );
  }
});
