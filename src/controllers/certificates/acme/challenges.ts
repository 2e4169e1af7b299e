// An order's challenges: which one answers each authorization, putting the answers in place, asking the CA to
// validate once the answer is visible, following the authorizations, and taking the answers down. The solvers that
// do the presenting are challenge-solvers.ts; which solver answers a name is decided in acme/order-plan.ts.
import type { AcmeChallengeStatus, AcmeOrderStatus, Certificate } from '../../../api/certificate.ts';
import { toRfc3339 } from '../../../api/conditions.ts';
import type { Issuer, IssuerKind } from '../../../api/issuer.ts';
import type { AcmeClient, AcmeOrder } from '../../../acme/client.ts';
import { AcmeError } from '../../../acme/errors.ts';
import { authorizationName, dns01RecordName, type SolverPlan } from '../../../acme/order-plan.ts';
import { type AcmeStep, type AcmeStepInput, describeOrder, POLL_DEFAULT_MS, pollDelay, progress } from './step.ts';

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

/** The solver planned for each name of the order. */
export type PlannedSolvers = Extract<SolverPlan, { ok: true }>['solvers'];

/** Where the challenges of a pending order stand after one look; a failure names the order to abandon. */
export type ChallengeProgress = (AcmeStep & { kind: 'progress' }) | { kind: 'failed'; order: AcmeOrderStatus; error: AcmeError };

// How long a presented challenge may take to become visible (DNS propagation, ingress sync) before giving up.
export const PRESENT_TIMEOUT_MS = 10 * 60_000;

type ChallengeInput = Pick<AcmeStepInput, 'issuer' | 'issuerKind' | 'certificate' | 'now'>;

export function createChallenges(solvers: ChallengeSolvers) {
  return { ofOrder, presentPending, advance, settle, takeDown, errors };

  /** The challenge to answer for each authorization still pending (a valid one the CA reused needs none). */
  async function ofOrder(client: AcmeClient, placed: AcmeOrder, planned: PlannedSolvers): Promise<AcmeChallengeStatus[]> {
    const challenges: AcmeChallengeStatus[] = [];
    for (const url of placed.authorizations) {
      const authz = await client.getAuthorization(url);
      if (authz.status !== 'pending') continue; // already valid: the CA reused an earlier authorization
      const name = authorizationName(authz);
      const solver = planned.get(name) ?? planned.get(name.toLowerCase());
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
    return challenges;
  }

  /** Puts every not-yet-answered challenge in place. A provider error leaves the order for the next attempt. */
  async function presentPending(order: AcmeOrderStatus, input: ChallengeInput): Promise<AcmeOrderStatus> {
    const challenges = [...(order.challenges ?? [])];
    for (let i = 0; i < challenges.length; i++) {
      const ch = challenges[i]!;
      if (ch.state !== 'pending') continue;
      const { zone } = await solvers.present(context(input, ch));
      challenges[i] = { ...ch, state: 'presented', presentedAt: toRfc3339(input.now), ...(zone ? { zone } : {}) };
    }
    return { ...order, challenges };
  }

  /**
   * One look at a pending order's challenges: present what is not yet, submit what is visible, follow what was
   * submitted. A challenge not visible in time, or one the CA found invalid, fails the order.
   */
  async function advance(client: AcmeClient, input: ChallengeInput, before: AcmeOrderStatus, remote: AcmeOrder): Promise<ChallengeProgress> {
    let order = await presentPending(before, input);
    const challenges = [...(order.challenges ?? [])];
    const waiting: string[] = [];
    let soonestPoll = POLL_DEFAULT_MS;
    for (let i = 0; i < challenges.length; i++) {
      const ch = challenges[i]!;
      if (ch.state === 'presented') {
        const seen = await solvers.ready(context(input, ch));
        if (!seen.ok) {
          const since = ch.presentedAt ? Date.parse(ch.presentedAt) : input.now.getTime();
          if (input.now.getTime() - since > PRESENT_TIMEOUT_MS) {
            return {
              kind: 'failed',
              order,
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
          await solvers.cleanup(context(input, ch));
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
      const why = invalid.map((c) => `${c.identifier} (${c.type}): ${c.error}`).join('; ');
      return { kind: 'failed', order, error: new AcmeError('AcmeValidationFailed', `the CA could not validate ${why}`) };
    }
    const message = waiting.length > 0 ? `waiting for challenges to be visible: ${waiting.join('; ')}` : describeOrder(order);
    return progress(order, message, pollDelay(remote.retryAfterMs ?? soonestPoll));
  }

  /** Marks answered challenges valid and takes their responses down (the order is ready: the CA accepted them). */
  async function settle(order: AcmeOrderStatus, input: ChallengeInput): Promise<AcmeOrderStatus> {
    const challenges = [...(order.challenges ?? [])];
    for (let i = 0; i < challenges.length; i++) {
      const ch = challenges[i]!;
      if (ch.state !== 'presented' && ch.state !== 'submitted') continue;
      await solvers.cleanup(context(input, ch));
      challenges[i] = { ...ch, state: 'valid' };
    }
    return { ...order, challenges };
  }

  /** Takes every answer that may still be in place down, for an order given up; errors are not fatal (the next attempt retries). */
  async function takeDown(order: AcmeOrderStatus, input: ChallengeInput): Promise<void> {
    for (const ch of order.challenges ?? []) {
      if (ch.state === 'presented' || ch.state === 'submitted' || ch.state === 'invalid') {
        await solvers.cleanup(context(input, ch)).catch(() => undefined);
      }
    }
  }

  /** What the CA said of each failed challenge of an invalid order, or undefined when it said nothing. */
  async function errors(client: AcmeClient, order: AcmeOrderStatus): Promise<string | undefined> {
    const details: string[] = [];
    for (const ch of order.challenges ?? []) {
      const authz = await client.getAuthorization(ch.authorizationURL).catch(() => undefined);
      const detail = authz?.challenges.find((c) => c.url === ch.url)?.error?.detail;
      if (detail) details.push(`${ch.identifier} (${ch.type}): ${detail}`);
    }
    return details.length > 0 ? details.join('; ') : undefined;
  }
}

export type Challenges = ReturnType<typeof createChallenges>;

function context(input: ChallengeInput, challenge: AcmeChallengeStatus): ChallengeContext {
  return { issuer: input.issuer, issuerKind: input.issuerKind, certificate: input.certificate, challenge };
}
