// What every command gets: a client built once from the flags, the namespace, the output format and a clock.
import type { KubeClient } from '../kube/client.ts';
import type { Clock } from '../time/clock.ts';
import type { CliOptions } from './args.ts';

export interface CliContext {
  client: KubeClient;
  namespace: string;
  options: CliOptions;
  clock: Clock;
}

/** A command's answer: `text` for people, `json` for `-o json`; `ok` false makes the exit code 1. */
export interface CommandResult {
  ok: boolean;
  text: string;
  json: unknown;
}

export const DEFAULT_NAMESPACE = 'default';
