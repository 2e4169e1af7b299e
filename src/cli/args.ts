// Parses the command line into a command, its arguments and the global flags. Pure: argv in, options out;
// a mistake throws ConfigInvalid with a message that names the flag.
import { CertsmithError } from '../errors.ts';

export type OutputFormat = 'text' | 'json';

export interface CliOptions {
  namespace?: string;
  kubeconfig?: string;
  context?: string;
  output: OutputFormat;
  /** `check`: where the operator's Lease lives (its --cluster-resource-namespace). */
  operatorNamespace: string;
  /** `check`: the Lease name (the operator's --leader-election-id). */
  leaseName: string;
  /** `check`: the operator's /readyz (or any health URL) to GET as well. */
  healthUrl?: string;
  /** `renew`: wait until the new revision is written. */
  wait: boolean;
  /** `renew --wait`: how long, in seconds. */
  timeoutSeconds: number;
  help: boolean;
}

export interface ParsedArgs {
  command?: string;
  args: string[];
  options: CliOptions;
}

export const COMMANDS = ['status', 'renew', 'inspect', 'check', 'sandbox'] as const;
export type Command = (typeof COMMANDS)[number];

type ValueFlag = 'namespace' | 'kubeconfig' | 'context' | 'output' | 'operatorNamespace' | 'leaseName' | 'healthUrl' | 'timeout';
const VALUE_FLAGS: Record<string, ValueFlag> = {
  '-n': 'namespace',
  '--namespace': 'namespace',
  '--kubeconfig': 'kubeconfig',
  '--context': 'context',
  '-o': 'output',
  '--output': 'output',
  '--operator-namespace': 'operatorNamespace',
  '--lease': 'leaseName',
  '--health-url': 'healthUrl',
  '--timeout': 'timeout',
};

export const DEFAULT_OPERATOR_NAMESPACE = 'certsmith';
export const DEFAULT_LEASE_NAME = 'certsmith-operator';

export function parseArgs(argv: readonly string[]): ParsedArgs {
  const options: CliOptions = {
    output: 'text',
    operatorNamespace: DEFAULT_OPERATOR_NAMESPACE,
    leaseName: DEFAULT_LEASE_NAME,
    wait: false,
    timeoutSeconds: 120,
    help: false,
  };
  let command: string | undefined;
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    // The sandbox script has flags of its own: everything after `sandbox` is its.
    if (command === 'sandbox') {
      args.push(arg);
      continue;
    }
    if (arg === '-h' || arg === '--help') {
      options.help = true;
      continue;
    }
    if (arg === '--wait') {
      options.wait = true;
      continue;
    }
    if (arg === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    const flag = splitFlag(arg);
    if (flag) {
      const key = VALUE_FLAGS[flag.name];
      if (!key) throw usage(`unknown flag ${flag.name}`);
      let value = flag.value;
      if (value === undefined) {
        value = argv[++i];
        if (value === undefined || value === '') throw usage(`${flag.name} needs a value`);
      }
      setOption(options, key, value, flag.name);
      continue;
    }
    if (command === undefined) command = arg;
    else args.push(arg);
  }
  return { ...(command !== undefined ? { command } : {}), args, options };
}

export function isCommand(s: string | undefined): s is Command {
  return (COMMANDS as readonly string[]).includes(s ?? '');
}

/** "--name=value", "--name value", "-n value", "-nvalue", "-ojson"; undefined for a positional argument. */
function splitFlag(arg: string): { name: string; value?: string } | undefined {
  if (arg.startsWith('--')) {
    const eq = arg.indexOf('=');
    return eq < 0 ? { name: arg } : { name: arg.slice(0, eq), value: arg.slice(eq + 1) };
  }
  if (arg.startsWith('-') && arg.length > 1) {
    const name = arg.slice(0, 2);
    const rest = arg.slice(2).replace(/^=/, '');
    return rest === '' ? { name } : { name, value: rest };
  }
  return undefined;
}

function setOption(o: CliOptions, key: ValueFlag, value: string, flag: string): void {
  switch (key) {
    case 'output':
      if (value !== 'json' && value !== 'text') throw usage(`${flag} takes json or text, not "${value}"`);
      o.output = value;
      return;
    case 'timeout': {
      const seconds = Number(value.replace(/s$/, ''));
      if (!Number.isFinite(seconds) || seconds <= 0) throw usage(`${flag} takes seconds, such as 120 or 120s, not "${value}"`);
      o.timeoutSeconds = seconds;
      return;
    }
    default:
      o[key] = value;
  }
}

function usage(message: string): CertsmithError {
  return new CertsmithError('ConfigInvalid', message);
}

export const HELP = `certsmith — look at and act on certsmith Certificates (also: kubectl certsmith)

Usage:
  certsmith status <certificate>   conditions, events, ACME progress, next renewal, the Secret summarized
  certsmith renew <certificate>    re-issue now (add --wait to wait for the new revision)
  certsmith inspect <secret>       the certificate chain in a Secret: names, key type, expiry, who signed it
  certsmith check                  API server reachable, CRDs installed and current, operator healthy
  certsmith sandbox [args]         the local sandbox (a checkout's scripts/sandbox.ts; --detach, down)

Flags:
  -n, --namespace <ns>             namespace of the Certificate or Secret (default "default")
      --kubeconfig <file>          kubeconfig to use (default $KUBECONFIG, ~/.kube/config, or in-cluster)
      --context <name>             kubeconfig context to use instead of current-context
  -o, --output json|text           json for scripts; text (default) for people
      --wait                       renew: wait until the new certificate is written
      --timeout <seconds>          renew --wait: give up after this long (default 120)
      --operator-namespace <ns>    check: namespace of the operator's Lease (default "certsmith")
      --lease <name>               check: name of the operator's Lease (default "certsmith-operator")
      --health-url <url>           check: also GET the operator's health endpoint (e.g. http://host:9402/readyz)
  -h, --help                       this text

Exit codes: 0 success; 1 failure (not found, a check failed, API error); 2 bad usage.
`;
