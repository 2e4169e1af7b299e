import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Certificate } from '../../../src/api/certificate.ts';
import { conflictMessage, isOwnedBy, isUpToDate, ownerLabelValue, shimCertificate, type ShimOwner } from '../../../src/controllers/shim/sync.ts';

const owner: ShimOwner = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'web', namespace: 'demo', uid: 'u-1' };
const spec = { secretName: 'web-tls', issuerRef: { kind: 'ClusterIssuer' as const, name: 'ca' }, dnsNames: ['web.example.test'] };

describe('shimCertificate', () => {
  it('is owned by the object as its controller, labelled with its kind and name, and carries the hints', () => {
    const c = shimCertificate(owner, { name: 'web-tls', spec, annotations: { 'certsmith.dev/acme-http01-ingress-class': 'nginx' } });
    assert.deepEqual(c.metadata, {
      name: 'web-tls',
      namespace: 'demo',
      labels: { 'certsmith.dev/owner-kind': 'Ingress', 'certsmith.dev/owner-name': 'web' },
      annotations: { 'certsmith.dev/acme-http01-ingress-class': 'nginx' },
      ownerReferences: [{ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'web', uid: 'u-1', controller: true, blockOwnerDeletion: true }],
    });
    assert.deepEqual(c.spec, spec);
    assert.ok(isOwnedBy(c, owner));
    assert.ok(!isOwnedBy(c, { uid: 'u-2' }), 'a recreated object of the same name is another owner');
  });
});

describe('ownerLabelValue', () => {
  const cases = [
    { name: 'a short name is kept', input: 'web', check: (v: string) => v === 'web' },
    {
      name: 'a name longer than 63 characters is shortened and hashed',
      input: 'a'.repeat(100),
      check: (v: string) => v.length <= 63 && v.startsWith('a'.repeat(52) + '-'),
    },
    { name: 'two long names that share a prefix stay apart', input: 'b'.repeat(80), check: (v: string) => v !== ownerLabelValue('b'.repeat(81)) },
  ];
  for (const c of cases) it(c.name, () => assert.ok(c.check(ownerLabelValue(c.input)), ownerLabelValue(c.input)));
});

describe('isUpToDate', () => {
  const wanted = shimCertificate(owner, { name: 'web-tls', spec, annotations: { 'certsmith.dev/acme-http01-ingress-class': 'nginx' } });
  const current = (change: (c: Certificate) => Certificate): Certificate =>
    change(structuredClone({ ...wanted, metadata: { ...wanted.metadata, uid: 'c-1', resourceVersion: '7' } }));
  const cases: { name: string; current: Certificate; upToDate: boolean }[] = [
    { name: 'the same Certificate, with what the API server adds', current: current((c) => c), upToDate: true },
    {
      name: "another manager's labels and annotations do not count",
      current: current((c) => ({
        ...c,
        metadata: { ...c.metadata, labels: { ...c.metadata.labels, team: 'x' }, annotations: { ...c.metadata.annotations, note: 'y' } },
      })),
      upToDate: true,
    },
    { name: 'a host more', current: current((c) => ({ ...c, spec: { ...c.spec!, dnsNames: ['web.example.test', 'www.example.test'] } })), upToDate: false },
    { name: 'another issuer', current: current((c) => ({ ...c, spec: { ...c.spec!, issuerRef: { name: 'other' } } })), upToDate: false },
    {
      name: 'a hint that is no longer wanted',
      current: current((c) => ({
        ...c,
        metadata: { ...c.metadata, annotations: { ...c.metadata.annotations, 'certsmith.dev/acme-http01-edit-in-place': 'web' } },
      })),
      upToDate: false,
    },
    {
      name: 'an owner label changed by hand',
      current: current((c) => ({ ...c, metadata: { ...c.metadata, labels: { 'certsmith.dev/owner-kind': 'Ingress' } } })),
      upToDate: false,
    },
  ];
  for (const c of cases) it(c.name, () => assert.equal(isUpToDate(c.current, wanted), c.upToDate));
});

describe('conflictMessage', () => {
  const cert = (ownerReferences?: Certificate['metadata']['ownerReferences']): Certificate => ({
    apiVersion: 'certsmith.dev/v1alpha1',
    kind: 'Certificate',
    metadata: { name: 'web-tls', namespace: 'demo', ...(ownerReferences ? { ownerReferences } : {}) },
  });
  it('says that the Certificate was left alone and what to do', () => {
    assert.match(
      conflictMessage(owner, cert()),
      /^Certificate web-tls already exists and is not owned by Ingress web \(it has no controller\): left alone; give the TLS entry another secretName/,
    );
  });
  it('names the controller that holds it', () => {
    assert.match(
      conflictMessage(owner, cert([{ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: 'other', uid: 'u-9', controller: true }])),
      /it is controlled by Ingress other/,
    );
  });
});
