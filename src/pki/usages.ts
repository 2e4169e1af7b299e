// Key usage names (as cert-manager users write them) ↔ X.509 keyUsage bits and extendedKeyUsage OIDs.
import { KeyUsageFlags } from './x509.ts';
import type { KeyUsageName } from './types.ts';

export const KEY_USAGE_BITS: Partial<Record<KeyUsageName, KeyUsageFlags>> = {
  signing: KeyUsageFlags.digitalSignature,
  'digital signature': KeyUsageFlags.digitalSignature,
  'content commitment': KeyUsageFlags.nonRepudiation,
  'key encipherment': KeyUsageFlags.keyEncipherment,
  'key agreement': KeyUsageFlags.keyAgreement,
  'data encipherment': KeyUsageFlags.dataEncipherment,
  'cert sign': KeyUsageFlags.keyCertSign,
  'crl sign': KeyUsageFlags.cRLSign,
  'encipher only': KeyUsageFlags.encipherOnly,
  'decipher only': KeyUsageFlags.decipherOnly,
};

export const EXT_KEY_USAGE_OIDS: Partial<Record<KeyUsageName, string>> = {
  any: '2.5.29.37.0',
  'server auth': '1.3.6.1.5.5.7.3.1',
  'client auth': '1.3.6.1.5.5.7.3.2',
  'code signing': '1.3.6.1.5.5.7.3.3',
  'email protection': '1.3.6.1.5.5.7.3.4',
  's/mime': '1.3.6.1.5.5.7.3.4',
  'ipsec end system': '1.3.6.1.5.5.7.3.5',
  'ipsec tunnel': '1.3.6.1.5.5.7.3.6',
  'ipsec user': '1.3.6.1.5.5.7.3.7',
  timestamping: '1.3.6.1.5.5.7.3.8',
  'ocsp signing': '1.3.6.1.5.5.7.3.9',
  'microsoft sgc': '1.3.6.1.4.1.311.10.3.3',
  'netscape sgc': '2.16.840.1.113730.4.1',
};

/** Canonical names when reading a certificate back (aliases such as "signing" and "s/mime" fold). */
export function usageNamesFromBits(bits: number): KeyUsageName[] {
  const canonical: [KeyUsageFlags, KeyUsageName][] = [
    [KeyUsageFlags.digitalSignature, 'digital signature'],
    [KeyUsageFlags.nonRepudiation, 'content commitment'],
    [KeyUsageFlags.keyEncipherment, 'key encipherment'],
    [KeyUsageFlags.keyAgreement, 'key agreement'],
    [KeyUsageFlags.dataEncipherment, 'data encipherment'],
    [KeyUsageFlags.keyCertSign, 'cert sign'],
    [KeyUsageFlags.cRLSign, 'crl sign'],
    [KeyUsageFlags.encipherOnly, 'encipher only'],
    [KeyUsageFlags.decipherOnly, 'decipher only'],
  ];
  return canonical.filter(([bit]) => (bits & bit) !== 0).map(([, name]) => name);
}

export function usageNamesFromOids(oids: readonly string[]): KeyUsageName[] {
  const names: KeyUsageName[] = [];
  for (const [name, oid] of Object.entries(EXT_KEY_USAGE_OIDS) as [KeyUsageName, string][]) {
    if (name === 's/mime') continue;
    if (oids.includes(oid)) names.push(name);
  }
  return names;
}

/** The same set of usages, written canonically (alias names folded), sorted. */
export function canonicalUsages(names: readonly KeyUsageName[]): KeyUsageName[] {
  const fold: Partial<Record<KeyUsageName, KeyUsageName>> = { signing: 'digital signature', 's/mime': 'email protection' };
  return [...new Set(names.map((n) => fold[n] ?? n))].sort();
}
