// Client helpers: an https.Agent or an undici dispatcher per trust generation, built from the current root-CA pool
// (what getRootCAs() returns) and, for mTLS, the current client certificate.
import { Agent as HttpsAgent, type AgentOptions } from 'node:https';
import { rotateByGeneration } from './generations.ts';
import type { CAPool, KeyPair, ReloadHooks, Source } from './types.ts';

export interface ClientTLSOptions {
  rootCAs: Source<CAPool>;
  /** The client certificate presented to servers that ask for one. */
  identity?: Source<KeyPair>;
  hooks?: ReloadHooks;
}

export interface ReloadingClient<A> {
  /** The pool of the current trust generation: call it for every request. */
  agent(): A;
  generation(): number;
  getRootCAs(): CAPool;
  close(): Promise<void>;
}

function tlsMaterial({ rootCAs, identity }: ClientTLSOptions) {
  const pair = identity?.current();
  return { ca: [...rootCAs.current().pems], ...(pair ? { cert: pair.certPem, key: pair.keyPem } : {}) };
}

export interface HttpsAgentsOptions extends ClientTLSOptions {
  /** Options for every agent; keepAlive is on unless set. ca/cert/key come from the sources. */
  agentOptions?: AgentOptions;
  /** A retired agent's sockets are destroyed after this long even if still busy. Default 5 minutes. */
  retireTimeoutMs?: number;
}

export function httpsAgents(options: HttpsAgentsOptions): ReloadingClient<HttpsAgent> {
  const generations = rotateByGeneration({
    sources: [options.rootCAs, ...(options.identity ? [options.identity] : [])],
    create: () => new HttpsAgent({ keepAlive: true, ...options.agentOptions, ...tlsMaterial(options) }),
    retire: (agent) => retireHttpsAgent(agent, options.retireTimeoutMs ?? 300_000),
    ...(options.hooks ? { hooks: options.hooks } : {}),
  });
  return { agent: generations.current, generation: generations.generation, getRootCAs: () => options.rootCAs.current(), close: generations.close };
}

/**
 * Closes idle sockets at once and busy ones as their requests finish; resolves when none is left. Requests still
 * queued on the old agent run first. Only a stuck request waits for the timeout.
 */
export function retireHttpsAgent(agent: HttpsAgent, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const busy = (): boolean =>
      Object.values(agent.sockets).some((list) => (list?.length ?? 0) > 0) || Object.values(agent.requests).some((list) => (list?.length ?? 0) > 0);
    const finish = (): void => {
      agent.off('free', onFree);
      clearInterval(sweep);
      clearTimeout(deadline);
      agent.destroy();
      resolve();
    };
    const check = (): void => {
      for (const list of Object.values(agent.freeSockets)) for (const socket of list ?? []) socket.destroy();
      if (!busy()) finish();
    };
    // 'free' fires when a request releases its socket; a socket that errors is removed without it, hence the sweep.
    const onFree = (): void => void setImmediate(check);
    agent.on('free', onFree);
    const sweep = setInterval(check, 1_000).unref();
    const deadline = setTimeout(finish, timeoutMs).unref();
    check();
  });
}

/** The part of undici's Agent used here, so this library needs no undici import: pass undici's Agent class. */
export interface DispatcherLike {
  /** Waits for the requests in flight, then closes. */
  close(): Promise<void>;
}
export type DispatcherClass<D extends DispatcherLike> = new (options: { connect?: Record<string, unknown> } & Record<string, unknown>) => D;

export interface UndiciDispatchersOptions extends ClientTLSOptions {
  /** Options for every dispatcher; `connect` is merged with ca/cert/key from the sources. */
  dispatcherOptions?: { connect?: Record<string, unknown> } & Record<string, unknown>;
}

/** `undiciDispatchers(Agent, …)` with undici's own Agent: `fetch(url, { dispatcher: client.agent() })`. */
export function undiciDispatchers<D extends DispatcherLike>(Dispatcher: DispatcherClass<D>, options: UndiciDispatchersOptions): ReloadingClient<D> {
  const generations = rotateByGeneration({
    sources: [options.rootCAs, ...(options.identity ? [options.identity] : [])],
    create: () => new Dispatcher({ ...options.dispatcherOptions, connect: { ...options.dispatcherOptions?.connect, ...tlsMaterial(options) } }),
    retire: (dispatcher) => dispatcher.close(),
    ...(options.hooks ? { hooks: options.hooks } : {}),
  });
  return { agent: generations.current, generation: generations.generation, getRootCAs: () => options.rootCAs.current(), close: generations.close };
}
