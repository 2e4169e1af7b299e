import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  endpointsOf,
  solverEndpointSlice,
  temporaryIngress,
  temporaryIngressName,
  withChallengePath,
  withoutChallengePath,
  type EndpointSliceObject,
  type IngressObject,
} from '../../../../src/controllers/certificates/acme/http01-objects.ts';

const owner = { apiVersion: 'certsmith.dev/v1alpha1', kind: 'Certificate', name: 'web', uid: 'u-1', blockOwnerDeletion: true };

const userIngress: IngressObject = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'Ingress',
  metadata: { name: 'shop', namespace: 'demo' },
  spec: {
    rules: [{ host: 'shop.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'shop', port: { number: 80 } } } }] } }],
  },
};

describe('temporary HTTP-01 Ingress', () => {
  it('routes the exact challenge path for the host to the solver Service, owned by the Certificate', () => {
    const ing = temporaryIngress({ namespace: 'demo', certificateName: 'web', owner, identifier: 'web.example.com', token: 'tok', ingressClassName: 'nginx' });
    assert.equal(ing.spec?.ingressClassName, 'nginx');
    assert.deepEqual(ing.spec?.rules, [
      {
        host: 'web.example.com',
        http: {
          paths: [
            { path: '/.well-known/acme-challenge/tok', pathType: 'Exact', backend: { service: { name: 'certsmith-acme-solver', port: { number: 8089 } } } },
          ],
        },
      },
    ]);
    assert.deepEqual(ing.metadata.ownerReferences, [owner]);
    assert.equal(ing.metadata.labels?.['certsmith.dev/acme-http01-solver'], 'true');
  });

  it('routes an IP identifier by path alone (Ingress hosts are DNS names)', () => {
    for (const ip of ['192.0.2.7', '2001:db8::1']) {
      const ing = temporaryIngress({ namespace: 'demo', certificateName: 'web', owner, identifier: ip, token: 't' });
      assert.equal(ing.spec?.rules?.[0]?.host, undefined);
      assert.equal(ing.spec?.ingressClassName, undefined);
    }
  });

  it('names are stable per token, differ between tokens, and stay within the name limit', () => {
    assert.equal(temporaryIngressName('web', 'a'), temporaryIngressName('web', 'a'));
    assert.notEqual(temporaryIngressName('web', 'a'), temporaryIngressName('web', 'b'));
    assert.ok(temporaryIngressName('x'.repeat(253), 'a').length <= 253);
  });
});

describe("editing a user's Ingress in place", () => {
  it('puts the challenge path first in the rule for the host and keeps the user paths', () => {
    const next = withChallengePath(userIngress, 'shop.example.com', 'tok');
    assert.deepEqual(
      next.spec?.rules?.[0]?.http?.paths.map((p) => p.path),
      ['/.well-known/acme-challenge/tok', '/'],
    );
    assert.equal(userIngress.spec?.rules?.[0]?.http?.paths.length, 1, 'the input is not mutated');
  });

  it('adds a rule of its own for a host the Ingress has no rule for', () => {
    const next = withChallengePath(userIngress, 'other.example.com', 'tok');
    assert.equal(next.spec?.rules?.length, 2);
    assert.equal(next.spec?.rules?.[1]?.host, 'other.example.com');
  });

  it('adding twice is a no-op that returns the same object (no write)', () => {
    const once = withChallengePath(userIngress, 'shop.example.com', 'tok');
    assert.equal(withChallengePath(once, 'shop.example.com', 'tok'), once);
  });

  it('removing restores the Ingress as it was, in both cases', () => {
    for (const host of ['shop.example.com', 'other.example.com']) {
      const restored = withoutChallengePath(withChallengePath(userIngress, host, 'tok'), 'tok');
      assert.deepEqual(restored.spec, userIngress.spec);
    }
  });

  it('removing one token leaves the path of another challenge in place', () => {
    const both = withChallengePath(withChallengePath(userIngress, 'shop.example.com', 'a'), 'shop.example.com', 'b');
    const paths = withoutChallengePath(both, 'a').spec?.rules?.[0]?.http?.paths.map((p) => p.path);
    assert.deepEqual(paths, ['/.well-known/acme-challenge/b', '/']);
  });
});

describe('solver endpoints', () => {
  const slice = (addresses: string[], ready = true, addressType = 'IPv4'): EndpointSliceObject => ({
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 's' },
    addressType,
    endpoints: addresses.map((a) => ({ addresses: [a], conditions: { ready } })),
  });

  it('merges slices, keeps an address ready if any slice says so, and ignores non-IPv4 slices', () => {
    const got = endpointsOf([slice(['10.0.0.2'], false), slice(['10.0.0.2', '10.0.0.1']), slice(['fd00::1'], true, 'IPv6')]);
    assert.deepEqual(
      got.sort((a, b) => a.address.localeCompare(b.address)),
      [
        { address: '10.0.0.1', ready: true },
        { address: '10.0.0.2', ready: true },
      ],
    );
  });

  it('the mirrored EndpointSlice is sorted, so an unchanged set compares equal', () => {
    const a = solverEndpointSlice('demo', 8089, [
      { address: '10.0.0.2', ready: true },
      { address: '10.0.0.1', ready: true },
    ]);
    const b = solverEndpointSlice('demo', 8089, [
      { address: '10.0.0.1', ready: true },
      { address: '10.0.0.2', ready: true },
    ]);
    assert.deepEqual(a, b);
    assert.equal(a.metadata.labels?.['kubernetes.io/service-name'], 'certsmith-acme-solver');
  });
});
