// Go duration syntax ("2160h", "1h30m", "90s", "1.5h"), as cert-manager users write durations.
import { CertsmithError } from '../errors.ts';

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/** Milliseconds in a Go duration string; throws InvalidDuration with a message that says what is accepted. */
export function parseDuration(text: string, field = 'duration'): number {
  const invalid = () =>
    new CertsmithError(
      'InvalidDuration',
      `${field} "${text}" is not a valid duration: use Go syntax such as "2160h" or "90m" (units h, m, s, ms; no days)`,
    );
  const s = text.trim();
  if (s === '0') return 0;
  if (s === '' || s.startsWith('-') || s.startsWith('+')) throw invalid();
  let total = 0;
  PART.lastIndex = 0;
  let pos = 0;
  while (pos < s.length) {
    PART.lastIndex = pos;
    const m = PART.exec(s);
    if (!m) throw invalid();
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = PART.lastIndex;
  }
  return Math.round(total);
}

/** Go-style formatting, e.g. 7776000000 → "2160h0m0s". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  if (ms < 1000) return `${ms}ms`;
  return `${s}s`;
}
