// Shapes shared by the reload library. Nothing here imports the operator or Kubernetes.
import type { X509Certificate } from 'node:crypto';

/** A certificate chain with its private key, checked to belong together. */
export interface KeyPair {
  /** The chain as read (leaf first), PEM. */
  readonly certPem: string;
  /** The private key, PEM. Never log it. */
  readonly keyPem: string;
  readonly leaf: X509Certificate;
  /** DNS names of the leaf's subjectAltName, lower case; `*.example.com` for wildcards. */
  readonly names: readonly string[];
  /** SHA-256 of the material, hex: equal material, equal hash. */
  readonly hash: string;
}

/** A deduplicated set of CA certificates: what `getRootCAs()` / `getClientCAs()` return. */
export interface CAPool {
  /** One PEM block per certificate, sorted by fingerprint. */
  readonly pems: readonly string[];
  readonly certificates: readonly X509Certificate[];
  readonly hash: string;
}

/** 48 bytes for `server.setTicketKeys()`: the same bytes on every replica let sessions resume across them. */
export interface TicketKeys {
  readonly keys: Buffer;
  readonly hash: string;
}

export type RejectCode = 'Empty' | 'Unparsable' | 'KeyMismatch' | 'NoCertificate' | 'BadTicketKeys' | 'Unreadable';

/** What a parser says about one snapshot of a mounted directory. */
export type Verdict<T> = { ok: true; value: T } | { ok: false; code: RejectCode; reason: string };

export interface ReloadedEvent {
  /** The name given to the source (its directory by default). */
  source: string;
  generation: number;
  hash: string;
}

export interface RejectedEvent {
  source: string;
  code: RejectCode;
  reason: string;
  /** The generation still in use: the last good material. */
  keptGeneration: number;
}

export interface RetiredEvent {
  /** The trust generation whose agent closed after its last request. */
  generation: number;
}

/** Logging and metrics hooks. All optional; a throwing hook is ignored, it never breaks a reload. */
export interface ReloadHooks {
  reloaded?(event: ReloadedEvent): void;
  rejected?(event: RejectedEvent): void;
  /** A client agent of an old trust generation finished its requests and closed. */
  retired?(event: RetiredEvent): void;
}

/** Material that changes under a running process: ask `current()` at each use, never keep the value. */
export interface Source<T> {
  readonly name: string;
  /** The last good material. */
  current(): T;
  /** Starts at 1 and grows by one for each accepted change. */
  generation(): number;
  /** Called after each accepted change; returns the unsubscribe function. */
  subscribe(listener: (value: T, generation: number) => void): () => void;
  /** Reads the directory now (the watcher and the poll call this too). */
  refresh(): Promise<void>;
  close(): void;
}
