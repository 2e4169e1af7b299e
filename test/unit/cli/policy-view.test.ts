// `certsmith status` shows the issuance policy's decision, made by the operator's own pure function.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Certificate } from '../../../src/api/certificate.ts';
import { buildPolicyView, formatPolicy } from '../../../src/cli/policy-view.ts';

const cert = {
  apiVersion: 'certsmith.dev/v1alpha1',
  kind: 'Certificate',
  metadata: { name: 'api', namespace: 'team-a' },
  spec: { secretName: 'api-tls', issuerRef: { kind: 'ClusterIssuer', name: 'le' }, dnsNames: ['api.team-a.example.com'] },
} as Certificate;
const policy = (zone: string) => ({
  name: 'team-a',
  spec: { issuers: [{ kind: 'ClusterIssuer', name: 'le' }], namespaces: { names: ['team-a'] }, allowed: { dnsZones: [zone] } },
});

describe('policy view', () => {
  it('names the policy that allows the Certificate', () => {
    assert.equal(formatPolicy(buildPolicyView(cert, [policy('team-a.example.com')], {})), 'allowed by IssuancePolicy team-a');
  });
  it('gives the rule and field a refusal names', () => {
    assert.match(formatPolicy(buildPolicyView(cert, [policy('other.example.com')], {})), /^denied: IssuancePolicy team-a: spec\.dnsNames\[0\]/);
  });
  it('says when no policy governs the issuer, leaving the decision to the operator default', () => {
    assert.equal(buildPolicyView(cert, [], {}).decision, 'ungoverned');
  });
});
