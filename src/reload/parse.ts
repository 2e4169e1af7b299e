// Pure checks of one snapshot of mounted files: each returns a verdict, and a rejected verdict keeps the last good
// material in use. Invalid reads are normal during rotation (an empty file, a key from the next pair), so they are
// reported, never thrown.
import { createHash, createPrivateKey, type KeyObject } from 'node:crypto';
import { dnsNames, parseCertificates, pemBlocks, readCertificates, TEXT_OUTSIDE_BLOCKS } from './pem.ts';
import type { CAPool, KeyPair, RejectCode, TicketKeys, Verdict } from './types.ts';

export type Files = ReadonlyMap<string, Buffer>;

export function contentHash(files: Files): string {
  const hash = createHash('sha256');
  for (const name of [...files.keys()].sort()) {
    const data = files.get(name) ?? Buffer.alloc(0);
    hash.update(`${name}\0${data.length}\0`).update(data);
  }
  return hash.digest('hex');
}

export function parseKeyPair(files: Files, certFile = 'tls.crt', keyFile = 'tls.key'): Verdict<KeyPair> {
  const certPem = files.get(certFile)?.toString('utf8') ?? '';
  const keyPem = files.get(keyFile)?.toString('utf8') ?? '';
  if (certPem.trim() === '') return reject('Empty', `${certFile} is empty`);
  if (keyPem.trim() === '') return reject('Empty', `${keyFile} is empty`);
  const chain = parseCertificates(certPem);
  if (!chain.ok) return reject('Unparsable', `${certFile}: ${chain.reason}`);
  const leaf = chain.certificates[0];
  if (!leaf) return reject('NoCertificate', `${certFile} holds no certificate`);
  let key: KeyObject;
  try {
    key = createPrivateKey(keyPem);
  } catch {
    return reject('Unparsable', `${keyFile} is not a private key`);
  }
  if (!leaf.checkPrivateKey(key)) return reject('KeyMismatch', `${keyFile} does not match the certificate in ${certFile}`);
  return { ok: true, value: { certPem, keyPem, leaf, names: dnsNames(leaf), hash: contentHash(files) } };
}

/**
 * A podCertificate projection's credential bundle: one file, a PKCS#8 `PRIVATE KEY` block first, then the chain's
 * `CERTIFICATE` blocks, leaf first. One file is one atomic read, so key and leaf come from the same issuance; they are
 * still checked to match, as a wrong file must not be served. Same KeyPair shape as `parseKeyPair`: `certPem` holds
 * the certificates alone (re-encoded from the parsed ones), `keyPem` the key block alone, as read.
 */
export function parseCredentialBundle(files: Files, file: string): Verdict<KeyPair> {
  const blocks = pemBlocks(files.get(file)?.toString('utf8') ?? '');
  const first = blocks.next();
  if (first.done) return reject('Empty', `${file} is empty`); // no block and nothing but white space
  const keyBlock = first.value;
  if (keyBlock === undefined) return reject('Unparsable', `${file}: ${TEXT_OUTSIDE_BLOCKS}`);
  if (keyBlock.label !== 'PRIVATE KEY') return reject('Unparsable', `${file}: the first PEM block is ${keyBlock.label}, not PRIVATE KEY`);
  // The same iterator: the chain is read from where the key block ended, in the same pass over the text.
  const chain = readCertificates(blocks);
  if (!chain.ok) return reject('Unparsable', `${file}: ${chain.reason}`);
  const leaf = chain.certificates[0];
  if (!leaf) return reject('NoCertificate', `${file} holds no certificate`);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(keyBlock.base64, 'base64'), format: 'der', type: 'pkcs8' });
  } catch {
    return reject('Unparsable', `${file}: the PRIVATE KEY block is not a PKCS#8 private key`);
  }
  if (!leaf.checkPrivateKey(key)) return reject('KeyMismatch', `${file}: the private key does not match the leaf certificate`);
  const certPem = chain.certificates.map((cert) => cert.toString()).join('');
  const keyPem = `${keyBlock.pem}\n`;
  return { ok: true, value: { certPem, keyPem, leaf, names: dnsNames(leaf), hash: contentHash(files) } };
}

export function parseCAPool(files: Files, bundleFile = 'ca.crt'): Verdict<CAPool> {
  const text = files.get(bundleFile)?.toString('utf8') ?? '';
  if (text.trim() === '') return reject('Empty', `${bundleFile} is empty`);
  const parsed = parseCertificates(text);
  if (!parsed.ok) return reject('Unparsable', `${bundleFile}: ${parsed.reason}`);
  if (parsed.certificates.length === 0) return reject('NoCertificate', `${bundleFile} holds no certificate`);
  // Deduplicated and sorted by fingerprint, so the same set always has the same hash whatever the file order.
  const byFingerprint = new Map(parsed.certificates.map((cert) => [cert.fingerprint256, cert]));
  const certificates = [...byFingerprint.keys()].sort().map((fp) => byFingerprint.get(fp)!);
  const pems = certificates.map((cert) => cert.toString());
  const hash = createHash('sha256').update(pems.join('')).digest('hex');
  return { ok: true, value: { pems, certificates, hash } };
}

export const TICKET_KEYS_LENGTH = 48;

/** Raw 48 bytes (a Secret's data), or the same bytes in base64 (a Secret's stringData). */
export function parseTicketKeys(files: Files, keyFile = 'ticket.key'): Verdict<TicketKeys> {
  const raw = files.get(keyFile) ?? Buffer.alloc(0);
  if (raw.length === 0) return reject('Empty', `${keyFile} is empty`);
  let keys = raw;
  if (raw.length !== TICKET_KEYS_LENGTH) {
    const text = raw.toString('latin1').trim();
    keys = /^[A-Za-z0-9+/]+={0,2}$/.test(text) ? Buffer.from(text, 'base64') : raw;
  }
  if (keys.length !== TICKET_KEYS_LENGTH) return reject('BadTicketKeys', `${keyFile} holds ${keys.length} bytes, not ${TICKET_KEYS_LENGTH}`);
  return { ok: true, value: { keys, hash: createHash('sha256').update(keys).digest('hex') } };
}

function reject<T>(code: RejectCode, reason: string): Verdict<T> {
  return { ok: false, code, reason };
}
