// Answers ACME challenges with the issuer's solvers. HTTP-01: the key authorization is in the Certificate's
// status, which every replica's solver server reads; only the optional Ingress route is created here. DNS-01: a
// TXT record through RFC 2136 or a webhook, checked on the zone's nameservers before the CA is asked.
import { randomInt } from 'node:crypto';
import { getServers } from 'node:dns';
import type { AcmeSolver, Issuer, IssuerKind } from '../../../api/issuer.ts';
import { createOriginGate } from '../../../acme/http-limits.ts';
import { http01SelfCheck } from '../../../acme/http01-self-check.ts';
import {
  checkTxtPropagation,
  createRfc2136Provider,
  createWebhookProvider,
  findAuthoritativeNameservers,
  type Dns01Provider,
} from '../../../acme/dns01/index.ts';
import { exchange } from '../../../acme/dns01/transport.ts';
import { parseServerAddress } from '../../../acme/dns01/address.ts';
import { decodeMessage, encodeQuery, RRType } from '../../../acme/dns01/wire.ts';
import { findZoneBySoa } from '../../../acme/dns01/zone.ts';
import { CertsmithError } from '../../../errors.ts';
import type { SecretReader } from '../../../kube/secret-reader.ts';
import type { Clock } from '../../../time/clock.ts';
import { secretValue } from '../../../signers/secret-data.ts';
import type { ChallengeContext, ChallengeSolvers } from './challenges.ts';
import { needsHttp01Route } from './http01-objects.ts';

/**
 * Routes the CA's HTTP-01 request through an Ingress (or Gateway) to the operator: for http01.ingress, or for a
 * Certificate made for an Ingress or Gateway (its hint annotations). Otherwise the operator is reached directly.
 */
export interface Http01Routing {
  ensure(ctx: ChallengeContext, solver: NonNullable<AcmeSolver['http01']>): Promise<void>;
  remove(ctx: ChallengeContext, solver: NonNullable<AcmeSolver['http01']>): Promise<void>;
}

export interface ChallengeSolverOptions {
  secrets: SecretReader;
  clusterResourceNamespace: string;
  clock: Clock;
  /** The port the CA fetches HTTP-01 responses from (80 in production); the self-check uses it too. */
  http01CheckPort: number;
  /** Resolvers (host:port) for self-checks and for finding a zone's nameservers; default: the system's. */
  recursiveNameservers?: readonly string[];
  /** Ask only these servers whether a DNS-01 record is visible; default: the zone's authoritative servers. */
  dns01CheckNameservers?: readonly string[];
  routing?: Http01Routing;
}

export function createChallengeSolvers(opts: ChallengeSolverOptions): ChallengeSolvers {
  // Webhooks and self-check targets are the tenants' choice: one gate caps the requests in flight to each of them.
  const gate = createOriginGate();
  const solverOf = (ctx: ChallengeContext): AcmeSolver => {
    const s = ctx.issuer.spec?.acme?.solvers[ctx.challenge.solver];
    if (!s) throw new CertsmithError('AcmeNoSolver', `the issuer no longer has solver #${ctx.challenge.solver} for ${ctx.challenge.identifier}`);
    return s;
  };
  const secretNamespace = (issuer: Issuer, kind: IssuerKind) => (kind === 'ClusterIssuer' ? opts.clusterResourceNamespace : (issuer.metadata.namespace ?? ''));
  const recursive = () => (opts.recursiveNameservers?.length ? [...opts.recursiveNameservers] : getServers());

  async function secretKey(ns: string, ref: { name: string; key?: string }, fallback: string, what: string): Promise<string> {
    const secret = await opts.secrets.get(ns, ref.name);
    if (!secret) throw new CertsmithError('SecretNotFound', `the ${what} Secret ${ns}/${ref.name} does not exist`);
    const value = secretValue(secret.data, ref.key ?? fallback);
    if (!value) throw new CertsmithError('SecretMissingKey', `the ${what} Secret ${ns}/${ref.name} has no key "${ref.key ?? fallback}"`);
    return value.trim();
  }

  async function providerFor(ctx: ChallengeContext, dns01: NonNullable<AcmeSolver['dns01']>): Promise<Dns01Provider> {
    const ns = secretNamespace(ctx.issuer, ctx.issuerKind);
    if (dns01.rfc2136) {
      const c = dns01.rfc2136;
      return createRfc2136Provider(
        {
          nameserver: c.nameserver,
          tsigKeyName: c.tsigKeyName,
          ...(c.tsigAlgorithm ? { tsigAlgorithm: c.tsigAlgorithm } : {}),
          tsigSecret: await secretKey(ns, c.tsigSecretSecretRef, 'secret', 'TSIG'),
        },
        { clock: opts.clock },
      );
    }
    if (dns01.webhook) {
      const w = dns01.webhook;
      return createWebhookProvider(
        {
          url: w.url,
          ...(w.tokenSecretRef ? { bearerToken: await secretKey(ns, w.tokenSecretRef, 'token', 'webhook token') } : {}),
          ...(w.caBundle ? { caBundle: Buffer.from(w.caBundle, 'base64').toString('utf8') } : {}),
        },
        { gate },
      );
    }
    throw new CertsmithError('InvalidSpec', 'the dns01 solver sets neither rfc2136 nor webhook');
  }

  /** The zone a webhook's record belongs to, found through the resolvers; undefined when they cannot tell. */
  async function zoneByResolvers(fqdn: string): Promise<string | undefined> {
    const server = parseServerAddress(recursive()[0] ?? '127.0.0.1');
    const askSoa = async (name: string) =>
      decodeMessage(await exchange(server, encodeQuery({ id: randomInt(0x10000), name, type: RRType.SOA, recursionDesired: true }), 5_000));
    return findZoneBySoa(fqdn, askSoa, 'the resolver').catch(() => undefined);
  }

  async function dnsCheckServers(ctx: ChallengeContext, dns01: NonNullable<AcmeSolver['dns01']>): Promise<string[]> {
    if (opts.dns01CheckNameservers?.length) return [...opts.dns01CheckNameservers];
    const zone = ctx.challenge.zone ?? (await zoneByResolvers(ctx.challenge.fqdn!));
    const authoritative = zone ? await findAuthoritativeNameservers({ zone, resolver: recursive()[0] ?? '127.0.0.1' }).catch(() => [] as string[]) : [];
    const primary = dns01.rfc2136 ? [dns01.rfc2136.nameserver] : [];
    const all = [...new Set([...primary, ...authoritative])];
    if (all.length === 0) {
      throw new CertsmithError('Dns01ZoneNotFound', `cannot tell which nameservers serve ${ctx.challenge.fqdn}: set --acme-dns01-check-nameservers`);
    }
    return all;
  }

  return {
    async present(ctx) {
      const solver = solverOf(ctx);
      if (ctx.challenge.type === 'http-01') {
        if (opts.routing && needsHttp01Route(ctx.certificate.metadata.annotations, solver.http01)) await opts.routing.ensure(ctx, solver.http01 ?? {});
        return {};
      }
      const provider = await providerFor(ctx, solver.dns01!);
      const zone = solver.dns01!.webhook ? await zoneByResolvers(ctx.challenge.fqdn!) : undefined;
      await provider.present({ fqdn: ctx.challenge.fqdn!, value: ctx.challenge.keyAuthorization, ...(zone ? { zone } : {}) });
      return zone ? { zone } : {};
    },
    async ready(ctx) {
      const solver = solverOf(ctx);
      const ch = ctx.challenge;
      if (ch.type === 'http-01') {
        if (solver.http01?.selfCheck === false) return { ok: true };
        const identifier = { type: /^[\d.]+$|:/.test(ch.identifier) ? ('ip' as const) : ('dns' as const), value: ch.identifier };
        const r = await http01SelfCheck(identifier, ch.token, ch.keyAuthorization, {
          port: opts.http01CheckPort,
          gate,
          ...(opts.recursiveNameservers?.length ? { nameservers: opts.recursiveNameservers } : {}),
        });
        return r.ok ? { ok: true } : { ok: false, detail: `self-check: ${r.detail}` };
      }
      const servers = await dnsCheckServers(ctx, solver.dns01!);
      const r = await checkTxtPropagation({ fqdn: ch.fqdn!, value: ch.keyAuthorization, nameservers: servers });
      if (r.visible) return { ok: true };
      const errors = r.errors.map((e) => `${e.nameserver}: ${e.message}`);
      return { ok: false, detail: `TXT ${ch.fqdn} not yet visible on ${r.missingOn.join(', ')}${errors.length ? ` (${errors.join('; ')})` : ''}` };
    },
    async cleanup(ctx) {
      const solver = solverOf(ctx);
      if (ctx.challenge.type === 'http-01') {
        if (opts.routing && needsHttp01Route(ctx.certificate.metadata.annotations, solver.http01)) await opts.routing.remove(ctx, solver.http01 ?? {});
        return;
      }
      const provider = await providerFor(ctx, solver.dns01!);
      await provider.cleanup({ fqdn: ctx.challenge.fqdn!, value: ctx.challenge.keyAuthorization, ...(ctx.challenge.zone ? { zone: ctx.challenge.zone } : {}) });
    },
  };
}
