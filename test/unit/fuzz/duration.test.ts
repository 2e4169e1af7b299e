// Properties of Go-syntax durations (time/duration.ts) over generated and mutated text.
import assert from 'node:assert/strict';
import { formatDuration, MAX_DURATION_LENGTH, parseDuration } from '../../../src/time/duration.ts';
import { mutateString, property, refusesOnlyWith, shrinkString, type Random } from './harness.ts';

const NS_PER_UNIT: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  μs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const UNITS = Object.keys(NS_PER_UNIT);
const MAX_NS = 2n ** 63n - 1n;
const MAX_MS = Number(MAX_NS / 1_000_000n);
const DURATION_TOKENS = [...'0123456789', '0', '1', '.', ...UNITS, 'h', 'm', 's', '+', '-', 'd', 'H', ' ', 'e', '9999999999', '00000000'];

interface Component {
  whole?: string;
  fraction?: string;
  unit: string;
}

const digits = (r: Random, max: number) => r.string('0123456789', r.range(1, max));

/** Components Go accepts: "1h", "1.5h", "1.h", ".5h", with numbers of up to 12 digits. */
function components(r: Random): Component[] {
  return Array.from({ length: r.range(1, 4) }, () => {
    const unit = r.pick(UNITS);
    return r.weighted<Component>([
      [4, () => ({ whole: digits(r, r.pick([2, 4, 12])), unit })],
      [2, () => ({ whole: digits(r, 4), fraction: digits(r, 9), unit })],
      [1, () => ({ whole: digits(r, 3), fraction: '', unit })],
      [1, () => ({ fraction: digits(r, 6), unit })],
    ]);
  });
}

const text = (cs: readonly Component[]) => cs.map((c) => `${c.whole ?? ''}${c.fraction === undefined ? '' : `.${c.fraction}`}${c.unit}`).join('');

/** What Go makes of the components: nanoseconds summed, each fraction truncated to whole nanoseconds. */
function expectedNs(cs: readonly Component[]): bigint {
  let ns = 0n;
  for (const c of cs) {
    const unit = NS_PER_UNIT[c.unit]!;
    ns += BigInt(c.whole || '0') * unit;
    if (c.fraction) ns += (BigInt(c.fraction) * unit) / 10n ** BigInt(c.fraction.length);
  }
  return ns;
}

function untrustedDuration(r: Random, size: number): string {
  return r.weighted<string>([
    [3, () => r.string(DURATION_TOKENS, r.length(Math.ceil(size / 3)))],
    [4, () => mutateString(r, text(components(r)), DURATION_TOKENS)],
    [2, () => (r.chance(0.5) ? '+' : '') + text(components(r))],
    [1, () => r.string(DURATION_TOKENS, r.range(MAX_DURATION_LENGTH - 2, MAX_DURATION_LENGTH + 2))],
    [1, () => '9'.repeat(r.range(1, 5000)) + r.pick(UNITS)],
  ]);
}

property({
  name: 'parseDuration throws nothing but InvalidDuration, with a short message, and accepts only whole milliseconds in Go range',
  iterations: 5000,
  generate: untrustedDuration,
  shrink: shrinkString,
  maxInputMs: 20,
  check: (input) => {
    const parsed = refusesOnlyWith(['InvalidDuration'], () => parseDuration(input));
    if (!parsed.ok) {
      // The message quotes the text, but never more than the length limit of it.
      assert.ok(parsed.error.message.length < 250, `a message of ${parsed.error.message.length} characters`);
      return;
    }
    assert.ok(input.length <= MAX_DURATION_LENGTH);
    assert.ok(Number.isSafeInteger(parsed.value) && parsed.value >= 0 && parsed.value <= MAX_MS, `read as ${parsed.value}`);
  },
});

property({
  name: 'parseDuration reads what Go reads: the sum of the components, fractions truncated to nanoseconds',
  iterations: 4000,
  generate: (r) => components(r),
  shrink: function* (cs) {
    for (let i = 0; i < cs.length && cs.length > 1; i++) yield cs.toSpliced(i, 1);
  },
  show: (cs) => JSON.stringify(text(cs)),
  check: (cs) => {
    const ns = expectedNs(cs);
    const input = text(cs);
    if (input.length > MAX_DURATION_LENGTH || ns > MAX_NS) {
      assert.throws(() => parseDuration(input), { code: 'InvalidDuration' });
    } else {
      assert.equal(parseDuration(input), Number(ns / 1_000_000n));
    }
  },
});

property({
  name: 'formatDuration and parseDuration round-trip every whole number of milliseconds in Go range',
  iterations: 5000,
  generate: (r) =>
    r.weighted<number>([
      [1, () => r.int(1000)],
      [2, () => r.int(1e6) * r.pick([1, 1000, 60_000])],
      [2, () => Math.floor(((r.u32() * r.u32()) / 2 ** 64) * MAX_MS)],
      [1, () => MAX_MS - r.int(1000)],
    ]),
  check: (ms) => {
    const text = formatDuration(ms);
    assert.ok(text.length <= MAX_DURATION_LENGTH);
    assert.equal(parseDuration(text), ms, `formatted as ${text}`);
  },
});

property({
  name: "formatDuration's form is canonical: parsing and formatting it again gives the same text",
  iterations: 4000,
  generate: untrustedDuration,
  shrink: shrinkString,
  check: (input) => {
    const parsed = refusesOnlyWith(['InvalidDuration'], () => parseDuration(input));
    if (!parsed.ok) return;
    const canonical = formatDuration(parsed.value);
    assert.equal(parseDuration(canonical), parsed.value);
    assert.equal(formatDuration(parseDuration(canonical)), canonical);
  },
});
