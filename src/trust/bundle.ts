// Builds a trust bundle from the PEM text of its sources: only CERTIFICATE blocks pass (a private key anywhere
// refuses the whole bundle), duplicates collapse by SHA-256 of the DER, and the output is sorted by that
// fingerprint, so the same set of certificates gives byte-identical PEM and the same hash on every run. Pure.
//
// Every block must load in both @peculiar/x509 (which reads the fields) and OpenSSL (node:crypto): a PEM file is
// loaded whole by `openssl verify -CAfile`, Python's ssl, Go and certsmith/reload, so one certificate only the
// lenient parser reads would make the bundle unusable in every target namespace. Such a block refuses the whole
// bundle, like any other bad block, and the targets keep the last bundle that loaded.
import { createHash, X509Certificate as OpenSSLCertificate } from 'node:crypto';
import { CertsmithError } from '../errors.ts';
import { encodePem, splitPem } from '../pki/pem.ts';
import * as x509 from '../pki/x509.ts';

/** The PEM text one source yielded, with a description for messages ("configMap team-a/roots key ca.crt"). */
export interface SourceMaterial {
  source: string;
  pem: string;
}

export interface BundleOptions {
  now: Date;
  excludeExpired?: boolean;
  excludeNonCA?: boolean;
  /** ConfigMap and Secret data may hold at most 1 MiB. */
  maxBytes?: number;
}

export interface BundleCertificate {
  fingerprint: string;
  subject: string;
  notAfter: Date;
  isCA: boolean;
}

export interface Bundle {
  pem: string;
  /** SHA-256 of `pem`, lowercase hex: equal hashes mean equal bytes. */
  hash: string;
  /** In bundle order (by fingerprint). */
  certificates: BundleCertificate[];
  earliestExpiry: Date;
  /** Certificates the filters left out. */
  excluded: { expired: number; nonCA: number };
  /** Certificates in the bundle that have expired (only when excludeExpired is off). */
  expired: number;
}

export const MAX_BUNDLE_BYTES = 1024 * 1024;

interface Parsed extends BundleCertificate {
  der: Uint8Array;
  notBefore: Date;
}

/**
 * Throws PrivateKeyInSource (a key in any source), InvalidPEM (garbage, a non-certificate block, a block that is
 * not X.509 or that OpenSSL does not load), BundleExpired (every certificate expired), BundleEmpty (nothing left), BundleTooLarge.
 */
export function buildBundle(materials: readonly SourceMaterial[], opts: BundleOptions): Bundle {
  const byFingerprint = new Map<string, Parsed>();
  for (const m of materials) {
    for (const cert of parseSource(m)) byFingerprint.set(cert.fingerprint, cert);
  }
  const all = [...byFingerprint.values()];
  const now = opts.now.getTime();
  const isExpired = (c: Parsed) => c.notAfter.getTime() <= now;
  if (all.length > 0 && all.every(isExpired)) {
    throw new CertsmithError('BundleExpired', `all ${all.length} certificate(s) from the sources have expired`);
  }
  const excluded = { expired: 0, nonCA: 0 };
  const kept = all.filter((c) => {
    if (opts.excludeExpired && isExpired(c)) return (excluded.expired++, false);
    if (opts.excludeNonCA && !c.isCA) return (excluded.nonCA++, false);
    return true;
  });
  if (kept.length === 0) {
    const why = all.length === 0 ? 'the sources hold no certificates' : `the filters left out all ${all.length} certificate(s)`;
    throw new CertsmithError('BundleEmpty', `the bundle would be empty: ${why}`);
  }
  // Checked again on what is kept: excludeNonCA may leave only the expired ones.
  if (kept.every(isExpired)) {
    throw new CertsmithError('BundleExpired', `all ${kept.length} certificate(s) left after the filters have expired`);
  }
  kept.sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : a.fingerprint > b.fingerprint ? 1 : 0));
  const pem = kept.map((c) => encodePem('CERTIFICATE', c.der)).join('');
  const bytes = Buffer.byteLength(pem);
  const max = opts.maxBytes ?? MAX_BUNDLE_BYTES;
  if (bytes > max) {
    throw new CertsmithError(
      'BundleTooLarge',
      `the bundle of ${kept.length} certificates is ${bytes} bytes, more than the ${max} a ConfigMap or Secret can hold`,
    );
  }
  return {
    pem,
    hash: createHash('sha256').update(pem).digest('hex'),
    certificates: kept.map(({ fingerprint, subject, notAfter, isCA }) => ({ fingerprint, subject, notAfter, isCA })),
    earliestExpiry: new Date(Math.min(...kept.map((c) => c.notAfter.getTime()))),
    excluded,
    expired: kept.filter(isExpired).length,
  };
}

function parseSource(m: SourceMaterial): Parsed[] {
  let blocks;
  try {
    blocks = splitPem(m.pem);
  } catch (err) {
    throw new CertsmithError('InvalidPEM', `${m.source}: ${(err as Error).message}`, { cause: err });
  }
  // Checked before anything else, and the message never quotes the block: a key must not travel further.
  if (blocks.some((b) => b.label.includes('PRIVATE KEY'))) {
    throw new CertsmithError('PrivateKeyInSource', `${m.source} holds a private key; it is refused and nothing from it is copied`);
  }
  if (blocks.length === 0) throw new CertsmithError('InvalidPEM', `${m.source}: no PEM CERTIFICATE block found`);
  const other = blocks.find((b) => b.label !== 'CERTIFICATE');
  if (other) throw new CertsmithError('InvalidPEM', `${m.source}: expected only CERTIFICATE blocks, found a "${other.label}" block`);
  return blocks.map((b, i) => {
    const block = `${m.source}: CERTIFICATE block ${i + 1} of ${blocks.length}`;
    const fingerprint = createHash('sha256').update(b.der).digest('hex');
    let parsed: Parsed;
    try {
      const cert = new x509.X509Certificate(b.der);
      const bc = cert.getExtension(x509.BasicConstraintsExtension);
      parsed = { der: b.der, fingerprint, subject: cert.subject, notBefore: cert.notBefore, notAfter: cert.notAfter, isCA: bc?.ca ?? false };
    } catch (err) {
      throw new CertsmithError('InvalidPEM', `${block} is not a valid X.509 certificate`, { cause: err });
    }
    try {
      new OpenSSLCertificate(b.der);
    } catch (err) {
      // The fingerprint tells which block it is; the subject as the lenient parser read it may be anything.
      throw new CertsmithError(
        'InvalidPEM',
        `${block} (SHA-256 ${fingerprint.slice(0, 16)}) does not load in OpenSSL; a bundle holding it would not load in openssl, Python or certsmith/reload`,
        { cause: err },
      );
    }
    return parsed;
  });
}
