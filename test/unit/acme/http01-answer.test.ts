// Which answer the HTTP-01 server gives to which request, without sockets (http01-server.test.ts asks the real server).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ChallengeAnswer, decideHttp01, type Http01Decision, identifierName, requestName } from '../../../src/acme/http01-answer.ts';

const PREFIX = '/.well-known/acme-challenge/';

describe('requestName', () => {
  const cases: { name: string; host: string | undefined; expected: string | undefined }[] = [
    { name: 'keeps a lowercase name', host: 'www.example.test', expected: 'www.example.test' },
    { name: 'lowercases a name', host: 'WWW.Example.Test', expected: 'www.example.test' },
    { name: 'drops a port', host: 'www.example.test:8080', expected: 'www.example.test' },
    { name: 'drops an empty port', host: 'www.example.test:', expected: 'www.example.test' },
    { name: 'drops a trailing dot', host: 'www.example.test.:80', expected: 'www.example.test' },
    { name: 'keeps an IPv4 address', host: '192.0.2.1', expected: '192.0.2.1' },
    { name: 'drops the port of an IPv4 address', host: '192.0.2.1:80', expected: '192.0.2.1' },
    { name: 'takes an IPv6 address out of its brackets', host: '[2001:db8::1]', expected: '2001:db8::1' },
    { name: 'drops the port of an IPv6 address', host: '[2001:db8::1]:5002', expected: '2001:db8::1' },
    { name: 'writes an IPv6 address in RFC 5952 form', host: '[2001:DB8:0:0:0:0:0:1]', expected: '2001:db8::1' },
    { name: 'refuses an IPv6 address without brackets', host: '2001:db8::1', expected: undefined },
    { name: 'refuses an IPv4 address in brackets', host: '[192.0.2.1]', expected: undefined },
    { name: 'refuses a name in brackets', host: '[www.example.test]', expected: undefined },
    { name: 'refuses an IPv6 address with a zone', host: '[fe80::1%25eth0]', expected: undefined },
    { name: 'refuses a port that is not a number', host: 'www.example.test:http', expected: undefined },
    { name: 'refuses two ports', host: 'www.example.test:80:80', expected: undefined },
    { name: 'refuses an empty Host', host: '', expected: undefined },
    { name: 'refuses a missing Host', host: undefined, expected: undefined },
    { name: 'refuses a wildcard', host: '*.example.test', expected: undefined },
  ];
  for (const c of cases) {
    it(`${c.name} (${JSON.stringify(c.host)})`, () => assert.equal(requestName(c.host), c.expected));
  }
});

describe('identifierName', () => {
  const cases: { name: string; identifier: string; expected: string | undefined }[] = [
    { name: 'keeps a DNS name', identifier: 'www.example.test', expected: 'www.example.test' },
    { name: 'lowercases a DNS name', identifier: 'WWW.example.test', expected: 'www.example.test' },
    { name: 'keeps an IPv4 address', identifier: '192.0.2.1', expected: '192.0.2.1' },
    { name: 'writes an IPv6 address in RFC 5952 form', identifier: '2001:0db8::0001', expected: '2001:db8::1' },
    { name: 'gives a wildcard no name', identifier: '*.example.test', expected: undefined },
  ];
  for (const c of cases) {
    it(`${c.name} (${c.identifier})`, () => assert.equal(identifierName(c.identifier), c.expected));
  }
});

describe('decideHttp01', () => {
  const challenges: Record<string, ChallengeAnswer[]> = {
    web: [{ identifier: 'www.example.test', keyAuthorization: 'web.k' }],
    // Two Certificates holding the same authorization, and a token a hostile CA handed out for two names.
    shared: [
      { identifier: 'www.example.test', keyAuthorization: 'shared.k' },
      { identifier: 'www.example.test', keyAuthorization: 'shared.k' },
    ],
    twice: [
      { identifier: 'a.example.test', keyAuthorization: 'twice.a' },
      { identifier: 'b.example.test', keyAuthorization: 'twice.b' },
    ],
  };
  const lookup = (token: string) => challenges[token] ?? [];
  const answer = (keyAuthorization: string): Http01Decision => ({ kind: 'answer', keyAuthorization });
  const notFound: Http01Decision = { kind: 'not-found' };
  const wait: Http01Decision = { kind: 'wait-for-load' };

  const cases: { name: string; method?: string; path: string; host: string | undefined; loaded: boolean; expected: Http01Decision }[] = [
    { name: 'answers a token to its own name', path: `${PREFIX}web`, host: 'www.example.test', loaded: true, expected: answer('web.k') },
    { name: 'answers HEAD as GET', method: 'HEAD', path: `${PREFIX}web`, host: 'www.example.test', loaded: true, expected: answer('web.k') },
    { name: 'answers a token whatever the query', path: `${PREFIX}web?x=1`, host: 'www.example.test', loaded: true, expected: answer('web.k') },
    { name: 'refuses a token to another name', path: `${PREFIX}web`, host: 'shop.example.test', loaded: true, expected: notFound },
    { name: 'refuses a token without a Host', path: `${PREFIX}web`, host: undefined, loaded: true, expected: notFound },
    { name: 'refuses a POST', method: 'POST', path: `${PREFIX}web`, host: 'www.example.test', loaded: true, expected: notFound },
    { name: 'refuses a path outside the challenge directory', path: '/web', host: 'www.example.test', loaded: true, expected: notFound },
    { name: 'answers a token two Certificates hold', path: `${PREFIX}shared`, host: 'www.example.test', loaded: true, expected: answer('shared.k') },
    { name: 'answers each name its own challenge under one token', path: `${PREFIX}twice`, host: 'b.example.test', loaded: true, expected: answer('twice.b') },
    { name: 'refuses an unknown token once loaded', path: `${PREFIX}other`, host: 'www.example.test', loaded: true, expected: notFound },
    { name: 'waits for the load with an unknown token', path: `${PREFIX}other`, host: 'www.example.test', loaded: false, expected: wait },
    { name: 'waits for the load with a token known for another name', path: `${PREFIX}web`, host: 'shop.example.test', loaded: false, expected: wait },
    { name: 'answers a known token before the load', path: `${PREFIX}web`, host: 'www.example.test', loaded: false, expected: answer('web.k') },
    { name: 'refuses at once, before the load, a request without a Host', path: `${PREFIX}other`, host: undefined, loaded: false, expected: notFound },
    { name: 'refuses at once, before the load, a path that is no challenge', path: '/', host: 'www.example.test', loaded: false, expected: notFound },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(decideHttp01({ method: c.method ?? 'GET', url: c.path, host: c.host }, lookup, c.loaded), c.expected));
  }
});
