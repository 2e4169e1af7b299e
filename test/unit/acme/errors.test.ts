import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AcmeError, codeForProblem, isAcmeError, isReplacesRefusal, parseRetryAfter, problemError, problemExcerpt } from '../../../src/acme/errors.ts';
import { type ErrorCode, isCertsmithError } from '../../../src/errors.ts';

const URN = 'urn:ietf:params:acme:error:';

describe('codeForProblem', () => {
  const cases: { name: string; type: string | undefined; status: number; code: ErrorCode }[] = [
    { name: 'rateLimited is AcmeRateLimited', type: 'rateLimited', status: 429, code: 'AcmeRateLimited' },
    { name: 'any 429 is AcmeRateLimited, even without a problem type', type: undefined, status: 429, code: 'AcmeRateLimited' },
    { name: 'rateLimited is AcmeRateLimited whatever the status', type: 'rateLimited', status: 403, code: 'AcmeRateLimited' },
    { name: 'unauthorized is an account problem', type: 'unauthorized', status: 403, code: 'AcmeAccountProblem' },
    { name: 'accountDoesNotExist is an account problem', type: 'accountDoesNotExist', status: 400, code: 'AcmeAccountProblem' },
    { name: 'externalAccountRequired is an account problem', type: 'externalAccountRequired', status: 400, code: 'AcmeAccountProblem' },
    { name: 'userActionRequired is an account problem', type: 'userActionRequired', status: 403, code: 'AcmeAccountProblem' },
    { name: 'invalidContact is an account problem', type: 'invalidContact', status: 400, code: 'AcmeAccountProblem' },
    { name: 'unsupportedContact is an account problem', type: 'unsupportedContact', status: 400, code: 'AcmeAccountProblem' },
    { name: 'badPublicKey is an account problem', type: 'badPublicKey', status: 400, code: 'AcmeAccountProblem' },
    { name: 'rejectedIdentifier rejects the order', type: 'rejectedIdentifier', status: 400, code: 'AcmeOrderRejected' },
    { name: 'unsupportedIdentifier rejects the order', type: 'unsupportedIdentifier', status: 400, code: 'AcmeOrderRejected' },
    { name: 'malformed rejects the order', type: 'malformed', status: 400, code: 'AcmeOrderRejected' },
    { name: 'badCSR rejects the order', type: 'badCSR', status: 400, code: 'AcmeOrderRejected' },
    { name: 'caa rejects the order', type: 'caa', status: 403, code: 'AcmeOrderRejected' },
    { name: 'badSignatureAlgorithm rejects the order', type: 'badSignatureAlgorithm', status: 400, code: 'AcmeOrderRejected' },
    { name: 'alreadyReplaced rejects the order', type: 'alreadyReplaced', status: 409, code: 'AcmeOrderRejected' },
    { name: 'invalidProfile rejects the order', type: 'invalidProfile', status: 400, code: 'AcmeOrderRejected' },
    { name: 'orderNotReady rejects the order', type: 'orderNotReady', status: 403, code: 'AcmeOrderRejected' },
    { name: 'serverInternal means the CA is unavailable', type: 'serverInternal', status: 500, code: 'AcmeUnavailable' },
    { name: 'a 503 without a problem type means the CA is unavailable', type: undefined, status: 503, code: 'AcmeUnavailable' },
    { name: 'an unknown type on a 5xx means the CA is unavailable', type: 'somethingNew', status: 502, code: 'AcmeUnavailable' },
    { name: 'an account problem on a 5xx stays an account problem', type: 'unauthorized', status: 500, code: 'AcmeAccountProblem' },
    { name: 'an unknown type on a 4xx is a plain AcmeProblem', type: 'somethingNew', status: 400, code: 'AcmeProblem' },
    { name: 'badNonce is a plain AcmeProblem', type: 'badNonce', status: 400, code: 'AcmeProblem' },
    { name: 'a 404 without a problem type is a plain AcmeProblem', type: undefined, status: 404, code: 'AcmeProblem' },
    { name: 'a type still carrying its URN prefix is not recognised', type: `${URN}unauthorized`, status: 403, code: 'AcmeProblem' },
  ];
  for (const c of cases) it(c.name, () => assert.equal(codeForProblem(c.type, c.status), c.code));
});

describe('problemError', () => {
  const url = 'https://acme.example/acme/new-order';

  it('says who refused what, with the problem type and the detail', () => {
    const err = problemError('post', url, 403, { type: `${URN}unauthorized`, detail: 'account is deactivated', status: 403 }, undefined);
    assert.ok(isAcmeError(err) && isCertsmithError(err, 'AcmeAccountProblem'));
    assert.equal(err.message, `the ACME server refused POST ${url}: unauthorized: account is deactivated`);
    assert.equal(err.problemType, 'unauthorized');
    assert.equal(err.httpStatus, 403);
    assert.equal(err.retryAfterMs, undefined);
  });

  it('lists the subproblems with the identifier each is about', () => {
    const err = problemError(
      'POST',
      url,
      400,
      {
        type: `${URN}rejectedIdentifier`,
        detail: 'Some identifiers were rejected',
        subproblems: [
          { type: `${URN}rejectedIdentifier`, detail: 'forbidden by policy', identifier: { type: 'dns', value: 'bad.example' } },
          { type: `${URN}caa`, detail: 'CAA record forbids issuance', identifier: { type: 'dns', value: 'caa.example' } },
          { type: `${URN}malformed`, detail: 'not a name' },
          { type: `${URN}serverInternal` },
          {},
        ],
      },
      undefined,
    );
    assert.equal(err.code, 'AcmeOrderRejected');
    assert.equal(
      err.message,
      `the ACME server refused POST ${url}: rejectedIdentifier: Some identifiers were rejected ` +
        `(bad.example: forbidden by policy; caa.example: CAA record forbids issuance; not a name; and 1 more)`,
    );
  });

  it('says how long the CA asks to wait, in whole seconds rounded up', () => {
    const err = problemError('POST', url, 429, { type: `${URN}rateLimited`, detail: 'too many certificates' }, 90_500);
    assert.equal(err.code, 'AcmeRateLimited');
    assert.equal(err.retryAfterMs, 90_500);
    assert.match(err.message, /: rateLimited: too many certificates; the CA asks to retry after 91 s$/);
  });

  it('falls back to the HTTP status when the body is no problem document', () => {
    const err = problemError('GET', url, 502, undefined, undefined);
    assert.equal(err.code, 'AcmeUnavailable');
    assert.equal(err.message, `the ACME server refused GET ${url}: HTTP 502: HTTP 502`);
    assert.equal(err.problemType, undefined);
  });

  it('quotes the start of a text body, at most 160 characters', () => {
    const err = problemError('GET', url, 503, `<html>${'x'.repeat(500)}</html>`, undefined);
    assert.ok(err.message.endsWith(`: HTTP 503: <html>${'x'.repeat(154)}…`), err.message);
  });

  // Every string in a refusal is the server's choice, and the message goes into statuses and events.
  const hostile: { name: string; body: unknown; message: RegExp; problemType?: RegExp }[] = [
    {
      name: 'a text body of megabytes with control characters and line breaks',
      body: `\x1b]0;owned\x07<h1>Error</h1>\r\n\u0000${'<p>x</p>\n'.repeat(500_000)}`,
      message: /: HTTP 500: \]0;owned <h1>Error<\/h1> (<p>x<\/p> )+<…$/,
    },
    {
      name: 'a detail of megabytes over many lines',
      body: { type: `${URN}serverInternal`, detail: `line one\nline two\n${'y'.repeat(3_000_000)}` },
      message: /: serverInternal: line one line two y+…$/,
    },
    {
      name: 'a multi-line, endless problem type',
      body: { type: `${URN}custom\n${'t'.repeat(100_000)}`, detail: 'd' },
      message: /: custom t+…: d$/,
      problemType: /^custom t{57}…$/,
    },
    {
      name: 'ten thousand subproblems with long details',
      body: {
        type: `${URN}rejectedIdentifier`,
        detail: 'rejected',
        subproblems: Array.from({ length: 10_000 }, (_, i) => ({ identifier: { value: `n${i}.example` }, detail: `nope\n${'z'.repeat(10_000)}` })),
      },
      message: /: rejectedIdentifier: rejected \(n0\.example: nope z+…; n1\.example: nope z+…; n2\.example: nope z+…; and 9997 more\)$/,
    },
    {
      name: 'fields of the wrong types',
      body: { type: 42, detail: ['a', 'b'], subproblems: { not: 'a list' } },
      message: /: HTTP 500: HTTP 500$/,
    },
    {
      name: 'subproblems of the wrong types',
      body: { type: `${URN}malformed`, detail: 'bad', subproblems: [null, 7, 'text', { identifier: { value: 9 }, detail: 'kept' }] },
      message: /: malformed: bad \(kept\)$/,
    },
  ];
  for (const c of hostile) {
    it(`cuts ${c.name} to a short printable line`, () => {
      const err = problemError('POST', url, 500, c.body, undefined);
      assert.match(err.message, c.message);
      assert.ok(err.message.length < 1024, `${err.message.length} characters`);
      assert.doesNotMatch(err.message, /[\p{C}\n\r\u2028\u2029]/u);
      if (c.problemType) assert.match(err.problemType ?? '', c.problemType);
    });
  }

  it('cuts a long URL the server handed out', () => {
    const err = problemError('POST', `https://acme.example/${'p'.repeat(100_000)}`, 400, { detail: 'no' }, undefined);
    assert.match(err.message, /^the ACME server refused POST https:\/\/acme\.example\/p+…: HTTP 400: no$/);
    assert.ok(err.message.length < 200);
  });

  it('keeps a problem type that is not an ACME URN as it came', () => {
    const err = problemError('POST', url, 400, { type: 'about:blank', detail: 'nope' }, undefined);
    assert.equal(err.problemType, 'about:blank');
    assert.equal(err.code, 'AcmeProblem');
    assert.match(err.message, /: about:blank: nope$/);
  });

  it('is an AcmeError that callers can tell apart from other errors', () => {
    const err = problemError('POST', url, 400, {}, undefined);
    assert.ok(err instanceof AcmeError);
    assert.equal(err.name, 'AcmeError');
    assert.equal(isAcmeError(new Error('x')), false);
  });
});

describe('parseRetryAfter', () => {
  const now = new Date('2026-03-01T12:00:00Z');
  const cases: { name: string; value: string | string[] | undefined; ms: number | undefined }[] = [
    { name: 'reads delta-seconds', value: '120', ms: 120_000 },
    { name: 'reads zero seconds', value: '0', ms: 0 },
    { name: 'reads delta-seconds with surrounding spaces', value: ' 30 ', ms: 30_000 },
    { name: 'reads an HTTP-date in the future as the time until then', value: 'Sun, 01 Mar 2026 12:05:00 GMT', ms: 300_000 },
    { name: 'reads an HTTP-date in the obsolete RFC 850 form', value: 'Sunday, 01-Mar-26 12:00:30 GMT', ms: 30_000 },
    { name: 'reads an HTTP-date in the past as no wait', value: 'Sun, 01 Mar 2026 11:00:00 GMT', ms: 0 },
    { name: 'takes the first of repeated headers', value: ['60', '600'], ms: 60_000 },
    { name: 'is undefined without a header', value: undefined, ms: undefined },
    { name: 'is undefined for an empty header', value: '', ms: undefined },
    { name: 'is undefined for an empty list of headers', value: [], ms: undefined },
    { name: 'is undefined for a word', value: 'soon', ms: undefined },
    { name: 'is undefined for digits followed by text', value: '12abc', ms: undefined },
    { name: 'is undefined for fractional seconds', value: '1.5', ms: undefined },
    { name: 'is undefined for negative seconds', value: '-5', ms: undefined },
  ];
  for (const c of cases) it(c.name, () => assert.equal(parseRetryAfter(c.value, now), c.ms));
});

describe('isReplacesRefusal', () => {
  const problem = (type: string | undefined, status: number) =>
    new AcmeError(codeForProblem(type, status), 'refused', { ...(type ? { problemType: type } : {}), httpStatus: status });
  const cases = [
    { name: 'alreadyReplaced (409) is about replaces', err: problem('alreadyReplaced', 409), want: true },
    { name: "a certID the CA cannot find (Pebble's serverInternal 500)", err: problem('serverInternal', 500), want: true },
    { name: 'a malformed certID (400)', err: problem('malformed', 400), want: true },
    { name: 'a rate limit stands', err: problem('rateLimited', 429), want: false },
    { name: 'an unavailable CA stands', err: problem(undefined, 503), want: false },
    { name: 'an account problem stands', err: problem('unauthorized', 403), want: false },
    { name: 'an unreachable CA (no HTTP status) stands', err: new AcmeError('AcmeUnreachable', 'down'), want: false },
    { name: 'not an ACME error', err: new Error('x'), want: false },
  ];
  for (const c of cases) it(c.name, () => assert.equal(isReplacesRefusal(c.err), c.want));
});

describe('problemExcerpt', () => {
  const cases: { name: string; error: unknown; expected: ReturnType<typeof problemExcerpt> }[] = [
    { name: 'keeps a short problem as it is', error: { type: `${URN}dns`, detail: 'no TXT record' }, expected: { type: `${URN}dns`, detail: 'no TXT record' } },
    {
      name: 'cuts a detail of megabytes over many lines',
      error: { type: `${URN}dns`, detail: `a\r\nb ${'c'.repeat(1_000_000)}` },
      expected: { type: `${URN}dns`, detail: `a b ${'c'.repeat(156)}…` },
    },
    { name: 'drops fields that are not strings', error: { type: 1, detail: { html: true } }, expected: {} },
    { name: 'is nothing for a problem that is not an object', error: 'a string', expected: undefined },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(problemExcerpt(c.error), c.expected));
});
