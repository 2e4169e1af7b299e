// `certsmith inspect`: the certificates a TLS Secret holds, decoded — the chain in tls.crt, ca.crt, the key type,
// whether tls.key matches, and which CA signed the leaf (checked by signature, not by name). No I/O: the Secret
// is passed in. Never prints key material.
import { CERTIFICATE_NAME_ANNOTATION, ISSUER_KIND_ANNOTATION, ISSUER_NAME_ANNOTATION, REVISION_ANNOTATION } from '../api/labels.ts';
import { CertsmithError } from '../errors.ts';
import { isSignedBy, keySpecOf, parseCertificatesPem, parsePrivateKeyPem, publicKeyMatches } from '../pki/index.ts';
import { describeKeySpec } from '../pki/keys.ts';
import { bytes, formatFields, list, timeWithRelative } from './format.ts';
import type { SecretObject } from '../api/secret.ts';
import { leafSummary, type LeafSummary } from './status-view.ts';

export interface InspectView {
  namespace: string;
  name: string;
  type?: string;
  keys: { name: string; bytes: number }[];
  revision?: number;
  /** certsmith.dev/certificate-name and issuer annotations, when the operator wrote the Secret. */
  certificateName?: string;
  issuerRef?: { kind: string; name: string };
  /** tls.crt, leaf first. */
  chain: LeafSummary[];
  /** ca.crt, when present. */
  ca: LeafSummary[];
  privateKey?: { type: string; matchesCertificate: boolean } | { error: string };
  /** Who signed the leaf, found by checking the signature against the rest of the chain and ca.crt. */
  signedBy: SignedBy;
}

export type SignedBy =
  | { kind: 'self'; subject: string }
  | { kind: 'chain' | 'ca.crt'; subject: string; fingerprintSha256: string }
  | { kind: 'unknown'; issuer: string };

/** Throws InvalidPEM when tls.crt is missing or unreadable: there is nothing to inspect then. */
export async function buildInspectView(secret: SecretObject): Promise<InspectView> {
  const data = secret.data ?? {};
  const text = (k: string) => (data[k] ? Buffer.from(data[k], 'base64').toString('utf8') : '');
  const where = `Secret ${secret.metadata.namespace ?? ''}/${secret.metadata.name}`;
  const crt = text('tls.crt');
  if (crt.trim() === '') throw new CertsmithError('InvalidPEM', `${where} has no tls.crt`);
  const chainDer = parseCertificatesPem(crt);
  if (chainDer.length === 0) throw new CertsmithError('InvalidPEM', `${where}: tls.crt holds no certificate`);
  const caText = text('ca.crt');
  const caDer = caText.trim() === '' ? [] : parseCertificatesPem(caText);
  const leafDer = chainDer[0]!;
  const chain = chainDer.map(leafSummary);
  const ca = caDer.map(leafSummary);

  let privateKey: InspectView['privateKey'];
  const keyText = text('tls.key');
  if (keyText.trim() !== '') {
    try {
      const key = parsePrivateKeyPem(keyText);
      privateKey = { type: describeKeySpec(keySpecOf(key)), matchesCertificate: publicKeyMatches(key, leafDer) };
    } catch (err) {
      privateKey = { error: (err as Error).message };
    }
  }

  const annotations = secret.metadata.annotations ?? {};
  const rev = Number(annotations[REVISION_ANNOTATION]);
  const issuerName = annotations[ISSUER_NAME_ANNOTATION];
  const certificateName = annotations[CERTIFICATE_NAME_ANNOTATION];
  const keys = Object.keys(data)
    .sort()
    .map((k) => ({ name: k, bytes: Buffer.from(data[k] ?? '', 'base64').length }));
  return {
    namespace: secret.metadata.namespace ?? '',
    name: secret.metadata.name,
    ...(secret.type ? { type: secret.type } : {}),
    keys,
    ...(Number.isInteger(rev) && rev > 0 ? { revision: rev } : {}),
    ...(certificateName ? { certificateName } : {}),
    ...(issuerName ? { issuerRef: { kind: annotations[ISSUER_KIND_ANNOTATION] ?? 'Issuer', name: issuerName } } : {}),
    chain,
    ca,
    ...(privateKey ? { privateKey } : {}),
    signedBy: await findSigner(leafDer, chain[0]!, chainDer.slice(1), caDer),
  };
}

async function findSigner(leafDer: Uint8Array, leaf: LeafSummary, rest: Uint8Array[], caDer: Uint8Array[]): Promise<SignedBy> {
  if (await isSignedBy(leafDer, leafDer)) return { kind: 'self', subject: leaf.subject };
  for (const [kind, candidates] of [
    ['chain', rest],
    ['ca.crt', caDer],
  ] as const) {
    for (const der of candidates) {
      if (await isSignedBy(leafDer, der).catch(() => false)) {
        const s = leafSummary(der);
        return { kind, subject: s.subject, fingerprintSha256: s.fingerprintSha256 };
      }
    }
  }
  return { kind: 'unknown', issuer: leaf.issuer };
}

export function formatInspect(v: InspectView, now: Date): string {
  const leaf = v.chain[0]!;
  const out = formatFields([
    ['Secret', `${v.namespace}/${v.name}`],
    ['Type', v.type],
    ['Data', v.keys.map((k) => `${k.name} (${bytes(k.bytes)})`).join(', ')],
    ['Certificate', v.certificateName ? `${v.namespace}/${v.certificateName}` : undefined],
    ['Issuer', v.issuerRef ? `${v.issuerRef.kind}/${v.issuerRef.name}` : undefined],
    ['Revision', v.revision?.toString()],
    ['Signed by', signedByText(v.signedBy)],
    ['Key', privateKeyText(v.privateKey, leaf.publicKey)],
    ['Names', list([...leaf.dnsNames, ...leaf.ipAddresses, ...leaf.uris, ...leaf.emailAddresses])],
    ['Expires', timeWithRelative(leaf.notAfter, now)],
  ]);
  v.chain.forEach((c, i) => {
    out.push('', i === 0 ? 'tls.crt [0] (leaf):' : `tls.crt [${i}]:`);
    out.push(...certificateLines(c, now));
  });
  v.ca.forEach((c, i) => {
    out.push('', `ca.crt [${i}]:`);
    out.push(...certificateLines(c, now));
  });
  return out.join('\n') + '\n';
}

function certificateLines(c: LeafSummary, now: Date): string[] {
  return formatFields(
    [
      ['Subject', c.subject || '(empty)'],
      ['Issuer', c.issuer],
      ['Serial', c.serialNumber],
      ['DNS names', c.dnsNames.length > 0 ? c.dnsNames.join(', ') : undefined],
      ['IP addresses', c.ipAddresses.length > 0 ? c.ipAddresses.join(', ') : undefined],
      ['URIs', c.uris.length > 0 ? c.uris.join(', ') : undefined],
      ['Emails', c.emailAddresses.length > 0 ? c.emailAddresses.join(', ') : undefined],
      ['Key', c.publicKey],
      ['CA', c.isCA ? 'yes' : 'no'],
      ['Not before', timeWithRelative(c.notBefore, now)],
      ['Not after', timeWithRelative(c.notAfter, now)],
      ['SHA-256', c.fingerprintSha256],
    ],
    '  ',
  );
}

function signedByText(s: SignedBy): string {
  switch (s.kind) {
    case 'self':
      return 'itself (self-signed)';
    case 'chain':
      return `${s.subject} (next in tls.crt; signature verified)`;
    case 'ca.crt':
      return `${s.subject} (ca.crt; signature verified)`;
    case 'unknown':
      return `${s.issuer} (not in this Secret; signature not checked)`;
  }
}

function privateKeyText(k: InspectView['privateKey'], certKey: string): string {
  if (!k) return `${certKey} (no tls.key)`;
  if ('error' in k) return `${certKey}; tls.key unreadable: ${k.error}`;
  return k.matchesCertificate ? `${k.type} (tls.key matches the certificate)` : `${k.type} (tls.key does NOT match the certificate, which has ${certKey})`;
}
