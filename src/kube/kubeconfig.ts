// Finds the API server and the credentials for it without @kubernetes/client-node: importing that package costs
// ~85 MiB of RSS (its generated API models) and the operator needs only a URL, TLS material and a bearer token.
// Credentials this module does not produce itself (exec plugins, auth providers, basic auth, impersonation) and
// proxies come back as a fallback carrying the selected entries, which the client hands to client-node.
//
// Parsing, merging and selecting are pure; loadKubeAccess() and createTokenSource() do the file I/O.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { loadAll } from 'js-yaml';
import { CertsmithError } from '../errors.ts';

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

type Fields = Record<string, unknown>;

interface Entry {
  /** The entry's inner map (`cluster:`, `user:` or `context:`), with relative file paths made absolute. */
  fields: Fields;
  /** The file that defined it, for error messages. */
  source: string;
}

export interface Kubeconfig {
  sources: string[];
  currentContext?: string;
  clusters: Map<string, Entry>;
  users: Map<string, Entry>;
  contexts: Map<string, Entry>;
}

type Section = 'clusters' | 'users' | 'contexts';
const INNER: Record<Section, string> = { clusters: 'cluster', users: 'user', contexts: 'context' };
// File references are relative to the kubeconfig that holds them, as kubectl reads them.
const PATH_KEYS: Record<Section, string[]> = {
  clusters: ['certificate-authority'],
  users: ['client-certificate', 'client-key', 'tokenFile', 'token-file'],
  contexts: [],
};
// Keys whose meaning this module does not implement: their presence sends the user or cluster to client-node.
const FALLBACK_USER_KEYS = ['exec', 'auth-provider', 'username', 'password', 'as', 'as-uid', 'as-groups', 'as-user-extra'];
const FALLBACK_CLUSTER_KEYS = ['proxy-url'];

/** Credentials and TLS settings with file references still unread. */
export interface KubeTarget {
  kind: 'direct';
  context: string;
  server: string;
  caFile?: string;
  caData?: string;
  certFile?: string;
  certData?: string;
  keyFile?: string;
  keyData?: string;
  token?: string;
  tokenFile?: string;
  insecureSkipTlsVerify?: boolean;
  tlsServerName?: string;
}

/** The selected context needs client-node: `document` is a kubeconfig holding only that context, cluster and user. */
export interface KubeFallback {
  kind: 'fallback';
  reason: string;
  context: string;
  server: string;
  document: Fields;
}

/** What the client connects with; `tokenFile` is re-read by the caller (bound service-account tokens rotate). */
export interface KubeAccess {
  kind: 'direct';
  context: string;
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
  tokenFile?: string;
  insecureSkipTlsVerify?: boolean;
  tlsServerName?: string;
}

function invalid(message: string, cause?: unknown): CertsmithError {
  return new CertsmithError('ConfigInvalid', message, cause === undefined ? undefined : { cause });
}

function isMap(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function emptyKubeconfig(): Kubeconfig {
  return { sources: [], clusters: new Map(), users: new Map(), contexts: new Map() };
}

/** Parses one kubeconfig document; `file` names it in errors and anchors its relative paths. */
export function parseKubeconfig(text: string, file: string): Kubeconfig {
  let docs: unknown[];
  try {
    // loadAll: js-yaml's load() rejects an empty file, which kubectl reads as an empty config.
    docs = loadAll(text);
  } catch (err) {
    throw invalid(`kubeconfig ${file} is not valid YAML: ${(err as Error).message}`, err);
  }
  if (docs.length > 1) throw invalid(`kubeconfig ${file} holds ${docs.length} YAML documents, not one`);
  const doc = docs[0];
  const config = emptyKubeconfig();
  config.sources.push(file);
  if (doc === null || doc === undefined) return config;
  if (!isMap(doc)) throw invalid(`kubeconfig ${file} is not a mapping`);
  config.currentContext = str(doc['current-context']);
  const dir = path.dirname(path.resolve(file));
  for (const section of ['clusters', 'users', 'contexts'] as const) {
    const list = doc[section];
    if (list === null || list === undefined) continue;
    if (!Array.isArray(list)) throw invalid(`kubeconfig ${file}: ${section} is not a list`);
    list.forEach((elt: unknown, i) => {
      const name = isMap(elt) ? str(elt.name) : undefined;
      if (!name) throw invalid(`kubeconfig ${file}: ${section}[${i}].name is missing`);
      const inner = (elt as Fields)[INNER[section]];
      const fields: Fields = isMap(inner) ? { ...inner } : {};
      for (const key of PATH_KEYS[section]) {
        const p = str(fields[key]);
        if (p) fields[key] = path.resolve(dir, p);
      }
      // The first entry of a name wins, within a file as across files.
      if (!config[section].has(name)) config[section].set(name, { fields, source: file });
    });
  }
  return config;
}

/** Merges as kubectl merges KUBECONFIG: the first file that sets a name (or current-context) wins. */
export function mergeKubeconfigs(configs: Kubeconfig[]): Kubeconfig {
  const out = emptyKubeconfig();
  for (const c of configs) {
    out.sources.push(...c.sources);
    out.currentContext ??= c.currentContext;
    for (const section of ['clusters', 'users', 'contexts'] as const) {
      for (const [name, entry] of c[section]) if (!out[section].has(name)) out[section].set(name, entry);
    }
  }
  return out;
}

/** Resolves `contextName` (default: current-context) into a server and credential references, or a fallback. */
export function selectContext(config: Kubeconfig, contextName?: string): KubeTarget | KubeFallback {
  const where = config.sources.join(', ') || 'the kubeconfig';
  const name = contextName ?? config.currentContext;
  if (!name) throw invalid(`no current-context in ${where}: set one (kubectl config use-context) or choose a context`);
  const ctx = config.contexts.get(name);
  if (!ctx) throw invalid(`context "${name}" is not defined in ${where}`);
  const clusterName = str(ctx.fields.cluster);
  if (!clusterName) throw invalid(`context "${name}" in ${ctx.source} names no cluster`);
  const cluster = config.clusters.get(clusterName);
  if (!cluster) throw invalid(`context "${name}" in ${ctx.source} names cluster "${clusterName}", which ${where} does not define`);
  const rawServer = str(cluster.fields.server);
  if (!rawServer) throw invalid(`cluster "${clusterName}" in ${cluster.source} has no server`);
  const server = rawServer.replace(/\/$/, '');
  const userName = str(ctx.fields.user);
  const user = userName ? config.users.get(userName) : undefined;
  if (userName && !user) throw invalid(`context "${name}" in ${ctx.source} names user "${userName}", which ${where} does not define`);
  const u = user?.fields ?? {};
  const c = cluster.fields;

  const unsupported = [
    ...FALLBACK_USER_KEYS.filter((k) => u[k] !== undefined && u[k] !== null && u[k] !== '').map((k) => `user "${userName}" sets ${k}`),
    ...FALLBACK_CLUSTER_KEYS.filter((k) => str(c[k])).map((k) => `cluster "${clusterName}" sets ${k}`),
  ];
  if (unsupported.length > 0) {
    const document: Fields = {
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': name,
      contexts: [{ name, context: ctx.fields }],
      clusters: [{ name: clusterName, cluster: c }],
      users: user ? [{ name: userName, user: u }] : [],
    };
    return { kind: 'fallback', reason: unsupported.join('; '), context: name, server, document };
  }

  const target: KubeTarget = { kind: 'direct', context: name, server };
  // Inline data wins over a file reference, as in client-go ("certificate-authority-data overrides ...").
  const pairs = [
    ['ca', c['certificate-authority-data'], c['certificate-authority']],
    ['cert', u['client-certificate-data'], u['client-certificate']],
    ['key', u['client-key-data'], u['client-key']],
  ] as const;
  for (const [k, data, file] of pairs) {
    if (str(data)) target[`${k}Data`] = str(data);
    else if (str(file)) target[`${k}File`] = str(file);
  }
  // A literal token wins over a token file (kubeconfig reference: "If both ... Token takes precedence").
  const token = str(u.token);
  const tokenFile = str(u.tokenFile) ?? str(u['token-file']);
  if (token) target.token = token;
  else if (tokenFile) target.tokenFile = tokenFile;
  if (c['insecure-skip-tls-verify'] === true) target.insecureSkipTlsVerify = true;
  const tlsServerName = str(c['tls-server-name']);
  if (tlsServerName) target.tlsServerName = tlsServerName;
  return target;
}

/** Server URL and token file for a pod's service account, as client-node's loadFromCluster builds them. */
export function inClusterTarget(env: NodeJS.ProcessEnv, dir = SERVICE_ACCOUNT_DIR): KubeTarget {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw invalid(`${dir}/token exists but KUBERNETES_SERVICE_HOST or KUBERNETES_SERVICE_PORT is not set`);
  }
  const scheme = port === '80' || port === '8080' || port === '8001' ? 'http' : 'https';
  const server = `${scheme}://${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
  return { kind: 'direct', context: 'inCluster', server, caFile: `${dir}/ca.crt`, tokenFile: `${dir}/token` };
}

export interface LoadOptions {
  /** An explicit kubeconfig (--kubeconfig); several paths separated by ':' merge like KUBECONFIG. */
  path?: string;
  /** Context to use instead of current-context. */
  context?: string;
  env?: NodeJS.ProcessEnv;
  serviceAccountDir?: string;
}

function exists(file: string): boolean {
  try {
    fs.accessSync(file);
    return true;
  } catch {
    return false;
  }
}

function readFile(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw invalid(`cannot read ${what} ${file}: ${(err as Error).message}`, err);
  }
}

function loadFiles(list: string): Kubeconfig {
  const files = list.split(path.delimiter).filter((f) => f);
  return mergeKubeconfigs(files.map((f) => parseKubeconfig(readFile(f, 'kubeconfig').toString('utf8'), f)));
}

/**
 * Finds the configuration in client-node's loadFromDefault order: an explicit path, else KUBECONFIG, else
 * ~/.kube/config, else the pod's service account. Reads the CA and client key pair files; tokens stay file
 * references. (client-node's last resort, http://localhost:8080 without credentials, becomes an error.)
 */
export function loadKubeAccess(opts: LoadOptions = {}): KubeAccess | KubeFallback {
  const env = opts.env ?? process.env;
  const saDir = opts.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  let target: KubeTarget | KubeFallback;
  if (opts.path) target = selectContext(loadFiles(opts.path), opts.context);
  else if (env.KUBECONFIG) target = selectContext(loadFiles(env.KUBECONFIG), opts.context);
  else if (env.HOME && exists(path.join(env.HOME, '.kube', 'config'))) {
    target = selectContext(loadFiles(path.join(env.HOME, '.kube', 'config')), opts.context);
  } else if (exists(path.join(saDir, 'token'))) target = inClusterTarget(env, saDir);
  else {
    throw invalid('no Kubernetes cluster configured: pass --kubeconfig, set KUBECONFIG, create ~/.kube/config or run in a cluster');
  }
  if (target.kind === 'fallback') return target;

  const t = target;
  const material = (data: string | undefined, file: string | undefined, what: string) =>
    data ? Buffer.from(data, 'base64') : file ? readFile(file, what) : undefined;
  const access: KubeAccess = { kind: 'direct', context: t.context, server: t.server };
  const ca = material(t.caData, t.caFile, 'the certificate authority');
  const cert = material(t.certData, t.certFile, 'the client certificate');
  const key = material(t.keyData, t.keyFile, 'the client key');
  if (ca) access.ca = ca;
  if (cert) access.cert = cert;
  if (key) access.key = key;
  if (t.token) access.token = t.token;
  if (t.tokenFile) access.tokenFile = t.tokenFile;
  if (t.insecureSkipTlsVerify) access.insecureSkipTlsVerify = true;
  if (t.tlsServerName) access.tlsServerName = t.tlsServerName;
  return access;
}

/**
 * Returns the token in `file`, re-read at most every `maxAgeMs` (kubelet rotates bound service-account tokens,
 * client-go re-reads each minute). A failed re-read keeps the last token; only a first read that fails throws.
 */
export function createTokenSource(file: string, now: () => number = Date.now, maxAgeMs = 60_000): () => string {
  let token: string | undefined;
  let readAt = 0;
  return () => {
    if (token !== undefined && now() - readAt < maxAgeMs) return token;
    try {
      token = fs.readFileSync(file, 'utf8').trim();
      readAt = now();
    } catch (err) {
      if (token === undefined) throw invalid(`cannot read the bearer token file ${file}: ${(err as Error).message}`, err);
    }
    return token;
  };
}
