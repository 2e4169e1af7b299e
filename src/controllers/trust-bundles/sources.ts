// Reads what each TrustBundle source points at and returns its PEM text, described for messages. Only reads:
// every check on the PEM itself is the pure builder's (src/trust/bundle.ts).
import type { Certificate } from '../../api/certificate.ts';
import { caSecretNameOf, type Issuer } from '../../api/issuer.ts';
import type { TrustBundleSource, TrustBundleSpec } from '../../api/trust-bundle.ts';
import { CertsmithError } from '../../errors.ts';
import type { DataObject, ObjectReader } from '../../kube/object-reader.ts';
import { Resources } from '../../kube/resources.ts';
import type { SecretReader } from '../../kube/secret-reader.ts';
import { encodePem, splitPem } from '../../pki/pem.ts';
import type { SourceMaterial } from '../../trust/bundle.ts';
import { selectorToString } from '../../trust/selector.ts';
import type { Store } from '../store.ts';

export interface SourceDeps {
  issuers: Store<Issuer>;
  clusterIssuers: Store<Issuer>;
  certificates: Store<Certificate>;
  /** With --shards, a Certificate of a shard this replica does not work is not cached: it is read (GET) instead. */
  readCertificate?: (namespace: string, name: string) => Promise<Certificate | undefined>;
  /** Managed Secrets from the cache, others by a remembered GET (a CA issuer's Secret, a Certificate's Secret). */
  secrets: SecretReader;
  /** Source ConfigMaps and Secrets, which are not cached. */
  objects: ObjectReader;
  /** The trust namespace: a ClusterIssuer's Secret is there, and any source may be. */
  clusterResourceNamespace: string;
  /** More namespaces sources may name (--trust-bundle-source-namespaces); build.ts refuses others before reading. */
  sourceNamespaces: readonly string[];
  /** tls.rootCertificates in the operator; injected so tests can pin it. */
  systemRoots: () => readonly string[];
}

const notFound = (message: string) => new CertsmithError('SourceNotFound', message);

/** Throws SourceNotFound when something a source names is missing; Kube* errors pass through (retry). */
export async function readSources(spec: TrustBundleSpec, deps: SourceDeps): Promise<SourceMaterial[]> {
  const out: SourceMaterial[] = [];
  for (const [i, source] of spec.sources.entries()) out.push(...(await readSource(source, `sources[${i}]`, deps)));
  return out;
}

async function readSource(s: TrustBundleSource, at: string, deps: SourceDeps): Promise<SourceMaterial[]> {
  if (s.inline !== undefined) return [{ source: `${at} (inline)`, pem: s.inline }];
  if (s.systemRoots) return [{ source: `${at} (systemRoots)`, pem: deps.systemRoots().join('\n') }];
  if (s.issuer) {
    const { kind, name } = s.issuer;
    const what = `${at} (${kind} ${kind === 'Issuer' ? `${s.issuer.namespace}/` : ''}${name})`;
    const issuer = kind === 'ClusterIssuer' ? deps.clusterIssuers.get(undefined, name) : deps.issuers.get(s.issuer.namespace, name);
    if (!issuer) throw notFound(`${what}: the issuer does not exist`);
    // Only a ca issuer has a CA certificate to trust; selfSigned certificates are their own roots, acme CAs public.
    const secretName = caSecretNameOf(issuer);
    if (!secretName) return [];
    const ns = kind === 'ClusterIssuer' ? deps.clusterResourceNamespace : (issuer.metadata.namespace ?? '');
    if (issuer.spec?.ca?.managed) {
      // Every live generation of a managed CA (signers/managed-ca.ts): the next one before it signs, the old one
      // until nothing it signed is in use.
      const where = `${what}: Secret ${ns}/${secretName}`;
      return [{ source: `${where} ca.crt`, pem: secretValue(await deps.secrets.get(ns, secretName), 'ca.crt', where) }];
    }
    const pem = secretValue(await deps.secrets.get(ns, secretName), 'tls.crt', `${what}: Secret ${ns}/${secretName}`);
    // The CA that signs is the first certificate of tls.crt; what follows is its own chain. A CA the user replaced
    // stays trusted until nothing it signed is in use: the issuer keeps its certificate in status (the one it last
    // saw signing too, so a replacement not yet noticed by the issuer never drops the old CA for a moment).
    const remembered = (issuer.status?.ca?.generations ?? []).filter((g) => g.certificate);
    return [
      { source: `${what}: Secret ${ns}/${secretName} tls.crt`, pem: firstBlock(pem) },
      ...remembered.map((g) => ({ source: `${what}: status.ca.generations ${g.role} ${g.fingerprint.slice(0, 16)}`, pem: g.certificate! })),
    ];
  }
  if (s.certificate) {
    const { namespace, name } = s.certificate;
    const what = `${at} (Certificate ${namespace}/${name})`;
    const cert = deps.certificates.get(namespace, name) ?? (await deps.readCertificate?.(namespace, name));
    if (!cert?.spec) throw notFound(`${what}: the Certificate does not exist`);
    const secret = await deps.secrets.get(namespace, cert.spec.secretName);
    if (!secret) throw notFound(`${what}: its Secret ${cert.spec.secretName} does not exist yet`);
    return [{ source: `${what} ca.crt`, pem: secretValue(secret, 'ca.crt', `${what}: Secret ${cert.spec.secretName}`) }];
  }
  const ref = s.configMap ?? s.secret;
  if (ref) {
    const kind = s.configMap ? 'ConfigMap' : 'Secret';
    const resource = s.configMap ? Resources.configMaps : Resources.secrets;
    let objects: DataObject[];
    if (ref.name !== undefined) {
      const obj = await deps.objects.get(resource, ref.namespace, ref.name);
      if (!obj) throw notFound(`${at} (${kind} ${ref.namespace}/${ref.name}) does not exist`);
      objects = [obj];
    } else {
      // A selector matching nothing contributes nothing; an empty bundle is reported as such.
      objects = await deps.objects.list(resource, ref.namespace, selectorToString(ref.selector));
    }
    const out: SourceMaterial[] = [];
    for (const obj of objects) {
      const where = `${at} (${kind} ${ref.namespace}/${obj.metadata.name}`;
      const keys = ref.key !== undefined ? [ref.key] : Object.keys(obj.data ?? {}).sort();
      for (const key of keys) {
        const raw = obj.data?.[key];
        if (raw === undefined) throw notFound(`${where}) has no key ${key}`);
        out.push({ source: `${where} key ${key})`, pem: kind === 'Secret' ? Buffer.from(raw, 'base64').toString('utf8') : raw });
      }
    }
    return out;
  }
  return [];
}

function secretValue(secret: DataObject | undefined, key: string, what: string): string {
  if (!secret) throw notFound(`${what} does not exist`);
  const raw = secret.data?.[key];
  if (raw === undefined) throw notFound(`${what} has no ${key}`);
  return Buffer.from(raw, 'base64').toString('utf8');
}

/** The first PEM block, re-encoded; malformed text is passed on whole for the builder to refuse with its reason. */
function firstBlock(pem: string): string {
  try {
    const first = splitPem(pem)[0];
    return first ? encodePem(first.label, first.der) : pem;
  } catch {
    return pem;
  }
}
