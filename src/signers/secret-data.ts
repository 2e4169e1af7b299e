/** Decodes one base64 value of a Secret's data map; undefined when the key is absent or empty. */
export function secretValue(data: Record<string, string> | undefined, key: string): string | undefined {
  const b64 = data?.[key];
  if (!b64) return undefined;
  const text = Buffer.from(b64, 'base64').toString('utf8');
  return text.trim() === '' ? undefined : text;
}

export function encodeSecretValue(value: string | Uint8Array): string {
  return Buffer.from(value).toString('base64');
}
