// Pure text helpers for the CLI's human output: ages and countdowns, aligned fields, tables. No I/O, no clock:
// `now` is passed in, so output is the same for the same inputs.

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A length of time the way kubectl prints ages: "45s", "12m", "30h", "59d". Rounds down. */
export function shortDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 2 * MINUTE) return `${Math.floor(abs / SECOND)}s`;
  if (abs < 2 * HOUR) return `${Math.floor(abs / MINUTE)}m`;
  if (abs < 2 * DAY) return `${Math.floor(abs / HOUR)}h`;
  return `${Math.floor(abs / DAY)}d`;
}

/** "in 59d" for a moment ahead of `now`, "3h ago" for one behind it, "now" within a second. */
export function relativeTime(at: Date, now: Date): string {
  const ms = at.getTime() - now.getTime();
  if (Math.abs(ms) < SECOND) return 'now';
  return ms > 0 ? `in ${shortDuration(ms)}` : `${shortDuration(ms)} ago`;
}

/** "2026-04-01T00:00:00Z (in 59d)"; undefined in, undefined out; an unparseable time is shown as given. */
export function timeWithRelative(iso: string | undefined, now: Date): string | undefined {
  if (iso === undefined) return undefined;
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return iso;
  return `${iso} (${relativeTime(at, now)})`;
}

/** Age of an RFC 3339 time ("5m"), or "-" when unknown. */
export function age(iso: string | undefined, now: Date): string {
  if (!iso) return '-';
  const at = Date.parse(iso);
  return Number.isNaN(at) ? '-' : shortDuration(now.getTime() - at);
}

/** "Label:  value" lines with the values aligned; fields whose value is undefined are left out. */
export function formatFields(fields: readonly (readonly [string, string | undefined])[], indent = ''): string[] {
  const shown = fields.filter((f): f is readonly [string, string] => f[1] !== undefined);
  const width = Math.max(0, ...shown.map(([label]) => label.length + 1));
  return shown.map(([label, value]) => `${indent}${`${label}:`.padEnd(width)}  ${value}`.trimEnd());
}

/** Columns separated by two spaces, headers upper-cased, the last column not padded. Cells keep their order. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], indent = ''): string[] {
  const all = [headers.map((h) => h.toUpperCase()), ...rows.map((r) => headers.map((_, i) => oneLine(r[i] ?? '')))];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all.map(
    (r) =>
      indent +
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
  );
}

/** "a, b, c", or "-" for none. */
export function list(values: readonly string[] | undefined): string {
  return values && values.length > 0 ? values.join(', ') : '-';
}

/** "1 byte", "1234 bytes". */
export function bytes(n: number): string {
  return n === 1 ? '1 byte' : `${n} bytes`;
}

/** Deterministic JSON for `-o json`: two-space indent and a final newline. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

// A table cell is one line: messages with newlines would break the columns.
function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}
