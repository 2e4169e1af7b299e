// What to order from an ACME CA for a Certificate, and whether it can be ordered at all. Pure.
import { createHash } from 'node:crypto';
import type { AcmeSolver } from '../api/issuer.ts';
import { canonicalIpAddress } from '../pki/ip-address.ts';
import type { AcmeIdentifier } from './client.ts';
import { chooseSolver, type ChallengeType } from './solver-selection.ts';

export interface OrderRequest {
  dnsNames: readonly string[];
  ipAddresses: readonly string[];
  commonName?: string | undefined;
  uris: readonly string[];
  emailAddresses: readonly string[];
  isCA: boolean;
}

/** What the spec asks that an ACME CA cannot issue; empty when it can be ordered. */
export function acmeSpecProblems(req: OrderRequest): string[] {
  const problems: string[] = [];
  if (req.isCA) problems.push('isCA cannot be requested from an ACME issuer: use a CA or selfSigned issuer for CA certificates');
  if (req.uris.length > 0) problems.push('uris cannot be requested from an ACME issuer: ACME CAs validate DNS names and IP addresses only');
  if (req.emailAddresses.length > 0) problems.push('emailAddresses cannot be requested from an ACME issuer: ACME CAs validate DNS names and IP addresses only');
  if (req.dnsNames.length + req.ipAddresses.length === 0) problems.push('an ACME certificate needs at least one of dnsNames or ipAddresses');
  const sans = new Set([...req.dnsNames.map((n) => n.toLowerCase()), ...req.ipAddresses.map(canonicalIpAddress)]);
  if (req.commonName && !sans.has(req.commonName.toLowerCase()) && !sans.has(canonicalIpAddress(req.commonName))) {
    problems.push(`commonName "${req.commonName}" must also be listed in dnsNames or ipAddresses: ACME CAs only put validated names in a certificate`);
  }
  return problems;
}

/**
 * The identifiers of the order: DNS names lower-cased and deduplicated, then IP addresses as RFC 8738 writes them
 * (IPv6 per RFC 5952, as the CA names the authorization); sorted, so deterministic.
 */
export function orderIdentifiers(req: OrderRequest): AcmeIdentifier[] {
  const dns = [...new Set(req.dnsNames.map((n) => n.toLowerCase()))].sort();
  const ips = [...new Set(req.ipAddresses.map(canonicalIpAddress))].sort();
  return [...dns.map((value) => ({ type: 'dns' as const, value })), ...ips.map((value) => ({ type: 'ip' as const, value }))];
}

/** A new order is needed when any of these differ from the order in progress. */
export function requestDigest(issuerId: string, server: string, identifiers: readonly AcmeIdentifier[], profile: string | undefined): string {
  return createHash('sha256')
    .update(JSON.stringify([issuerId, server, identifiers.map((i) => `${i.type}:${i.value}`), profile ?? '']))
    .digest('hex')
    .slice(0, 32);
}

export type SolverPlan = { ok: true; solvers: Map<string, { index: number; type: ChallengeType }> } | { ok: false; message: string };

/** A solver for every identifier, or the first reason there is none (then no order must be placed). */
export function planSolvers(identifiers: readonly AcmeIdentifier[], solvers: readonly AcmeSolver[], labels: Readonly<Record<string, string>>): SolverPlan {
  const chosen = new Map<string, { index: number; type: ChallengeType }>();
  const problems: string[] = [];
  for (const id of identifiers) {
    const c = chooseSolver(id, solvers, labels);
    if (c.ok) chosen.set(id.value, { index: c.index, type: c.type });
    else problems.push(c.message);
  }
  return problems.length > 0 ? { ok: false, message: problems.join('; ') } : { ok: true, solvers: chosen };
}

/** The authorization's identifier as the Certificate names it: a wildcard authorization is for "*.<value>". */
export function authorizationName(authz: { identifier: AcmeIdentifier; wildcard?: boolean }): string {
  return authz.wildcard ? `*.${authz.identifier.value}` : authz.identifier.value;
}

/** DNS-01: the TXT record for a name (RFC 8555 8.4), absolute with a trailing dot. */
export function dns01RecordName(name: string): string {
  const base = name.startsWith('*.') ? name.slice(2) : name;
  return `_acme-challenge.${base.replace(/\.$/, '')}.`;
}
