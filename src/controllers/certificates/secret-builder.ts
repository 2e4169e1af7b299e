// Builds the kubernetes.io/tls Secret for an issued certificate. Pure and deterministic.
import {
  CERTIFICATE_NAME_ANNOTATION,
  CERTIFICATE_NAME_LABEL,
  ISSUER_KIND_ANNOTATION,
  ISSUER_NAME_ANNOTATION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  REVISION_ANNOTATION,
  SHARD_LABEL,
} from '../../api/labels.ts';
import type { SecretObject } from '../../api/secret.ts';
import { encodeSecretValue } from '../../signers/secret-data.ts';
import type { DesiredCertificate } from './desired.ts';

export interface SecretContents {
  certificatePem: string;
  /** The issuing CA; absent for ACME, whose CAs do not hand out their root. */
  caPem?: string;
  privateKeyPem: string;
  privateKeyDer: Uint8Array;
}

export function buildSecret(
  namespace: string,
  certName: string,
  desired: DesiredCertificate,
  contents: SecretContents,
  revision: number,
  resourceVersion?: string,
  /** The Certificate's shard label (--shards): its Secret is cached by the replica working that shard. */
  shardLabel?: string,
): SecretObject {
  const data: Record<string, string> = {
    ...(contents.caPem ? { 'ca.crt': encodeSecretValue(contents.caPem) } : {}),
    'tls.crt': encodeSecretValue(contents.certificatePem),
    'tls.key': encodeSecretValue(contents.privateKeyPem),
  };
  if (desired.combinedPem) data['tls-combined.pem'] = encodeSecretValue(contents.privateKeyPem + contents.certificatePem);
  if (desired.derKey) data['key.der'] = encodeSecretValue(contents.privateKeyDer);
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: desired.secretName,
      namespace,
      ...(resourceVersion ? { resourceVersion } : {}),
      labels: {
        ...withoutKey(desired.secretLabels, SHARD_LABEL),
        [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
        [CERTIFICATE_NAME_LABEL]: certName,
        ...(shardLabel ? { [SHARD_LABEL]: shardLabel } : {}),
      },
      annotations: {
        ...desired.secretAnnotations,
        [CERTIFICATE_NAME_ANNOTATION]: certName,
        [ISSUER_NAME_ANNOTATION]: desired.issuer.name,
        [ISSUER_KIND_ANNOTATION]: desired.issuer.kind,
        [REVISION_ANNOTATION]: String(revision),
      },
    },
    type: 'kubernetes.io/tls',
    data: sortKeys(data),
  };
}

function sortKeys(o: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.keys(o)
      .sort()
      .map((k) => [k, o[k]!]),
  );
}

/** A secretTemplate cannot place the Secret in a shard: only the Certificate's own label does. */
function withoutKey(labels: Record<string, string>, key: string): Record<string, string> {
  if (!(key in labels)) return labels;
  const { [key]: _dropped, ...rest } = labels;
  return rest;
}
