// CA rotation with overlap, as pure decisions. A managed CA moves through three phases:
//   Publishing — a new generation is in the bundles; the old one still signs.
//   Reissuing  — the new one signs, Certificates are re-issued; the old one stays trusted.
//   Stable     — one generation, signing; the next rotation is scheduled.
// Each step waits for a gate (bundles synced; no leaf of the old CA left) and then a delay counted from when the
// gate was first seen open, so a client that reads its trust late, or a leaf still in flight, is not cut off.
import { createHash } from 'node:crypto';
import { computeRenewalTime } from './renewal.ts';
import { compareStrings } from '../ordering.ts';

/** Default window over which Certificates follow a CA switch. */
export const DEFAULT_REISSUE_WINDOW_MS = 10 * 60_000;

export interface CaGeneration {
  fingerprint: string;
  notBefore: Date;
  notAfter: Date;
}

export type RotationPhase = 'Stable' | 'Publishing' | 'Reissuing';

export interface RotationInputs {
  now: Date;
  /** The generation that signs; undefined before the first one exists. */
  signing?: CaGeneration;
  /** The next generation: published, not yet signing. */
  pending?: CaGeneration;
  /** Older generations still in the bundles. */
  retiring: readonly CaGeneration[];
  rotateBeforeMs?: number;
  rotateBeforePercentage?: number;
  propagationDelayMs: number;
  retireGraceMs: number;
  /** Bundles sourcing the issuer that do not yet hold the pending generation in every target (names). */
  bundlesNotSynced: readonly string[];
  /** Unexpired leaves, in Secrets the operator manages, signed by a retiring generation. */
  retiringLeaves: number;
  /** From status: when the gate of the current phase was first seen open. */
  gateOpenSince?: Date;
}

export type RotationAction =
  /** Make a generation. signNow: it signs at once (the first one, or the signing one is gone or expired). */
  | { kind: 'create'; signNow: boolean }
  /** The pending generation signs; the signing one starts retiring. */
  | { kind: 'switch' }
  /** These generations leave the bundles. */
  | { kind: 'retire'; fingerprints: string[] }
  | { kind: 'wait' };

export interface RotationDecision {
  action: RotationAction;
  /** The phase the CA is in once the action is done. */
  phase: RotationPhase;
  /** To record in status; undefined clears it. */
  gateOpenSince?: Date;
  /** Look again at this time at the latest (events may bring the issuer back sooner). */
  nextCheck?: Date;
  message: string;
}

const usable = (g: CaGeneration | undefined, now: Date): g is CaGeneration => !!g && g.notAfter > now;

/** The next step of a managed CA. */
export function decideRotation(i: RotationInputs): RotationDecision {
  const { now } = i;
  const expiredRetiring = i.retiring.filter((g) => g.notAfter <= now).map((g) => g.fingerprint);

  if (!usable(i.signing, now)) {
    // Nothing can sign: trust ordering cannot be kept without a CA, so a usable pending one signs at once, else a new one.
    if (usable(i.pending, now))
      return { action: { kind: 'switch' }, phase: 'Reissuing', message: 'The signing CA is missing or expired: the published CA signs now' };
    return {
      action: { kind: 'create', signNow: true },
      phase: i.retiring.length > 0 || i.signing ? 'Reissuing' : 'Stable',
      message: i.signing ? 'The signing CA expired: a new CA signs now' : 'Created the first CA',
    };
  }

  // An expired generation protects nobody: it leaves the bundles whatever the phase.
  if (expiredRetiring.length > 0) {
    const left = i.retiring.length - expiredRetiring.length;
    return {
      action: { kind: 'retire', fingerprints: expiredRetiring },
      phase: i.pending ? 'Publishing' : left > 0 ? 'Reissuing' : 'Stable',
      message: `Removed ${expiredRetiring.length} expired CA(s) from the bundles`,
    };
  }

  if (i.pending) {
    if (i.bundlesNotSynced.length > 0) {
      return {
        action: { kind: 'wait' },
        phase: 'Publishing',
        message: `Waiting for TrustBundle(s) ${list(i.bundlesNotSynced)} to hold the new CA in every target`,
      };
    }
    const since = i.gateOpenSince ?? now;
    const switchAt = new Date(since.getTime() + i.propagationDelayMs);
    if (now >= switchAt) return { action: { kind: 'switch' }, phase: 'Reissuing', message: 'Switched signing to the new CA' };
    return {
      action: { kind: 'wait' },
      phase: 'Publishing',
      gateOpenSince: since,
      nextCheck: switchAt,
      message: `Every bundle holds the new CA; it signs from ${switchAt.toISOString()} (propagation delay)`,
    };
  }

  if (i.retiring.length > 0) {
    const firstExpiry = new Date(Math.min(...i.retiring.map((g) => g.notAfter.getTime())));
    if (i.retiringLeaves > 0) {
      return {
        action: { kind: 'wait' },
        phase: 'Reissuing',
        nextCheck: firstExpiry,
        message: `${i.retiringLeaves} certificate(s) signed by the old CA still to be re-issued`,
      };
    }
    const since = i.gateOpenSince ?? now;
    const retireAt = new Date(since.getTime() + i.retireGraceMs);
    if (now >= retireAt) {
      return {
        action: { kind: 'retire', fingerprints: i.retiring.map((g) => g.fingerprint) },
        phase: 'Stable',
        message: 'Removed the old CA from the bundles',
      };
    }
    return {
      action: { kind: 'wait' },
      phase: 'Reissuing',
      gateOpenSince: since,
      nextCheck: retireAt,
      message: `No certificate signed by the old CA is left; it leaves the bundles at ${retireAt.toISOString()} (grace period)`,
    };
  }

  const rotateAt = rotationTime(i.signing, i);
  if (now >= rotateAt) return { action: { kind: 'create', signNow: false }, phase: 'Publishing', message: 'Published a new CA; the current one still signs' };
  return { action: { kind: 'wait' }, phase: 'Stable', nextCheck: rotateAt, message: `Signing; the next rotation starts at ${rotateAt.toISOString()}` };
}

/** When a rotation of this generation starts: rotateBefore its expiry (default: a third of its lifetime left). */
export function rotationTime(g: CaGeneration, o: { rotateBeforeMs?: number; rotateBeforePercentage?: number }): Date {
  return computeRenewalTime({
    notBefore: g.notBefore,
    notAfter: g.notAfter,
    ...(o.rotateBeforeMs !== undefined ? { renewBeforeMs: o.rotateBeforeMs } : {}),
    ...(o.rotateBeforePercentage !== undefined ? { renewBeforePercentage: o.rotateBeforePercentage } : {}),
  });
}

export interface BundleSyncState {
  name: string;
  generation?: number;
  status?: {
    certificates?: readonly { fingerprint: string }[];
    targetsSynced?: number;
    targetsTotal?: number;
    conditions?: readonly { type: string; status: string; reason?: string; observedGeneration?: number }[];
  };
}

/**
 * Whether a bundle holds this CA in all its targets, for its current spec: the CA is among its certificates and
 * every target holds that bundle. A bundle that cannot be built keeps its old certificates, so it never passes.
 */
export function bundleHoldsCa(b: BundleSyncState, fingerprint: string): boolean {
  const s = b.status;
  if (!s?.certificates?.some((c) => c.fingerprint === fingerprint)) return false;
  const synced = s.conditions?.find((c) => c.type === 'Synced');
  if (!synced || (b.generation !== undefined && synced.observedGeneration !== b.generation)) return false;
  // No matching namespace means no target to wait for.
  if (synced.status !== 'True' && synced.reason !== 'NoMatchingNamespaces') return false;
  return (s.targetsSynced ?? 0) === (s.targetsTotal ?? 0);
}

/**
 * When a Certificate signed by an old CA is re-issued: at a steady offset (a hash of its key) within the window
 * after the switch, so a thousand Certificates do not all hit the API server and their workloads at once.
 */
export function reissueTime(certKey: string, signingSince: Date, windowMs: number): Date {
  if (windowMs <= 0) return signingSince;
  const h = createHash('sha256').update(certKey).digest().readUInt32BE(0);
  return new Date(signingSince.getTime() + Math.floor((h / 0x1_0000_0000) * windowMs));
}

function list(xs: readonly string[]): string {
  return xs.slice(0, 5).join(', ') + (xs.length > 5 ? ` and ${xs.length - 5} more` : '');
}

export interface UserCaGeneration extends CaGeneration {
  /** PEM of the certificate (never a key): what the bundles keep publishing while it retires. */
  pem?: string;
}

export interface UserCaInputs {
  now: Date;
  /** The CA the user's Secret holds now (it signs: the user switched already). */
  current: UserCaGeneration;
  /** From status: the generation recorded as signing, and the ones retiring. */
  recordedSigning?: UserCaGeneration;
  recordedRetiring: readonly UserCaGeneration[];
  recordedSigningSince?: Date;
  retireGraceMs: number;
  /** Unexpired leaves, in Secrets the operator manages, signed by a generation in `retiring` (after the switch). */
  countLeaves: (fingerprints: ReadonlySet<string>) => number;
  gateOpenSince?: Date;
  /** Phase recorded in status: a gate recorded in another phase does not count. */
  recordedPhase?: RotationPhase;
}

export interface UserCaDecision {
  /** Generations still in the bundles besides the current one, oldest first. */
  retiring: UserCaGeneration[];
  phase: RotationPhase;
  signingSince?: Date;
  gateOpenSince?: Date;
  nextCheck?: Date;
  /** The user replaced the CA since the last look. */
  switched: boolean;
  message: string;
}

/**
 * A CA the user manages (ca.secretName) was replaced or not: the user switched signing already, so there is no
 * publishing phase. The generation recorded as signing becomes retiring — it stays in the bundles until no leaf it
 * signed is left, plus the grace period — and the switch time starts the Certificates' spread. The retiring part is
 * the managed CA's own decision (decideRotation without a pending generation, never rotating by itself).
 */
export function decideUserCa(i: UserCaInputs): UserCaDecision {
  const { now, current } = i;
  const prev = i.recordedSigning;
  const switched = !!prev && prev.fingerprint !== current.fingerprint;
  let retiring = [...i.recordedRetiring];
  // Only a generation whose certificate was recorded can still be published; a rolled-back one signs again.
  if (switched && prev.pem && !retiring.some((g) => g.fingerprint === prev.fingerprint)) retiring.push(prev);
  retiring = retiring.filter((g) => g.fingerprint !== current.fingerprint);
  const signingSince = switched ? now : i.recordedSigningSince;
  const fps = new Set(retiring.map((g) => g.fingerprint));
  const d = decideRotation({
    now,
    signing: current,
    retiring,
    rotateBeforeMs: 0, // a user's CA is never rotated here: the "next rotation" is its expiry
    propagationDelayMs: 0,
    retireGraceMs: i.retireGraceMs,
    bundlesNotSynced: [],
    retiringLeaves: fps.size > 0 ? i.countLeaves(fps) : 0,
    ...(!switched && i.gateOpenSince && i.recordedPhase === 'Reissuing' ? { gateOpenSince: i.gateOpenSince } : {}),
  });
  if (d.action.kind === 'retire') {
    const drop = new Set(d.action.fingerprints);
    retiring = retiring.filter((g) => !drop.has(g.fingerprint));
  }
  retiring.sort((a, b) => a.notBefore.getTime() - b.notBefore.getTime() || compareStrings(a.fingerprint, b.fingerprint));
  const phase: RotationPhase = retiring.length > 0 ? 'Reissuing' : 'Stable';
  const message =
    d.action.kind === 'retire'
      ? d.message
      : phase === 'Stable'
        ? 'Signing with the CA in the Secret'
        : switched
          ? `The CA in the Secret was replaced: certificates are re-issued by the new CA; the old one stays in the bundles until none it signed is left`
          : d.message;
  return {
    retiring,
    phase,
    ...(signingSince ? { signingSince } : {}),
    ...(d.action.kind === 'wait' && d.gateOpenSince ? { gateOpenSince: d.gateOpenSince } : {}),
    ...(d.action.kind === 'retire' ? { nextCheck: now } : d.nextCheck ? { nextCheck: d.nextCheck } : {}),
    switched,
    message,
  };
}
