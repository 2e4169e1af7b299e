// Key usage names as Certificate specs spell them, and how to compare two sets of them.
import type { KeyUsageName } from '../pki/types.ts';

export const KEY_USAGE_NAMES = [
  'signing',
  'digital signature',
  'content commitment',
  'key encipherment',
  'key agreement',
  'data encipherment',
  'cert sign',
  'crl sign',
  'encipher only',
  'decipher only',
  'any',
  'server auth',
  'client auth',
  'code signing',
  'email protection',
  's/mime',
  'ipsec end system',
  'ipsec tunnel',
  'ipsec user',
  'timestamping',
  'ocsp signing',
  'microsoft sgc',
  'netscape sgc',
] as const satisfies readonly KeyUsageName[];

// Fails to compile when KeyUsageName gains a name this list lacks.
type MissingUsageNames = Exclude<KeyUsageName, (typeof KEY_USAGE_NAMES)[number]>;
const everyUsageListed: [MissingUsageNames] extends [never] ? true : MissingUsageNames = true;
void everyUsageListed;

const KNOWN = new Set<string>(KEY_USAGE_NAMES);

export function isKeyUsageName(value: string): value is KeyUsageName {
  return KNOWN.has(value);
}

// Two names for the same bit or OID: a certificate read back only ever shows the second one.
const ALIASES: Partial<Record<KeyUsageName, KeyUsageName>> = {
  signing: 'digital signature',
  's/mime': 'email protection',
};

/** The set of usages with aliases folded, deduplicated and sorted, so two lists can be compared. */
export function canonicalUsages(names: readonly KeyUsageName[]): KeyUsageName[] {
  return [...new Set(names.map((n) => ALIASES[n] ?? n))].sort();
}
