// The generations of a managed CA and how they sit in its Secret:
//   tls.crt, tls.key          the signing generation (what loadCaSigner reads, as for a CA the user manages)
//   pending.crt, pending.key  the next generation: published, not signing yet
//   ca.crt                    every live generation, oldest first: what TrustBundles publish
// A generation in ca.crt that is neither signing nor pending is retiring; its key is no longer kept.
// Reading and building are pure; creating a generation only generates a key and signs.
import { createHash } from 'node:crypto';
import { describeCertificate, encodePem, encodePrivateKeyPem, generatePrivateKey, parseCertificatesPem, signCertificate } from '../pki/index.ts';
import type { KeySpec } from '../pki/types.ts';
import type { CaGeneration } from '../policy/ca-rotation.ts';
import { encodeSecretValue, secretValue } from './secret-data.ts';
import { compareStrings } from '../ordering.ts';

export interface StoredGeneration extends CaGeneration {
  der: Uint8Array;
  /** PEM private key; kept for the signing and pending generations only. */
  keyPem?: string;
}

export interface CaGenerations {
  signing?: StoredGeneration;
  pending?: StoredGeneration;
  retiring: StoredGeneration[];
}

function parseOne(pem: string | undefined, keyPem?: string): StoredGeneration | undefined {
  if (!pem) return undefined;
  try {
    return toGeneration(parseCertificatesPem(pem)[0]!, keyPem);
  } catch {
    return undefined; // the operator wrote it; anything unreadable is treated as absent and replaced
  }
}

function toGeneration(der: Uint8Array, keyPem?: string): StoredGeneration {
  const info = describeCertificate(der);
  return { der, fingerprint: info.fingerprintSha256, notBefore: info.notBefore, notAfter: info.notAfter, ...(keyPem ? { keyPem } : {}) };
}

export function readGenerations(data: Record<string, string> | undefined): CaGenerations {
  const signingKey = secretValue(data, 'tls.key');
  const pendingKey = secretValue(data, 'pending.key');
  const signing = signingKey ? parseOne(secretValue(data, 'tls.crt'), signingKey) : undefined;
  const pending = pendingKey ? parseOne(secretValue(data, 'pending.crt'), pendingKey) : undefined;
  let all: Uint8Array[] = [];
  try {
    all = parseCertificatesPem(secretValue(data, 'ca.crt') ?? '');
  } catch {
    all = [];
  }
  const known = new Set([signing?.fingerprint, pending?.fingerprint]);
  const retiring: StoredGeneration[] = [];
  for (const der of all) {
    const fp = createHash('sha256').update(der).digest('hex');
    if (known.has(fp)) continue;
    known.add(fp);
    retiring.push(toGeneration(der));
  }
  return { ...(signing ? { signing } : {}), ...(pending ? { pending } : {}), retiring };
}

/** Every generation, oldest first (by notBefore, then fingerprint): the bundle order in ca.crt. */
export function liveGenerations(g: CaGenerations): StoredGeneration[] {
  const all = [...g.retiring, ...(g.signing ? [g.signing] : []), ...(g.pending ? [g.pending] : [])];
  return all.sort((a, b) => a.notBefore.getTime() - b.notBefore.getTime() || compareStrings(a.fingerprint, b.fingerprint));
}

/** The Secret data (base64) for these generations. */
export function generationsData(g: CaGenerations): Record<string, string> {
  const data: Record<string, string> = {
    'ca.crt': encodeSecretValue(
      liveGenerations(g)
        .map((x) => encodePem('CERTIFICATE', x.der))
        .join(''),
    ),
  };
  if (g.signing?.keyPem) {
    data['tls.crt'] = encodeSecretValue(encodePem('CERTIFICATE', g.signing.der));
    data['tls.key'] = encodeSecretValue(g.signing.keyPem);
  }
  if (g.pending?.keyPem) {
    data['pending.crt'] = encodeSecretValue(encodePem('CERTIFICATE', g.pending.der));
    data['pending.key'] = encodeSecretValue(g.pending.keyPem);
  }
  return Object.fromEntries(
    Object.keys(data)
      .sort()
      .map((k) => [k, data[k]!]),
  );
}

export function roleOf(g: CaGenerations, fingerprint: string): 'signing' | 'published' | 'retiring' {
  if (g.signing?.fingerprint === fingerprint) return 'signing';
  if (g.pending?.fingerprint === fingerprint) return 'published';
  return 'retiring';
}

/** A new self-signed CA generation. */
export async function createGeneration(o: { commonName: string; durationMs: number; key: KeySpec }, now: Date): Promise<StoredGeneration> {
  const privateKey = await generatePrivateKey(o.key);
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const der = await signCertificate({
    publicKey: privateKey,
    subject: { commonName: o.commonName },
    dnsNames: [],
    ipAddresses: [],
    uris: [],
    emailAddresses: [],
    usages: ['cert sign', 'crl sign', 'digital signature'],
    isCA: true,
    notBefore,
    notAfter: new Date(notBefore.getTime() + o.durationMs),
    signer: { privateKey },
  });
  return toGeneration(der, encodePrivateKeyPem(privateKey, 'PKCS8'));
}
