// The Certificate's spec with every default filled in: what the issued certificate must look like. Pure.
import { DEFAULT_DURATION, DEFAULT_USAGES, type CertificateSpec } from '../../api/certificate.ts';
import type { KeyEncoding, KeySpec, KeyUsageName, SubjectFields } from '../../pki/types.ts';
import type { LeafRequest } from '../../signers/issue.ts';
import { parseDuration } from '../../time/duration.ts';

export interface DesiredCertificate {
  secretName: string;
  issuer: { name: string; kind: 'Issuer' | 'ClusterIssuer' };
  commonName?: string;
  subject: SubjectFields;
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
  emailAddresses: string[];
  usages: KeyUsageName[];
  isCA: boolean;
  key: KeySpec;
  keyEncoding: KeyEncoding;
  rotateKey: boolean;
  durationMs: number;
  renewBeforeMs?: number;
  renewBeforePercentage?: number;
  combinedPem: boolean;
  derKey: boolean;
  secretLabels: Record<string, string>;
  secretAnnotations: Record<string, string>;
}

const DEFAULT_KEY_SIZE: Record<KeySpec['algorithm'], number | undefined> = { RSA: 2048, ECDSA: 256, Ed25519: undefined };

/** Assumes the spec passed validation: durations parse. */
export function desiredCertificate(spec: CertificateSpec): DesiredCertificate {
  const algorithm = spec.privateKey?.algorithm ?? 'ECDSA';
  const size = algorithm === 'Ed25519' ? undefined : (spec.privateKey?.size ?? DEFAULT_KEY_SIZE[algorithm]);
  const formats = new Set((spec.additionalOutputFormats ?? []).map((f) => f.type));
  const subject: SubjectFields = {
    ...(spec.commonName ? { commonName: spec.commonName } : {}),
    ...(spec.subject?.organizations ? { organizations: spec.subject.organizations } : {}),
    ...(spec.subject?.organizationalUnits ? { organizationalUnits: spec.subject.organizationalUnits } : {}),
    ...(spec.subject?.countries ? { countries: spec.subject.countries } : {}),
    ...(spec.subject?.localities ? { localities: spec.subject.localities } : {}),
    ...(spec.subject?.provinces ? { provinces: spec.subject.provinces } : {}),
  };
  const usages = new Set<KeyUsageName>(spec.usages ?? DEFAULT_USAGES);
  if (spec.isCA) {
    usages.add('cert sign');
    usages.add('crl sign');
  }
  return {
    secretName: spec.secretName,
    issuer: { name: spec.issuerRef.name, kind: spec.issuerRef.kind ?? 'Issuer' },
    ...(spec.commonName ? { commonName: spec.commonName } : {}),
    subject,
    dnsNames: spec.dnsNames ?? [],
    ipAddresses: spec.ipAddresses ?? [],
    uris: spec.uris ?? [],
    emailAddresses: spec.emailAddresses ?? [],
    usages: [...usages].sort(),
    isCA: spec.isCA ?? false,
    key: size === undefined ? { algorithm } : { algorithm, size },
    keyEncoding: algorithm === 'Ed25519' ? 'PKCS8' : (spec.privateKey?.encoding ?? 'PKCS1'),
    rotateKey: (spec.privateKey?.rotationPolicy ?? 'Always') === 'Always',
    durationMs: parseDuration(spec.duration ?? DEFAULT_DURATION),
    ...(spec.renewBefore ? { renewBeforeMs: parseDuration(spec.renewBefore) } : {}),
    ...(spec.renewBeforePercentage ? { renewBeforePercentage: spec.renewBeforePercentage } : {}),
    combinedPem: formats.has('CombinedPEM'),
    derKey: formats.has('DER'),
    secretLabels: spec.secretTemplate?.labels ?? {},
    secretAnnotations: spec.secretTemplate?.annotations ?? {},
  };
}

/** What a signer is asked for: the subject, the names, the usages, the CA flag and the lifetime. */
export function leafRequest(desired: DesiredCertificate): LeafRequest {
  const { subject, dnsNames, ipAddresses, uris, emailAddresses, usages, isCA, durationMs } = desired;
  return { subject, dnsNames, ipAddresses, uris, emailAddresses, usages, isCA, durationMs };
}
