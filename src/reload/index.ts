// certsmith/reload: TLS material from mounted Secrets, ConfigMaps and projected volumes, asked for at every handshake —
// getRootCAs(), getClientCAs(), getCertificate(serverName) — so rotated certificates and CA pools apply without a
// restart.
// Depends on Node only; nothing from the operator or Kubernetes.
export type { CAPool, KeyPair, RejectCode, RejectedEvent, ReloadedEvent, ReloadHooks, RetiredEvent, Source, TicketKeys, Verdict } from './types.ts';
export { watchCAPool, watchKeyPair, watchTicketKeys, type CAPoolOptions, type KeyPairOptions, type TicketKeysOptions } from './watch.ts';
export { openSource, ReloadError, type SourceSpec, type WatchDirOptions } from './source.ts';
export { parseCAPool, parseCredentialBundle, parseKeyPair, parseTicketKeys } from './parse.ts';
export { normalizeServerName, selectCertificate, type Selection } from './sni.ts';
export { serverTLS, type ReloadableServer, type ServerTLS, type ServerTLSOptions } from './server.ts';
export { rotateByGeneration, type Generations, type GenerationsOptions } from './generations.ts';
export {
  httpsAgents,
  retireHttpsAgent,
  undiciDispatchers,
  type DispatcherClass,
  type DispatcherLike,
  type HttpsAgentsOptions,
  type ReloadingClient,
  type UndiciDispatchersOptions,
} from './client.ts';
export type { Timers } from './mounted-dir.ts';
