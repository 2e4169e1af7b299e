import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ObjectMeta } from '../../../src/api/meta.ts';
import { secretOwnership, secretWriter } from '../../../src/controllers/certificates/secret-ownership.ts';

const managed = (owner?: string): { metadata: ObjectMeta } => ({
  metadata: {
    name: 's',
    labels: { 'app.kubernetes.io/managed-by': 'certsmith' },
    annotations: owner ? { 'certsmith.dev/certificate-name': owner } : {},
  },
});

const internal = (labels: Record<string, string>, annotations: Record<string, string> = {}): { metadata: ObjectMeta } => ({
  metadata: { name: 's', labels: { 'app.kubernetes.io/managed-by': 'certsmith', ...labels }, annotations },
});

describe('secretOwnership', () => {
  const live = new Set(['a', 'b']);
  const cases = [
    { name: 'no Secret yet is free to create', secret: undefined, want: { kind: 'free' } },
    { name: 'a Secret without the managed-by label is foreign', secret: { metadata: { name: 's' } }, want: { kind: 'foreign' } },
    { name: 'a managed Secret naming this Certificate is ours', secret: managed('a'), want: { kind: 'ours' } },
    { name: 'a managed Secret naming another live Certificate is in use', secret: managed('b'), want: { kind: 'inUse', by: 'b' } },
    { name: 'a managed Secret whose Certificate is gone may be taken over', secret: managed('gone'), want: { kind: 'ours' } },
    {
      name: 'a managed Secret naming no Certificate is never claimed',
      secret: managed(),
      want: { kind: 'notClaimable', holds: 'no Certificate (it has no certsmith.dev/certificate-name annotation)' },
    },
    {
      name: "a managed CA's Secret is never claimed",
      secret: internal({ 'certsmith.dev/internal': 'managed-ca' }),
      want: { kind: 'notClaimable', holds: 'managed-ca' },
    },
    {
      name: "a managed CA's Secret from before the internal label is known by its issuer annotation",
      secret: internal({}, { 'certsmith.dev/ca-issuer': 'ClusterIssuer//root' }),
      want: { kind: 'notClaimable', holds: 'managed-ca' },
    },
    {
      name: 'an ACME account key Secret is never claimed, by label or by its account annotation',
      secret: internal({}, { 'certsmith.dev/acme-account-of': 'Issuer/apps/le' }),
      want: { kind: 'notClaimable', holds: 'acme-account-key' },
    },
    {
      name: 'an ACME order key Secret is never claimed, even when it names the Certificate it serves',
      secret: internal({ 'certsmith.dev/internal': 'acme-order-key', 'certsmith.dev/certificate-name': 'a' }, { 'certsmith.dev/certificate-name': 'a' }),
      want: { kind: 'notClaimable', holds: 'acme-order-key' },
    },
    {
      name: 'a session-ticket keys Secret is never claimed, by label or by its owner label',
      secret: internal({ 'certsmith.dev/session-ticket-keys': 'web' }),
      want: { kind: 'notClaimable', holds: 'session-ticket-keys' },
    },
  ];
  for (const c of cases)
    it(c.name, () =>
      assert.deepEqual(
        secretOwnership('a', c.secret, (n) => live.has(n)),
        c.want,
      ),
    );
});

describe('secretWriter', () => {
  it('picks the oldest Certificate naming the Secret, then by name', () => {
    const certs = [
      { name: 'young', secretName: 's', creationTimestamp: '2026-01-02T00:00:00Z' },
      { name: 'old-b', secretName: 's', creationTimestamp: '2026-01-01T00:00:00Z' },
      { name: 'old-a', secretName: 's', creationTimestamp: '2026-01-01T00:00:00Z' },
      { name: 'other', secretName: 't', creationTimestamp: '2025-01-01T00:00:00Z' },
    ];
    assert.equal(secretWriter(certs, 's'), 'old-a');
    assert.equal(secretWriter(certs, 'none'), undefined);
  });
});
