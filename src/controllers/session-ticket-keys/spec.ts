// A SessionTicketKeys spec as the reconciler uses it: checked beyond what the CRD schema holds (a rotation
// interval that parses and is at least a second), with the defaults filled in. Pure.
import { DEFAULT_KEEP, DEFAULT_ROTATION_INTERVAL, MIN_ROTATION_INTERVAL_MS, SessionTicketKeysSpec } from '../../api/session-ticket-keys.ts';
import { formatZodIssues } from '../../api/zod-issues.ts';
import { parseDuration } from '../../time/duration.ts';

export type UsableSpec = { secretName: string; intervalMs: number; keep: number; problem?: undefined } | { problem: string };

export function usableSpec(spec: unknown): UsableSpec {
  const parsed = SessionTicketKeysSpec.safeParse(spec);
  if (!parsed.success) return { problem: formatZodIssues(parsed.error) };
  const { secretName, rotationInterval, keep = DEFAULT_KEEP } = parsed.data;
  let intervalMs: number;
  try {
    intervalMs = parseDuration(rotationInterval ?? DEFAULT_ROTATION_INTERVAL);
  } catch (err) {
    return { problem: `rotationInterval: ${(err as Error).message}` };
  }
  if (intervalMs < MIN_ROTATION_INTERVAL_MS) return { problem: `rotationInterval: at least 1s, not ${rotationInterval}` };
  return { secretName, intervalMs, keep };
}
