import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalIpAddress, ipAddressText } from '../../../src/pki/ip-address.ts';

type Case = { name: string; value: string; expected: string | undefined };

describe('canonicalIpAddress', () => {
  const cases: Case[] = [
    { name: 'IPv4 stays as it is', value: '192.0.2.1', expected: '192.0.2.1' },
    { name: 'IPv6 is lowercased and compressed', value: '2001:DB8:0:0:0:0:0:1', expected: '2001:db8::1' },
    { name: 'IPv6 compresses the longest run of zeros', value: '2001:db8:0:0:1:0:0:0', expected: '2001:db8:0:0:1::' },
    { name: 'IPv4-mapped IPv6 becomes IPv4', value: '::ffff:192.0.2.1', expected: '192.0.2.1' },
    { name: 'unparseable input is only lowercased', value: 'NOT-AN-IP', expected: 'not-an-ip' },
    { name: 'IPv6 drops leading zeros', value: '2001:0db8:0000:0000:0000:0000:0000:0001', expected: '2001:db8::1' },
    { name: 'IPv6 keeps a single zero group', value: '2001:db8:0:1:1:1:1:1', expected: '2001:db8:0:1:1:1:1:1' },
    { name: 'IPv6 compresses the first of two equal runs of zeros', value: '2001:0:0:1:0:0:1:1', expected: '2001::1:0:0:1:1' },
    { name: 'IPv4-mapped IPv6 written in hex becomes IPv4', value: '::FFFF:C000:0201', expected: '192.0.2.1' },
    { name: 'an IPv4-compatible address stays IPv6 (only mapped ones are IPv4)', value: '::192.0.2.1', expected: '::c000:201' },
    { name: 'a NAT64 address stays IPv6', value: '64:ff9b::192.0.2.1', expected: '64:ff9b::c000:201' },
    { name: 'IPv4 with leading zeros is not an address (never read as octal), only lowercased', value: '192.000.002.001', expected: '192.000.002.001' },
    { name: 'an address with a zone index is only lowercased', value: 'FE80::1%ETH0', expected: 'fe80::1%eth0' },
  ];
  for (const c of cases) it(c.name, () => assert.equal(canonicalIpAddress(c.value), c.expected));
});

describe('ipAddressText', () => {
  const cases: Case[] = [
    { name: 'IPv4 stays as it is', value: '192.0.2.1', expected: '192.0.2.1' },
    { name: 'IPv6 is lowercased and compressed', value: '2001:DB8:0:0:0:0:0:1', expected: '2001:db8::1' },
    { name: 'an IPv4-mapped address stays IPv6, written in hex', value: '::ffff:192.0.2.1', expected: '::ffff:c000:201' },
    { name: 'the unspecified IPv6 address is ::', value: '0:0:0:0:0:0:0:0', expected: '::' },
    { name: 'a zone index is refused', value: 'fe80::1%eth0', expected: undefined },
    { name: 'IPv4 with leading zeros is refused', value: '010.0.0.1', expected: undefined },
    { name: 'a host name is refused', value: 'example.com', expected: undefined },
    { name: 'a CIDR range is refused', value: '10.0.0.0/8', expected: undefined },
  ];
  for (const c of cases) it(c.name, () => assert.equal(ipAddressText(c.value), c.expected));
});
