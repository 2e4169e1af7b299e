import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAccessLog, traefikManifests, TRAEFIK_NAMESPACE } from '../../env/traefik.ts';

describe("reading Traefik's access log", () => {
  const output = [
    '{"level":"info","msg":"Traefik version v3.7.12 built on I don\'t know when","time":"2026-12-06T23:30:00Z"}',
    '{"ClientHost":"10.244.0.1","DownstreamStatus":200,"RequestHost":"a.test","RequestPath":"/.well-known/acme-challenge/t1","RouterName":"shop-cm-acme-a-test@kubernetes","request_User-Agent":"LetsEncrypt-Pebble-VA (linux; amd64)"}',
    'a line that is not JSON',
    '{"broken": ',
    '{"DownstreamStatus":404,"RequestHost":"b.test","RequestPath":"/"}',
    '',
  ].join('\n');

  it('keeps the request entries, in order, and skips its own log lines and anything not JSON', () => {
    const entries = parseAccessLog(output);
    assert.deepEqual(
      entries.map((e) => [e.RequestHost, e.RequestPath, e.DownstreamStatus]),
      [
        ['a.test', '/.well-known/acme-challenge/t1', 200],
        ['b.test', '/', 404],
      ],
    );
    assert.equal(entries[0]!['request_User-Agent'], 'LetsEncrypt-Pebble-VA (linux; amd64)');
    assert.equal(entries[0]!.RouterName, 'shop-cm-acme-a-test@kubernetes');
  });

  it('finds nothing in an empty log', () => {
    assert.deepEqual(parseAccessLog(''), []);
  });
});

describe("Traefik's manifests", () => {
  const manifests = traefikManifests({ image: 'traefik:test', webNodePort: 30080, websecureNodePort: 30443 });
  const byKind = (kind: string) => manifests.filter((m) => m.kind === kind) as Record<string, any>[];

  it('expose web and websecure on the given NodePorts', () => {
    const [svc] = byKind('Service');
    assert.equal(svc!.spec.type, 'NodePort');
    assert.deepEqual(
      svc!.spec.ports.map((p: { name: string; nodePort: number }) => [p.name, p.nodePort]),
      [
        ['web', 30080],
        ['websecure', 30443],
      ],
    );
  });

  it('run the image as non-root on a read-only root, without privileges', () => {
    const [deploy] = byKind('Deployment');
    const pod = deploy!.spec.template.spec;
    assert.equal(deploy!.metadata.namespace, TRAEFIK_NAMESPACE);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(pod.containers[0].image, 'traefik:test');
    assert.deepEqual(pod.containers[0].securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  });

  it("name Traefik's controllers in the IngressClass and the GatewayClass", () => {
    assert.equal(byKind('IngressClass')[0]!.spec.controller, 'traefik.io/ingress-controller');
    assert.equal(byKind('GatewayClass')[0]!.spec.controllerName, 'traefik.io/gateway-controller');
  });
});
