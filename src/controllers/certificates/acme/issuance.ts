// One step of an ACME issuance. Each reconcile moves the order as far as it can without waiting — place it,
// answer its challenges, ask the CA to validate, finalize, download — records where it stands in the
// Certificate's status, and returns when to look again. The order URL in the status is what lets a restarted
// operator (or the next leader) resume the same order instead of placing another.
//
// This module drives an order to a certificate; placing or taking up an order is order-placement.ts, the key it
// is finalized with order-key.ts, its challenges challenges.ts.
import { X509Certificate } from 'node:crypto';
import type { AcmeOrderStatus } from '../../../api/certificate.ts';
import type { IssuerKind } from '../../../api/issuer.ts';
import type { SecretObject } from '../../../api/secret.ts';
import type { AcmeClient, AcmeOrder } from '../../../acme/client.ts';
import { AcmeError } from '../../../acme/errors.ts';
import { acmeSpecProblems, orderIdentifiers, planSolvers, requestDigest } from '../../../acme/order-plan.ts';
import type { KubeClient } from '../../../kube/client.ts';
import { createCsr, parseCertificatesPem, publicKeyMatches } from '../../../pki/index.ts';
import type { AcmeAccountSource } from '../../../signers/acme-accounts.ts';
import { type ChallengeSolvers, createChallenges } from './challenges.ts';
import { createOrderKeys } from './order-key.ts';
import { createOrderPlacement } from './order-placement.ts';
import { type AcmeStep, type AcmeStepInput, isNotFound, POLL_MIN_MS, pollDelay, progress } from './step.ts';

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

export function createAcmeIssuance(deps: AcmeIssuanceDeps) {
  const challenges = createChallenges(deps.solvers);
  const keys = createOrderKeys({ kube: deps.kube, readSecret: deps.readSecret });
  const placement = createOrderPlacement({
    challenges,
    ...(deps.onOrderCreated ? { onOrderCreated: deps.onOrderCreated } : {}),
    ...(deps.onReplacesRefused ? { onReplacesRefused: deps.onReplacesRefused } : {}),
  });
  return { step, deleteOrderKey: keys.remove };

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
      placement.forget(uid);
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
      // In status before the CA is asked (one status write more per order): see order-placement.ts.
      order = placement.intentFor(uid, digest, issuerId, now);
      await input.recordIntent(order);
    }
    if (!order.orderURL || !remote) {
      const account = issuer.status?.acme?.uri ?? issuerId;
      const placed = await placement.placeOrTakeUp(client, input, order, { uid, account, identifiers, digest, issuerId, solvers: plan.solvers });
      // Written before anything is validated, so every replica can answer the HTTP-01 challenges.
      return progress(placed.order, placed.message, POLL_MIN_MS);
    }
    const orderURL = order.orderURL;
    order = { ...order, orderURL, state: remote.status, ...(remote.certificate ? { certificateURL: remote.certificate } : {}) };
    // Past pending, every authorization is valid: take the answers down even if this replica never saw them pass.
    if (remote.status !== 'pending' && remote.status !== 'invalid') order = await challenges.settle(order, input);
    switch (remote.status) {
      case 'pending': {
        const advanced = await challenges.advance(client, input, order, remote);
        if (advanced.kind === 'progress') return advanced;
        await abandon(advanced.order, input);
        return { kind: 'failed', order: undefined, error: advanced.error };
      }
      case 'ready': {
        const key = (await keys.kept(order, input)) ?? (await keys.create(order, input));
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
        const perName = await challenges.errors(client, order);
        const why = perName ? `the CA could not validate ${perName}` : `the CA rejected the order: ${remote.error?.detail ?? `it is ${remote.status}`}`;
        await abandon(order, input);
        return { kind: 'failed', order: undefined, error: new AcmeError('AcmeValidationFailed', why) };
      }
    }
  }

  async function download(client: AcmeClient, input: AcmeStepInput, order: AcmeOrderStatus): Promise<AcmeStep> {
    if (!order.certificateURL) throw new AcmeError('AcmeBadResponse', `the order ${order.orderURL} is valid but names no certificate`);
    const key = await keys.kept(order, input);
    if (!key) {
      // The key that finalized this order is gone: the certificate it signed is of no use, and resuming the order
      // would only find the same. A new order gets a new key.
      await abandon(order, input);
      const { ns, name } = keys.secretOf(input, order);
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

  /** Takes every presented challenge away and drops the order's key; errors are not fatal (the next attempt retries). */
  async function abandon(order: AcmeOrderStatus, input: AcmeStepInput): Promise<void> {
    await challenges.takeDown(order, input);
    await keys.remove(input.certificate, order).catch(() => undefined);
  }
}

function expired(order: AcmeOrderStatus, now: Date): boolean {
  return order.expires !== undefined && Date.parse(order.expires) <= now.getTime();
}
