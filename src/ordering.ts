// String order for sorting: UTF-16 code units, like Go's sort.Strings. The same on every machine whatever its
// locale, and cheap: String.prototype.localeCompare consults ICU collation, whose tables (~9 MiB of the Node binary)
// it pages into memory on first use.
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
