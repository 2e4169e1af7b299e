// Syntax of subject alternative names, and the canonical form of email addresses (IP addresses' is in
// pki/ip-address.ts). Pure (node:net's isIP and the URL parser do no I/O). Each *Problem function returns the end of
// a sentence that starts with the value, or undefined when the value is fine.
import { isIP } from 'node:net';

const MAX_DNS_NAME = 253;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

/** An RFC 1123 host name, compared case-insensitively; a wildcard only as the whole leftmost label. */
export function dnsNameProblem(name: string): string | undefined {
  if (name === '') return 'is empty';
  if (name.length > MAX_DNS_NAME) return `is ${name.length} characters long; the limit is ${MAX_DNS_NAME}`;
  // Non-ASCII names go into certificates in their A-label form; say so rather than "invalid label".
  if (/[^\x00-\x7f]/.test(name)) return 'has non-ASCII characters: write it in its punycode form (xn--…)';
  if (name.endsWith('.')) return 'ends with a dot: leave the trailing dot out';
  const labels = name.split('.');
  const wildcard = labels[0] === '*';
  if (wildcard && labels.length === 1) return 'is a bare wildcard: write it as *.example.com';
  for (const [i, label] of labels.entries()) {
    if (i === 0 && wildcard) continue;
    if (label.includes('*')) {
      return i === 0
        ? 'has a wildcard that is not the whole leftmost label: only *.example.com is allowed'
        : 'has a wildcard outside the leftmost label: only *.example.com is allowed';
    }
    if (label === '') return 'has an empty label (two dots in a row, or a leading dot)';
    if (label.length > 63) return `has a label of ${label.length} characters; the limit is 63`;
    if (!LABEL.test(label)) {
      return `has an invalid label "${label}": use letters, digits and hyphens, not starting or ending with a hyphen`;
    }
  }
  return undefined;
}

export function ipAddressProblem(ip: string): string | undefined {
  if (ip.includes('%')) return 'has a zone index, which a certificate cannot hold';
  return isIP(ip) === 0 ? 'is not an IPv4 or IPv6 address' : undefined;
}

export function uriProblem(uri: string): string | undefined {
  // The URL parser silently drops surrounding white space and tabs; a certificate would keep them.
  if (/\s/.test(uri)) return 'contains white space';
  if (!/^[a-z][a-z0-9+.-]*:/i.test(uri)) return 'has no scheme: write an absolute URI such as spiffe://cluster.local/ns/app';
  try {
    new URL(uri);
    return undefined;
  } catch {
    return 'is not a valid URI';
  }
}

// The dot-atom form of RFC 5322; quoted local parts are legal there but nobody puts them in certificates.
const LOCAL_PART = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/i;

export function emailAddressProblem(email: string): string | undefined {
  const at = email.indexOf('@');
  if (at < 0 || at !== email.lastIndexOf('@')) return 'is not of the form local@domain';
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (local === '' || domain === '') return 'is not of the form local@domain';
  if (local.length > 64) return `has a local part of ${local.length} characters; the limit is 64`;
  if (!LOCAL_PART.test(local)) return `has an invalid local part "${local}"`;
  if (domain.includes('*')) return 'has a wildcard in its domain';
  const problem = dnsNameProblem(domain);
  return problem ? `has a domain that ${problem}` : undefined;
}

/** Domains are case-insensitive, local parts are not (RFC 5321): lowercase only the domain. */
export function canonicalEmailAddress(email: string): string {
  const at = email.lastIndexOf('@');
  return at < 0 ? email : email.slice(0, at + 1) + email.slice(at + 1).toLowerCase();
}
