// Bounded property tests for the parsers that read untrusted input; not a test file itself. Each property runs a fixed
// number of generated inputs twice: from a fixed seed (the same inputs on every run, so a failure reproduces anywhere)
// and from a fresh random seed (new inputs on every run). A failure names the seed and the smallest failing input the
// shrinker found. No dependency: a small seeded PRNG, generators and shrinkers are all here.
//
// Reproduce a failure:  FUZZ_SEED=0x1a2b3c4d node_modules/.bin/node --test --test-name-pattern='<property>' <file>
// Search longer:        FUZZ_SCALE=50 (multiplies every iteration count; the random seed still changes per run)
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { describe, it } from 'node:test';
import { isCertsmithError, type CertsmithError, type ErrorCode } from '../../../src/errors.ts';

// ------------------------------------------------------------------------------------------------------------ PRNG

/** xoshiro128** seeded through splitmix32: fast, 32-bit, and the same sequence for a seed on every platform. */
export class Random {
  readonly #s = new Uint32Array(4);

  constructor(seed: number) {
    let x = seed >>> 0;
    for (let i = 0; i < 4; i++) {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      this.#s[i] = (z ^ (z >>> 16)) >>> 0;
    }
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    const s = this.#s;
    let [a, b, c, d] = [s[0]!, s[1]!, s[2]!, s[3]!];
    const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    s[0] = a;
    s[1] = b;
    s[2] = c;
    s[3] = d;
    return result;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor((this.u32() / 0x1_0000_0000) * n);
  }

  /** An integer in [lo, hi], both included. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  /** A length in [0, max] that favours short ones (half of them at most max/8), where most bugs show. */
  length(max: number): number {
    return this.chance(0.5) ? this.int(Math.floor(max / 8) + 1) : this.int(max + 1);
  }

  chance(p: number): boolean {
    return this.u32() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    assert.ok(items.length > 0, 'pick from an empty list');
    return items[this.int(items.length)]!;
  }

  /** Calls one of the generators, chosen by weight. */
  weighted<T>(choices: readonly (readonly [weight: number, generate: () => T])[]): T {
    const total = choices.reduce((n, [w]) => n + w, 0);
    let at = (this.u32() / 0x1_0000_0000) * total;
    for (const [w, generate] of choices) {
      if (at < w) return generate();
      at -= w;
    }
    return choices.at(-1)![1]();
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }

  /** `length` characters (or tokens) drawn from `alphabet`. */
  string(alphabet: string | readonly string[], length: number): string {
    const symbols = typeof alphabet === 'string' ? Array.from(alphabet) : alphabet;
    let out = '';
    for (let i = 0; i < length; i++) out += this.pick(symbols);
    return out;
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

// ------------------------------------------------------------------------------------------------------- mutation

/** Characters that break parsers: separators, controls, non-ASCII, a surrogate half, a character outside the BMP. */
export const AWKWARD_CHARACTERS = [
  ' ',
  '\t',
  '\r',
  '\n',
  '\0',
  '.',
  '-',
  '*',
  ':',
  '/',
  '\\',
  '"',
  '=',
  '%',
  '@',
  '\u00b5',
  '\u00e9',
  '\u200b',
  '\ud800',
  '\u{1f512}',
];

/** Names an object inherits: a lookup table indexed with one of them finds a function, not undefined. */
export const PROTOTYPE_KEYS = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'prototype'];

/**
 * `text` with a few random edits: characters inserted (from `alphabet` or AWKWARD_CHARACTERS), deleted, replaced,
 * a span repeated, or the text cut short. Inputs near valid ones reach deeper into a parser than random text does.
 */
export function mutateString(r: Random, text: string, alphabet: string | readonly string[] = AWKWARD_CHARACTERS, edits = r.range(1, 4)): string {
  const symbols = typeof alphabet === 'string' ? Array.from(alphabet) : alphabet;
  let s = text;
  for (let e = 0; e < edits; e++) {
    const at = r.int(s.length + 1);
    s = r.weighted<string>([
      [3, () => s.slice(0, at) + r.pick(r.chance(0.7) ? symbols : AWKWARD_CHARACTERS) + s.slice(at)],
      [3, () => s.slice(0, at) + s.slice(at + r.range(1, 3))],
      [3, () => s.slice(0, at) + r.pick(symbols) + s.slice(at + 1)],
      [1, () => s.slice(0, at) + s.slice(at, at + r.range(1, 16)).repeat(r.range(2, 4)) + s.slice(at)],
      [1, () => s.slice(0, at)],
    ]);
  }
  return s;
}

/** Byte values that sit on boundaries: zero, all ones, a DNS compression pointer's tag, lengths around 63 and 127. */
const AWKWARD_BYTES = [0x00, 0x01, 0x3f, 0x40, 0x7f, 0x80, 0xc0, 0xc1, 0xfe, 0xff];

/** `bytes` with a few random edits: bits flipped, bytes set to boundary values, inserted, deleted, or cut short. */
export function mutateBytes(r: Random, bytes: Uint8Array, edits = r.range(1, 4)): Uint8Array {
  let b = Array.from(bytes);
  for (let e = 0; e < edits; e++) {
    const at = r.int(b.length + 1);
    r.weighted<void>([
      [4, () => at < b.length && (b[at] = b[at]! ^ (1 << r.int(8)))],
      [3, () => at < b.length && (b[at] = r.pick(AWKWARD_BYTES))],
      [2, () => b.splice(at, 0, ...r.bytes(r.range(1, 4)))],
      [2, () => b.splice(at, r.range(1, 4))],
      [1, () => (b = b.slice(0, at))],
    ]);
  }
  return Uint8Array.from(b);
}

// ------------------------------------------------------------------------------------------------------- shrinking

/** Smaller versions of a failing input, most promising first; the runner keeps the first that still fails. */
export type Shrinker<T> = (input: T) => Iterable<T>;

/** Drops spans: halves first, then quarters, down to single elements. */
function* withoutSpans<T>(items: readonly T[]): Iterable<T[]> {
  for (let span = Math.max(1, Math.floor(items.length / 2)); span >= 1; span = span === 1 ? 0 : Math.max(1, Math.floor(span / 2))) {
    for (let at = 0; at + span <= items.length; at += span) yield [...items.slice(0, at), ...items.slice(at + span)];
  }
}

export const shrinkString: Shrinker<string> = function* (text) {
  const chars = Array.from(text);
  for (const shorter of withoutSpans(chars)) yield shorter.join('');
};

export const shrinkBytes: Shrinker<Uint8Array> = function* (bytes) {
  for (const shorter of withoutSpans(Array.from(bytes))) yield Uint8Array.from(shorter);
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] === 0) continue;
    const zeroed = Uint8Array.from(bytes);
    zeroed[i] = 0;
    yield zeroed;
  }
};

/** Shorter arrays, then each element shrunk in place. */
export function shrinkArray<T>(element?: Shrinker<T>): Shrinker<T[]> {
  return function* (items) {
    yield* withoutSpans(items);
    if (!element) return;
    for (const [i, item] of items.entries()) {
      for (const smaller of element(item)) yield items.with(i, smaller);
    }
  };
}

/** Records with fewer entries, then each value shrunk. */
export function shrinkRecord<V>(value?: Shrinker<V>): Shrinker<Record<string, V>> {
  const entries = shrinkArray<[string, V]>(
    value &&
      function* ([k, v]) {
        for (const s of value(v)) yield [k, s];
      },
  );
  return function* (record) {
    for (const smaller of entries(Object.entries(record))) yield Object.fromEntries(smaller);
  };
}

/** Smaller plain data: strings, bytes and arrays shortened, object keys dropped (all but `keep`), values shrunk. */
export function shrinkJson<T>(keep: readonly string[] = []): Shrinker<T> {
  const shrink: Shrinker<unknown> = function* (value) {
    if (typeof value === 'string') yield* shrinkString(value);
    else if (value instanceof Uint8Array) yield* shrinkBytes(value);
    else if (Array.isArray(value)) yield* shrinkArray(shrink)(value);
    else if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value);
      for (const [k] of entries) if (!keep.includes(k)) yield Object.fromEntries(entries.filter(([key]) => key !== k));
      for (const [k, v] of entries) for (const smaller of shrink(v)) yield { ...value, [k]: smaller };
    }
  };
  return shrink as Shrinker<T>;
}

// ------------------------------------------------------------------------------------------------------- display

const SHOWN_CHARACTERS = 2000;

/** An input as a message can quote it: strings as JSON, bytes as hex, cut at 2000 characters. */
export function show(value: unknown): string {
  const text =
    value instanceof Uint8Array
      ? `hex ${Buffer.from(value).toString('hex')} (${value.length} bytes)`
      : JSON.stringify(value, (_key, v) => (v instanceof Uint8Array ? `hex:${Buffer.from(v).toString('hex')}` : typeof v === 'bigint' ? `${v}n` : v));
  return text.length > SHOWN_CHARACTERS ? `${text.slice(0, SHOWN_CHARACTERS)}… (${text.length} characters)` : text;
}

// ------------------------------------------------------------------------------------------------------- checks

/**
 * Calls `run`. A CertsmithError with one of `codes` is an answer (the module refused the input, as it should); any
 * other throw — a TypeError, a RangeError, an error with another code — fails the property.
 */
export function refusesOnlyWith<R>(codes: readonly ErrorCode[], run: () => R): { ok: true; value: R } | { ok: false; error: CertsmithError } {
  try {
    return { ok: true, value: run() };
  } catch (err) {
    if (isCertsmithError(err) && codes.includes(err.code)) return { ok: false, error: err };
    const what = isCertsmithError(err) ? `a CertsmithError with code ${err.code}` : String((err as Error)?.stack ?? err);
    assert.fail(`threw ${what}; only CertsmithError ${codes.join(', ')} are expected`);
  }
}

// ------------------------------------------------------------------------------------------------------- runner

export interface Property<T> {
  /** A sentence saying what holds for every input. */
  name: string;
  /** One input; `size` grows from 1 to 100 over the run, so early inputs are small. */
  generate: (random: Random, size: number) => T;
  /** Throws (an assertion, usually) when the property does not hold for `input`. */
  check: (input: T) => void;
  /** Inputs per seed; FUZZ_SCALE multiplies it. Keep a seed's run to a fraction of a second of CPU. */
  iterations: number;
  shrink?: Shrinker<T>;
  /** How an input appears in a failure message; `show` by default. */
  show?: (input: T) => string;
  /** The most CPU time one input may take, in milliseconds (default 100): a parser that slows down this much hangs. */
  maxInputMs?: number;
}

export interface Outcome {
  seed: number;
  iterations: number;
  cpuMs: number;
  failure?: string;
}

const FIXED_SEED = 0x5eed_2026;
const SHRINK_ATTEMPTS = 2000;
const DEFAULT_MAX_INPUT_MS = 100;

export const hexSeed = (seed: number) => `0x${(seed >>> 0).toString(16).padStart(8, '0')}`;

function scale(): number {
  const n = Number(process.env.FUZZ_SCALE ?? '1');
  return Number.isFinite(n) && n > 0 ? n : 1;
}

function wallMsOf(run: () => void): number {
  const started = performance.now();
  run();
  return performance.now() - started;
}

function cpuMsOf(run: () => void): number {
  const started = process.cpuUsage();
  run();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / 1000;
}

/** What `check` threw for `input`, or undefined when the property held. */
function failureOf<T>(p: Property<T>, input: T): unknown {
  try {
    p.check(input);
    return undefined;
  } catch (err) {
    return err ?? new Error(`threw ${String(err)}`);
  }
}

function describeError(err: unknown): string {
  const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return text.split('\n').slice(0, 8).join('\n    ');
}

/** The command that replays a failure: the seed, and the property's name as the regular expression --test-name-pattern takes. */
function reproduce(name: string, seed: number): string {
  const pattern = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return `  reproduce: FUZZ_SEED=${hexSeed(seed)} node_modules/.bin/node --test --test-name-pattern=${JSON.stringify(pattern)} <this file>`;
}

/** Runs a property from one seed, without the test runner: the harness's own tests call this. */
export function runProperty<T>(p: Property<T>, seed: number, iterations = Math.ceil(p.iterations * scale())): Outcome {
  const random = new Random(seed);
  const maxInputMs = p.maxInputMs ?? DEFAULT_MAX_INPUT_MS;
  const display = p.show ?? show;
  const started = process.cpuUsage();
  const cpuMs = () => {
    const used = process.cpuUsage(started);
    return (used.user + used.system) / 1000;
  };
  for (let i = 0; i < iterations; i++) {
    const input = p.generate(random, 1 + Math.floor((i * 100) / iterations));
    let failure: unknown;
    const ms = wallMsOf(() => (failure = failureOf(p, input)));
    const where = `seed ${hexSeed(seed)}, input ${i + 1} of ${iterations}`;
    if (failure !== undefined) {
      const smallest = shrinkFailure(p, input, failure);
      const lines = [
        `property "${p.name}" failed (${where})`,
        `  smallest failing input (${smallest.steps} shrinking steps): ${display(smallest.input)}`,
        ...(smallest.steps > 0 ? [`  original input: ${display(input)}`] : []),
        `  error: ${describeError(smallest.failure)}`,
        reproduce(p.name, seed),
      ];
      return { seed, iterations: i + 1, cpuMs: cpuMs(), failure: lines.join('\n') };
    }
    // The wall clock is cheap to read and never shows less than the CPU time; a slow input is timed again in CPU time,
    // fastest of three, so neither other processes on a busy machine nor a garbage-collection pause fails the run.
    const cpu = ms > maxInputMs ? Math.min(...[1, 2, 3].map(() => cpuMsOf(() => failureOf(p, input)))) : 0;
    if (cpu > maxInputMs) {
      const lines = [
        `property "${p.name}" took ${cpu.toFixed(1)} ms of CPU for one input, more than ${maxInputMs} ms (${where})`,
        `  input: ${display(input)}`,
        reproduce(p.name, seed),
      ];
      return { seed, iterations: i + 1, cpuMs: cpuMs(), failure: lines.join('\n') };
    }
  }
  return { seed, iterations, cpuMs: cpuMs() };
}

const errorName = (err: unknown) => (err instanceof Error ? err.name : typeof err);

function shrinkFailure<T>(p: Property<T>, input: T, failure: unknown): { input: T; failure: unknown; steps: number } {
  if (!p.shrink) return { input, failure, steps: 0 };
  let current = { input, failure, steps: 0 };
  let attempts = 0;
  for (let progressed = true; progressed && attempts < SHRINK_ATTEMPTS; ) {
    progressed = false;
    for (const candidate of p.shrink(current.input)) {
      if (++attempts > SHRINK_ATTEMPTS) break;
      const f = failureOf(p, candidate);
      // The same kind of error, so that shrinking does not wander off to another failure.
      if (f !== undefined && errorName(f) === errorName(failure)) {
        current = { input: candidate, failure: f, steps: current.steps + 1 };
        progressed = true;
        break;
      }
    }
  }
  return current;
}

/** The random seed for this run: FUZZ_SEED when set (to reproduce a failure), a fresh one otherwise. */
function randomSeed(): number {
  const given = process.env.FUZZ_SEED;
  if (given !== undefined && given !== '') {
    const seed = Number(given);
    assert.ok(Number.isInteger(seed) && seed >= 0 && seed <= 0xffff_ffff, `FUZZ_SEED=${given} is not a 32-bit seed`);
    return seed;
  }
  return randomInt(0x1_0000_0000);
}

/** Registers a property as two tests: one from the fixed seed, one from a random seed (printed when it fails). */
export function property<T>(p: Property<T>): void {
  const iterations = Math.ceil(p.iterations * scale());
  describe(p.name, () => {
    const run = (seed: number, t: { diagnostic(message: string): void }) => {
      const outcome = runProperty(p, seed, iterations);
      t.diagnostic(`${outcome.iterations} inputs from seed ${hexSeed(seed)} in ${outcome.cpuMs.toFixed(0)} ms of CPU`);
      if (outcome.failure !== undefined) assert.fail(outcome.failure);
    };
    it(`holds for ${iterations} inputs from the fixed seed`, (t) => run(FIXED_SEED, t));
    it(`holds for ${iterations} inputs from a random seed`, (t) => run(randomSeed(), t));
  });
}
