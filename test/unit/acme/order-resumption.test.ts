import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AcmeIdentifier } from '../../../src/acme/client.ts';
import { mayBeUnrecorded, orderToResume, type ListedOrder, type WantedOrder } from '../../../src/acme/order-resumption.ts';

const now = new Date('2026-12-01T12:00:00Z');
const dns = (value: string): AcmeIdentifier => ({ type: 'dns', value });
const ip = (value: string): AcmeIdentifier => ({ type: 'ip', value });
const order = (url: string, patch: Partial<ListedOrder> = {}): ListedOrder => ({
  url,
  status: 'pending',
  identifiers: [dns('www.example.com')],
  expires: '2026-12-02T11:00:00Z',
  ...patch,
});
const wantWww: WantedOrder = { identifiers: [dns('www.example.com')] };

describe('orderToResume', () => {
  const cases: { name: string; wanted?: WantedOrder; orders: ListedOrder[]; taken?: string[]; chosen: string | undefined }[] = [
    { name: 'takes up a pending order for the same name', orders: [order('o/1')], chosen: 'o/1' },
    { name: 'takes up a ready order (its authorizations were already valid)', orders: [order('o/1', { status: 'ready' })], chosen: 'o/1' },
    { name: 'finds nothing in an empty list (a CA without an orders list)', orders: [], chosen: undefined },
    {
      name: 'skips processing, valid and invalid orders: they were finalized or cannot be',
      orders: [order('o/1', { status: 'processing' }), order('o/2', { status: 'valid' }), order('o/3', { status: 'invalid' })],
      chosen: undefined,
    },
    { name: 'skips an order recorded by a Certificate or taken up already', orders: [order('o/1'), order('o/2')], taken: ['o/1', 'o/2'], chosen: undefined },
    {
      name: 'takes the order nobody has recorded when another one is',
      orders: [order('o/1'), order('o/2', { expires: '2026-12-01T13:00:00Z' })],
      taken: ['o/1'],
      chosen: 'o/2',
    },
    { name: 'skips an expired order', orders: [order('o/1', { expires: '2026-12-01T12:00:00Z' })], chosen: undefined },
    { name: 'takes an order that states no expiry', orders: [order('o/1', { expires: undefined })], chosen: 'o/1' },
    { name: 'skips an order for other names', orders: [order('o/1', { identifiers: [dns('api.example.com')] })], chosen: undefined },
    {
      name: 'skips an order for more names than wanted',
      orders: [order('o/1', { identifiers: [dns('www.example.com'), dns('api.example.com')] })],
      chosen: undefined,
    },
    {
      name: 'skips an order for fewer names than wanted',
      wanted: { identifiers: [dns('www.example.com'), dns('api.example.com')] },
      orders: [order('o/1')],
      chosen: undefined,
    },
    {
      name: 'matches names in any order and case, and IPv6 addresses however they are written',
      wanted: { identifiers: [dns('api.example.com'), dns('www.example.com'), ip('2001:db8::1')] },
      orders: [order('o/1', { identifiers: [ip('2001:DB8:0:0::1'), dns('WWW.example.com'), dns('api.example.com')] })],
      chosen: 'o/1',
    },
    {
      name: 'does not take a DNS name for an IP address',
      wanted: { identifiers: [ip('192.0.2.1')] },
      orders: [order('o/1', { identifiers: [dns('192.0.2.1')] })],
      chosen: undefined,
    },
    {
      name: 'skips an order under another profile than the one wanted',
      wanted: { ...wantWww, profile: 'shortlived' },
      orders: [order('o/1', { profile: 'classic' })],
      chosen: undefined,
    },
    {
      name: 'takes an order under the wanted profile',
      wanted: { ...wantWww, profile: 'shortlived' },
      orders: [order('o/1', { profile: 'shortlived' })],
      chosen: 'o/1',
    },
    { name: 'takes an order whose profile the CA chose when none is wanted', orders: [order('o/1', { profile: 'default' })], chosen: 'o/1' },
    { name: 'takes an order from a CA that states no profile', wanted: { ...wantWww, profile: 'shortlived' }, orders: [order('o/1')], chosen: 'o/1' },
    {
      name: 'prefers the order expiring last, the newest',
      orders: [
        order('o/1', { expires: '2026-12-02T10:00:00Z' }),
        order('o/3', { expires: '2026-12-02T11:30:00Z' }),
        order('o/2', { expires: '2026-12-02T11:00:00Z' }),
      ],
      chosen: 'o/3',
    },
    { name: 'between orders expiring together, takes the first URL', orders: [order('o/2'), order('o/1')], chosen: 'o/1' },
    { name: 'prefers an order with an expiry over one without', orders: [order('o/1', { expires: undefined }), order('o/2')], chosen: 'o/2' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const chosen = orderToResume(c.wanted ?? wantWww, c.orders, new Set(c.taken ?? []), now);
      assert.equal(chosen?.url, c.chosen);
    });
  }
});

describe('mayBeUnrecorded', () => {
  for (const [status, expected] of [
    ['pending', true],
    ['ready', true],
    ['processing', false],
    ['valid', false],
    ['invalid', false],
  ] as const) {
    it(`${expected ? 'keeps' : 'drops'} ${status === 'invalid' ? 'an' : 'a'} ${status} order`, () => assert.equal(mayBeUnrecorded(status), expected));
  }
});
