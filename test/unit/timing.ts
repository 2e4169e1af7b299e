// Time bounds for parsers that read untrusted input. What is measured is this process's CPU time, not the wall
// clock, so other processes on a busy machine (the test files run in parallel) do not count; the fastest of a few
// runs is taken, the one least disturbed by garbage collection; and the bounds have a generous factor, so that what
// fails is a change of complexity (linear to quadratic), not a slow machine.
import assert from 'node:assert/strict';

/** The least CPU time (user and system, in milliseconds) of `runs` calls of `run`. */
export function fastestMs(run: () => unknown, runs = 5): number {
  let fastest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const started = process.cpuUsage();
    run();
    const used = process.cpuUsage(started);
    fastest = Math.min(fastest, (used.user + used.system) / 1000);
  }
  return fastest;
}

export interface GrowthCheck<T> {
  /** The input of (about) `size` units. */
  input(size: number): T;
  run(input: T): unknown;
  /** The larger input; the smaller one is a quarter of it. */
  size: number;
  /** The larger input must take less than this. */
  ceilingMs: number;
}

/**
 * Asserts that four times the input takes at most eight times as long (linear is four times, quadratic sixteen) and
 * that the larger input stays under its ceiling. Timings below a millisecond are too noisy to compare, so the smaller
 * run counts as at least one. Returns the timings, for the test's diagnostics.
 */
export function assertLinear<T>(check: GrowthCheck<T>): string {
  const small = check.input(Math.floor(check.size / 4));
  const large = check.input(check.size);
  check.run(small); // warm up: the first call compiles
  const smallMs = fastestMs(() => check.run(small));
  const largeMs = fastestMs(() => check.run(large));
  const timings = `${smallMs.toFixed(1)} ms for a quarter of the input, ${largeMs.toFixed(1)} ms for all of it`;
  assert.ok(largeMs < check.ceilingMs, `took longer than ${check.ceilingMs} ms: ${timings}`);
  assert.ok(largeMs <= 8 * Math.max(smallMs, 1), `grew faster than linearly: ${timings}`);
  return timings;
}
