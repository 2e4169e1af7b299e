// Durations in Go syntax ("2160h", "1h30m", "1.5h"), because that is how cert-manager users already write them.
// Parsed exactly in integer nanoseconds (BigInt) so "0.1h" or "2h45m30.5s" carry no floating-point error.
import { CertsmithError } from '../errors.ts';

const NS_PER_UNIT: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 micro sign
  μs: 1_000n, // U+03BC Greek mu: Go accepts both spellings
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
const NS_PER_MS = 1_000_000n;
// Go stores a duration in an int64 of nanoseconds (about 2562047h); anything longer is an error there too.
const MAX_NS = 2n ** 63n - 1n;

/**
 * The most characters a duration may have, here and in the CRDs (maxLength). The longest Go writes is 24
 * ("2562047h47m16.854775807s", 29 with every unit spelled out), so 64 refuses nothing anyone means; and, checked
 * before any digit is read, it keeps the parse (digits go through BigInt) from costing more than a few microseconds:
 * unbounded, two 700 kB fields took 0.4 s of the event loop per validation.
 */
export const MAX_DURATION_LENGTH = 64;
// How much of an over-long text a message quotes: enough to recognise it, not megabytes in a status or an event.
const QUOTED_START = 16;

// One "<number><unit>" component: "1", "1.5", "1." and ".5" are numbers in Go; "." alone is not.
const COMPONENT = /(\d+)?(?:\.(\d*))?(ns|us|µs|μs|ms|s|m|h)/y;

const SYNTAX = 'use Go syntax such as "2160h" or "90m" (units h, m, s, ms; no days)';

function invalid(text: string, why = ''): CertsmithError {
  return new CertsmithError('InvalidDuration', `"${text}" is not a valid duration${why}: ${SYNTAX}`);
}

/** Why a duration longer than MAX_DURATION_LENGTH is refused, quoting only its start. */
export function durationTooLongMessage(text: string): string {
  // By code point, so the cut never splits a surrogate pair.
  const start = [...text.slice(0, 2 * QUOTED_START)].slice(0, QUOTED_START).join('');
  return `"${start}…" (${text.length} characters) is not a valid duration (longer than the limit of ${MAX_DURATION_LENGTH} characters): ${SYNTAX}`;
}

/**
 * Milliseconds in a Go duration string. Units ns, us, µs, ms, s, m, h; no days, no negative values; "0" alone is
 * allowed; at most MAX_DURATION_LENGTH characters. Sub-millisecond remainders are dropped ("1500us" → 1). Throws
 * InvalidDuration.
 */
export function parseDuration(text: string): number {
  if (text.length > MAX_DURATION_LENGTH) throw new CertsmithError('InvalidDuration', durationTooLongMessage(text));
  const rest = text.startsWith('+') ? text.slice(1) : text;
  if (rest.startsWith('-')) throw invalid(text, ' (negative durations are not allowed)');
  if (rest === '0') return 0;
  if (rest === '') throw invalid(text);

  let totalNs = 0n;
  let pos = 0;
  while (pos < rest.length) {
    COMPONENT.lastIndex = pos;
    const m = COMPONENT.exec(rest);
    const whole = m?.[1];
    const fraction = m?.[2];
    if (!m || (whole === undefined && !fraction)) throw invalid(text);
    const unit = NS_PER_UNIT[m[3]!]!;
    totalNs += BigInt(whole ?? '0') * unit;
    if (fraction) totalNs += (BigInt(fraction) * unit) / 10n ** BigInt(fraction.length); // truncates, as Go does
    if (totalNs > MAX_NS) throw invalid(text, ' (longer than the maximum of 2562047h)');
    pos = COMPONENT.lastIndex;
  }
  return Number(totalNs / NS_PER_MS);
}

/** Go's time.Duration.String() for a number of milliseconds: 7776000000 → "2160h0m0s", 1500 → "1.5s", 0 → "0s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) throw new RangeError(`cannot format ${ms} as a duration`);
  const sign = ms < 0 ? '-' : '';
  // Whole milliseconds in BigInt, only the fraction through floating point: ms * 1e6 passes 2^53 above ~2500h and
  // would turn 1186275779053 ms into "...59.052999936s".
  const whole = Math.trunc(Math.abs(ms));
  const ns = BigInt(whole) * NS_PER_MS + BigInt(Math.round((Math.abs(ms) - whole) * 1e6));
  if (ns === 0n) return '0s';
  if (ns < 1_000n) return `${sign}${ns}ns`;
  if (ns < 1_000_000n) return `${sign}${decimal(ns, 1_000n)}µs`;
  if (ns < 1_000_000_000n) return `${sign}${decimal(ns, 1_000_000n)}ms`;
  const h = ns / NS_PER_UNIT.h!;
  const m = (ns % NS_PER_UNIT.h!) / NS_PER_UNIT.m!;
  const s = decimal(ns % NS_PER_UNIT.m!, NS_PER_UNIT.s!);
  if (h > 0n) return `${sign}${h}h${m}m${s}s`;
  if (m > 0n) return `${sign}${m}m${s}s`;
  return `${sign}${s}s`;
}

/** value/unit as a decimal without trailing zeros: decimal(1500n, 1000n) → "1.5". */
function decimal(value: bigint, unit: bigint): string {
  const whole = value / unit;
  const fraction = value % unit;
  if (fraction === 0n) return String(whole);
  const digits = String(unit).length - 1;
  return `${whole}.${String(fraction).padStart(digits, '0').replace(/0+$/, '')}`;
}
