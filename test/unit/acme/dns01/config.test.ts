import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCertsmithError } from '../../../../src/errors.ts';
import { fixedClock } from '../../../../src/time/clock.ts';
import { formatServerAddress, parseServerAddress } from '../../../../src/acme/dns01/address.ts';
import { createRfc2136Provider, parseTsigAlgorithm, parseTsigKey } from '../../../../src/acme/dns01/rfc2136.ts';
import { createWebhookProvider } from '../../../../src/acme/dns01/webhook.ts';

describe('nameserver addresses', () => {
  const cases: { name: string; input: string; host: string; port: number; formatted: string }[] = [
    { name: 'a bare IPv4 address gets port 53', input: '192.0.2.53', host: '192.0.2.53', port: 53, formatted: '192.0.2.53:53' },
    { name: 'IPv4 with a port keeps it', input: '192.0.2.53:5353', host: '192.0.2.53', port: 5353, formatted: '192.0.2.53:5353' },
    { name: 'a host name with a port keeps both', input: 'bind.dns.svc:1053', host: 'bind.dns.svc', port: 1053, formatted: 'bind.dns.svc:1053' },
    { name: 'a bracketed IPv6 address with a port', input: '[2001:db8::53]:5353', host: '2001:db8::53', port: 5353, formatted: '[2001:db8::53]:5353' },
    { name: 'a bracketed IPv6 address without a port gets 53', input: '[::1]', host: '::1', port: 53, formatted: '[::1]:53' },
    { name: 'a bare IPv6 address is all host', input: '2001:db8::53', host: '2001:db8::53', port: 53, formatted: '[2001:db8::53]:53' },
    { name: 'surrounding spaces are ignored', input: ' 10.0.0.1:53 ', host: '10.0.0.1', port: 53, formatted: '10.0.0.1:53' },
  ];
  for (const c of cases) {
    it(`parses ${c.name}`, () => {
      const a = parseServerAddress(c.input);
      assert.deepEqual(a, { host: c.host, port: c.port });
      assert.equal(formatServerAddress(a), c.formatted);
    });
  }

  const invalid: { name: string; input: string; message: RegExp }[] = [
    { name: 'an empty string', input: '', message: /it is empty/ },
    { name: 'port 0', input: '10.0.0.1:0', message: /port "0" is not a number from 1 to 65535/ },
    { name: 'port 65536', input: '10.0.0.1:65536', message: /port "65536"/ },
    { name: 'a named port', input: 'ns1:domain', message: /port "domain"/ },
    { name: 'an empty host', input: ':53', message: /host is empty/ },
    { name: 'a non-IPv6 host in brackets', input: '[ns1]:53', message: /not an IPv6 address/ },
    { name: 'a host with two colons that is not IPv6', input: 'a:b:53', message: /needs brackets/ },
  ];
  for (const c of invalid) {
    it(`refuses ${c.name} with InvalidSpec naming the input`, () => {
      assert.throws(
        () => parseServerAddress(c.input),
        (err) => isCertsmithError(err, 'InvalidSpec') && err.message.includes(`"${c.input}"`) && c.message.test(err.message),
      );
    });
  }
});

describe('TSIG key settings', () => {
  const algorithms: { input: string; expected: string }[] = [
    { input: 'HMACSHA256', expected: 'hmac-sha256' },
    { input: 'HMACSHA512', expected: 'hmac-sha512' },
    { input: 'hmac-sha256', expected: 'hmac-sha256' },
    { input: 'hmac-sha512.', expected: 'hmac-sha512' },
  ];
  for (const c of algorithms) it(`reads algorithm ${c.input} as ${c.expected}`, () => assert.equal(parseTsigAlgorithm(c.input), c.expected));

  // "constructor" and "__proto__" found by test/unit/fuzz/tsig.test.ts: they found inherited functions in the table.
  for (const input of ['HMACMD5', 'hmac-sha1', '', 'constructor', '__proto__']) {
    it(`refuses algorithm "${input}" and lists the supported ones`, () => {
      assert.throws(
        () => parseTsigAlgorithm(input),
        (err) => isCertsmithError(err, 'InvalidSpec') && /use HMACSHA256 or HMACSHA512/.test(err.message),
      );
    });
  }

  it('signs with hmac-sha256 when no algorithm is set', () => {
    assert.equal(parseTsigKey({ tsigKeyName: 'k', tsigSecret: 'AAAA' }).algorithm, 'hmac-sha256');
  });

  it('decodes the base64 secret', () => {
    const key = parseTsigKey({ tsigKeyName: 'acme-key', tsigAlgorithm: 'HMACSHA256', tsigSecret: 'AAEC/w==' });
    assert.deepEqual(key, { name: 'acme-key', algorithm: 'hmac-sha256', secret: Uint8Array.of(0, 1, 2, 255) });
  });

  const invalid: { name: string; config: { tsigKeyName: string; tsigAlgorithm: string; tsigSecret: string }; message: RegExp }[] = [
    { name: 'an empty key name', config: { tsigKeyName: ' ', tsigAlgorithm: 'HMACSHA256', tsigSecret: 'AAAA' }, message: /tsigKeyName is empty/ },
    { name: 'a key name that is no DNS name', config: { tsigKeyName: 'a..b', tsigAlgorithm: 'HMACSHA256', tsigSecret: 'AAAA' }, message: /empty label/ },
    { name: 'an empty secret', config: { tsigKeyName: 'k', tsigAlgorithm: 'HMACSHA256', tsigSecret: '' }, message: /tsigSecret of key "k" is empty/ },
    {
      name: 'a secret that is not base64',
      config: { tsigKeyName: 'k', tsigAlgorithm: 'HMACSHA256', tsigSecret: 'not base64!' },
      message: /tsigSecret of key "k" is not base64/,
    },
  ];
  for (const c of invalid) {
    it(`refuses ${c.name} with InvalidSpec`, () => {
      assert.throws(
        () => parseTsigKey(c.config),
        (err) => isCertsmithError(err, 'InvalidSpec') && c.message.test(err.message),
      );
    });
  }

  it('checks the configuration when the provider is created, before any network traffic', () => {
    assert.throws(
      () =>
        createRfc2136Provider(
          { nameserver: '10.0.0.1:99999', tsigKeyName: 'k', tsigAlgorithm: 'HMACSHA256', tsigSecret: 'AAAA' },
          { clock: fixedClock('2026-01-01T00:00:00Z') },
        ),
      (err) => isCertsmithError(err, 'InvalidSpec'),
    );
  });

  it('refuses a record outside the zone it was given, without asking the nameserver', async () => {
    const p = createRfc2136Provider(
      { nameserver: '192.0.2.1', tsigKeyName: 'k', tsigAlgorithm: 'HMACSHA256', tsigSecret: 'AAAA' },
      { clock: fixedClock('2026-01-01T00:00:00Z') },
    );
    await assert.rejects(
      p.present({ fqdn: '_acme-challenge.example.org', value: 'v', zone: 'example.com' }),
      (err) => isCertsmithError(err, 'InvalidSpec') && /is not inside zone "example.com"/.test(err.message),
    );
  });
});

describe('webhook settings', () => {
  const invalid: { name: string; config: Parameters<typeof createWebhookProvider>[0]; code: string; message: RegExp }[] = [
    { name: 'a url that is not a URL', config: { url: 'not a url' }, code: 'InvalidSpec', message: /is not a URL/ },
    { name: 'a url that is not http(s)', config: { url: 'ftp://dns.example/hook' }, code: 'InvalidSpec', message: /must be https:\/\/ or http:\/\/, not ftp:/ },
    {
      name: 'a caBundle with a plain http url',
      config: { url: 'http://dns.example/hook', caBundle: 'x' },
      code: 'InvalidSpec',
      message: /caBundle is set but the url is not https/,
    },
    {
      name: 'a caBundle holding a private key',
      config: { url: 'https://dns.example/hook', caBundle: '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n' },
      code: 'InvalidPEM',
      message: /private key must never be placed among certificates/,
    },
  ];
  for (const c of invalid) {
    it(`refuses ${c.name}`, () => {
      assert.throws(
        () => createWebhookProvider(c.config),
        (err) => isCertsmithError(err) && err.code === c.code && c.message.test(err.message),
      );
    });
  }
});
