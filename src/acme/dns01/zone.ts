// Finding the zone a challenge record belongs in, by asking for SOA from the record's name upwards. The asking is
// injected, so the walk and the reading of each answer are testable without a server.
import { CertsmithError } from '../../errors.ts';
import { canonicalName, isInZone, parentName, Rcode, RRType, sameName, type Message } from './wire.ts';

/**
 * What one SOA answer says: the apex when the name's zone is known, undefined to keep walking up.
 * An SOA in the answer for the name itself means the name is the apex. An SOA in the authority section (the
 * answer to a name below the apex, NXDOMAIN or no data) names the apex directly, which saves the rest of the walk.
 * Anything else (REFUSED from a server not authoritative for the name, a CNAME, an empty answer) says nothing.
 */
export function apexFromSoaAnswer(queried: string, msg: Message): string | undefined {
  if (msg.header.rcode !== Rcode.NOERROR && msg.header.rcode !== Rcode.NXDOMAIN) return undefined;
  if (msg.answers.some((rr) => rr.type === RRType.SOA && sameName(rr.name, queried))) return canonicalName(queried);
  const authority = msg.authority.find((rr) => rr.type === RRType.SOA && isInZone(queried, rr.name));
  return authority ? canonicalName(authority.name) : undefined;
}

/**
 * Asks for SOA at `fqdn`, then at each parent down to the top-level label (never the root: no nameserver we
 * update is the root's). Throws Dns01ZoneNotFound, naming every name asked, when no answer gives an apex.
 */
export async function findZoneBySoa(fqdn: string, askSoa: (name: string) => Promise<Message>, server: string): Promise<string> {
  const asked: string[] = [];
  for (let name: string | undefined = canonicalName(fqdn); name !== undefined && name !== ''; name = parentName(name)) {
    asked.push(name);
    const apex = apexFromSoaAnswer(name, await askSoa(name));
    if (apex !== undefined) return apex;
  }
  throw new CertsmithError(
    'Dns01ZoneNotFound',
    `${server} is authoritative for no zone containing "${canonicalName(fqdn)}" (asked SOA for ${asked.join(', ')}): ` +
      'set the zone explicitly, or check that the nameserver address points at the primary for this domain',
  );
}
