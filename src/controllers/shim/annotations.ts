// The annotations with which an Ingress (or a Gateway) asks for Certificates, and what they mean. Pure.
//
// Values are checked with the same parsers and schema as a Certificate's spec, so a bad value reads the same here as
// it would in a Certificate's condition; each message names the annotation and the value.
import { CertificateSpec, IssuerRef } from '../../api/certificate.ts';
import type { IssuerKind } from '../../api/issuer.ts';
import { parseDuration } from '../../time/duration.ts';
import { validateCertificateSpec } from '../../policy/validate-certificate.ts';

/** The Certificate fields an annotation can set. */
export type ShimField =
  | 'commonName'
  | 'duration'
  | 'renewBefore'
  | 'renewBeforePercentage'
  | 'privateKeyAlgorithm'
  | 'privateKeySize'
  | 'privateKeyRotationPolicy'
  | 'usages'
  | 'http01EditInPlace';

const FIELD_SUFFIX: Record<ShimField, string> = {
  commonName: 'common-name',
  duration: 'duration',
  renewBefore: 'renew-before',
  renewBeforePercentage: 'renew-before-percentage',
  privateKeyAlgorithm: 'private-key-algorithm',
  privateKeySize: 'private-key-size',
  privateKeyRotationPolicy: 'private-key-rotation-policy',
  usages: 'usages',
  http01EditInPlace: 'acme-http01-edit-in-place',
};

const keysUnder = (prefix: string) => Object.fromEntries(Object.entries(FIELD_SUFFIX).map(([f, s]) => [f, `${prefix}${s}`])) as Record<ShimField, string>;

export const ISSUER_ANNOTATION = 'certsmith.dev/issuer';
export const CLUSTER_ISSUER_ANNOTATION = 'certsmith.dev/cluster-issuer';
/** certsmith.dev/<field>: common-name, duration, renew-before, ... */
export const FIELD_ANNOTATIONS: Readonly<Record<ShimField, string>> = keysUnder('certsmith.dev/');
/** "true": use the operator's default issuer (--default-issuer-kind/--default-issuer-name), as kube-lego did. */
export const TLS_ACME_ANNOTATION = 'kubernetes.io/tls-acme';

// cert-manager's names, honoured only with --honour-cert-manager-annotations, so a cluster can switch operators
// without editing its Ingresses. Its edit-in-place annotation lives under acme.cert-manager.io/.
export const CERT_MANAGER_ISSUER_ANNOTATION = 'cert-manager.io/issuer';
export const CERT_MANAGER_CLUSTER_ISSUER_ANNOTATION = 'cert-manager.io/cluster-issuer';
export const CERT_MANAGER_FIELD_ANNOTATIONS: Readonly<Record<ShimField, string>> = {
  ...keysUnder('cert-manager.io/'),
  http01EditInPlace: 'acme.cert-manager.io/http01-edit-in-place',
};

export interface AnnotationOptions {
  honourCertManager: boolean;
  /** What kubernetes.io/tls-acme: "true" asks for; without it that annotation is not ours to act on. */
  defaultIssuer?: { kind: IssuerKind; name: string } | undefined;
}

/** The Certificate spec fields the annotations set (absent ones are left to the Certificate's defaults). */
export type AnnotatedFields = Pick<CertificateSpec, 'commonName' | 'duration' | 'renewBefore' | 'renewBeforePercentage' | 'privateKey' | 'usages'>;

export type AnnotationResult =
  | { kind: 'notAnnotated' }
  | { kind: 'invalid'; problems: string[] }
  | {
      kind: 'annotated';
      issuerRef: { name: string; kind: IssuerKind };
      fields: AnnotatedFields;
      /** Answer HTTP-01 by adding the challenge path to the annotated object itself. */
      http01EditInPlace: boolean;
    };

const keySchema = CertificateSpec.shape.privateKey.unwrap().shape;
const ALGORITHMS = keySchema.algorithm.unwrap();
const ROTATION_POLICIES = keySchema.rotationPolicy.unwrap();
const PERCENTAGE = CertificateSpec.shape.renewBeforePercentage.unwrap();
const USAGE = CertificateSpec.shape.usages.unwrap().element;
const WHOLE_NUMBER = /^\d+$/;
const MAX_ISSUER_NAME = IssuerRef.shape.name.maxLength ?? 253;
// How much of an over-long value a problem quotes: enough to recognise it.
const QUOTED_START = 16;

export function certificateSpecFromAnnotations(annotations: Readonly<Record<string, string>> | undefined, opts: AnnotationOptions): AnnotationResult {
  const ann = annotations ?? {};
  const issuer = issuerFrom(ann, opts);
  if (!issuer) return { kind: 'notAnnotated' };

  const problems: string[] = [...issuer.problems];
  /** The annotation setting a field: certsmith.dev/ first, then cert-manager's when honoured. */
  const lookup = (field: ShimField): { key: string; value: string } | undefined => {
    const own = FIELD_ANNOTATIONS[field];
    if (ann[own] !== undefined) return { key: own, value: ann[own] };
    const theirs = CERT_MANAGER_FIELD_ANNOTATIONS[field];
    if (opts.honourCertManager && ann[theirs] !== undefined) return { key: theirs, value: ann[theirs] };
    return undefined;
  };
  const bad = (a: { key: string; value: string }, why: string) => problems.push(`${a.key}: "${a.value}" ${why}`);
  const setBy = new Map<ShimField, { key: string; value: string }>();
  const fields: AnnotatedFields = {};
  const privateKey: NonNullable<AnnotatedFields['privateKey']> = {};

  const commonName = lookup('commonName');
  if (commonName) {
    if (commonName.value.trim() === '') bad(commonName, 'is empty: give a name, or leave the annotation out');
    else fields.commonName = commonName.value.trim();
    setBy.set('commonName', commonName);
  }
  for (const field of ['duration', 'renewBefore'] as const) {
    const a = lookup(field);
    if (!a) continue;
    try {
      parseDuration(a.value);
      fields[field] = a.value;
      setBy.set(field, a);
    } catch (err) {
      problems.push(`${a.key}: ${(err as Error).message}`);
    }
  }
  const pct = lookup('renewBeforePercentage');
  if (pct) {
    const n = WHOLE_NUMBER.test(pct.value) ? Number(pct.value) : NaN;
    if (!PERCENTAGE.safeParse(n).success) bad(pct, 'is not a percentage: use a whole number from 1 to 99');
    else fields.renewBeforePercentage = n;
  }
  const algorithm = lookup('privateKeyAlgorithm');
  if (algorithm) {
    const parsed = ALGORITHMS.safeParse(algorithm.value);
    if (!parsed.success) bad(algorithm, `is not supported: use ${orList(ALGORITHMS.options)}`);
    else privateKey.algorithm = parsed.data;
  }
  const size = lookup('privateKeySize');
  if (size) {
    if (!WHOLE_NUMBER.test(size.value)) bad(size, 'is not a key size: use a whole number of bits, such as 2048 (RSA) or 256 (ECDSA)');
    else {
      privateKey.size = Number(size.value);
      setBy.set('privateKeySize', size);
    }
  }
  const rotation = lookup('privateKeyRotationPolicy');
  if (rotation) {
    const parsed = ROTATION_POLICIES.safeParse(rotation.value);
    if (!parsed.success) bad(rotation, `is not supported: use ${orList(ROTATION_POLICIES.options)}`);
    else privateKey.rotationPolicy = parsed.data;
  }
  if (Object.keys(privateKey).length > 0) fields.privateKey = privateKey;
  const usages = lookup('usages');
  if (usages) {
    const names = usages.value
      .split(',')
      .map((u) => u.trim())
      .filter(Boolean);
    const unknown = names.filter((u) => !USAGE.safeParse(u).success);
    if (names.length === 0) bad(usages, 'names no usage: list them separated by commas, such as "digital signature,key encipherment,server auth"');
    else if (unknown.length > 0)
      bad(usages, `has unknown usages ${unknown.map((u) => `"${u}"`).join(', ')}: use ${USAGE.options.map((u) => `"${u}"`).join(', ')}`);
    else fields.usages = names.map((u) => USAGE.parse(u));
  }
  const editInPlace = lookup('http01EditInPlace');
  if (editInPlace && editInPlace.value !== 'true' && editInPlace.value !== 'false') bad(editInPlace, 'is not "true" or "false"');

  if (fields.renewBefore !== undefined && fields.renewBeforePercentage !== undefined) {
    problems.push(`${setBy.get('renewBefore')!.key} and ${pct!.key} are both set: keep only one`);
  } else {
    problems.push(...crossFieldProblems(fields, setBy));
  }

  if (problems.length > 0) return { kind: 'invalid', problems };
  return { kind: 'annotated', issuerRef: issuer.ref!, fields, http01EditInPlace: editInPlace?.value === 'true' };
}

/** Which issuer the annotations name; undefined when they name none (the object is not ours to act on). */
function issuerFrom(
  ann: Readonly<Record<string, string>>,
  opts: AnnotationOptions,
): { ref?: { name: string; kind: IssuerKind }; problems: string[] } | undefined {
  const pick = (issuerKey: string, clusterIssuerKey: string) => {
    const i = ann[issuerKey];
    const ci = ann[clusterIssuerKey];
    if (i === undefined && ci === undefined) return undefined;
    if (i !== undefined && ci !== undefined) return { problems: [`${issuerKey} and ${clusterIssuerKey} are both set: keep only one`] };
    const [key, value, kind] = i !== undefined ? [issuerKey, i, 'Issuer' as const] : [clusterIssuerKey, ci!, 'ClusterIssuer' as const];
    const name = value.trim();
    if (name === '') return { problems: [`${key}: "${value}" is empty: name the ${kind}`] };
    // The Certificate would name it in issuerRef, which the API server refuses past this length.
    if (name.length > MAX_ISSUER_NAME) {
      const start = [...name.slice(0, 2 * QUOTED_START)].slice(0, QUOTED_START).join('');
      return {
        problems: [
          `${key}: "${start}…" (${name.length} characters) is too long for ${kind === 'Issuer' ? 'an' : 'a'} ${kind} name: the limit is ${MAX_ISSUER_NAME}`,
        ],
      };
    }
    return { ref: { name, kind }, problems: [] };
  };
  const own = pick(ISSUER_ANNOTATION, CLUSTER_ISSUER_ANNOTATION);
  if (own) return own;
  if (opts.honourCertManager) {
    const theirs = pick(CERT_MANAGER_ISSUER_ANNOTATION, CERT_MANAGER_CLUSTER_ISSUER_ANNOTATION);
    if (theirs) return theirs;
  }
  if (ann[TLS_ACME_ANNOTATION] === 'true' && opts.defaultIssuer) return { ref: { ...opts.defaultIssuer }, problems: [] };
  return undefined;
}

// Problems only a whole spec shows (a key size for the algorithm, renewBefore against duration, the minimum
// duration, the common name's length), from the Certificate's own validation, told against the annotation.
const FIELD_OF_PROBLEM: [prefix: string, field: ShimField][] = [
  ['privateKey.size', 'privateKeySize'],
  ['renewBefore ', 'renewBefore'],
  ['duration ', 'duration'],
  ['commonName ', 'commonName'],
];

function crossFieldProblems(fields: AnnotatedFields, setBy: ReadonlyMap<ShimField, { key: string; value: string }>): string[] {
  const placeholder = { secretName: 'placeholder', issuerRef: { name: 'placeholder' }, dnsNames: ['placeholder.example'] };
  const out: string[] = [];
  for (const problem of validateCertificateSpec({ ...placeholder, ...fields })) {
    const field = FIELD_OF_PROBLEM.find(([prefix]) => problem.startsWith(prefix))?.[1];
    const a = field && setBy.get(field);
    if (a) out.push(`${a.key}: ${problem}`);
  }
  return out;
}

function orList(values: readonly string[]): string {
  return values.length < 2 ? values.join('') : `${values.slice(0, -1).join(', ')} or ${values[values.length - 1]}`;
}
