#!/usr/bin/env node
// The certsmith command, also installed as the kubectl plugin kubectl-certsmith. Wiring only: parse the flags
// once, build the client, run one command, print its answer, exit 0 (ok), 1 (failure) or 2 (bad usage).
import { isCertsmithError } from '../errors.ts';
import { createKubeClient } from '../kube/client.ts';
import { systemClock } from '../time/clock.ts';
import { HELP, isCommand, parseArgs, type ParsedArgs } from './args.ts';
import { checkCommand } from './check.ts';
import { DEFAULT_NAMESPACE, type CliContext, type CommandResult } from './context.ts';
import { toJson } from './format.ts';
import { inspectCommand } from './inspect.ts';
import { renewCommand } from './renew.ts';
import { sandboxCommand } from './sandbox.ts';
import { statusCommand } from './status.ts';

export async function run(argv: readonly string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream): Promise<number> {
  let parsed: ParsedArgs;
  try {
    parsed = parseArgs(argv);
  } catch (e) {
    err.write(`certsmith: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  const { command, args, options } = parsed;
  if (options.help || command === undefined || command === 'help') {
    (command === undefined && !options.help ? err : out).write(HELP);
    return command === undefined && !options.help ? 2 : 0;
  }
  if (!isCommand(command)) {
    err.write(`certsmith: unknown command "${command}"\n\n${HELP}`);
    return 2;
  }
  if (command === 'sandbox') {
    try {
      return await sandboxCommand(args);
    } catch (e) {
      err.write(`certsmith: ${(e as Error).message}\n`);
      return 1;
    }
  }
  const wantsName = command !== 'check';
  if (wantsName ? args.length !== 1 : args.length !== 0) {
    err.write(`certsmith: ${wantsName ? `${command} takes one name, e.g. certsmith ${command} web -n shop` : 'check takes no arguments'}\n`);
    return 2;
  }
  try {
    const ctx: CliContext = {
      client: createKubeClient({
        ...(options.kubeconfig ? { kubeconfigPath: options.kubeconfig } : {}),
        ...(options.context ? { context: options.context } : {}),
        userAgent: 'certsmith-cli',
        maxSockets: 4,
      }),
      namespace: options.namespace ?? DEFAULT_NAMESPACE,
      options,
      clock: systemClock,
    };
    const name = args[0]!;
    const result: CommandResult =
      command === 'status'
        ? await statusCommand(ctx, name)
        : command === 'renew'
          ? await renewCommand(ctx, name)
          : command === 'inspect'
            ? await inspectCommand(ctx, name)
            : await checkCommand(ctx);
    out.write(options.output === 'json' ? toJson(result.json) : result.text);
    return result.ok ? 0 : 1;
  } catch (e) {
    const code = isCertsmithError(e) ? e.code : undefined;
    if (options.output === 'json') out.write(toJson({ error: { code: code ?? 'Error', message: (e as Error).message } }));
    err.write(`certsmith: ${(e as Error).message}\n`);
    return 1;
  }
}

// Run when executed (node src/cli/main.ts, the bin links), not when imported by a test.
const invoked = process.argv[1] ? (await import('node:fs')).realpathSync(process.argv[1]) : '';
if (invoked === (await import('node:url')).fileURLToPath(import.meta.url)) {
  process.exitCode = await run(process.argv.slice(2), process.stdout, process.stderr);
}
