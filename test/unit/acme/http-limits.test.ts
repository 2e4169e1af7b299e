// The limits every client for a tenant-chosen endpoint runs under: what an excerpt keeps of remote text, and how the
// per-origin gate admits, queues and refuses. The clients' own tests (transport, webhook, self-check) put each
// limit against a real hostile server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createOriginGate, EXCERPT_CHARS, excerpt, OutboundLimitError } from '../../../src/acme/http-limits.ts';

describe('excerpt', () => {
  const cases: { name: string; text: string; max?: number; expected: string }[] = [
    { name: 'keeps a short plain line as it is', text: 'zone example.test is locked', expected: 'zone example.test is locked' },
    { name: 'joins lines with one space', text: 'first line\r\nsecond line\n\nthird', expected: 'first line second line third' },
    { name: 'drops terminal escape sequences to their printable rest', text: '\x1b[31mred\x1b[0m text', expected: '[31mred [0m text' },
    { name: 'replaces NUL, bell and DEL', text: 'a\x00b\x07c\x7fd', expected: 'a b c d' },
    { name: 'replaces C1 controls', text: 'a\u0085b\u009bc', expected: 'a b c' },
    { name: 'replaces bidi overrides and zero-width characters', text: 'evil\u202egnp.exe\u200b!', expected: 'evil gnp.exe !' },
    { name: 'replaces Unicode line and paragraph separators', text: 'one\u2028two\u2029three', expected: 'one two three' },
    { name: 'replaces tabs, non-breaking and ideographic spaces', text: 'a\tb\u00a0c\u3000d', expected: 'a b c d' },
    { name: 'trims what surrounds the text', text: '\n\t  padded  \r\n', expected: 'padded' },
    { name: 'is empty for nothing printable', text: '\x00\x01\r\n\u200b', expected: '' },
    { name: 'keeps letters of every script and emoji', text: 'Größe überschritten — 容量超過 🚫', expected: 'Größe überschritten — 容量超過 🚫' },
    { name: 'cuts at the limit with an ellipsis', text: 'abcdefghij', max: 5, expected: 'abcde…' },
    { name: 'keeps text of exactly the limit', text: 'abcde', max: 5, expected: 'abcde' },
    { name: 'cuts by code points, never inside a surrogate pair', text: '🔒🔒🔒🔒', max: 3, expected: '🔒🔒🔒…' },
    { name: 'does not end on a space before the ellipsis', text: 'abcd efgh', max: 5, expected: 'abcd…' },
  ];
  for (const c of cases) it(c.name, () => assert.equal(excerpt(c.text, c.max), c.expected));

  it(`cuts megabytes of text to ${EXCERPT_CHARS} characters and an ellipsis, looking only at the start`, () => {
    const started = performance.now();
    const got = excerpt(`<html>\n${'\x1b[1m<p>lorem ipsum</p>\r\n'.repeat(200_000)}`);
    assert.ok(performance.now() - started < 200, 'the rest is never looked at');
    assert.equal(Array.from(got).length, EXCERPT_CHARS + 1);
    assert.ok(got.endsWith('…'));
    assert.doesNotMatch(got, /\p{C}/u);
  });

  it('marks a cut made after many unprintable characters', () => {
    assert.equal(excerpt(`ok${'\x00'.repeat(10_000)}more`, 10), 'ok…');
  });
});

describe('the origin gate', () => {
  const signal = () => new AbortController().signal;

  it('admits up to maxInFlight at once, per origin', async () => {
    const gate = createOriginGate({ maxInFlight: 2, maxQueued: 0 });
    await gate.enter('https://a', signal());
    await gate.enter('https://a', signal());
    await gate.enter('https://b', signal());
    assert.deepEqual([gate.inFlight('https://a'), gate.inFlight('https://b')], [2, 1]);
  });

  it('refuses at once, as busy, one more than maxInFlight plus maxQueued', async () => {
    const gate = createOriginGate({ maxInFlight: 1, maxQueued: 1 });
    const leave = await gate.enter('https://a', signal());
    const waiting = gate.enter('https://a', signal()).catch((err: unknown) => err);
    await assert.rejects(
      gate.enter('https://a', signal()),
      (err) => err instanceof OutboundLimitError && err.limit === 'busy' && err.message === '1 requests to it are in flight and 1 more wait already',
    );
    leave();
    assert.equal(typeof (await waiting), 'function', 'the one waiting got the slot');
  });

  it('hands a released slot to the first in line', async () => {
    const gate = createOriginGate({ maxInFlight: 1, maxQueued: 5 });
    const leave = await gate.enter('https://a', signal());
    const order: string[] = [];
    const second = gate.enter('https://a', signal()).then((l) => (order.push('second'), l));
    const third = gate.enter('https://a', signal()).then((l) => (order.push('third'), l));
    leave();
    leave(); // a second call of the same release changes nothing
    (await second)();
    (await third)();
    assert.deepEqual(order, ['second', 'third']);
    assert.equal(gate.inFlight('https://a'), 0);
  });

  it('takes a waiting request out of the queue when its deadline passes, freeing its place', async () => {
    const gate = createOriginGate({ maxInFlight: 1, maxQueued: 1 });
    const leave = await gate.enter('https://a', signal());
    const deadline = new AbortController();
    const waiting = gate.enter('https://a', deadline.signal);
    deadline.abort(new OutboundLimitError('deadline', 'no complete answer within 1 s'));
    await assert.rejects(waiting, (err) => err instanceof OutboundLimitError && err.limit === 'deadline');
    const next = gate.enter('https://a', signal());
    leave();
    (await next)();
    assert.equal(gate.inFlight('https://a'), 0);
  });

  it('gives a request back as busy when no slot frees within maxWaitMs, freeing its place', async () => {
    const gate = createOriginGate({ maxInFlight: 1, maxQueued: 1, maxWaitMs: 50 });
    const leave = await gate.enter('https://a', signal());
    const started = performance.now();
    await assert.rejects(
      gate.enter('https://a', signal()),
      (err) => err instanceof OutboundLimitError && err.limit === 'busy' && err.message === 'none of the 1 requests in flight to it finished within 50 ms',
    );
    assert.ok(performance.now() - started >= 45);
    const next = gate.enter('https://a', signal());
    leave();
    (await next)();
    assert.equal(gate.inFlight('https://a'), 0);
  });

  it('refuses a request whose deadline has passed already', async () => {
    const gate = createOriginGate({ maxInFlight: 1, maxQueued: 1 });
    const deadline = new AbortController();
    deadline.abort(new OutboundLimitError('deadline', 'too late'));
    await assert.rejects(gate.enter('https://a', deadline.signal), (err) => err instanceof OutboundLimitError && err.message === 'too late');
  });
});
