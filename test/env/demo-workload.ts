// The certsmith/reload demo (deploy/examples/reload/server.mjs and client.mjs) as pods on the node: the operator's
// image supplies Node and certsmith/reload, a ConfigMap supplies the two scripts, mounted inside the package
// (/app/demo) so `import 'certsmith/reload'` resolves to the image's own copy. The kubelet projects the leaf Secret
// and the TrustBundle ConfigMap; the scripts read only those directories.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const examples = join(import.meta.dirname, '..', '..', 'deploy', 'examples', 'reload');
export const DEMO_CODE_CONFIGMAP = 'reload-demo-code';
/** Plain-HTTP port of the scripts' /stats. */
export const STATS_PORT = 9000;
export const HTTPS_PORT = 8443;

type Manifest = Record<string, unknown>;

export function demoCode(namespace: string): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: DEMO_CODE_CONFIGMAP, namespace },
    data: {
      'server.mjs': readFileSync(join(examples, 'server.mjs'), 'utf8'),
      'client.mjs': readFileSync(join(examples, 'client.mjs'), 'utf8'),
    },
  };
}

export interface DemoPodOptions {
  namespace: string;
  name: string;
  image: string;
  replicas?: number;
  /** kubernetes.io/tls Secret mounted at /etc/certsmith/tls. */
  tlsSecret?: string;
  /** Or a podCertificate projection there: the kubelet's key, the signer's chain, in credentials.pem. */
  podCertificate?: { signerName: string; keyType: string; maxExpirationSeconds?: number; userAnnotations?: Record<string, string> };
  /** TrustBundle ConfigMap mounted at /etc/certsmith/trust, and the key holding the PEM. */
  trustConfigMap?: string;
  /** Or the ClusterTrustBundles of a signer, projected there (file ca.crt). */
  trustSigner?: string;
  trustKey: string;
  env?: Record<string, string>;
  /** /etc/hosts entries: there is no cluster DNS on the node, so clients name the server's ClusterIP here. */
  hostAliases?: { ip: string; hostnames: string[] }[];
  /** Extra Secret volumes: mount path → Secret name. */
  extraSecrets?: Record<string, string>;
}

function demoDeployment(o: DemoPodOptions, script: 'server.mjs' | 'client.mjs', ports: number[]): Manifest {
  const extra = Object.entries(o.extraSecrets ?? {});
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: o.name, namespace: o.namespace },
    spec: {
      replicas: o.replicas ?? 1,
      selector: { matchLabels: { app: o.name } },
      template: {
        metadata: { labels: { app: o.name } },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 5,
          ...(o.hostAliases ? { hostAliases: o.hostAliases } : {}),
          securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: script.replace('.mjs', ''),
              image: o.image,
              imagePullPolicy: 'IfNotPresent',
              workingDir: '/app',
              command: ['/nodejs/bin/node', `/app/demo/${script}`],
              env: Object.entries({
                TLS_DIR: '/etc/certsmith/tls',
                ...(o.podCertificate ? { TLS_BUNDLE_FILE: POD_CREDENTIALS_FILE } : {}),
                ...(script === 'server.mjs'
                  ? { CLIENT_CA: '/etc/certsmith/trust', CLIENT_CA_FILE: o.trustKey }
                  : { ROOTS_DIR: '/etc/certsmith/trust', ROOTS_FILE: o.trustKey }),
                STATS_PORT: String(STATS_PORT),
                ...o.env,
              }).map(([name, value]) => ({ name, value })),
              ports: ports.map((containerPort) => ({ containerPort })),
              readinessProbe: { httpGet: { path: '/stats', port: STATS_PORT }, periodSeconds: 2 },
              securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
              volumeMounts: [
                { name: 'tls', mountPath: '/etc/certsmith/tls', readOnly: true },
                { name: 'trust', mountPath: '/etc/certsmith/trust', readOnly: true },
                { name: 'code', mountPath: '/app/demo', readOnly: true },
                ...extra.map(([mountPath], i) => ({ name: `extra-${i}`, mountPath, readOnly: true })),
              ],
            },
          ],
          volumes: [
            tlsVolume(o),
            trustVolume(o),
            { name: 'code', configMap: { name: DEMO_CODE_CONFIGMAP } },
            ...extra.map(([, secretName], i) => ({ name: `extra-${i}`, secret: { secretName } })),
          ],
        },
      },
    },
  };
}

/** The file of a podCertificate projection that holds the key, then the chain. */
export const POD_CREDENTIALS_FILE = 'credentials.pem';

function tlsVolume(o: DemoPodOptions): Manifest {
  if (!o.podCertificate) return { name: 'tls', secret: { secretName: o.tlsSecret } };
  const { signerName, keyType, maxExpirationSeconds, userAnnotations } = o.podCertificate;
  const podCertificate = {
    signerName,
    keyType,
    credentialBundlePath: POD_CREDENTIALS_FILE,
    ...(maxExpirationSeconds ? { maxExpirationSeconds } : {}),
    ...(userAnnotations ? { userAnnotations } : {}),
  };
  return { name: 'tls', projected: { sources: [{ podCertificate }] } };
}

function trustVolume(o: DemoPodOptions): Manifest {
  if (!o.trustSigner) return { name: 'trust', configMap: { name: o.trustConfigMap } };
  return { name: 'trust', projected: { sources: [{ clusterTrustBundle: { signerName: o.trustSigner, labelSelector: {}, path: o.trustKey } }] } };
}

/** The mTLS server: HTTPS on 8443, /stats on 9000. */
export function demoServer(o: DemoPodOptions): Manifest {
  return demoDeployment(o, 'server.mjs', [HTTPS_PORT, STATS_PORT]);
}

/** The client: requests at env RATE over env WORKERS loops to env URL; /stats on 9000. */
export function demoClient(o: DemoPodOptions): Manifest {
  return demoDeployment(o, 'client.mjs', [STATS_PORT]);
}

export function demoService(namespace: string, name: string): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { selector: { app: name }, ports: [{ name: 'https', port: HTTPS_PORT, targetPort: HTTPS_PORT }] },
  };
}

/** A demo pod as the tests address it: its name, its UID (for its volumes on the host) and its IP (for /stats). */
export interface DemoPod {
  name: string;
  uid: string;
  ip: string;
}

/** The pods of a demo Deployment (label app=<name>), by name. */
export async function demoPods(kubectl: (...args: string[]) => Promise<string>, namespace: string, app: string): Promise<DemoPod[]> {
  const list = JSON.parse(await kubectl('get', 'pods', '-n', namespace, '-l', `app=${app}`, '-o', 'json')).items as {
    metadata: { name: string; uid: string };
    status: { podIP?: string };
  }[];
  return list.map((p) => ({ name: p.metadata.name, uid: p.metadata.uid, ip: p.status.podIP ?? '' })).sort((a, b) => a.name.localeCompare(b.name));
}

/** What a demo script's /stats answers (server.mjs and client.mjs count different things). */
export async function demoStats<T>(pod: DemoPod): Promise<T> {
  return (await (await fetch(`http://${pod.ip}:${STATS_PORT}/stats`)).json()) as T;
}
