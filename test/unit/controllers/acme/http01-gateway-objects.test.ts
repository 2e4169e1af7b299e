import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GatewayListener, GatewayObject } from '../../../../src/api/gateway-api.ts';
import { http01Listener, temporaryHttpRoute, temporaryHttpRouteName } from '../../../../src/controllers/certificates/acme/http01-gateway-objects.ts';
import { temporaryIngressName } from '../../../../src/controllers/certificates/acme/http01-objects.ts';

const owner = { apiVersion: 'certsmith.dev/v1alpha1', kind: 'Certificate', name: 'web', uid: 'u-1', blockOwnerDeletion: true };

function gateway(listeners: GatewayListener[]): GatewayObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'Gateway',
    metadata: { name: 'edge', namespace: 'demo' },
    spec: { gatewayClassName: 'any', listeners },
  };
}
const http = (name: string, hostname?: string): GatewayListener => ({ name, port: 80, protocol: 'HTTP', ...(hostname ? { hostname } : {}) });

describe('the HTTP listener a challenge goes through', () => {
  const cases: { name: string; listeners: GatewayListener[]; identifier: string; want: string | undefined }[] = [
    { name: 'a listener for every name serves any name', listeners: [http('all')], identifier: 'a.example.com', want: 'all' },
    {
      name: 'an exact hostname beats a wildcard and a catch-all',
      listeners: [http('all'), http('wild', '*.example.com'), http('exact', 'a.example.com')],
      identifier: 'a.example.com',
      want: 'exact',
    },
    { name: 'a wildcard beats a catch-all', listeners: [http('all'), http('wild', '*.example.com')], identifier: 'a.example.com', want: 'wild' },
    {
      name: 'the longer wildcard is the more specific',
      listeners: [http('short', '*.com'), http('long', '*.example.com')],
      identifier: 'a.example.com',
      want: 'long',
    },
    {
      name: 'a wildcard matches deeper names too, as Gateway API defines it',
      listeners: [http('wild', '*.example.com')],
      identifier: 'a.b.example.com',
      want: 'wild',
    },
    { name: 'a wildcard does not match its own apex', listeners: [http('wild', '*.example.com')], identifier: 'example.com', want: undefined },
    { name: 'hostnames compare without case', listeners: [http('exact', 'A.Example.com')], identifier: 'a.example.COM', want: 'exact' },
    { name: 'a listener for another name does not serve it', listeners: [http('other', 'b.example.com')], identifier: 'a.example.com', want: undefined },
    {
      name: 'HTTPS and TLS listeners are not for HTTP-01 (the CA asks on plain HTTP)',
      listeners: [{ name: 'secure', port: 443, protocol: 'HTTPS', hostname: 'a.example.com' }],
      identifier: 'a.example.com',
      want: undefined,
    },
    { name: 'of equals, the first in the Gateway wins', listeners: [http('one'), http('two')], identifier: 'a.example.com', want: 'one' },
    {
      name: 'an IP address is served only by a listener for every name',
      listeners: [http('named', 'a.example.com'), http('all')],
      identifier: '192.0.2.1',
      want: 'all',
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(http01Listener(gateway(c.listeners), c.identifier)?.name, c.want));
  }
});

describe('temporary HTTP-01 HTTPRoute', () => {
  it('attaches to the listener, routes the exact challenge path for the name to the solver Service, owned by the Certificate', () => {
    const route = temporaryHttpRoute({
      namespace: 'demo',
      certificateName: 'web',
      owner,
      gatewayName: 'edge',
      listenerName: 'http',
      identifier: 'web.example.com',
      token: 'tok',
    });
    assert.equal(route.apiVersion, 'gateway.networking.k8s.io/v1');
    assert.equal(route.kind, 'HTTPRoute');
    assert.equal(route.metadata.namespace, 'demo');
    assert.deepEqual(route.spec, {
      parentRefs: [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: 'edge', sectionName: 'http' }],
      hostnames: ['web.example.com'],
      rules: [
        {
          matches: [{ path: { type: 'Exact', value: '/.well-known/acme-challenge/tok' } }],
          backendRefs: [{ group: '', kind: 'Service', name: 'certsmith-acme-solver', port: 8089, weight: 1 }],
        },
      ],
    });
    assert.deepEqual(route.metadata.ownerReferences, [owner]);
    assert.deepEqual(route.metadata.labels, {
      'app.kubernetes.io/managed-by': 'certsmith',
      'certsmith.dev/certificate-name': 'web',
      'certsmith.dev/acme-http01-solver': 'true',
    });
  });

  it('routes an IP identifier by path alone (route hostnames are DNS names)', () => {
    const route = temporaryHttpRoute({
      namespace: 'demo',
      certificateName: 'web',
      owner,
      gatewayName: 'edge',
      listenerName: 'http',
      identifier: '192.0.2.7',
      token: 't',
    });
    assert.equal(route.spec?.hostnames, undefined);
  });

  it('is named like the temporary Ingress: stable per Certificate and token', () => {
    const route = temporaryHttpRoute({
      namespace: 'demo',
      certificateName: 'web',
      owner,
      gatewayName: 'edge',
      listenerName: 'http',
      identifier: 'a.example.com',
      token: 't',
    });
    assert.equal(route.metadata.name, temporaryIngressName('web', 't'));
    assert.notEqual(temporaryHttpRouteName('web', 't'), temporaryHttpRouteName('web', 'u'));
  });
});
