// The three kinds of mounted material, each a Source over one directory.
import { parseCAPool, parseCredentialBundle, parseKeyPair, parseTicketKeys } from './parse.ts';
import { openSource, type WatchDirOptions } from './source.ts';
import type { CAPool, KeyPair, Source, TicketKeys } from './types.ts';

export interface KeyPairOptions extends WatchDirOptions {
  /** Default `tls.crt` (a kubernetes.io/tls Secret). */
  certFile?: string;
  /** Default `tls.key`. */
  keyFile?: string;
  /**
   * A podCertificate projection's `credentialBundlePath`: key and chain in one file, read instead of certFile and
   * keyFile (setting either with it is a TypeError).
   */
  credentialBundleFile?: string;
}

/** A certificate and key from a mounted kubernetes.io/tls Secret, or from a podCertificate projection's credential bundle. */
export function watchKeyPair(dir: string, options: KeyPairOptions = {}): Promise<Source<KeyPair>> {
  const bundleFile = options.credentialBundleFile;
  if (bundleFile !== undefined) {
    // Thrown at once, not reported as a rejected read: no change of the files can fix it, and quietly preferring one
    // of the two sources would hide the mistake.
    if (options.certFile !== undefined || options.keyFile !== undefined) {
      throw new TypeError('watchKeyPair: credentialBundleFile holds both key and certificates; do not set certFile or keyFile with it');
    }
    return openSource({ ...options, dir, files: [bundleFile], parse: (files) => parseCredentialBundle(files, bundleFile) });
  }
  const certFile = options.certFile ?? 'tls.crt';
  const keyFile = options.keyFile ?? 'tls.key';
  return openSource({ ...options, dir, files: [certFile, keyFile], parse: (files) => parseKeyPair(files, certFile, keyFile) });
}

export interface CAPoolOptions extends WatchDirOptions {
  /** Default `ca.crt`; a TrustBundle ConfigMap's key (e.g. `trust-bundle.pem`) otherwise. */
  file?: string;
}

/** A CA bundle from a mounted Secret or ConfigMap: the root CAs of a client or the client CAs of a server. */
export function watchCAPool(dir: string, options: CAPoolOptions = {}): Promise<Source<CAPool>> {
  const file = options.file ?? 'ca.crt';
  return openSource({ ...options, dir, files: [file], parse: (files) => parseCAPool(files, file) });
}

export interface TicketKeysOptions extends WatchDirOptions {
  /** Default `ticket.key`. */
  file?: string;
}

/** Session-ticket keys from a mounted Secret, shared by all replicas so a resumed session may land on any of them. */
export function watchTicketKeys(dir: string, options: TicketKeysOptions = {}): Promise<Source<TicketKeys>> {
  const file = options.file ?? 'ticket.key';
  return openSource({ ...options, dir, files: [file], parse: (files) => parseTicketKeys(files, file) });
}
