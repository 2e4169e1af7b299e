import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isCertsmithError } from '../../../src/errors.ts';
import { formatDuration, MAX_DURATION_LENGTH, parseDuration } from '../../../src/time/duration.ts';
import { assertLinear } from '../timing.ts';

const H = 3_600_000;

describe('parseDuration', () => {
  const valid: { name: string; text: string; ms: number }[] = [
    { name: 'hours alone, the usual way to write 90 days', text: '2160h', ms: 2160 * H },
    { name: 'hours and minutes', text: '1h30m', ms: 1.5 * H },
    { name: 'seconds', text: '90s', ms: 90_000 },
    { name: 'a fractional hour', text: '1.5h', ms: 1.5 * H },
    { name: 'milliseconds', text: '500ms', ms: 500 },
    { name: 'three units with a fractional last one', text: '2h45m30.5s', ms: 2 * H + 45 * 60_000 + 30_500 },
    { name: 'a bare zero', text: '0', ms: 0 },
    { name: 'zero with a unit', text: '0s', ms: 0 },
    { name: 'a fraction with no whole part', text: '.5h', ms: 0.5 * H },
    { name: 'a number ending in a dot', text: '5.s', ms: 5_000 },
    { name: 'a unit repeated, as Go allows', text: '1h1h', ms: 2 * H },
    { name: 'units out of the usual order', text: '30m1h', ms: 1.5 * H },
    { name: 'an explicit plus sign', text: '+1m', ms: 60_000 },
    { name: 'a tenth of an hour, without floating-point error', text: '0.1h', ms: 360_000 },
    { name: 'microseconds, dropping the sub-millisecond rest', text: '1500us', ms: 1 },
    { name: 'microseconds spelled with the micro sign', text: '2000µs', ms: 2 },
    { name: 'microseconds spelled with the Greek mu', text: '3000μs', ms: 3 },
    { name: 'nanoseconds', text: '5000000ns', ms: 5 },
    { name: 'a duration too short to count in milliseconds', text: '1ns', ms: 0 },
  ];
  for (const c of valid) {
    it(`reads ${c.name} ("${c.text}")`, () => assert.equal(parseDuration(c.text), c.ms));
  }

  const invalid: { name: string; text: string; hint?: RegExp }[] = [
    { name: 'days, which Go does not have', text: '3d' },
    { name: 'a number without a unit', text: '90' },
    { name: 'an empty string', text: '' },
    { name: 'a negative duration', text: '-1h', hint: /negative/ },
    { name: 'a unit without a number', text: 'h' },
    { name: 'a lone dot', text: '.h' },
    { name: 'an upper-case unit', text: '1H' },
    { name: 'white space inside', text: '1h 30m' },
    { name: 'surrounding white space', text: ' 1h' },
    { name: 'an unknown unit', text: '1w' },
    { name: 'a trailing number after a unit', text: '1h30' },
    { name: 'more than Go can hold', text: '3000000h', hint: /maximum/ },
  ];
  for (const c of invalid) {
    it(`refuses ${c.name} ("${c.text}") with an InvalidDuration error that shows the accepted syntax`, () => {
      assert.throws(
        () => parseDuration(c.text),
        (err: unknown) => {
          assert.ok(isCertsmithError(err, 'InvalidDuration'));
          assert.ok(err.message.startsWith(`"${c.text}" is not a valid duration`), err.message);
          assert.match(err.message, /use Go syntax such as "2160h" or "90m" \(units h, m, s, ms/);
          if (c.hint) assert.match(err.message, c.hint);
          return true;
        },
      );
    });
  }
});

describe('parseDuration: length', () => {
  it('allows 64 characters', () => assert.equal(MAX_DURATION_LENGTH, 64));

  const fits: { name: string; text: string; ms: number }[] = [
    { name: 'the longest duration Go writes', text: '2562047h47m16.854775807s', ms: 9_223_372_036_854 },
    { name: 'the same in every unit', text: '2562047h47m16s854ms775us807ns', ms: 9_223_372_036_854 },
    { name: 'exactly 64 characters', text: `${'0'.repeat(62)}1h`, ms: H },
  ];
  for (const c of fits) {
    it(`reads ${c.name} ("${c.text}")`, () => assert.equal(parseDuration(c.text), c.ms));
  }

  const tooLong: { name: string; text: string }[] = [
    { name: '65 characters', text: `${'0'.repeat(63)}1h` },
    { name: '700 kB of digits', text: `${'1'.repeat(700_000)}h` },
    { name: 'a 700 kB fraction', text: `.${'9'.repeat(700_000)}h` },
    { name: '700 kB of components', text: '1ns'.repeat(233_333) },
  ];
  for (const c of tooLong) {
    it(`refuses ${c.name} by its length, quoting only its start`, () => {
      assert.throws(
        () => parseDuration(c.text),
        (err: unknown) => {
          assert.ok(isCertsmithError(err, 'InvalidDuration'));
          const start = c.text.slice(0, 16);
          assert.equal(
            err.message,
            `"${start}…" (${c.text.length} characters) is not a valid duration (longer than the limit of 64 characters): use Go syntax such as "2160h" or "90m" (units h, m, s, ms; no days)`,
          );
          return true;
        },
      );
    });
  }

  // Unbounded, the digits went through BigInt: a 700 kB fraction took about 120 ms, and a Certificate with two such
  // fields 0.4 s of the event loop for each validation.
  const inputs: { name: string; input: (size: number) => string }[] = [
    { name: 'digits', input: (size) => `${'1'.repeat(size)}h` },
    { name: 'a fraction', input: (size) => `.${'9'.repeat(size)}h` },
    { name: 'components', input: (size) => '1ns'.repeat(Math.floor(size / 3)) },
  ];
  for (const c of inputs) {
    it(`refuses 700 kB of ${c.name} in well under 10 ms`, (t) => {
      const parse = (text: string) => {
        try {
          return parseDuration(text);
        } catch (err) {
          return err;
        }
      };
      t.diagnostic(assertLinear({ input: c.input, run: parse, size: 700_000, ceilingMs: 10 }));
    });
  }
});

describe('formatDuration', () => {
  const cases: { name: string; ms: number; text: string }[] = [
    { name: '90 days as hours, minutes and seconds', ms: 7_776_000_000, text: '2160h0m0s' },
    { name: 'zero', ms: 0, text: '0s' },
    { name: 'an hour and a half', ms: 1.5 * H, text: '1h30m0s' },
    { name: 'minutes without hours', ms: 90_000, text: '1m30s' },
    { name: 'fractional seconds without trailing zeros', ms: 1_500, text: '1.5s' },
    { name: 'under a second, in milliseconds', ms: 500, text: '500ms' },
    { name: 'under a millisecond, in microseconds', ms: 0.25, text: '250µs' },
    { name: 'under a microsecond, in nanoseconds', ms: 0.000_5, text: '500ns' },
    { name: 'a negative duration, with its sign', ms: -90_000, text: '-1m30s' },
    { name: 'hours, minutes and fractional seconds', ms: 2 * H + 45 * 60_000 + 30_500, text: '2h45m30.5s' },
    // Found by test/unit/fuzz/duration.test.ts: ms * 1e6 in floating point gave "329521h2m59.052999936s".
    { name: 'a duration past 2^53 nanoseconds, without floating-point error', ms: 1_186_275_779_053, text: '329521h2m59.053s' },
    { name: 'the longest duration Go holds, to the millisecond', ms: 9_223_372_036_854, text: '2562047h47m16.854s' },
  ];
  for (const c of cases) {
    it(`writes ${c.name} as "${c.text}"`, () => assert.equal(formatDuration(c.ms), c.text));
  }

  const roundTrips = ['2160h0m0s', '1h30m0s', '1m30s', '1.5s', '500ms', '2h45m30.5s', '0s'];
  for (const text of roundTrips) {
    it(`reads back what it writes ("${text}")`, () => assert.equal(formatDuration(parseDuration(text)), text));
  }
});
