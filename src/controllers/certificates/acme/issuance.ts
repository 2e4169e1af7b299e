// One step of an ACME issuance. Each reconcile moves the order as far as it can without waiting — place it,
// answer its challenges, ask the CA to validate, finalize, download — records where it stands in the
// Certificate's status, and returns when to look again. The order URL in the status is what lets a restarted
// operator (or the next leader) resume the same order instead of placing another.
//
// Before an order is placed, the status records that it is about to be (status.acmeOrder without an orderURL): an
// operator that dies between the CA's answer and the status write leaves that behind, and the process after it
// looks for the order among the account's orders (order-recovery.ts) before placing one.
import { createHash, X509Certificate, type KeyObject } from 'node:crypto';
import type { AcmeChallengeStatus, AcmeOrderStatus, Certificate } from '../../../api/certificate.ts';
import { toRfc3339 } from '../../../api/conditions.ts';
import type { Issuer, IssuerKind } from '../../../api/issuer.ts';
import { CERTIFICATE_NAME_LABEL, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../../api/labels.ts';
import type { AcmeClient, AcmeIdentifier, AcmeOrder } from '../../../acme/client.ts';
import { AcmeError, isReplacesRefusal } from '../../../acme/errors.ts';
import { acmeSpecProblems, authorizationName, dns01RecordName, orderIdentifiers, planSolvers, requestDigest } from '../../../acme/order-plan.ts';
import { CertsmithError } from '../../../errors.ts';
import type { KubeClient } from '../../../kube/client.ts';
import { isConflict } from '../../../kube/errors.ts';
import { Resources } from '../../../kube/resources.ts';
import {
  createCsr,
  encodePrivateKeyPem,
  generatePrivateKey,
  keySpecOf,
  parseCertificatesPem,
  parsePrivateKeyPem,
  publicKeyMatches,
} from '../../../pki/index.ts';
import type { AcmeAccountSource } from '../../../signers/acme-accounts.ts';
import { encodeSecretValue, secretValue } from '../../../signers/secret-data.ts';
import { createOrderRecovery } from './order-recovery.ts';
import type { DesiredCertificate } from '../desired.ts';
import type { SecretObject } from '../../../api/secret.ts';
import { compareStrings } from '../../../ordering.ts';

/** Answers one challenge: puts the response in place, says whether the CA can see it yet, and takes it away. */
export interface ChallengeSolvers {
  present(ctx: ChallengeContext): Promise<{ zone?: string }>;
  ready(ctx: ChallengeContext): Promise<{ ok: boolean; detail?: string }>;
  cleanup(ctx: ChallengeContext): Promise<void>;
}

export interface ChallengeContext {
  issuer: Issuer;
  issuerKind: IssuerKind;
  certificate: Certificate;
  challenge: AcmeChallengeStatus;
}

export interface AcmeIssuanceDeps {
  kube: KubeClient;
  accounts: AcmeAccountSource;
  solvers: ChallengeSolvers;
  /** Reads a Secret the operator manages (cache first). */
  readSecret(namespace: string, name: string): Promise<SecretObject | undefined>;
  onOrderCreated?: (issuerKind: IssuerKind) => void;
  /** The CA refused the renewal order's `replaces`; it was placed again without it. */
  onReplacesRefused?: (detail: string) => void;
}

export interface AcmeStepInput {
  certificate: Certificate;
  desired: DesiredCertificate;
  issuer: Issuer;
  issuerKind: IssuerKind;
  /** The key in the Secret now, reused when rotationPolicy is Never. */
  storedKey?: KeyObject | undefined;
  /** ARI certID of the certificate in the Secret when this issuance renews one from the same issuer. */
  replaces?: string | undefined;
  /** Order URLs in the status of every Certificate: an order one of them records is never taken up by another. */
  recordedOrders?: () => ReadonlySet<string>;
  /** Writes the intent (status.acmeOrder without an orderURL) to the Certificate's status; called before newOrder. */
  recordIntent: (intent: AcmeOrderStatus) => Promise<void>;
  now: Date;
}

export type AcmeStep =
  | { kind: 'progress'; order: AcmeOrderStatus; message: string; requeueAfterMs: number }
  | { kind: 'blocked'; reason: 'InvalidSpec' | 'NoSolver'; message: string }
  | { kind: 'issued'; order: AcmeOrderStatus; certificatePem: string; privateKey: KeyObject; notBefore: Date; notAfter: Date }
  | { kind: 'failed'; order: AcmeOrderStatus | undefined; error: CertsmithError };

// How long a presented challenge may take to become visible (DNS propagation, ingress sync) before giving up.
export const PRESENT_TIMEOUT_MS = 10 * 60_000;
const POLL_MIN_MS = 1_000;
const POLL_DEFAULT_MS = 2_000;
const POLL_MAX_MS = 60_000;
// What this process remembers of an order it was about to place, in case the status never learns its URL.
const PLACEMENT_MEMORY_MS = 60 * 60_000;

/** The key an order is finalized with, and the Secret keeping it (none when the stored key is reused). */
interface OrderKey {
  privateKey: KeyObject;
  secretName?: string;
}

/** An intent this process recorded, and what came of it. */
interface Placement {
  requestedAt: string;
  digest: string;
  /** When newOrder was sent; unset while it was not, or the CA answered it with a refusal. */
  sentAt?: number;
  /** The order the CA created for it. */
  orderURL?: string;
}

export function createAcmeIssuance(deps: AcmeIssuanceDeps) {
  const recovery = createOrderRecovery();
  // By Certificate UID. An entry lives from the intent until the order URL is seen in status.
  const placements = new Map<string, Placement>();
  return { step, deleteOrderKey };

  async function step(input: AcmeStepInput): Promise<AcmeStep> {
    const { certificate, desired, issuer, issuerKind, now } = input;
    const spec = issuer.spec!.acme!;
    const problems = acmeSpecProblems(desired);
    if (problems.length > 0) return { kind: 'blocked', reason: 'InvalidSpec', message: problems.join('; ') };
    const identifiers = orderIdentifiers(desired);
    const plan = planSolvers(identifiers, spec.solvers, certificate.metadata.labels ?? {});
    if (!plan.ok) return { kind: 'blocked', reason: 'NoSolver', message: `${plan.message}; no order was placed` };

    const issuerId = `${issuerKind}/${issuer.metadata.namespace ? `${issuer.metadata.namespace}/` : ''}${issuer.metadata.name}`;
    // The account is part of what was ordered: an order of a replaced account cannot be continued.
    const digest = requestDigest(`${issuerId} ${issuer.status?.acme?.uri ?? ''}`, spec.server, identifiers, spec.profile);
    const client = await deps.accounts.clientFor(issuer, issuerKind, issuer.status?.acme?.uri);

    const uid = certificate.metadata.uid ?? `${certificate.metadata.namespace}/${certificate.metadata.name}`;
    let order = certificate.status?.acmeOrder;
    if (order && (order.requestDigest !== digest || order.state === 'invalid' || expired(order, now))) {
      await abandon(order, input);
      order = undefined;
    }
    let remote: AcmeOrder | undefined;
    if (order?.orderURL) {
      placements.delete(uid);
      remote = await client.getOrder(order.orderURL).catch(async (err: unknown) => {
        // The CA does not know the order (any more): start over rather than fail on it forever.
        if (isNotFound(err)) {
          await abandon(order!, input);
          return undefined;
        }
        throw err;
      });
      if (!remote) order = undefined;
    }
    if (!order) {
      // In status before the CA is asked (one status write more per order): see the top of this file.
      order = intentFor(uid, digest, issuerId, now);
      await input.recordIntent(order);
    }
    if (!order.orderURL || !remote) {
      const account = issuer.status?.acme?.uri ?? issuerId;
      const placed = await placeOrTakeUp(client, input, order, { uid, account, identifiers, digest, issuerId, solvers: plan.solvers });
      // Written before anything is validated, so every replica can answer the HTTP-01 challenges.
      return progress(placed.order, placed.message, POLL_MIN_MS);
    }
    const orderURL = order.orderURL;
    order = { ...order, orderURL, state: remote.status, ...(remote.certificate ? { certificateURL: remote.certificate } : {}) };
    // Past pending, every authorization is valid: take the answers down even if this replica never saw them pass.
    if (remote.status !== 'pending' && remote.status !== 'invalid') order = await settleChallenges(order, input);
    switch (remote.status) {
      case 'pending':
        return advanceChallenges(client, input, order, remote);
      case 'ready': {
        const key = (await keptOrderKey(order, input)) ?? (await createOrderKey(order, input));
        const csr = await createCsr({
          privateKey: key.privateKey,
          subject: desired.commonName ? { commonName: desired.commonName } : {},
          dnsNames: desired.dnsNames,
          ipAddresses: desired.ipAddresses,
          uris: [],
          emailAddresses: [],
        });
        const finalized = await client.finalize({ url: orderURL, finalize: remote.finalize }, csr);
        order = { ...order, state: finalized.status, ...(key.secretName ? { keySecretName: key.secretName } : {}) };
        if (finalized.status !== 'valid') return progress(order, 'the CA is issuing the certificate', pollDelay(finalized.retryAfterMs));
        order = { ...order, ...(finalized.certificate ? { certificateURL: finalized.certificate } : {}) };
        return download(client, input, order);
      }
      case 'processing':
        return progress(order, 'the CA is issuing the certificate', pollDelay(remote.retryAfterMs));
      case 'valid':
        return download(client, input, order);
      default: {
        const perName = await challengeErrors(client, order);
        const why = perName ? `the CA could not validate ${perName}` : `the CA rejected the order: ${remote.error?.detail ?? `it is ${remote.status}`}`;
        await abandon(order, input);
        return { kind: 'failed', order: undefined, error: new AcmeError('AcmeValidationFailed', why) };
      }
    }
  }

  /** The status of a Certificate about to order: what is ordered, and when; no order URL yet. Remembered here. */
  function intentFor(uid: string, digest: string, issuerId: string, now: Date): AcmeOrderStatus {
    const requestedAt = toRfc3339(now);
    for (const [key, p] of placements) if (now.getTime() - Date.parse(p.requestedAt) > PLACEMENT_MEMORY_MS) placements.delete(key);
    placements.set(uid, { requestedAt, digest });
    return { state: 'ordering', requestDigest: digest, issuer: issuerId, requestedAt };
  }

  /**
   * The order for an intent in status. Recorded by this process: the order it placed, or a new one. Recorded by
   * another (a killed leader, the process before a restart), or sent without an answer: the account's unrecorded
   * order for the same names if the CA lists one, else a new one.
   */
  async function placeOrTakeUp(
    client: AcmeClient,
    input: AcmeStepInput,
    intent: AcmeOrderStatus,
    o: { uid: string; account: string; identifiers: AcmeIdentifier[]; digest: string; issuerId: string; solvers: Solvers },
  ): Promise<{ order: AcmeOrderStatus; message: string }> {
    const known = placements.get(o.uid);
    let mine = known && known.requestedAt === intent.requestedAt && known.digest === o.digest ? known : undefined;
    if (mine?.orderURL) {
      // This process placed it and a later part of the step failed.
      const placed = await client.getOrder(mine.orderURL).catch((err: unknown) => {
        if (isNotFound(err)) return undefined;
        throw err;
      });
      if (placed) return described(await adoptOrder(client, input, placed, o, placed.replaces));
    } else if (!mine || mine.sentAt !== undefined) {
      const found = await recovery.find(
        client,
        o.account,
        { identifiers: o.identifiers, profile: input.issuer.spec!.acme!.profile },
        {
          listedAfter: new Date(mine?.sentAt ?? (Date.parse(intent.requestedAt ?? '') || 0)),
          now: input.now,
          recorded: input.recordedOrders?.() ?? new Set(),
        },
      );
      if (found) {
        placements.set(o.uid, { requestedAt: intent.requestedAt ?? '', digest: o.digest, sentAt: input.now.getTime(), orderURL: found.url });
        const order = await adoptOrder(client, input, found, o, found.replaces);
        return { order, message: `took up order ${found.url}, placed earlier and never recorded; ${describeChallenges(order)}` };
      }
    }
    if (!mine) {
      mine = { requestedAt: intent.requestedAt ?? '', digest: o.digest };
      placements.set(o.uid, mine);
    }
    return described(await placeOrder(client, input, mine, o));
  }

  async function placeOrder(
    client: AcmeClient,
    input: AcmeStepInput,
    placement: Placement,
    o: { identifiers: AcmeIdentifier[]; digest: string; issuerId: string; solvers: Solvers },
  ): Promise<AcmeOrderStatus> {
    const spec = input.issuer.spec!.acme!;
    const request = { identifiers: o.identifiers, ...(spec.profile ? { profile: spec.profile } : {}) };
    let replaces = input.replaces;
    const newOrder = async (req: Parameters<AcmeClient['newOrder']>[0]) => {
      placement.sentAt = input.now.getTime();
      try {
        return await client.newOrder(req);
      } catch (err) {
        // A refusal from the CA created nothing; any other failure may have, and is looked for next time.
        if (err instanceof AcmeError && err.httpStatus !== undefined && err.httpStatus < 500) delete placement.sentAt;
        throw err;
      }
    };
    let placed: AcmeOrder;
    try {
      placed = await newOrder({ ...request, ...(replaces ? { replaces } : {}) });
    } catch (err) {
      if (!replaces || !isReplacesRefusal(err)) throw err;
      deps.onReplacesRefused?.((err as Error).message);
      replaces = undefined;
      placed = await newOrder(request);
    }
    placement.orderURL = placed.url;
    deps.onOrderCreated?.(input.issuerKind);
    return adoptOrder(client, input, placed, o, replaces);
  }

  /** The status of an order just placed or taken up: its challenges, each not-yet-answered one presented. */
  async function adoptOrder(
    client: AcmeClient,
    input: AcmeStepInput,
    placed: AcmeOrder,
    o: { digest: string; issuerId: string; solvers: Solvers },
    replaces: string | undefined,
  ): Promise<AcmeOrderStatus> {
    const solvers = o.solvers;
    const challenges: AcmeChallengeStatus[] = [];
    for (const url of placed.authorizations) {
      const authz = await client.getAuthorization(url);
      if (authz.status !== 'pending') continue; // already valid: the CA reused an earlier authorization
      const name = authorizationName(authz);
      const solver = solvers.get(name) ?? solvers.get(name.toLowerCase());
      if (!solver) throw new AcmeError('AcmeBadResponse', `the CA asked to authorize ${name}, which the order did not name`);
      const ch = authz.challenges.find((c) => c.type === solver.type);
      if (!ch) {
        throw new AcmeError(
          'AcmeOrderRejected',
          `the CA offers no ${solver.type} challenge for ${name} (only ${authz.challenges.map((c) => c.type).join(', ')}): choose another solver for it`,
        );
      }
      challenges.push({
        identifier: name,
        type: solver.type,
        url: ch.url,
        authorizationURL: url,
        token: ch.token,
        keyAuthorization: await client.keyAuthorization({ type: ch.type, token: ch.token }),
        solver: solver.index,
        ...(solver.type === 'dns-01' ? { fqdn: dns01RecordName(name) } : {}),
        state: ch.status === 'pending' ? 'pending' : 'submitted',
      });
    }
    const order: AcmeOrderStatus = {
      orderURL: placed.url,
      state: placed.status,
      requestDigest: o.digest,
      issuer: o.issuerId,
      finalizeURL: placed.finalize,
      ...(placed.expires ? { expires: placed.expires } : {}),
      ...(replaces ? { replaces } : {}),
      challenges,
    };
    return presentPending(order, input);
  }

  /** Puts every not-yet-answered challenge in place. A provider error leaves the order for the next attempt. */
  async function presentPending(order: AcmeOrderStatus, input: AcmeStepInput): Promise<AcmeOrderStatus> {
    const challenges = [...(order.challenges ?? [])];
    for (let i = 0; i < challenges.length; i++) {
      const ch = challenges[i]!;
      if (ch.state !== 'pending') continue;
      const { zone } = await deps.solvers.present(context(input, ch));
      challenges[i] = { ...ch, state: 'presented', presentedAt: toRfc3339(input.now), ...(zone ? { zone } : {}) };
    }
    return { ...order, challenges };
  }

  async function advanceChallenges(client: AcmeClient, input: AcmeStepInput, before: AcmeOrderStatus, remote: AcmeOrder): Promise<AcmeStep> {
    let order = await presentPending(before, input);
    const challenges = [...(order.challenges ?? [])];
    const waiting: string[] = [];
    let soonestPoll = POLL_DEFAULT_MS;
    for (let i = 0; i < challenges.length; i++) {
      const ch = challenges[i]!;
      if (ch.state === 'presented') {
        const seen = await deps.solvers.ready(context(input, ch));
        if (!seen.ok) {
          const since = ch.presentedAt ? Date.parse(ch.presentedAt) : input.now.getTime();
          if (input.now.getTime() - since > PRESENT_TIMEOUT_MS) {
            await abandon(order, input);
            return {
              kind: 'failed',
              order: undefined,
              error: new AcmeError(
                'AcmeValidationFailed',
                `the ${ch.type} challenge for ${ch.identifier} was not visible after ${PRESENT_TIMEOUT_MS / 60_000} minutes: ${seen.detail ?? 'not found'}`,
              ),
            };
          }
          waiting.push(`${ch.identifier}: ${seen.detail ?? 'not visible yet'}`);
          continue;
        }
        await client.submitChallenge(ch.url);
        challenges[i] = { ...ch, state: 'submitted' };
      } else if (ch.state === 'submitted') {
        const authz = await client.getAuthorization(ch.authorizationURL);
        if (authz.status === 'valid') {
          challenges[i] = { ...ch, state: 'valid' };
          await deps.solvers.cleanup(context(input, ch));
        } else if (authz.status !== 'pending') {
          const detail = authz.challenges.find((c) => c.url === ch.url)?.error?.detail ?? `authorization ${authz.status}`;
          challenges[i] = { ...ch, state: 'invalid', error: detail };
        } else if (authz.retryAfterMs !== undefined) {
          soonestPoll = Math.min(soonestPoll, authz.retryAfterMs);
        }
      }
    }
    order = { ...order, challenges };
    const invalid = challenges.filter((c) => c.state === 'invalid');
    if (invalid.length > 0) {
      await abandon(order, input);
      const why = invalid.map((c) => `${c.identifier} (${c.type}): ${c.error}`).join('; ');
      return { kind: 'failed', order: undefined, error: new AcmeError('AcmeValidationFailed', `the CA could not validate ${why}`) };
    }
    const message = waiting.length > 0 ? `waiting for challenges to be visible: ${waiting.join('; ')}` : describeChallenges(order);
    return progress(order, message, pollDelay(remote.retryAfterMs ?? soonestPoll));
  }

  async function download(client: AcmeClient, input: AcmeStepInput, order: AcmeOrderStatus): Promise<AcmeStep> {
    if (!order.certificateURL) throw new AcmeError('AcmeBadResponse', `the order ${order.orderURL} is valid but names no certificate`);
    const key = await keptOrderKey(order, input);
    if (!key) {
      // The key that finalized this order is gone: the certificate it signed is of no use, and resuming the order
      // would only find the same. A new order gets a new key.
      await abandon(order, input);
      const { ns, name } = orderKeySecret(input, order);
      return {
        kind: 'failed',
        order: undefined,
        error: new AcmeError('AcmeProblem', `the private key of order ${order.orderURL} was lost (Secret ${ns}/${name} is gone); a new order will be placed`),
      };
    }
    const pem = await client.downloadCertificate(
      { url: order.orderURL!, certificate: order.certificateURL, status: 'valid' },
      input.issuer.spec!.acme!.preferredChain,
    );
    const chain = parseCertificatesPem(pem);
    const leaf = chain[0];
    if (!leaf) throw new AcmeError('AcmeBadResponse', `the certificate at ${order.certificateURL} holds no certificate`);
    if (!publicKeyMatches(key.privateKey, leaf)) {
      // The key that finalized this order is gone (it never reached its Secret): only a new order can help.
      await abandon(order, input);
      return {
        kind: 'failed',
        order: undefined,
        error: new AcmeError('AcmeProblem', 'the issued certificate does not match the private key kept for the order; a new order will be placed'),
      };
    }
    const x = new X509Certificate(Buffer.from(leaf));
    return {
      kind: 'issued',
      order,
      certificatePem: pem.endsWith('\n') ? pem : `${pem}\n`,
      privateKey: key.privateKey,
      notBefore: new Date(x.validFrom),
      notAfter: new Date(x.validTo),
    };
  }

  /**
   * The private key the order is finalized with, if there is one yet. rotationPolicy Never reuses the stored key;
   * otherwise a new key is kept in a Secret of its own (named after the order) until the certificate is written, so a
   * restart between finalizing and writing finds it again.
   */
  async function keptOrderKey(order: AcmeOrderStatus, input: AcmeStepInput): Promise<OrderKey | undefined> {
    const { desired, storedKey } = input;
    if (!desired.rotateKey && storedKey && keyFits(storedKey, desired)) return { privateKey: storedKey };
    const { ns, name } = orderKeySecret(input, order);
    const existing = await deps.readSecret(ns, name);
    if (existing && existing.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) {
      throw new CertsmithError('SecretConflict', `Secret ${ns}/${name} exists and is not managed by certsmith; it is left untouched`);
    }
    const pem = secretValue(existing?.data, 'tls.key');
    return pem ? { privateKey: parsePrivateKeyPem(pem), secretName: name } : undefined;
  }

  /** A new key for the order, kept in the order's key Secret. */
  async function createOrderKey(order: AcmeOrderStatus, input: AcmeStepInput): Promise<OrderKey> {
    const { ns, name } = orderKeySecret(input, order);
    const privateKey = await generatePrivateKey(input.desired.key);
    try {
      await deps.kube.create(Resources.secrets, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name,
          namespace: ns,
          labels: { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [CERTIFICATE_NAME_LABEL]: input.certificate.metadata.name },
          ownerReferences: [
            {
              apiVersion: input.certificate.apiVersion,
              kind: 'Certificate',
              name: input.certificate.metadata.name,
              uid: input.certificate.metadata.uid!,
              blockOwnerDeletion: true,
            },
          ],
        },
        type: 'Opaque',
        data: { 'tls.key': encodeSecretValue(encodePrivateKeyPem(privateKey, 'PKCS8')) },
      } as SecretObject);
    } catch (err) {
      if (isConflict(err)) throw new AcmeError('AcmeProblem', `the order key Secret ${ns}/${name} appeared while creating it; retrying`);
      throw err;
    }
    return { privateKey, secretName: name };
  }

  /** Where an order's key is kept: a Secret named after the order, in the Certificate's namespace. */
  function orderKeySecret(input: AcmeStepInput, order: AcmeOrderStatus): { ns: string; name: string } {
    return { ns: input.certificate.metadata.namespace!, name: orderKeySecretName(input.certificate.metadata.name, order.orderURL!) };
  }

  /** After the certificate is in its Secret, the order's key Secret has done its job. */
  async function deleteOrderKey(certificate: Certificate, order: AcmeOrderStatus | undefined): Promise<void> {
    if (!order?.keySecretName) return;
    await deps.kube.delete(Resources.secrets, certificate.metadata.namespace, order.keySecretName);
  }

  /** Marks answered challenges valid and takes their responses down (the order is ready: the CA accepted them). */
  async function settleChallenges(order: AcmeOrderStatus, input: AcmeStepInput): Promise<AcmeOrderStatus> {
    const challenges = [...(order.challenges ?? [])];
    for (let i = 0; i < challenges.length; i++) {
      const ch = challenges[i]!;
      if (ch.state !== 'presented' && ch.state !== 'submitted') continue;
      await deps.solvers.cleanup(context(input, ch));
      challenges[i] = { ...ch, state: 'valid' };
    }
    return { ...order, challenges };
  }

  /** Takes every presented challenge away and drops the order's key; errors are not fatal (the next attempt retries). */
  async function abandon(order: AcmeOrderStatus, input: AcmeStepInput): Promise<void> {
    for (const ch of order.challenges ?? []) {
      if (ch.state === 'presented' || ch.state === 'submitted' || ch.state === 'invalid') {
        await deps.solvers.cleanup(context(input, ch)).catch(() => undefined);
      }
    }
    await deleteOrderKey(input.certificate, order).catch(() => undefined);
  }

  async function challengeErrors(client: AcmeClient, order: AcmeOrderStatus): Promise<string | undefined> {
    const details: string[] = [];
    for (const ch of order.challenges ?? []) {
      const authz = await client.getAuthorization(ch.authorizationURL).catch(() => undefined);
      const detail = authz?.challenges.find((c) => c.url === ch.url)?.error?.detail;
      if (detail) details.push(`${ch.identifier} (${ch.type}): ${detail}`);
    }
    return details.length > 0 ? details.join('; ') : undefined;
  }

  function context(input: AcmeStepInput, challenge: AcmeChallengeStatus): ChallengeContext {
    return { issuer: input.issuer, issuerKind: input.issuerKind, certificate: input.certificate, challenge };
  }
}

type Solvers = Map<string, { index: number; type: 'http-01' | 'dns-01' }>;

function progress(order: AcmeOrderStatus, message: string, requeueAfterMs: number): AcmeStep {
  return { kind: 'progress', order, message, requeueAfterMs };
}

function described(order: AcmeOrderStatus): { order: AcmeOrderStatus; message: string } {
  return { order, message: describeChallenges(order) };
}

function isNotFound(err: unknown): boolean {
  return err instanceof AcmeError && err.httpStatus === 404;
}

function pollDelay(retryAfterMs: number | undefined): number {
  return Math.min(Math.max(retryAfterMs ?? POLL_DEFAULT_MS, POLL_MIN_MS), POLL_MAX_MS);
}

function expired(order: AcmeOrderStatus, now: Date): boolean {
  return order.expires !== undefined && Date.parse(order.expires) <= now.getTime();
}

function describeChallenges(order: AcmeOrderStatus): string {
  const counts = new Map<string, number>();
  for (const c of order.challenges ?? []) counts.set(c.state, (counts.get(c.state) ?? 0) + 1);
  const parts = [...counts].sort(([a], [b]) => compareStrings(a, b)).map(([state, n]) => `${n} ${state}`);
  return `order ${order.state}${parts.length ? `; challenges: ${parts.join(', ')}` : ''}`;
}

function keyFits(key: KeyObject, desired: DesiredCertificate): boolean {
  const spec = keySpecOf(key);
  return spec.algorithm === desired.key.algorithm && spec.size === desired.key.size;
}

/** Deterministic, so a restart finds the key of the order in progress. */
export function orderKeySecretName(certificateName: string, orderURL: string): string {
  const suffix = createHash('sha256').update(orderURL).digest('hex').slice(0, 10);
  return `${certificateName.slice(0, 253 - 16)}-order-${suffix}`;
}
