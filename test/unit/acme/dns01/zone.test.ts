import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCertsmithError } from '../../../../src/errors.ts';
import { apexFromSoaAnswer, findZoneBySoa } from '../../../../src/acme/dns01/zone.ts';
import { RRClass, RRType, type Message, type ResourceRecord } from '../../../../src/acme/dns01/wire.ts';

const soa = (name: string): ResourceRecord => ({
  name,
  type: RRType.SOA,
  class: RRClass.IN,
  ttl: 60,
  data: { kind: 'SOA', mname: `ns1.${name}`, rname: `hostmaster.${name}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 60 },
});
const cname = (name: string, target: string): ResourceRecord => ({ name, type: RRType.CNAME, class: RRClass.IN, ttl: 60, data: { kind: 'CNAME', target } });

function answer(rcode: number, sections: { answers?: ResourceRecord[]; authority?: ResourceRecord[] } = {}): Message {
  return {
    header: { id: 1, qr: true, opcode: 0, aa: true, tc: false, rd: false, ra: false, rcode },
    questions: [],
    answers: sections.answers ?? [],
    authority: sections.authority ?? [],
    additional: [],
  };
}

describe('reading one SOA answer', () => {
  const cases: { name: string; queried: string; msg: Message; apex: string | undefined }[] = [
    {
      name: 'an SOA in the answer for the name itself makes it the apex',
      queried: 'Example.COM.',
      msg: answer(0, { answers: [soa('example.com')] }),
      apex: 'example.com',
    },
    {
      name: 'an SOA in the authority section of NXDOMAIN names the apex',
      queried: '_acme-challenge.a.b.example.com',
      msg: answer(3, { authority: [soa('example.com')] }),
      apex: 'example.com',
    },
    {
      name: 'an SOA in the authority section of a no-data answer names the apex',
      queried: 'www.example.com',
      msg: answer(0, { authority: [soa('Example.com.')] }),
      apex: 'example.com',
    },
    {
      name: 'an authority SOA of a zone that does not contain the name says nothing',
      queried: 'www.example.org',
      msg: answer(3, { authority: [soa('example.com')] }),
      apex: undefined,
    },
    {
      name: 'an SOA in the answer for another name says nothing',
      queried: 'www.example.com',
      msg: answer(0, { answers: [soa('example.com')] }),
      apex: undefined,
    },
    { name: 'REFUSED from a server that does not serve the name says nothing', queried: 'example.org', msg: answer(5), apex: undefined },
    { name: 'SERVFAIL says nothing, even with an SOA', queried: 'example.com', msg: answer(2, { answers: [soa('example.com')] }), apex: undefined },
    {
      name: 'a CNAME alone says nothing',
      queried: '_acme-challenge.example.com',
      msg: answer(0, { answers: [cname('_acme-challenge.example.com', 'x.other.net')] }),
      apex: undefined,
    },
  ];
  for (const c of cases) it(c.name, () => assert.equal(apexFromSoaAnswer(c.queried, c.msg), c.apex));
});

describe('walking up for the zone', () => {
  /** A server that serves `zones` the way BIND does: SOA at the apex, authority SOA below it, REFUSED elsewhere. */
  function server(zones: string[]) {
    const asked: string[] = [];
    const askSoa = async (name: string) => {
      asked.push(name);
      const zone = zones.filter((z) => name === z || name.endsWith(`.${z}`)).sort((a, b) => b.length - a.length)[0];
      if (zone === undefined) return answer(5);
      return name === zone ? answer(0, { answers: [soa(zone)] }) : answer(3, { authority: [soa(zone)] });
    };
    return { asked, askSoa };
  }

  it('stops at the first answer that names the apex: one question for a deep name', async () => {
    const s = server(['example.com']);
    assert.equal(await findZoneBySoa('_acme-challenge.a.b.c.example.com.', s.askSoa, 'ns'), 'example.com');
    assert.deepEqual(s.asked, ['_acme-challenge.a.b.c.example.com']);
  });

  it('finds the most specific zone the server serves', async () => {
    const s = server(['example.com', 'sub.example.com']);
    assert.equal(await findZoneBySoa('_acme-challenge.www.sub.example.com', s.askSoa, 'ns'), 'sub.example.com');
  });

  it('keeps walking up past names the server refuses', async () => {
    const zones = ['example.com'];
    const asked: string[] = [];
    // A server that answers only at the apex (no authority SOA below it).
    const askSoa = async (name: string) => {
      asked.push(name);
      return zones.includes(name) ? answer(0, { answers: [soa(name)] }) : answer(5);
    };
    assert.equal(await findZoneBySoa('_acme-challenge.www.example.com', askSoa, 'ns'), 'example.com');
    assert.deepEqual(asked, ['_acme-challenge.www.example.com', 'www.example.com', 'example.com']);
  });

  it('gives up above the top-level label with Dns01ZoneNotFound naming the server and every name asked', async () => {
    const s = server(['example.com']);
    await assert.rejects(findZoneBySoa('a.example.org', s.askSoa, 'nameserver 192.0.2.53:53'), (err) => {
      return (
        isCertsmithError(err, 'Dns01ZoneNotFound') &&
        err.message.startsWith(
          'nameserver 192.0.2.53:53 is authoritative for no zone containing "a.example.org" (asked SOA for a.example.org, example.org, org)',
        )
      );
    });
    assert.deepEqual(s.asked, ['a.example.org', 'example.org', 'org'], 'never the root');
  });
});
