// Whether an IssuancePolicy lets a Certificate be issued. Pure: the policies and the namespace's labels are passed in.
//
// Policies govern issuers (spec.issuers). An issuer no policy governs follows the cluster default (allow, or deny
// when the operator runs with --issuance-policy-default=Deny). Of the policies that govern the issuer, those that
// select the Certificate's namespace are tried in name order: the first that allows every requested field allows the
// Certificate; if none does, the refusal names the first one's first rule broken and the field that broke it. A
// policy that cannot be read (a duration that does not parse) allows nothing: it fails closed.
import { IssuancePolicySpec, type IssuerSelector, type PolicyAllowed } from '../api/issuance-policy.ts';
import { formatZodIssues } from '../api/zod-issues.ts';
import { canonicalIpAddress, ipInRange } from '../pki/ip-address.ts';
import type { KeySpec, KeyUsageName } from '../pki/types.ts';
import { compareStrings } from '../ordering.ts';
import { parseDuration } from '../time/duration.ts';
import { matchesSelector } from '../trust/selector.ts';

export interface PolicyRequest {
  namespace: string;
  issuer: { kind: 'Issuer' | 'ClusterIssuer'; name: string };
  commonName?: string | undefined;
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
  uris: readonly string[];
  emailAddresses: readonly string[];
  isCA: boolean;
  key: KeySpec;
  usages: readonly KeyUsageName[];
  durationMs: number;
}

/** A policy as cached: its name and its spec, not yet trusted to parse. */
export interface PolicyObject {
  name: string;
  spec: unknown;
}

export type PolicyDefault = 'Allow' | 'Deny';

export type PolicyDecision =
  /** `by`: the policy that allowed it; undefined when no policy governs the issuer and the default allows. */
  { allowed: true; by?: string } | { allowed: false; by?: string; message: string };

export function evaluateIssuancePolicy(
  req: PolicyRequest,
  policies: readonly PolicyObject[],
  namespaceLabels: Readonly<Record<string, string>> | undefined,
  defaultDecision: PolicyDefault,
): PolicyDecision {
  const issuer = `${req.issuer.kind} ${req.issuer.name}`;
  const governing = [...policies].sort((a, b) => compareStrings(a.name, b.name)).filter((p) => governs(p.spec, req.issuer));
  if (governing.length === 0) {
    return defaultDecision === 'Allow'
      ? { allowed: true }
      : { allowed: false, message: `no IssuancePolicy governs ${issuer}, and the operator denies what no policy allows` };
  }
  const parsed = governing.map((p) => ({ name: p.name, result: IssuancePolicySpec.safeParse(p.spec) }));
  const selecting = parsed.filter((p) => !p.result.success || selectsNamespace(p.result.data.namespaces, req.namespace, namespaceLabels));
  if (selecting.length === 0) {
    const names = governing.map((p) => p.name).join(', ');
    return { allowed: false, message: `namespace ${req.namespace} may not use ${issuer}: IssuancePolicy ${names} governs it and selects other namespaces` };
  }
  let first: { by: string; message: string } | undefined;
  for (const p of selecting) {
    const problem = p.result.success ? firstViolation(req, p.result.data.allowed) : `the policy does not parse (${formatZodIssues(p.result.error)})`;
    if (problem === undefined) return { allowed: true, by: p.name };
    first ??= { by: p.name, message: `IssuancePolicy ${p.name}: ${problem}` };
  }
  return { allowed: false, ...first! };
}

function governs(spec: unknown, issuer: PolicyRequest['issuer']): boolean {
  const issuers = (spec as { issuers?: unknown } | undefined)?.issuers;
  if (!Array.isArray(issuers)) return false;
  return issuers.some((s: Partial<IssuerSelector>) => s?.kind === issuer.kind && (s.name === '*' || s.name === issuer.name));
}

function selectsNamespace(ns: IssuancePolicySpec['namespaces'], namespace: string, labels: Readonly<Record<string, string>> | undefined): boolean {
  if (ns.names?.some((n) => n === '*' || n === namespace)) return true;
  // A namespace not in the cache (yet) has no labels to match: a selector then does not select it.
  return ns.selector !== undefined && labels !== undefined && matchesSelector(labels, ns.selector);
}

/** The first requested field the policy does not allow, as a message naming the field and the rule; undefined if none. */
export function firstViolation(req: PolicyRequest, allowed: PolicyAllowed): string | undefined {
  for (const [i, name] of req.dnsNames.entries()) {
    if (!dnsNameAllowed(name, allowed)) return `spec.dnsNames[${i}] "${name}" is not allowed by spec.allowed.dnsNames or spec.allowed.dnsZones`;
  }
  for (const [i, ip] of req.ipAddresses.entries()) {
    if (!(allowed.ipRanges ?? []).some((r) => ipInRange(ip, r) === true)) return `spec.ipAddresses[${i}] "${ip}" is not in spec.allowed.ipRanges`;
  }
  for (const [i, uri] of req.uris.entries()) {
    if (!(allowed.uris ?? []).some((p) => globMatches(p, uri, '/'))) return `spec.uris[${i}] "${uri}" is not allowed by spec.allowed.uris`;
  }
  for (const [i, email] of req.emailAddresses.entries()) {
    const lower = email.toLowerCase();
    if (!(allowed.emailAddresses ?? []).some((p) => globMatches(p.toLowerCase(), lower, '@'))) {
      return `spec.emailAddresses[${i}] "${email}" is not allowed by spec.allowed.emailAddresses`;
    }
  }
  if (req.commonName !== undefined && !commonNameAllowed(req, allowed)) {
    return `spec.commonName "${req.commonName}" is neither one of the requested names nor allowed by spec.allowed.dnsNames or spec.allowed.dnsZones`;
  }
  if (req.isCA && allowed.isCA !== true) return 'spec.isCA is true and spec.allowed.isCA does not allow CA certificates';
  if (
    allowed.privateKeys &&
    !allowed.privateKeys.some((k) => k.algorithm === req.key.algorithm && (k.minSize === undefined || (req.key.size ?? 0) >= k.minSize))
  ) {
    const key = req.key.size === undefined ? req.key.algorithm : `${req.key.algorithm} ${req.key.size}`;
    return `spec.privateKey ${key} is not allowed by spec.allowed.privateKeys`;
  }
  if (allowed.usages) {
    const usage = req.usages.find((u) => !allowed.usages!.includes(u));
    if (usage !== undefined) return `spec.usages "${usage}" is not allowed by spec.allowed.usages`;
  }
  if (allowed.maxDuration !== undefined) {
    let maxMs: number;
    try {
      maxMs = parseDuration(allowed.maxDuration);
    } catch {
      return `spec.allowed.maxDuration "${allowed.maxDuration}" is not a duration, so the policy allows nothing`;
    }
    if (req.durationMs > maxMs) return `spec.duration (${req.durationMs / 1000}s) is longer than spec.allowed.maxDuration ${allowed.maxDuration}`;
  }
  return undefined;
}

function normalizeDnsName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** Exact, or a one-label wildcard "*.zone" (any single label, and the wildcard name itself), or at or below a zone. */
export function dnsNameAllowed(name: string, allowed: Pick<PolicyAllowed, 'dnsNames' | 'dnsZones'>): boolean {
  const n = normalizeDnsName(name);
  for (const pattern of allowed.dnsNames ?? []) {
    const p = normalizeDnsName(pattern);
    if (n === p) return true;
    if (p.startsWith('*.')) {
      const suffix = p.slice(1); // ".zone"
      const label = n.endsWith(suffix) ? n.slice(0, -suffix.length) : undefined;
      if (label && label !== '*' && !label.includes('.')) return true;
    }
  }
  for (const zone of allowed.dnsZones ?? []) {
    const z = normalizeDnsName(zone);
    if (n === z || n.endsWith(`.${z}`)) return true;
  }
  return false;
}

function commonNameAllowed(req: PolicyRequest, allowed: PolicyAllowed): boolean {
  const cn = req.commonName!;
  const lower = cn.toLowerCase();
  const requested =
    req.dnsNames.some((d) => normalizeDnsName(d) === normalizeDnsName(cn)) ||
    req.ipAddresses.some((ip) => canonicalIpAddress(ip) === canonicalIpAddress(cn)) ||
    req.emailAddresses.some((e) => e.toLowerCase() === lower) ||
    req.uris.includes(cn);
  return requested || dnsNameAllowed(cn, allowed);
}

/** "*" matches any run of characters other than `stop`; everything else literally. Linear: no backtracking blow-up. */
export function globMatches(pattern: string, text: string, stop: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === text;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (!text.startsWith(first) || !text.endsWith(last) || text.length < first.length + last.length) return false;
  let pos = first.length;
  const end = text.length - last.length;
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i]!;
    const at = i === parts.length - 1 ? end : text.indexOf(part, pos);
    // Each part lies after the one before it and ends before the last part begins: they may not share characters.
    if (at < pos || (i < parts.length - 1 && at + part.length > end)) return false;
    // The run the "*" before this part covered must not cross a stop character.
    if (text.slice(pos, at).includes(stop)) return false;
    pos = at + part.length;
  }
  return true;
}
