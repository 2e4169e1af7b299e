import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseArgs } from '../../../src/cli/args.ts';
import { isCertsmithError } from '../../../src/errors.ts';

describe('parseArgs', () => {
  const cases: { name: string; argv: string[]; want: Record<string, unknown> }[] = [
    {
      name: 'reads the command, its argument and the namespace in any order',
      argv: ['-n', 'shop', 'status', 'web'],
      want: { command: 'status', args: ['web'], namespace: 'shop' },
    },
    {
      name: 'takes --flag=value and -ojson forms',
      argv: ['inspect', 'web-tls', '--namespace=shop', '-ojson', '--context=kind-dev', '--kubeconfig', '/tmp/kc'],
      want: { command: 'inspect', args: ['web-tls'], namespace: 'shop', output: 'json', context: 'kind-dev', kubeconfig: '/tmp/kc' },
    },
    {
      name: 'knows the check flags and their defaults',
      argv: ['check', '--health-url', 'http://127.0.0.1:9402/readyz'],
      want: { command: 'check', args: [], operatorNamespace: 'certsmith', leaseName: 'certsmith-operator', healthUrl: 'http://127.0.0.1:9402/readyz' },
    },
    {
      name: 'reads renew --wait with a timeout in seconds',
      argv: ['renew', 'web', '--wait', '--timeout', '30s'],
      want: { command: 'renew', args: ['web'], wait: true, timeoutSeconds: 30 },
    },
    {
      name: 'passes everything after sandbox to the sandbox script, flags included',
      argv: ['sandbox', '--detach', '-n', 'x'],
      want: { command: 'sandbox', args: ['--detach', '-n', 'x'] },
    },
    {
      name: 'notices --help anywhere before sandbox',
      argv: ['status', '--help'],
      want: { command: 'status', help: true },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const got = parseArgs(c.argv);
      const flat: Record<string, unknown> = { command: got.command, args: got.args, ...got.options };
      for (const [k, v] of Object.entries(c.want)) assert.deepEqual(flat[k], v, k);
    });
  }

  const bad: [string, string[], RegExp][] = [
    ['refuses an unknown flag', ['status', 'web', '--nope'], /unknown flag --nope/],
    ['refuses a flag without its value', ['status', 'web', '-n'], /-n needs a value/],
    ['refuses an output format it does not know', ['status', 'web', '-o', 'yaml'], /-o takes json or text, not "yaml"/],
    ['refuses a timeout that is not seconds', ['renew', 'web', '--timeout', 'soon'], /--timeout takes seconds/],
  ];
  for (const [name, argv, message] of bad) {
    it(name, () => {
      assert.throws(
        () => parseArgs(argv),
        (err: unknown) => isCertsmithError(err, 'ConfigInvalid') && message.test(err.message),
      );
    });
  }
});
