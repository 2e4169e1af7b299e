// How many certificates a retiring CA still protects: a CA leaves the bundles only when none it signed is in use.
import { createHash } from 'node:crypto';
import { CERTIFICATE_NAME_ANNOTATION } from '../../api/labels.ts';
import type { SecretObject } from '../../api/secret.ts';
import { describeCertificate, parseCertificatesPem } from '../../pki/index.ts';

/**
 * Unexpired leaves whose ca.crt is one of these CAs, among the Secrets Certificates wrote (a CA's own Secret is
 * not a leaf). Pure over the list; ca.crt fingerprints are memoised per call since many leaves share one CA.
 */
export function countLeavesSignedBy(secrets: readonly SecretObject[], caFingerprints: ReadonlySet<string>, now: Date): number {
  const memo = new Map<string, string | undefined>();
  let n = 0;
  for (const s of secrets) {
    if (!s.metadata.annotations?.[CERTIFICATE_NAME_ANNOTATION]) continue;
    const ca = s.data?.['ca.crt'];
    const leaf = s.data?.['tls.crt'];
    if (!ca || !leaf) continue;
    if (!memo.has(ca)) memo.set(ca, firstFingerprint(ca));
    const fp = memo.get(ca);
    if (!fp || !caFingerprints.has(fp)) continue;
    try {
      const der = parseCertificatesPem(Buffer.from(leaf, 'base64').toString('utf8'))[0];
      if (der && describeCertificate(der).notAfter > now) n++;
    } catch {
      // an unreadable leaf is re-issued by its Certificate anyway; it protects nothing
    }
  }
  return n;
}

function firstFingerprint(b64: string): string | undefined {
  try {
    const der = parseCertificatesPem(Buffer.from(b64, 'base64').toString('utf8'))[0];
    return der ? createHash('sha256').update(der).digest('hex') : undefined;
  } catch {
    return undefined;
  }
}
