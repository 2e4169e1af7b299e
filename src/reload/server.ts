// Server side: certificates chosen per handshake by SNI from the current material, the client-CA pool asked for at
// each handshake too, and the server's own default context replaced on every change for clients that send no SNI.
import { createSecureContext, type SecureContextOptions, type TlsOptions } from 'node:tls';
import { createContextCache } from './context-cache.ts';
import { selectCertificate } from './sni.ts';
import type { CAPool, KeyPair, Source, TicketKeys } from './types.ts';

/** What `attach` needs of a server: tls.Server, https.Server and http2.Http2SecureServer all have it. */
export interface ReloadableServer {
  setSecureContext(options: SecureContextOptions): void;
  setTicketKeys(keys: Buffer): void;
  getTicketKeys(): Buffer;
}

export interface ServerTLSOptions {
  /** Candidates for SNI selection, earlier wins on equal names. */
  certificates: readonly Source<KeyPair>[];
  /** Served when no name matches and to clients without SNI; without one, those handshakes end with an alert. */
  defaultCertificate?: Source<KeyPair>;
  /** Verify client certificates against this pool, as it is at each handshake. */
  clientCAs?: Source<CAPool>;
  /** `require` (default): no valid client certificate, no connection. `request`: check it, let the app decide. */
  clientAuth?: 'require' | 'request';
  /** 48-byte session-ticket keys shared by the replicas. */
  ticketKeys?: Source<TicketKeys>;
  /** Further context options (minVersion, ciphers, …), applied to every context. */
  contextOptions?: SecureContextOptions;
}

export interface ServerTLS {
  /** Spread into tls.createServer / https.createServer / http2.createSecureServer. */
  readonly options: TlsOptions;
  /** The certificate a handshake for `serverName` gets; undefined means an alert. */
  getCertificate(serverName: string | undefined): KeyPair | undefined;
  getClientCAs(): CAPool | undefined;
  /** Keeps the server's default context and ticket keys current. Returns the detach function. */
  attach(server: ReloadableServer): () => void;
}

interface ContextInput {
  keyPair: KeyPair | undefined;
  clientCAs: CAPool | undefined;
}

export function serverTLS(config: ServerTLSOptions): ServerTLS {
  const { certificates, defaultCertificate, clientCAs, ticketKeys } = config;
  const base = config.contextOptions ?? {};

  const materialFor = ({ keyPair, clientCAs: pool }: ContextInput): SecureContextOptions => ({
    ...base,
    ...(keyPair ? { cert: keyPair.certPem, key: keyPair.keyPem } : {}),
    ...(pool ? { ca: [...pool.pems] } : {}),
    // Tied to the client-CA pool, so a session verified under an older pool is not resumed without a new check.
    ...(pool ? { sessionIdContext: pool.hash.slice(0, 32) } : {}),
  });
  const contexts = createContextCache<ContextInput>(
    ({ keyPair, clientCAs: pool }) => `${keyPair?.hash ?? '-'}/${pool?.hash ?? '-'}`,
    (input) => createSecureContext(materialFor(input)),
  );

  const getCertificate = (serverName: string | undefined): KeyPair | undefined => {
    const selection = selectCertificate(
      serverName,
      certificates.map((source) => source.current()),
      defaultCertificate?.current(),
    );
    return selection.match === 'none' ? undefined : selection.value;
  };
  const getClientCAs = (): CAPool | undefined => clientCAs?.current();

  const SNICallback: NonNullable<TlsOptions['SNICallback']> = (serverName, callback) => {
    const keyPair = getCertificate(serverName);
    // No certificate: the server's default context has none either (no default configured), so OpenSSL answers
    // with a handshake_failure alert instead of some other name's certificate.
    if (!keyPair) return callback(null, undefined);
    try {
      callback(null, contexts.get({ keyPair, clientCAs: getClientCAs() }));
    } catch (err) {
      callback(err as Error, undefined);
    }
  };

  const defaultContextOptions = (): SecureContextOptions => materialFor({ keyPair: defaultCertificate?.current(), clientCAs: getClientCAs() });
  const options: TlsOptions = {
    ...defaultContextOptions(),
    SNICallback,
    ...(clientCAs ? { requestCert: true, rejectUnauthorized: (config.clientAuth ?? 'require') === 'require' } : {}),
    ...(ticketKeys ? { ticketKeys: ticketKeys.current().keys } : {}),
  };

  const pruneContexts = (): void => {
    const pool = getClientCAs();
    contexts.retain([...certificates, ...(defaultCertificate ? [defaultCertificate] : [])].map((s) => ({ keyPair: s.current(), clientCAs: pool })));
  };

  return {
    options,
    getCertificate,
    getClientCAs,
    attach(server) {
      const refreshDefault = (): void => {
        // setSecureContext draws new random ticket keys unless given some: pass the current ones, so a certificate
        // change does not end every session's resumption.
        const keys = ticketKeys?.current().keys ?? server.getTicketKeys();
        server.setSecureContext({ ...defaultContextOptions(), ticketKeys: keys } as SecureContextOptions);
        pruneContexts();
      };
      if (ticketKeys) server.setTicketKeys(ticketKeys.current().keys);
      const unsubscribe = [
        ...certificates.filter((s) => s !== defaultCertificate).map((s) => s.subscribe(pruneContexts)),
        ...[defaultCertificate, clientCAs].filter((s) => s !== undefined).map((s) => s.subscribe(refreshDefault)),
        ...(ticketKeys ? [ticketKeys.subscribe((keys) => server.setTicketKeys(keys.keys))] : []),
      ];
      return () => unsubscribe.forEach((fn) => fn());
    },
  };
}
