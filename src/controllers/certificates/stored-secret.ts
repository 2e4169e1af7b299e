// What the Certificate's Secret holds now, parsed once per reconcile, and the inputs the issuance policy decides
// on. Pure: anything unreadable is left undefined for the policy to name.
import { createHash, type KeyObject } from 'node:crypto';
import { ISSUER_KIND_ANNOTATION, ISSUER_NAME_ANNOTATION, REVISION_ANNOTATION } from '../../api/labels.ts';
import { describeCertificate, keySpecOf, parseCertificatesPem, parsePrivateKeyPem, publicKeyMatches } from '../../pki/index.ts';
import type { CertInfo, KeySpec } from '../../pki/types.ts';
import type { IssuanceInputs } from '../../policy/issuance.ts';
import { secretValue } from '../../signers/secret-data.ts';
import { leafRequest, type DesiredCertificate } from './desired.ts';
import type { SecretObject } from '../../api/secret.ts';

export interface StoredSecret {
  certificatePem?: string;
  privateKeyPem?: string;
  /** DER of the leaf in tls.crt. */
  certDer?: Uint8Array;
  cert?: CertInfo;
  privateKey?: KeyObject;
  keySpec?: KeySpec;
  keyMatchesCert: boolean;
  issuer?: { name: string; kind: string };
  revision?: number;
  /** SHA-256 of the first certificate in ca.crt (the signing CA). */
  caFingerprint?: string;
}

export function readStoredSecret(secret: SecretObject | undefined): StoredSecret | undefined {
  if (!secret) return undefined;
  const certificatePem = secretValue(secret.data, 'tls.crt');
  const privateKeyPem = secretValue(secret.data, 'tls.key');
  let cert: CertInfo | undefined;
  let certDer: Uint8Array | undefined;
  let privateKey: KeyObject | undefined;
  try {
    if (certificatePem) {
      certDer = parseCertificatesPem(certificatePem)[0];
      if (certDer) cert = describeCertificate(certDer);
    }
  } catch {
    cert = undefined;
  }
  try {
    if (privateKeyPem) privateKey = parsePrivateKeyPem(privateKeyPem);
  } catch {
    privateKey = undefined;
  }
  const annotations = secret.metadata.annotations ?? {};
  const issuerName = annotations[ISSUER_NAME_ANNOTATION];
  const rev = Number(annotations[REVISION_ANNOTATION]);
  let caFingerprint: string | undefined;
  try {
    const caDer = parseCertificatesPem(secretValue(secret.data, 'ca.crt') ?? '')[0];
    if (caDer) caFingerprint = createHash('sha256').update(caDer).digest('hex');
  } catch {
    caFingerprint = undefined;
  }
  return {
    ...(certificatePem ? { certificatePem } : {}),
    ...(privateKeyPem ? { privateKeyPem } : {}),
    ...(cert && certDer ? { cert, certDer } : {}),
    ...(privateKey ? { privateKey, keySpec: keySpecOf(privateKey) } : {}),
    keyMatchesCert: !!(privateKey && certDer && publicKeyMatches(privateKey, certDer)),
    ...(issuerName ? { issuer: { name: issuerName, kind: annotations[ISSUER_KIND_ANNOTATION] ?? 'Issuer' } } : {}),
    ...(Number.isInteger(rev) && rev > 0 ? { revision: rev } : {}),
    ...(caFingerprint ? { caFingerprint } : {}),
  };
}

export function issuanceInputs(
  now: Date,
  stored: StoredSecret | undefined,
  desired: DesiredCertificate,
  opts: { issuerSetsProfile?: boolean; earliestRenewalTime?: Date | undefined; issuerCaFingerprint?: string | undefined } = {},
): IssuanceInputs {
  return {
    now,
    secret: stored && {
      ...(stored.certificatePem ? { certificatePem: stored.certificatePem } : {}),
      ...(stored.privateKeyPem ? { privateKeyPem: stored.privateKeyPem } : {}),
      ...(stored.cert ? { cert: stored.cert } : {}),
      keyMatchesCert: stored.keyMatchesCert,
      ...(stored.keySpec ? { keySpec: stored.keySpec } : {}),
      ...(stored.issuer ? { issuerAnnotation: stored.issuer } : {}),
      ...(stored.caFingerprint ? { caFingerprint: stored.caFingerprint } : {}),
    },
    desired: {
      ...(desired.commonName ? { commonName: desired.commonName } : {}),
      ...leafRequest(desired),
      key: desired.key,
      issuer: desired.issuer,
    },
    ...(desired.renewBeforeMs !== undefined ? { renewBeforeMs: desired.renewBeforeMs } : {}),
    ...(desired.renewBeforePercentage !== undefined ? { renewBeforePercentage: desired.renewBeforePercentage } : {}),
    ...(opts.issuerSetsProfile ? { issuerSetsProfile: true } : {}),
    ...(opts.earliestRenewalTime ? { earliestRenewalTime: opts.earliestRenewalTime } : {}),
    ...(opts.issuerCaFingerprint ? { issuerCaFingerprint: opts.issuerCaFingerprint } : {}),
  };
}

/** Whether the certificate in the Secret came from this issuer (by the Secret's annotations). */
export function issuedBy(stored: StoredSecret | undefined, issuer: { name: string; kind: string }): boolean {
  return !!stored?.issuer && stored.issuer.name === issuer.name && (stored.issuer.kind || 'Issuer') === issuer.kind;
}
