// X.509 names: the subject DN from SubjectFields, and the subjectAltName list, shared by certificates and CSRs.
import { CertsmithError } from '../errors.ts';
import { ipAddressText } from './ip-address.ts';
import type * as x509 from './x509.ts';
import type { SubjectFields } from './types.ts';

export interface AltNames {
  dnsNames: string[];
  ipAddresses: string[];
  uris: string[];
  emailAddresses: string[];
}

/** The subject DN in the conventional order (C, ST, L, O, OU, CN); empty when no field is set. */
export function subjectName(s: SubjectFields): x509.JsonName {
  const name: x509.JsonName = [];
  const add = (type: string, values: readonly string[] | undefined) => {
    for (const v of values ?? []) name.push({ [type]: [v] });
  };
  add('C', s.countries);
  add('ST', s.provinces);
  add('L', s.localities);
  add('O', s.organizations);
  add('OU', s.organizationalUnits);
  if (s.commonName) add('CN', [s.commonName]);
  return name;
}

export function generalNames(names: AltNames): x509.JsonGeneralName[] {
  return [
    ...names.dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...names.ipAddresses.map((value) => ({ type: 'ip' as const, value: ipForEncoding(value) })),
    ...names.uris.map((value) => ({ type: 'url' as const, value })),
    ...names.emailAddresses.map((value) => ({ type: 'email' as const, value })),
  ];
}

// @peculiar/x509 reads IPv6 with an embedded IPv4 part ("::ffff:1.2.3.4") as hex and silently encodes the wrong
// address, so IPv6 goes to it in pure hex form; anything that is not an IP (zone ids included) is refused here.
function ipForEncoding(ip: string): string {
  const text = ipAddressText(ip);
  if (text === undefined) throw new CertsmithError('SigningFailed', `ipAddresses: "${ip}" is not an IPv4 or IPv6 address`);
  return text;
}
