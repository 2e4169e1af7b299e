#!/usr/bin/env node
// Composition root: parse the configuration once, build the real clients, run until a signal.
import { parseConfig, usage } from './config/config.ts';
import { isCertsmithError } from './errors.ts';
import { createManager } from './manager.ts';
import { createLogger } from './observability/logger.ts';
import { systemClock } from './time/clock.ts';
import { exposedCollector } from './runtime/memory-trim.ts';

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage());
    return 0;
  }
  let config;
  try {
    config = parseConfig(argv, process.env);
  } catch (err) {
    if (isCertsmithError(err, 'ConfigInvalid')) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  const log = createLogger({ level: config.logLevel });
  const manager = createManager(config, { log, clock: systemClock, collectGarbage: exposedCollector() });
  let signals = 0;
  const onSignal = (sig: string) => {
    signals++;
    log.info({ signal: sig }, 'stopping');
    if (signals > 1) process.exit(1);
    void manager.stop();
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  await manager.run();
  log.info('stopped');
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`certsmith: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
