import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressesOf, answerHasTxt, nameserverHosts } from '../../../../src/acme/dns01/propagation.ts';
import { RRClass, RRType, txtData, type Message, type ResourceRecord } from '../../../../src/acme/dns01/wire.ts';

const rr = (name: string, data: ResourceRecord['data']): ResourceRecord => {
  const type = { TXT: RRType.TXT, CNAME: RRType.CNAME, NS: RRType.NS, A: RRType.A, SOA: RRType.SOA, TSIG: RRType.TSIG, raw: 99 }[data.kind];
  return { name, type, class: RRClass.IN, ttl: 60, data };
};
const txt = (name: string, value: string) => rr(name, txtData(value));
const cname = (name: string, target: string) => rr(name, { kind: 'CNAME', target });
const msg = (answers: ResourceRecord[], opts: { rcode?: number; additional?: ResourceRecord[] } = {}): Message => ({
  header: { id: 1, qr: true, opcode: 0, aa: true, tc: false, rd: true, ra: false, rcode: opts.rcode ?? 0 },
  questions: [],
  answers,
  authority: [],
  additional: opts.additional ?? [],
});

describe('does an answer hold the challenge value', () => {
  const fqdn = '_acme-challenge.example.com';
  const cases: { name: string; answer: Message; expected: boolean }[] = [
    { name: 'yes, when the TXT value matches exactly', answer: msg([txt(fqdn, 'v1')]), expected: true },
    { name: 'yes, among other values on the same name', answer: msg([txt(fqdn, 'other'), txt(fqdn, 'v1')]), expected: true },
    { name: 'yes, whatever the case of the owner name and its trailing dot', answer: msg([txt('_ACME-challenge.Example.com.', 'v1')]), expected: true },
    { name: 'no, when the value only ends with it', answer: msg([txt(fqdn, `${'a'.repeat(300)}v1`)]), expected: false },
    { name: 'no, when only another value is there', answer: msg([txt(fqdn, 'v2')]), expected: false },
    { name: 'no, when the value differs in case (values are not names)', answer: msg([txt(fqdn, 'V1')]), expected: false },
    { name: 'no, when the value is on another name', answer: msg([txt('_acme-challenge.www.example.com', 'v1')]), expected: false },
    { name: 'no, on NXDOMAIN', answer: msg([], { rcode: 3 }), expected: false },
    {
      name: 'yes, at the end of a CNAME chain the answer spells out',
      answer: msg([cname(fqdn, 'a.acme.net'), cname('a.acme.net', 'b.acme.net'), txt('b.acme.net', 'v1')]),
      expected: true,
    },
    { name: 'no, for a TXT on a name no CNAME leads to', answer: msg([cname(fqdn, 'a.acme.net'), txt('c.acme.net', 'v1')]), expected: false },
    { name: 'no, and no hang, for a CNAME loop', answer: msg([cname(fqdn, 'a.acme.net'), cname('a.acme.net', fqdn)]), expected: false },
  ];
  for (const c of cases) it(c.name, () => assert.equal(answerHasTxt(c.answer, fqdn, 'v1'), c.expected));

  it('yes, for a long value split over several character-strings', () => {
    const value = 'x'.repeat(600);
    assert.equal(answerHasTxt(msg([txt(fqdn, value)]), fqdn, value), true);
  });
});

describe('reading nameservers and their addresses', () => {
  it('lists the NS targets of the zone, sorted, unique, lower-cased', () => {
    const answer = msg([
      rr('example.com', { kind: 'NS', host: 'NS2.example.net.' }),
      rr('Example.com.', { kind: 'NS', host: 'ns1.example.net' }),
      rr('example.com', { kind: 'NS', host: 'ns2.example.net' }),
      rr('sub.example.com', { kind: 'NS', host: 'ns9.example.net' }),
    ]);
    assert.deepEqual(nameserverHosts(answer, 'example.com.'), ['ns1.example.net', 'ns2.example.net']);
  });

  it('takes addresses from glue in the additional section and from the answer, following a CNAME', () => {
    const answer = msg([cname('ns1.example.net', 'host.example.net'), rr('host.example.net', { kind: 'A', address: '192.0.2.1' })], {
      additional: [rr('NS1.example.net', { kind: 'A', address: '192.0.2.2' }), rr('ns2.example.net', { kind: 'A', address: '192.0.2.3' })],
    });
    assert.deepEqual(addressesOf(answer, 'ns1.example.net.'), ['192.0.2.1', '192.0.2.2']);
  });
});
