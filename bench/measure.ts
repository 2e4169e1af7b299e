// What every benchmark scenario measures: API writes (the API server's own counters), the operator's peak RSS and
// metrics, CPU time of each child process, and how the Certificates progress until all are Ready.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Certificate } from '../src/api/certificate.ts';
import { findCondition } from '../src/api/conditions.ts';
import type { KubeClient } from '../src/kube/client.ts';
import { Resources } from '../src/kube/resources.ts';

// Resources the operator may write while issuing (Ingress/Service/EndpointSlice only for routed HTTP-01).
const WRITTEN_RESOURCES = ['certificates', 'secrets', 'events', 'ingresses', 'services', 'endpointslices', 'configmaps'];

/** Mutating requests on the resources the operator writes, from the API server's apiserver_request_total. */
export function apiWriteCounts(binDir: string, kubeconfig: string, resources: readonly string[] = WRITTEN_RESOURCES): Record<string, number> {
  const text = execFileSync(join(binDir, 'kubectl'), ['--kubeconfig', kubeconfig, 'get', '--raw', '/metrics'], {
    encoding: 'utf8',
    maxBuffer: 256 * 2 ** 20,
  });
  const counts: Record<string, number> = {};
  for (const s of parsePrometheus(text)) {
    if (s.name !== 'apiserver_request_total') continue;
    if (!['POST', 'PUT', 'PATCH', 'APPLY', 'DELETE'].includes(s.labels.verb ?? '')) continue;
    if (!resources.includes(s.labels.resource ?? '')) continue;
    const key = `${s.labels.verb} ${s.labels.resource}${s.labels.subresource ? '/' + s.labels.subresource : ''}`;
    counts[key] = (counts[key] ?? 0) + s.value;
  }
  return counts;
}

/**
 * Writes between two counts, without the `ownCreates` Certificates the benchmark itself POSTed: total per issuance
 * and by verb and resource.
 */
export function operatorWrites(before: Record<string, number>, after: Record<string, number>, ownCreates: number) {
  const byKind = Object.fromEntries(
    Object.keys(after)
      .sort()
      .map((k) => [k, (after[k] ?? 0) - (before[k] ?? 0) - (k === 'POST certificates' ? ownCreates : 0)] as const)
      .filter(([, n]) => n !== 0),
  );
  const total = Object.values(byKind).reduce((a, b) => a + b, 0);
  return { writesPerIssuance: +(total / ownCreates).toFixed(2), writesByKind: byKind };
}

/** Peak and current resident memory of a process, in MiB (VmHWM and VmRSS). */
export function memoryMiB(pid: number): { peak: number; now: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0);
  return { peak: +(kb('VmHWM') / 1024).toFixed(1), now: +(kb('VmRSS') / 1024).toFixed(1) };
}

/** Each child of this process: its pid, command name, and the fields of /proc/<pid>/stat after the name. */
function childProcesses(): { pid: number; comm: string; fields: string[] }[] {
  const out: { pid: number; comm: string; fields: string[] }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid ..." — comm may hold spaces, so split after its closing parenthesis.
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[1]) === process.pid) out.push({ pid: Number(entry), comm, fields });
  }
  return out;
}

/**
 * CPU seconds (user + system) used so far by each child of this process, by command name or by the name given for
 * its pid (Node names its process "MainThread"). The benchmark starts the control plane, Pebble and the operator
 * itself, so this says which of them the machine was busy with.
 */
export function childCpuSeconds(names: Record<number, string> = {}): Record<string, number> {
  const ticks = 100; // USER_HZ on Linux
  const out: Record<string, number> = {};
  for (const { pid, comm, fields } of childProcesses()) {
    const name = names[pid] ?? comm;
    out[name] = (out[name] ?? 0) + (Number(fields[11]) + Number(fields[12])) / ticks;
  }
  return out;
}

/** Resident memory (MiB) of each child of this process by command name: what the control plane holds. */
export function childRssMiB(): Record<string, number> {
  const pageBytes = 4096;
  const out: Record<string, number> = {};
  for (const { comm, fields } of childProcesses()) {
    out[comm] = +((out[comm] ?? 0) + (Number(fields[21]) * pageBytes) / 2 ** 20).toFixed(0);
  }
  return out;
}

export function cpuDelta(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.keys(after)
      .sort()
      .map((k) => [k, +((after[k] ?? 0) - (before[k] ?? 0)).toFixed(1)]),
  );
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format, samples only (comments and blank lines skipped). */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.lastIndexOf(' ');
    const name = brace >= 0 && brace < space ? line.slice(0, brace) : line.slice(0, line.indexOf(' '));
    const labels =
      brace >= 0 && brace < space
        ? Object.fromEntries([...line.slice(brace, line.lastIndexOf('}')).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]))
        : {};
    samples.push({ name, labels, value: Number(line.slice(space + 1)) });
  }
  return samples;
}

/** The operator's /metrics. */
export async function scrapeOperator(port: number): Promise<Sample[]> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (!res.ok) throw new Error(`operator /metrics answered ${res.status}`);
  return parsePrometheus(await res.text());
}

/** Sum of `name` between two scrapes, grouped by the values of `by` (joined with a space). */
export function metricDelta(before: Sample[], after: Sample[], name: string, by: string[]): Record<string, number> {
  const sum = (samples: Sample[]) => {
    const out: Record<string, number> = {};
    for (const s of samples) {
      if (s.name !== name) continue;
      const key = by.map((l) => s.labels[l] ?? '').join(' ') || 'all';
      out[key] = (out[key] ?? 0) + s.value;
    }
    return out;
  };
  const a = sum(before);
  const b = sum(after);
  return Object.fromEntries(
    Object.keys(b)
      .sort()
      .map((k) => [k, (b[k] ?? 0) - (a[k] ?? 0)] as const)
      .filter(([, v]) => v !== 0),
  );
}

/** Creates with `size` requests in flight. */
export async function inBatches<T>(items: T[], size: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

export interface Progress {
  secondsUntilAllReady: number;
  /** Seconds since the first create until this share of the Certificates was Ready. */
  readyAt: { first: number; half: number; p90: number; all: number };
  /** Every second: how many Certificates were in which phase (see `phaseOf`). */
  timeline: { t: number; phases: Record<string, number> }[];
}

/**
 * Polls the namespace until `count` Certificates are Ready (or `timeoutMs` passes), recording when each share became
 * Ready and, once a second, the phase every Certificate was in.
 */
export async function waitAllReady(client: KubeClient, namespace: string, count: number, startedMs: number, timeoutMs = 600_000): Promise<Progress> {
  const timeline: Progress['timeline'] = [];
  const readyAt: Partial<Progress['readyAt']> = {};
  let lastSample = -Infinity;
  for (;;) {
    const { items } = await client.list<Certificate>(Resources.certificates, { namespace });
    const elapsed = (performance.now() - startedMs) / 1000;
    const phases: Record<string, number> = {};
    for (const c of items) phases[phaseOf(c)] = (phases[phaseOf(c)] ?? 0) + 1;
    const ready = phases.Ready ?? 0;
    const at = +elapsed.toFixed(2);
    if (ready >= 1) readyAt.first ??= at;
    if (ready >= count / 2) readyAt.half ??= at;
    if (ready >= count * 0.9) readyAt.p90 ??= at;
    if (elapsed - lastSample >= 1 || ready === count) {
      timeline.push({ t: +elapsed.toFixed(1), phases });
      lastSample = elapsed;
    }
    if (ready === count) return { secondsUntilAllReady: at, readyAt: { ...readyAt, all: at } as Progress['readyAt'], timeline };
    if (performance.now() - startedMs > timeoutMs) {
      throw new Error(`only ${ready}/${count} Ready after ${timeoutMs / 1000} s; phases ${JSON.stringify(phases)}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Where a Certificate stands: Ready, a failed attempt, the state of its ACME order (with the least advanced
 * challenge while the order is pending), or waiting for the operator to start.
 */
export function phaseOf(c: Certificate): string {
  const conditions = c.status?.conditions;
  if (findCondition(conditions, 'Ready')?.status === 'True') return 'Ready';
  const order = c.status?.acmeOrder;
  if (order) {
    if (order.state !== 'pending') return `order ${order.state}`;
    // The order waits on its least advanced challenge.
    const steps = ['pending', 'presented', 'submitted', 'valid', 'invalid'];
    const challenges = order.challenges ?? [];
    if (challenges.length === 0) return 'order pending';
    const least = Math.min(...challenges.map((ch) => steps.indexOf(ch.state)));
    return `order pending, challenge ${steps[least]}`;
  }
  if ((c.status?.failedIssuanceAttempts ?? 0) > 0) return 'failed, backing off';
  if (findCondition(conditions, 'Issuing')?.status === 'True') return 'issuing';
  return c.status ? 'not issuing' : 'untouched';
}
