import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AcmeSolver } from '../../../src/api/issuer.ts';
import { chooseSolver } from '../../../src/acme/solver-selection.ts';

type Selector = NonNullable<AcmeSolver['selector']>;
const http01 = (selector?: Selector): AcmeSolver => ({ http01: {}, ...(selector ? { selector } : {}) });
const dns01 = (selector?: Selector): AcmeSolver => ({
  dns01: { webhook: { url: 'https://dns.example.net/hook' } },
  ...(selector ? { selector } : {}),
});
const dns = (value: string) => ({ type: 'dns' as const, value });
const ip = (value: string) => ({ type: 'ip' as const, value });
const labels = { team: 'web', env: 'prod' };

describe('chooseSolver picks the most specific solver that can validate the name', () => {
  const cases: {
    name: string;
    identifier: { type: 'dns' | 'ip'; value: string };
    solvers: AcmeSolver[];
    labels?: Record<string, string>;
    expected: { index: number; type: 'http-01' | 'dns-01' };
  }[] = [
    {
      name: 'a lone solver without a selector takes every name',
      identifier: dns('www.example.com'),
      solvers: [http01()],
      expected: { index: 0, type: 'http-01' },
    },
    { name: 'a dns01 solver answers with dns-01', identifier: dns('www.example.com'), solvers: [dns01()], expected: { index: 0, type: 'dns-01' } },
    {
      name: 'without selectors the first in the list wins',
      identifier: dns('www.example.com'),
      solvers: [dns01(), http01()],
      expected: { index: 0, type: 'dns-01' },
    },
    {
      name: 'a dnsNames match beats a longer dnsZone match',
      identifier: dns('a.b.example.com'),
      solvers: [dns01({ dnsZones: ['b.example.com'] }), http01({ dnsNames: ['a.b.example.com'] })],
      expected: { index: 1, type: 'http-01' },
    },
    {
      name: 'a dnsNames match beats a selector with more matchLabels',
      identifier: dns('www.example.com'),
      solvers: [dns01({ matchLabels: labels }), http01({ dnsNames: ['www.example.com'] })],
      labels,
      expected: { index: 1, type: 'http-01' },
    },
    {
      name: 'the longest matching dnsZone wins, whatever the list order',
      identifier: dns('www.sub.example.com'),
      solvers: [http01({ dnsZones: ['example.com'] }), dns01({ dnsZones: ['sub.example.com'] }), http01({ dnsZones: ['com'] })],
      expected: { index: 1, type: 'dns-01' },
    },
    {
      name: 'a dnsZone match beats a selector with more matchLabels',
      identifier: dns('www.example.com'),
      solvers: [http01({ matchLabels: labels }), dns01({ dnsZones: ['example.com'] })],
      labels,
      expected: { index: 1, type: 'dns-01' },
    },
    {
      name: 'with equal zones, more matchLabels win',
      identifier: dns('www.example.com'),
      solvers: [
        http01({ dnsZones: ['example.com'], matchLabels: { team: 'web' } }),
        dns01({ dnsZones: ['example.com'], matchLabels: labels }),
        http01({ dnsZones: ['example.com'] }),
      ],
      labels,
      expected: { index: 1, type: 'dns-01' },
    },
    {
      name: 'with nothing else to tell them apart, a labelled selector beats a bare solver',
      identifier: dns('www.example.com'),
      solvers: [http01(), dns01({ matchLabels: { team: 'web' } })],
      labels,
      expected: { index: 1, type: 'dns-01' },
    },
    {
      name: 'with equal specificity the first in the list wins',
      identifier: dns('www.example.com'),
      solvers: [http01({ matchLabels: { team: 'web' } }), dns01({ matchLabels: { env: 'prod' } })],
      labels,
      expected: { index: 0, type: 'http-01' },
    },
    {
      name: 'a selector whose matchLabels do not all match is passed over',
      identifier: dns('www.example.com'),
      solvers: [dns01({ matchLabels: { team: 'web', env: 'staging' } }), http01()],
      labels,
      expected: { index: 1, type: 'http-01' },
    },
    {
      name: 'a selector with dnsNames for other names is passed over',
      identifier: dns('www.example.com'),
      solvers: [dns01({ dnsNames: ['api.example.com'] }), http01()],
      expected: { index: 1, type: 'http-01' },
    },
    {
      name: 'a selector with dnsZones that do not contain the name is passed over',
      identifier: dns('www.example.org'),
      solvers: [dns01({ dnsZones: ['example.com'] }), http01()],
      expected: { index: 1, type: 'http-01' },
    },
    {
      name: 'a zone matches on a label boundary only (notexample.com is not in example.com)',
      identifier: dns('notexample.com'),
      solvers: [dns01({ dnsZones: ['example.com'] }), http01()],
      expected: { index: 1, type: 'http-01' },
    },
    {
      name: 'a zone admits its own apex',
      identifier: dns('example.com'),
      solvers: [http01(), dns01({ dnsZones: ['example.com'] })],
      expected: { index: 1, type: 'dns-01' },
    },
    {
      name: 'names and zones compare without case, and a zone may end with a dot',
      identifier: dns('WWW.Example.COM'),
      solvers: [http01(), dns01({ dnsZones: ['EXAMPLE.com.'] })],
      expected: { index: 1, type: 'dns-01' },
    },
    {
      name: 'dnsNames compare without case',
      identifier: dns('www.example.com'),
      solvers: [http01(), dns01({ dnsNames: ['WWW.EXAMPLE.COM'] })],
      expected: { index: 1, type: 'dns-01' },
    },
    {
      name: 'a wildcard goes to the dns01 solver even when an http01 solver comes first',
      identifier: dns('*.example.com'),
      solvers: [http01(), dns01()],
      expected: { index: 1, type: 'dns-01' },
    },
    {
      name: 'a wildcard goes to a less specific dns01 solver when the more specific one is http01',
      identifier: dns('*.example.com'),
      solvers: [http01({ dnsNames: ['*.example.com'] }), dns01()],
      expected: { index: 1, type: 'dns-01' },
    },
    {
      name: 'a wildcard is in the zone of its base name',
      identifier: dns('*.example.com'),
      solvers: [dns01(), dns01({ dnsZones: ['example.com'] })],
      expected: { index: 1, type: 'dns-01' },
    },
    {
      name: 'a wildcard matches dnsNames only as the wildcard itself',
      identifier: dns('*.example.com'),
      solvers: [dns01({ dnsNames: ['example.com'] }), dns01({ dnsNames: ['*.example.com'] })],
      expected: { index: 1, type: 'dns-01' },
    },
    {
      name: 'an IP address goes to the http01 solver even when a dns01 solver comes first',
      identifier: ip('192.0.2.10'),
      solvers: [dns01(), http01()],
      expected: { index: 1, type: 'http-01' },
    },
    {
      name: 'an IP address can be selected by dnsNames',
      identifier: ip('2001:db8::1'),
      solvers: [http01(), http01({ dnsNames: ['2001:db8::1'] })],
      expected: { index: 1, type: 'http-01' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(chooseSolver(c.identifier, c.solvers, c.labels ?? {}), { ok: true, ...c.expected }));
  }
});

describe('chooseSolver explains why no solver fits', () => {
  const cases: {
    name: string;
    identifier: { type: 'dns' | 'ip'; value: string };
    solvers: AcmeSolver[];
    labels?: Record<string, string>;
    says: RegExp[];
    doesNotSay?: RegExp[];
  }[] = [
    {
      name: 'says no solver selects the name when every selector is for other names',
      identifier: dns('www.example.org'),
      solvers: [dns01({ dnsZones: ['example.com'] }), http01({ dnsNames: ['api.example.com'] })],
      says: [/^no solver of the issuer selects www\.example\.org/, /dnsNames, dnsZones or matchLabels/],
      doesNotSay: [/wildcard/, /HTTP-01|DNS-01/],
    },
    {
      name: 'says no solver selects the name when the Certificate lacks the labels',
      identifier: dns('www.example.com'),
      solvers: [http01({ matchLabels: { team: 'web' } })],
      labels: { team: 'api' },
      says: [/^no solver of the issuer selects www\.example\.com/],
    },
    {
      name: 'says no solver selects the name when the issuer has none',
      identifier: dns('www.example.com'),
      solvers: [],
      says: [/^no solver of the issuer selects www\.example\.com/],
    },
    {
      name: 'says a wildcard needs DNS-01 when only http01 solvers select it',
      identifier: dns('*.example.com'),
      solvers: [http01(), dns01({ dnsZones: ['example.org'] })],
      says: [/^wildcard \*\.example\.com can only be validated over DNS-01, and no dns01 solver selects it/, /add a dns01 solver/],
      doesNotSay: [/no solver of the issuer/],
    },
    {
      name: 'says an IP address needs HTTP-01 when only dns01 solvers select it',
      identifier: ip('192.0.2.10'),
      solvers: [dns01(), http01({ matchLabels: { team: 'web' } })],
      says: [/^IP address 192\.0\.2\.10 can only be validated over HTTP-01, and no http01 solver selects it/, /add an http01 solver/],
      doesNotSay: [/no solver of the issuer/, /add a dns01 solver/],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const choice = chooseSolver(c.identifier, c.solvers, c.labels ?? {});
      assert.equal(choice.ok, false);
      if (choice.ok) return;
      for (const re of c.says) assert.match(choice.message, re);
      for (const re of c.doesNotSay ?? []) assert.doesNotMatch(choice.message, re);
    });
  }
});
