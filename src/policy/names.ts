// Syntax checks for subject alternative names. Pure.
import { isIP } from 'node:net';

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/** RFC 1123 host name; a wildcard only as the whole leftmost label ("*.example.com"). */
export function dnsNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'is empty';
  if (name.length > 253) return 'is longer than 253 characters';
  const labels = name.replace(/\.$/, '').split('.');
  const [first, ...rest] = labels;
  if (first === '*') {
    if (rest.length < 2) return 'is a wildcard without at least two labels after it';
  } else if (first?.includes('*')) {
    return 'has a wildcard that is not the whole leftmost label';
  }
  const checked = first === '*' ? rest : labels;
  for (const label of checked) {
    if (label.includes('*')) return 'has a wildcard that is not the whole leftmost label';
    if (!LABEL.test(label)) return label === '' ? 'has an empty label' : `has an invalid label "${label}"`;
  }
  return undefined;
}

export function ipProblem(ip: string): string | undefined {
  return isIP(ip) === 0 ? 'is not an IPv4 or IPv6 address' : undefined;
}

export function uriProblem(uri: string): string | undefined {
  if (/\s/.test(uri)) return 'contains white space';
  try {
    const u = new URL(uri);
    return u.protocol ? undefined : 'has no scheme';
  } catch {
    return 'is not an absolute URI with a scheme';
  }
}

export function emailProblem(email: string): string | undefined {
  const at = email.lastIndexOf('@');
  if (at <= 0 || at === email.length - 1) return 'is not of the form local@domain';
  const local = email.slice(0, at);
  if (/[\s<>()[\]\\,;:"]/.test(local)) return 'has characters not allowed in the local part';
  const domainProblem = dnsNameProblem(email.slice(at + 1));
  return domainProblem ? `has a domain that ${domainProblem}` : undefined;
}
