// Test material: CAs and leaves from the shared test CA helper, read back as PEM strings.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestCA, type LeafRequest } from '../../env/certs.ts';

export interface Pair {
  certPem: string;
  keyPem: string;
}

export interface CA {
  certPem: string;
  issue(req: LeafRequest): Promise<Pair>;
}

let serial = 0;

export async function makeCA(workDir: string, commonName: string): Promise<CA> {
  const dir = await mkdtemp(join(workDir, 'ca-'));
  const ca = await createTestCA(dir, commonName);
  return {
    certPem: ca.certPem,
    async issue(req) {
      const files = await ca.issue(`leaf${++serial}`, req);
      return { certPem: files.certPem, keyPem: await readFile(files.keyFile, 'utf8') };
    },
  };
}

export async function tempDir(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'certsmith-reload-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Resolves with the first value `poll` returns that is not undefined, checking every few milliseconds. */
export async function eventually<T>(poll: () => T | undefined, timeoutMs = 5_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = poll();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export function tlsPayload(pair: Pair): Record<string, string> {
  return { 'tls.crt': pair.certPem, 'tls.key': pair.keyPem };
}
