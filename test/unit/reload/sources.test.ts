// Sources over kubelet-style directories: swaps are picked up, invalid states keep the last good material and are
// reported as rejections.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { join } from 'node:path';
import { openSource, parseKeyPair, ReloadError, watchCAPool, watchKeyPair, watchTicketKeys } from '../../../src/reload/index.ts';
import type { RejectedEvent, ReloadedEvent } from '../../../src/reload/index.ts';
import { writeAtomically } from './atomic-writer.ts';
import { eventually, makeCA, tempDir, tlsPayload, type CA, type Pair } from './fixtures.ts';

let work: Awaited<ReturnType<typeof tempDir>>;
let ca: CA;
let first: Pair;
let second: Pair;

before(async () => {
  work = await tempDir();
  ca = await makeCA(work.path, 'Sources Test CA');
  first = await ca.issue({ commonName: 'first', dnsNames: ['first.example.com'] });
  second = await ca.issue({ commonName: 'second', dnsNames: ['second.example.com', '*.apps.example.com'] });
});
after(() => work.remove());

function recorder() {
  const reloaded: ReloadedEvent[] = [];
  const rejected: RejectedEvent[] = [];
  return { reloaded, rejected, hooks: { reloaded: (e: ReloadedEvent) => reloaded.push(e), rejected: (e: RejectedEvent) => rejected.push(e) } };
}

describe('watchKeyPair', () => {
  it('reads the pair through ..data and follows a swap', async () => {
    const dir = join(work.path, 'swap');
    await writeAtomically(dir, tlsPayload(first));
    const events = recorder();
    const source = await watchKeyPair(dir, { hooks: events.hooks, debounceMs: 20 });
    try {
      assert.deepEqual(source.current().names, ['first.example.com']);
      await writeAtomically(dir, tlsPayload(second));
      await eventually(() => (source.generation() === 2 ? true : undefined));
      assert.deepEqual(source.current().names, ['second.example.com', '*.apps.example.com']);
      assert.deepEqual(
        events.reloaded.map((e) => e.generation),
        [1, 2],
      );
      assert.equal(events.rejected.length, 0);
    } finally {
      source.close();
    }
  });

  const invalidStates: { name: string; payload: () => Record<string, string>; code: string }[] = [
    { name: 'an empty certificate file', payload: () => ({ 'tls.crt': '', 'tls.key': second.keyPem }), code: 'Empty' },
    { name: 'an empty key file', payload: () => ({ 'tls.crt': second.certPem, 'tls.key': '' }), code: 'Empty' },
    {
      name: 'garbage PEM',
      payload: () => ({ 'tls.crt': '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n', 'tls.key': second.keyPem }),
      code: 'Unparsable',
    },
    { name: 'a truncated certificate', payload: () => ({ 'tls.crt': second.certPem.slice(0, 200), 'tls.key': second.keyPem }), code: 'Unparsable' },
    { name: 'a key that is no key', payload: () => ({ 'tls.crt': second.certPem, 'tls.key': 'hello' }), code: 'Unparsable' },
    { name: 'a key not matching the certificate', payload: () => ({ 'tls.crt': second.certPem, 'tls.key': first.keyPem }), code: 'KeyMismatch' },
  ];
  for (const state of invalidStates) {
    it(`keeps the last good pair and reports a rejection for ${state.name}`, async () => {
      const dir = join(work.path, `invalid-${state.code}-${Math.random().toString(36).slice(2)}`);
      await writeAtomically(dir, tlsPayload(first));
      const events = recorder();
      const source = await watchKeyPair(dir, { hooks: events.hooks, debounceMs: 20 });
      try {
        await writeAtomically(dir, state.payload());
        const rejection = await eventually(() => events.rejected[0]);
        assert.equal(rejection.code, state.code);
        assert.equal(rejection.keptGeneration, 1);
        assert.equal(source.generation(), 1);
        assert.equal(source.current().certPem, first.certPem);
        // A good write afterwards is taken as usual.
        await writeAtomically(dir, tlsPayload(second));
        await eventually(() => (source.generation() === 2 ? true : undefined));
        assert.equal(source.current().certPem, second.certPem);
      } finally {
        source.close();
      }
    });
  }

  it('refuses to start on invalid material, naming the problem', async () => {
    const dir = join(work.path, 'bad-start');
    await writeAtomically(dir, { 'tls.crt': second.certPem, 'tls.key': first.keyPem });
    await assert.rejects(watchKeyPair(dir), (err: unknown) => err instanceof ReloadError && err.code === 'KeyMismatch');
  });

  it('picks up a change the watcher missed on the next poll', async () => {
    const dir = join(work.path, 'poll');
    await writeAtomically(dir, tlsPayload(first));
    // A debounce far beyond the test makes the poll the only path.
    const source = await watchKeyPair(dir, { debounceMs: 60_000, pollIntervalMs: 50 });
    try {
      await writeAtomically(dir, tlsPayload(second));
      await eventually(() => (source.generation() === 2 ? true : undefined), 2_000);
    } finally {
      source.close();
    }
  });

  it('does not count a rewrite of the same content as a new generation', async () => {
    const dir = join(work.path, 'same');
    await writeAtomically(dir, tlsPayload(first));
    const events = recorder();
    const source = await watchKeyPair(dir, { hooks: events.hooks, debounceMs: 20 });
    try {
      await writeAtomically(dir, tlsPayload(first));
      await source.refresh();
      assert.equal(source.generation(), 1);
    } finally {
      source.close();
    }
  });
});

describe('openSource', () => {
  // Every poll reads the files; parsing them again when they are the bytes already parsed only costs CPU (a 1 MiB
  // bundle is thousands of certificates).
  it('parses a read only when its bytes differ from the last read', async () => {
    const dir = join(work.path, 'parse-once');
    await writeAtomically(dir, tlsPayload(first));
    let parses = 0;
    const events = recorder();
    const source = await openSource({
      dir,
      files: ['tls.crt', 'tls.key'],
      hooks: events.hooks,
      debounceMs: 60_000,
      pollIntervalMs: 0,
      parse: (files) => {
        parses += 1;
        return parseKeyPair(files);
      },
    });
    try {
      const mismatched = { 'tls.crt': second.certPem, 'tls.key': first.keyPem };
      const steps: { name: string; write?: Record<string, string>; parses: number; generation: number }[] = [
        { name: 'a poll after the first read', parses: 1, generation: 1 },
        { name: 'a rewrite of the same bytes', write: tlsPayload(first), parses: 1, generation: 1 },
        { name: 'a new pair', write: tlsPayload(second), parses: 2, generation: 2 },
        { name: 'a poll after the new pair', parses: 2, generation: 2 },
        { name: 'a bad pair', write: mismatched, parses: 3, generation: 2 },
        { name: 'a poll after the bad pair', parses: 3, generation: 2 },
      ];
      for (const step of steps) {
        if (step.write) await writeAtomically(dir, step.write);
        await source.refresh();
        assert.deepEqual({ parses, generation: source.generation() }, { parses: step.parses, generation: step.generation }, step.name);
      }
      // Unchanged bad bytes are still reported on every read, as before: the same verdict, not parsed again.
      assert.deepEqual(
        events.rejected.map((e) => e.code),
        ['KeyMismatch', 'KeyMismatch'],
      );
    } finally {
      source.close();
    }
  });
});

describe('watchCAPool', () => {
  it('deduplicates and orders the bundle, so reordering is no change', async () => {
    const other = await makeCA(work.path, 'Other CA');
    const dir = join(work.path, 'pool');
    await writeAtomically(dir, { 'ca.crt': ca.certPem + other.certPem + ca.certPem });
    const source = await watchCAPool(dir, { debounceMs: 20 });
    try {
      assert.equal(source.current().pems.length, 2);
      await writeAtomically(dir, { 'ca.crt': other.certPem + ca.certPem });
      await source.refresh();
      assert.equal(source.generation(), 1);
    } finally {
      source.close();
    }
  });

  it('reads a TrustBundle ConfigMap key and rejects a bundle with a private key in it', async () => {
    const dir = join(work.path, 'bundle');
    await writeAtomically(dir, { 'trust-bundle.pem': ca.certPem });
    const events = recorder();
    const source = await watchCAPool(dir, { file: 'trust-bundle.pem', hooks: events.hooks, debounceMs: 20 });
    try {
      await writeAtomically(dir, { 'trust-bundle.pem': ca.certPem + first.keyPem });
      const rejection = await eventually(() => events.rejected[0]);
      assert.equal(rejection.code, 'Unparsable');
      assert.equal(source.current().pems.length, 1);
    } finally {
      source.close();
    }
  });
});

describe('watchTicketKeys', () => {
  const cases: { name: string; data: Buffer | string; ok: boolean }[] = [
    { name: 'takes 48 raw bytes', data: Buffer.alloc(48, 7), ok: true },
    { name: 'takes 48 bytes in base64', data: Buffer.alloc(48, 7).toString('base64'), ok: true },
    { name: 'refuses 32 bytes', data: Buffer.alloc(32, 7), ok: false },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const dir = join(work.path, `ticket-${Math.random().toString(36).slice(2)}`);
      await writeAtomically(dir, { 'ticket.key': c.data });
      if (c.ok) {
        const source = await watchTicketKeys(dir);
        assert.deepEqual(source.current().keys, Buffer.alloc(48, 7));
        source.close();
      } else {
        await assert.rejects(watchTicketKeys(dir), (err: unknown) => err instanceof ReloadError && err.code === 'BadTicketKeys');
      }
    });
  }
});
