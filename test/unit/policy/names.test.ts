import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalEmailAddress, dnsNameProblem, emailAddressProblem, ipAddressProblem, uriProblem } from '../../../src/policy/names.ts';

type Case = { name: string; value: string; problem?: RegExp };

function table(fn: (v: string) => string | undefined, cases: Case[]) {
  for (const c of cases) {
    it(`${c.problem ? 'refuses' : 'accepts'} ${c.name} ("${c.value.length > 40 ? c.value.slice(0, 40) + '…' : c.value}")`, () => {
      const got = fn(c.value);
      if (c.problem) assert.match(got ?? '(accepted)', c.problem);
      else assert.equal(got, undefined);
    });
  }
}

describe('dnsNameProblem', () => {
  table(dnsNameProblem, [
    { name: 'a plain host name', value: 'www.example.com' },
    { name: 'a single label', value: 'localhost' },
    { name: 'upper case, since DNS is case-insensitive', value: 'WWW.Example.COM' },
    { name: 'digits and inner hyphens', value: '1-2.a-b.example' },
    { name: 'a punycode label', value: 'xn--bcher-kva.example' },
    { name: 'a wildcard as the whole leftmost label', value: '*.example.com' },
    { name: 'a 63-character label', value: `${'a'.repeat(63)}.example.com` },
    { name: 'a bare wildcard', value: '*', problem: /bare wildcard/ },
    { name: 'a wildcard inside the leftmost label', value: 'a*.example.com', problem: /not the whole leftmost label/ },
    { name: 'two wildcard labels', value: '*.*.example.com', problem: /wildcard outside the leftmost label/ },
    { name: 'a wildcard in a middle label', value: 'foo.*.com', problem: /wildcard outside the leftmost label/ },
    { name: 'an empty name', value: '', problem: /empty/ },
    { name: 'two dots in a row', value: 'a..example.com', problem: /empty label/ },
    { name: 'a leading dot', value: '.example.com', problem: /empty label/ },
    { name: 'a trailing dot', value: 'example.com.', problem: /trailing dot/ },
    { name: 'a label starting with a hyphen', value: '-a.example.com', problem: /invalid label "-a"/ },
    { name: 'a label ending with a hyphen', value: 'a-.example.com', problem: /invalid label "a-"/ },
    { name: 'an underscore', value: '_acme.example.com', problem: /invalid label "_acme"/ },
    { name: 'a space', value: 'a b.example.com', problem: /invalid label/ },
    { name: 'a 64-character label', value: `${'a'.repeat(64)}.example.com`, problem: /label of 64 characters/ },
    { name: 'a name over 253 characters', value: `${'a'.repeat(60)}.`.repeat(5) + 'com', problem: /limit is 253/ },
    { name: 'non-ASCII characters', value: 'bücher.example', problem: /punycode/ },
  ]);
});

describe('ipAddressProblem', () => {
  table(ipAddressProblem, [
    { name: 'IPv4', value: '192.0.2.1' },
    { name: 'IPv6', value: '2001:db8::1' },
    { name: 'IPv4-mapped IPv6', value: '::ffff:192.0.2.1' },
    { name: 'an octet over 255', value: '192.0.2.256', problem: /not an IPv4 or IPv6/ },
    { name: 'a host name', value: 'example.com', problem: /not an IPv4 or IPv6/ },
    { name: 'a CIDR range', value: '10.0.0.0/8', problem: /not an IPv4 or IPv6/ },
    { name: 'an IPv6 zone index', value: 'fe80::1%eth0', problem: /zone index/ },
  ]);
});

describe('uriProblem', () => {
  table(uriProblem, [
    { name: 'a SPIFFE ID', value: 'spiffe://cluster.local/ns/default/sa/app' },
    { name: 'an https URL', value: 'https://example.com/path?q=1' },
    { name: 'a URN', value: 'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66' },
    { name: 'a path without a scheme', value: '/just/a/path', problem: /no scheme/ },
    { name: 'a host without a scheme', value: 'example.com', problem: /no scheme/ },
    { name: 'surrounding white space', value: ' https://example.com', problem: /white space/ },
    { name: 'an unparseable authority', value: 'http://exa mple.com', problem: /white space/ },
    { name: 'a bad port', value: 'http://example.com:99999/', problem: /not a valid URI/ },
  ]);
});

describe('emailAddressProblem', () => {
  table(emailAddressProblem, [
    { name: 'a plain address', value: 'alice@example.com' },
    { name: 'dots and plus in the local part', value: 'alice.b+tag@example.com' },
    { name: 'an upper-case domain', value: 'alice@Example.COM' },
    { name: 'no @', value: 'alice.example.com', problem: /local@domain/ },
    { name: 'two @', value: 'a@b@example.com', problem: /local@domain/ },
    { name: 'an empty local part', value: '@example.com', problem: /local@domain/ },
    { name: 'an empty domain', value: 'alice@', problem: /local@domain/ },
    { name: 'a display name', value: 'Alice <alice@example.com>', problem: /invalid local part/ },
    { name: 'a double dot in the local part', value: 'a..b@example.com', problem: /invalid local part/ },
    { name: 'a domain with an invalid label', value: 'alice@-example.com', problem: /domain that has an invalid label/ },
    { name: 'a wildcard domain', value: 'alice@*.example.com', problem: /wildcard/ },
  ]);
});

describe('canonical forms', () => {
  it('canonicalEmailAddress lowercases the domain and keeps the local part', () => {
    assert.equal(canonicalEmailAddress('Alice@Example.COM'), 'Alice@example.com');
  });
});
