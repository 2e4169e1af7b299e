// `certsmith check`: pure verdicts on what the command fetched — is each CRD installed and the same as the one
// this version generates, is the operator's Lease held and fresh — and their text form.
import type { KubeObject } from '../api/meta.ts';
import { formatTable, relativeTime, shortDuration } from './format.ts';

export interface CheckResult {
  /** What was checked: "api", "crd/certificates.certsmith.dev", "operator/lease", "operator/health". */
  name: string;
  ok: boolean;
  message: string;
}

export interface CheckReport {
  ok: boolean;
  checks: CheckResult[];
}

export function report(checks: CheckResult[]): CheckReport {
  return { ok: checks.every((c) => c.ok), checks };
}

type Json = unknown;
interface CrdVersion {
  name: string;
  served?: boolean;
  storage?: boolean;
  schema?: { openAPIV3Schema?: Json };
  subresources?: Json;
  additionalPrinterColumns?: Json;
}
export interface CrdLike extends KubeObject {
  spec?: { names?: { shortNames?: string[]; categories?: string[] }; scope?: string; versions?: CrdVersion[] };
  status?: { conditions?: { type: string; status: string; reason?: string; message?: string }[] };
}

/** Compares the CRD in the cluster with the one this version of certsmith generates. */
export function compareCrd(want: CrdLike, have: CrdLike | undefined): CheckResult {
  const name = `crd/${want.metadata.name}`;
  if (!have) return { name, ok: false, message: 'not installed: apply crds/ (or install the Helm chart)' };
  const established = have.status?.conditions?.find((c) => c.type === 'Established');
  if (established?.status !== 'True') {
    return { name, ok: false, message: `installed but not Established${established?.message ? `: ${established.message}` : ''}` };
  }
  const problems: string[] = [];
  if (want.spec?.scope !== have.spec?.scope) problems.push(`scope is ${have.spec?.scope}, want ${want.spec?.scope}`);
  for (const field of ['shortNames', 'categories'] as const) {
    const w = want.spec?.names?.[field] ?? [];
    const h = have.spec?.names?.[field] ?? [];
    if (!equalJson(w, h)) problems.push(`names.${field} differ`);
  }
  for (const wv of want.spec?.versions ?? []) {
    const hv = have.spec?.versions?.find((v) => v.name === wv.name);
    if (!hv) {
      problems.push(`version ${wv.name} missing`);
      continue;
    }
    if (!!hv.served !== !!wv.served) problems.push(`${wv.name} served is ${!!hv.served}`);
    if (!!hv.storage !== !!wv.storage) problems.push(`${wv.name} storage is ${!!hv.storage}`);
    const schemaDiffs = diffPaths(normalizeSchema(wv.schema?.openAPIV3Schema), normalizeSchema(hv.schema?.openAPIV3Schema), '');
    if (schemaDiffs.length > 0) problems.push(`${wv.name} schema differs at ${summarizePaths(schemaDiffs)}`);
    if (!equalJson(wv.subresources ?? {}, hv.subresources ?? {})) problems.push(`${wv.name} subresources differ`);
    if (!equalJson(wv.additionalPrinterColumns ?? [], hv.additionalPrinterColumns ?? [])) problems.push(`${wv.name} printer columns differ`);
  }
  if (problems.length > 0) {
    return { name, ok: false, message: `installed but out of date (${problems.join('; ')}): apply crds/ from this version` };
  }
  return { name, ok: true, message: 'installed, Established and current' };
}

export interface LeaseLike extends KubeObject {
  spec?: { holderIdentity?: string | null; leaseDurationSeconds?: number | null; renewTime?: string | null };
}

/** The operator is healthy when its Lease has a holder that renewed it within the lease duration. */
export function evaluateLease(lease: LeaseLike | undefined, where: string, now: Date): CheckResult {
  const name = 'operator/lease';
  if (!lease) {
    return {
      name,
      ok: false,
      message: `Lease ${where} not found: no operator replica has run with leader election here (or --operator-namespace/--lease differ)`,
    };
  }
  const holder = lease.spec?.holderIdentity;
  if (!holder) return { name, ok: false, message: `Lease ${where} is not held: no operator replica is leading (released at shutdown?)` };
  const renewed = lease.spec?.renewTime ? Date.parse(lease.spec.renewTime) : NaN;
  if (!Number.isFinite(renewed)) return { name, ok: false, message: `Lease ${where} held by ${holder} has no renewTime` };
  const durationMs = (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
  const ago = relativeTime(new Date(renewed), now);
  if (now.getTime() - renewed > durationMs) {
    return {
      name,
      ok: false,
      message: `Lease ${where} held by ${holder} was last renewed ${ago}, longer than its ${shortDuration(durationMs)} duration: the operator is stopped or cannot reach the API server`,
    };
  }
  return { name, ok: true, message: `Lease ${where} held by ${holder}, renewed ${ago}` };
}

export function formatCheck(r: CheckReport): string {
  const lines = formatTable(
    ['Check', 'Result', 'Detail'],
    r.checks.map((c) => [c.name, c.ok ? 'ok' : 'FAIL', c.message]),
  );
  const failed = r.checks.filter((c) => !c.ok).length;
  lines.push('', failed === 0 ? 'All checks passed.' : `${failed} of ${r.checks.length} checks failed.`);
  return lines.join('\n') + '\n';
}

/** JSON paths ("/properties/spec/type") where two JSON values differ; object keys compared in sorted order. */
export function diffPaths(a: Json, b: Json, path: string, limit = 10): string[] {
  const out: string[] = [];
  walk(a, b, path);
  return out;

  function walk(x: Json, y: Json, p: string): void {
    if (out.length >= limit) return;
    if (isObject(x) && isObject(y)) {
      for (const k of [...new Set([...Object.keys(x), ...Object.keys(y)])].sort()) walk(x[k], y[k], `${p}/${k}`);
      return;
    }
    if (Array.isArray(x) && Array.isArray(y) && x.length === y.length) {
      x.forEach((v, i) => walk(v, y[i], `${p}/${i}`));
      return;
    }
    if (!equalJson(x, y)) out.push(p || '/');
  }
}

// The API server stores a schema as Go structs whose empty lists and maps and false booleans are omitted
// (`properties: {}` comes back absent): compare with those dropped on both sides.
const OMITTED_WHEN_EMPTY = new Set([
  'properties',
  'required',
  'enum',
  'allOf',
  'anyOf',
  'oneOf',
  'patternProperties',
  'x-kubernetes-validations',
  'x-kubernetes-list-map-keys',
]);
const OMITTED_WHEN_FALSE = new Set([
  'nullable',
  'uniqueItems',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-int-or-string',
]);

/** A JSON schema as the API server would store it; pure. */
export function normalizeSchema(schema: Json): Json {
  if (!isObject(schema)) return schema;
  const out: Record<string, Json> = {};
  for (const [key, value] of Object.entries(schema)) {
    if (OMITTED_WHEN_EMPTY.has(key) && isEmpty(value)) continue;
    if (OMITTED_WHEN_FALSE.has(key) && value === false) continue;
    if (key === 'properties' && isObject(value)) {
      out[key] = Object.fromEntries(Object.entries(value).map(([name, child]) => [name, normalizeSchema(child)]));
    } else if (key === 'items' || (key === 'additionalProperties' && isObject(value))) {
      out[key] = normalizeSchema(value);
    } else {
      out[key] = value;
    }
  }
  return out;
}

function isEmpty(v: Json): boolean {
  return (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);
}

function summarizePaths(paths: string[]): string {
  return paths.length > 3 ? `${paths.slice(0, 3).join(', ')} and more` : paths.join(', ');
}

function equalJson(a: Json, b: Json): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: Json): Json {
  if (Array.isArray(v)) return v.map(canonical);
  if (isObject(v))
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, canonical(v[k])]),
    );
  return v;
}

function isObject(v: Json): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
