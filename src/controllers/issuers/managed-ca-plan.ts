// The pure half of a managed CA (ca.managed): its timings from the spec, whether the Secret found is its own,
// the rotation policy's inputs from what was gathered, the generations after an action, the Secret that holds
// them and the issuer's status that results. Nothing here reads or writes; time is passed in.
import { toRfc3339 } from '../../api/conditions.ts';
import type { Issuer, IssuerKind, IssuerStatus, ManagedCa } from '../../api/issuer.ts';
import {
  CA_ISSUER_ANNOTATION,
  CA_SIGNING_SINCE_ANNOTATION,
  INTERNAL_SECRET_LABEL,
  InternalSecret,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
} from '../../api/labels.ts';
import type { SecretObject } from '../../api/secret.ts';
import type { TrustBundle } from '../../api/trust-bundle.ts';
import { CertsmithError, errorCode } from '../../errors.ts';
import { withoutManagedFields } from '../../kube/trim.ts';
import { normalizeKeySpec } from '../../pki/index.ts';
import type { KeySpec } from '../../pki/types.ts';
import { bundleHoldsCa, type RotationAction, type RotationDecision, type RotationInputs } from '../../policy/ca-rotation.ts';
import { loadCaSigner } from '../../signers/ca-signer.ts';
import { generationsData, liveGenerations, readGenerations, roleOf, type CaGenerations, type StoredGeneration } from '../../signers/managed-ca.ts';
import { parseDuration } from '../../time/duration.ts';
import type { CaOutcome } from './status.ts';

export const DEFAULT_CA_DURATION = '8760h';
export const DEFAULT_PROPAGATION_DELAY = '2m';
export const DEFAULT_RETIRE_GRACE = '5m';
export const DEFAULT_REISSUE_WINDOW = '10m';
// Events bring the issuer back (its Secret, its bundles, its leaves' Secrets); this is the safety net.
const SAFETY_RECHECK_MS = 60_000;
// After a change, look again at once: the next phase may already be due (or waits on the bundles).
const AFTER_CHANGE_MS = 1000;

export interface ManagedCaTimings {
  durationMs: number;
  key: KeySpec;
  rotateBefore: { rotateBeforeMs?: number; rotateBeforePercentage?: number };
  propagationDelayMs: number;
  retireGraceMs: number;
}

/** The spec's durations and key, checked: a bad one is an InvalidSpec error naming the field. */
export function managedCaTimings(spec: ManagedCa): ManagedCaTimings {
  const dur = (field: string, v: string | undefined, dflt: string) => {
    try {
      return parseDuration(v ?? dflt);
    } catch (err) {
      throw new CertsmithError('InvalidSpec', `ca.managed.${field}: ${(err as Error).message}`);
    }
  };
  const durationMs = dur('duration', spec.duration, DEFAULT_CA_DURATION);
  if (durationMs <= 0) throw new CertsmithError('InvalidSpec', 'ca.managed.duration must be longer than 0');
  let key: KeySpec;
  try {
    key = normalizeKeySpec(spec.privateKey ?? {});
  } catch (err) {
    throw new CertsmithError('InvalidSpec', `ca.managed.privateKey: ${(err as Error).message}`);
  }
  dur('reissueWindow', spec.reissueWindow, DEFAULT_REISSUE_WINDOW); // read by the Certificates; checked here
  return {
    durationMs,
    key,
    rotateBefore: {
      ...(spec.rotateBefore !== undefined ? { rotateBeforeMs: dur('rotateBefore', spec.rotateBefore, '0') } : {}),
      ...(spec.rotateBeforePercentage !== undefined ? { rotateBeforePercentage: spec.rotateBeforePercentage } : {}),
    },
    propagationDelayMs: dur('propagationDelay', spec.propagationDelay, DEFAULT_PROPAGATION_DELAY),
    retireGraceMs: dur('retireGracePeriod', spec.retireGracePeriod, DEFAULT_RETIRE_GRACE),
  };
}

/** How the managed CA's Secret names its issuer. */
export function caOwner(kind: IssuerKind, issuer: Pick<Issuer, 'metadata'>): string {
  return `${kind}/${issuer.metadata.namespace ?? ''}/${issuer.metadata.name}`;
}

/**
 * A Secret found under the CA's name must be this issuer's own, and hold a CA if it holds a key pair: a Secret
 * someone else made is never taken over (SecretConflict), and one edited by hand (a non-CA, a foreign key) is
 * reported rather than signed with or silently replaced. An expired CA is the rotation's business.
 */
export function checkCaSecret(secret: SecretObject | undefined, where: string, owner: string, now: Date): void {
  if (!secret) return;
  if (secret.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE || secret.metadata.annotations?.[CA_ISSUER_ANNOTATION] !== owner) {
    throw new CertsmithError(
      'SecretConflict',
      `Secret ${where} exists and was not created for this issuer's managed CA; it is left untouched: delete it or set ca.managed.secretName`,
    );
  }
  if (secret.data?.['tls.crt'] && secret.data['tls.key']) {
    try {
      loadCaSigner(secret, where, now);
    } catch (err) {
      if (errorCode(err) !== 'CAExpired') throw err;
    }
  }
}

/** Where a managed CA stands: its generations, and since when the signing one signs. */
export interface ManagedCaState {
  gens: CaGenerations;
  signingSince?: Date;
}

export function readState(secret: SecretObject | undefined): ManagedCaState {
  const gens = readGenerations(secret?.data);
  const since = secret?.metadata.annotations?.[CA_SIGNING_SINCE_ANNOTATION];
  const signingSince = since ? new Date(since) : gens.signing?.notBefore;
  return { gens, ...(signingSince ? { signingSince } : {}) };
}

export function sourcesIssuer(b: TrustBundle, kind: IssuerKind, issuer: Pick<Issuer, 'metadata'>): boolean {
  return (b.spec?.sources ?? []).some(
    (s) => s.issuer?.kind === kind && s.issuer.name === issuer.metadata.name && (kind === 'ClusterIssuer' || s.issuer.namespace === issuer.metadata.namespace),
  );
}

/** What the rotation policy decides on, from what was gathered. */
export function rotationInputs(o: {
  now: Date;
  state: ManagedCaState;
  timings: ManagedCaTimings;
  /** The TrustBundles that source the issuer. */
  bundles: readonly TrustBundle[];
  /** Unexpired leaves signed by these CAs; asked only while one retires. */
  countLeaves: (fingerprints: ReadonlySet<string>) => number;
  recorded: IssuerStatus['ca'];
}): RotationInputs {
  const { gens } = o.state;
  const pendingFp = gens.pending?.fingerprint;
  const retiringFps = new Set(gens.retiring.map((g) => g.fingerprint));
  const gate = o.recorded?.gateOpenSince;
  return {
    now: o.now,
    ...(gens.signing ? { signing: gens.signing } : {}),
    ...(gens.pending ? { pending: gens.pending } : {}),
    retiring: gens.retiring,
    ...o.timings.rotateBefore,
    propagationDelayMs: o.timings.propagationDelayMs,
    retireGraceMs: o.timings.retireGraceMs,
    bundlesNotSynced: pendingFp
      ? o.bundles
          .filter((b) => !bundleHoldsCa({ name: b.metadata.name, generation: b.metadata.generation, status: b.status }, pendingFp))
          .map((b) => b.metadata.name)
      : [],
    retiringLeaves: retiringFps.size > 0 ? o.countLeaves(retiringFps) : 0,
    // A gate recorded in another phase does not count for this one.
    ...(gate && o.recorded?.phase === (gens.pending ? 'Publishing' : 'Reissuing') ? { gateOpenSince: new Date(gate) } : {}),
  };
}

/** An action that changes the generations; a create carries the generation made for it. */
export type RotationStep = Exclude<RotationAction, { kind: 'create' | 'wait' }> | { kind: 'create'; signNow: boolean; generation: StoredGeneration };

/** The state after a step. A generation that stops signing keeps its certificate in the bundles, not its key. */
export function afterStep(state: ManagedCaState, step: RotationStep, now: Date): ManagedCaState {
  const { gens } = state;
  const demoted = gens.signing ? [stripKey(gens.signing)] : [];
  switch (step.kind) {
    case 'create':
      return step.signNow
        ? {
            gens: { retiring: [...gens.retiring, ...demoted], signing: step.generation, ...(gens.pending ? { pending: gens.pending } : {}) },
            signingSince: now,
          }
        : { ...state, gens: { ...gens, pending: step.generation } };
    case 'switch':
      return { gens: { retiring: [...gens.retiring, ...demoted], ...(gens.pending ? { signing: gens.pending } : {}) }, signingSince: now };
    case 'retire': {
      const drop = new Set(step.fingerprints);
      return { ...state, gens: { ...gens, retiring: gens.retiring.filter((g) => !drop.has(g.fingerprint)) } };
    }
  }
}

function stripKey(g: StoredGeneration): StoredGeneration {
  const { keyPem: _drop, ...rest } = g;
  return rest;
}

/** The Secret holding these generations, keeping what else the one found carries. */
export function caSecret(o: {
  existing: SecretObject | undefined;
  namespace: string;
  name: string;
  owner: string;
  state: ManagedCaState;
  now: Date;
}): SecretObject {
  const { existing } = o;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      ...(existing ? withoutManagedFields(existing).metadata : {}),
      name: o.name,
      namespace: o.namespace,
      labels: { ...existing?.metadata.labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [INTERNAL_SECRET_LABEL]: InternalSecret.managedCa },
      annotations: {
        ...existing?.metadata.annotations,
        [CA_ISSUER_ANNOTATION]: o.owner,
        [CA_SIGNING_SINCE_ANNOTATION]: toRfc3339(o.state.signingSince ?? o.now),
      },
    },
    type: 'Opaque',
    data: generationsData(o.state.gens),
  };
}

/** The issuer's status after a step (`changed`: the Secret was written) and when to look again. */
export function managedCaOutcome(state: ManagedCaState, decision: RotationDecision, changed: boolean, now: Date): CaOutcome {
  const { gens, signingSince } = state;
  // Every action of the policy leaves a generation that signs (it creates or switches to one when none does).
  const signing = gens.signing;
  if (!signing) throw new Error('a managed CA step left no signing generation');
  const ca: NonNullable<IssuerStatus['ca']> = {
    phase: decision.phase,
    ...(signingSince ? { signingSince: toRfc3339(signingSince) } : {}),
    ...(decision.gateOpenSince && !changed ? { gateOpenSince: toRfc3339(decision.gateOpenSince) } : {}),
    generations: liveGenerations(gens).map((g) => ({
      fingerprint: g.fingerprint,
      notBefore: toRfc3339(g.notBefore),
      notAfter: toRfc3339(g.notAfter),
      role: roleOf(gens, g.fingerprint),
    })),
  };
  const until = decision.nextCheck ? decision.nextCheck.getTime() - now.getTime() : SAFETY_RECHECK_MS;
  return {
    message: `Signing with managed CA ${signing.fingerprint.slice(0, 16)}, valid until ${signing.notAfter.toISOString()}; ${decision.phase}: ${decision.message}`,
    status: { caNotAfter: toRfc3339(signing.notAfter), caFingerprint: signing.fingerprint, ca },
    requeueAfterMs: changed ? AFTER_CHANGE_MS : Math.max(0, Math.min(until, SAFETY_RECHECK_MS)),
  };
}
