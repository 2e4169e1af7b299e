// Is the challenge record visible yet? One round of questions per call: the reconciler decides when to ask again,
// so nothing here sleeps or loops.
import { randomInt } from 'node:crypto';
import { CertsmithError, isCertsmithError } from '../../errors.ts';
import { DNS_PORT, formatServerAddress, parseServerAddress } from './address.ts';
import { DEFAULT_DNS_TIMEOUT_MS, exchange } from './transport.ts';
import type { ServerAddress } from './types.ts';
import { canonicalName, decodeMessage, encodeQuery, Rcode, rcodeName, RRType, sameName, txtValue, type Message } from './wire.ts';

export interface PropagationCheck {
  fqdn: string;
  value: string;
  /** host:port of each server to ask (port 53 when absent); usually the zone's authoritative servers. */
  nameservers: string[];
}

export interface PropagationResult {
  /** true when every server answered with the value. */
  visible: boolean;
  /** The servers (as given) that did not, in the order given. */
  missingOn: string[];
  /** Why asking a server failed, for the ones that could not be asked (unreachable, garbage); a subset of missingOn. */
  errors: { nameserver: string; message: string }[];
}

export interface DnsQueryOptions {
  /** Per server (default 10 s). */
  timeoutMs?: number;
  newId?: () => number;
}

/** Asks every server once, in parallel, for the TXT records at fqdn. */
export async function checkTxtPropagation(check: PropagationCheck, opts: DnsQueryOptions = {}): Promise<PropagationResult> {
  if (check.nameservers.length === 0) throw new CertsmithError('InvalidSpec', `no nameservers to check "${check.fqdn}" against`);
  const servers = check.nameservers.map((ns) => parseServerAddress(ns));
  const outcomes = await Promise.all(
    servers.map(async (server) => {
      try {
        // RD set: authoritative servers ignore it, and a resolver given here must recurse to answer at all.
        const answer = await ask(server, check.fqdn, RRType.TXT, true, opts);
        return { found: answerHasTxt(answer, check.fqdn, check.value) };
      } catch (err) {
        if (!isCertsmithError(err)) throw err;
        return { found: false, message: err.message };
      }
    }),
  );
  const missingOn: string[] = [];
  const errors: PropagationResult['errors'] = [];
  outcomes.forEach((o, i) => {
    const nameserver = check.nameservers[i]!;
    if (o.found) return;
    missingOn.push(nameserver);
    if (o.message !== undefined) errors.push({ nameserver, message: o.message });
  });
  return { visible: missingOn.length === 0, missingOn, errors };
}

/**
 * true when the answer holds a TXT record with exactly `value` at `fqdn`, or at the end of a CNAME chain from
 * it that the answer spells out (a delegated _acme-challenge name, as recursive resolvers return it).
 */
export function answerHasTxt(msg: Message, fqdn: string, value: string): boolean {
  if (msg.header.rcode !== Rcode.NOERROR) return false;
  const owners = new Set([canonicalName(fqdn)]);
  // Follow at most as many CNAMEs as the answer holds, so a loop ends.
  for (let i = 0; i < msg.answers.length; i++) {
    const next = msg.answers.find((rr) => rr.data.kind === 'CNAME' && owners.has(canonicalName(rr.name)) && !owners.has(canonicalName(rr.data.target)));
    if (next === undefined || next.data.kind !== 'CNAME') break;
    owners.add(canonicalName(next.data.target));
  }
  return msg.answers.some((rr) => rr.data.kind === 'TXT' && owners.has(canonicalName(rr.name)) && txtValue(rr.data) === value);
}

/**
 * Addresses ("ip:port") of a zone's authoritative nameservers, asked of a recursive resolver: NS records, then the
 * IPv4 address of each (glue from the same answer when present). Sorted, without duplicates. For when no explicit
 * list of nameservers to check is configured.
 */
export async function findAuthoritativeNameservers(
  query: { zone: string; resolver: string /** Port of the nameservers found (default 53). */; port?: number },
  opts: DnsQueryOptions = {},
): Promise<string[]> {
  const resolver = parseServerAddress(query.resolver);
  const where = `resolver ${formatServerAddress(resolver)}`;
  const nsAnswer = await ask(resolver, query.zone, RRType.NS, true, opts);
  const hosts = nameserverHosts(nsAnswer, query.zone);
  if (nsAnswer.header.rcode === Rcode.NXDOMAIN || (nsAnswer.header.rcode === Rcode.NOERROR && hosts.length === 0)) {
    throw new CertsmithError('Dns01ZoneNotFound', `${where} knows no NS records for zone "${canonicalName(query.zone)}": check the zone name`);
  }
  if (nsAnswer.header.rcode !== Rcode.NOERROR) {
    throw new CertsmithError(
      'Dns01BadResponse',
      `${where} answered ${rcodeName(nsAnswer.header.rcode)} when asked for the NS records of "${canonicalName(query.zone)}"`,
    );
  }
  const addresses = new Set<string>();
  for (const host of hosts) {
    let found = addressesOf(nsAnswer, host);
    if (found.length === 0) found = addressesOf(await ask(resolver, host, RRType.A, true, opts), host);
    for (const a of found) addresses.add(formatServerAddress({ host: a, port: query.port ?? DNS_PORT }));
  }
  if (addresses.size === 0) {
    throw new CertsmithError('Dns01ZoneNotFound', `${where} found no IPv4 address for the nameservers of "${canonicalName(query.zone)}" (${hosts.join(', ')})`);
  }
  return [...addresses].sort();
}

/** NS targets for `zone` in the answer section, sorted and unique. */
export function nameserverHosts(msg: Message, zone: string): string[] {
  const hosts = msg.answers.flatMap((rr) => (rr.data.kind === 'NS' && sameName(rr.name, zone) ? [canonicalName(rr.data.host)] : []));
  return [...new Set(hosts)].sort();
}

/** A records for `host` anywhere in the message (answer, or glue in additional), following a CNAME in the answer. */
export function addressesOf(msg: Message, host: string): string[] {
  const names = new Set([canonicalName(host)]);
  for (const rr of msg.answers) if (rr.data.kind === 'CNAME' && names.has(canonicalName(rr.name))) names.add(canonicalName(rr.data.target));
  return [...msg.answers, ...msg.additional].flatMap((rr) => (rr.data.kind === 'A' && names.has(canonicalName(rr.name)) ? [rr.data.address] : []));
}

async function ask(server: ServerAddress, name: string, type: number, recursionDesired: boolean, opts: DnsQueryOptions): Promise<Message> {
  const id = opts.newId?.() ?? randomInt(0x10000);
  return decodeMessage(await exchange(server, encodeQuery({ id, name, type, recursionDesired }), opts.timeoutMs ?? DEFAULT_DNS_TIMEOUT_MS));
}
