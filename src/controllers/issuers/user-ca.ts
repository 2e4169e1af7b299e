// One look at a CA the user manages (ca.secretName): the Secret's CA signs; a replaced one is remembered in the
// issuer's status (certificate only) as retiring, so TrustBundles keep publishing it until no leaf it signed is
// left in a managed Secret, plus the grace period. Certificates follow the switch spread over reissueWindow.
// Pure: the CA read from the Secret, the recorded status and a count of leaves come in; time is passed in.
import { toRfc3339 } from '../../api/conditions.ts';
import type { IssuerStatus } from '../../api/issuer.ts';
import { CertsmithError } from '../../errors.ts';
import type { CertInfo } from '../../pki/types.ts';
import { decideUserCa, type UserCaGeneration } from '../../policy/ca-rotation.ts';
import { parseDuration } from '../../time/duration.ts';
import { DEFAULT_REISSUE_WINDOW, DEFAULT_RETIRE_GRACE } from './managed-ca-plan.ts';
import type { UserCaSpec } from './plan.ts';
import type { CaOutcome } from './status.ts';

// The Secret is watched and leaf Secrets re-queue the issuer while one retires; this is the safety net.
const SAFETY_RECHECK_MS = 5 * 60_000;

export interface UserCaLook {
  spec: UserCaSpec;
  /** The issuer's status as last written. */
  recorded: IssuerStatus | undefined;
  /** The CA in the Secret now, and its certificate as PEM. */
  caInfo: Pick<CertInfo, 'subject' | 'fingerprintSha256' | 'notBefore' | 'notAfter'>;
  caPem: string;
  /** Unexpired leaves signed by these CAs; asked only while one retires. */
  countLeaves: (fingerprints: ReadonlySet<string>) => number;
  now: Date;
}

export function stepUserCa({ spec, recorded: status, caInfo: info, caPem, countLeaves, now }: UserCaLook): CaOutcome & { switched: boolean } {
  const retireGraceMs = duration('retireGracePeriod', spec.retireGracePeriod, DEFAULT_RETIRE_GRACE);
  duration('reissueWindow', spec.reissueWindow, DEFAULT_REISSUE_WINDOW); // read by the Certificates; checked here
  const current: UserCaGeneration = { fingerprint: info.fingerprintSha256, notBefore: info.notBefore, notAfter: info.notAfter, pem: caPem };
  const recorded = status?.ca?.generations ?? [];
  const toGen = (g: (typeof recorded)[number]): UserCaGeneration => ({
    fingerprint: g.fingerprint,
    notBefore: new Date(g.notBefore),
    notAfter: new Date(g.notAfter),
    ...(g.certificate ? { pem: g.certificate } : {}),
  });
  const signingRec = recorded.find((g) => g.role === 'signing');
  // Before generations were recorded, status named the signing CA only: its certificate is unknown, so it
  // cannot be kept in the bundles, but the switch still starts the spread.
  const recordedSigning = signingRec
    ? toGen(signingRec)
    : status?.caFingerprint
      ? { fingerprint: status.caFingerprint, notBefore: now, notAfter: now }
      : undefined;
  const prev = status?.ca;
  const d = decideUserCa({
    now,
    current,
    ...(recordedSigning ? { recordedSigning } : {}),
    recordedRetiring: recorded.filter((g) => g.role === 'retiring').map(toGen),
    ...(prev?.signingSince ? { recordedSigningSince: new Date(prev.signingSince) } : {}),
    retireGraceMs,
    countLeaves,
    ...(prev?.gateOpenSince ? { gateOpenSince: new Date(prev.gateOpenSince) } : {}),
    ...(prev?.phase ? { recordedPhase: prev.phase } : {}),
  });
  const gen = (g: UserCaGeneration, role: 'signing' | 'retiring') => ({
    fingerprint: g.fingerprint,
    notBefore: toRfc3339(g.notBefore),
    notAfter: toRfc3339(g.notAfter),
    role,
    ...(g.pem ? { certificate: g.pem } : {}),
  });
  const generations = [...d.retiring.map((g) => gen(g, 'retiring')), gen(current, 'signing')];
  const until = d.nextCheck ? Math.max(1000, d.nextCheck.getTime() - now.getTime()) : SAFETY_RECHECK_MS;
  return {
    status: {
      caNotAfter: toRfc3339(info.notAfter),
      caFingerprint: info.fingerprintSha256,
      ca: {
        phase: d.phase,
        ...(d.signingSince ? { signingSince: toRfc3339(d.signingSince) } : {}),
        ...(d.gateOpenSince ? { gateOpenSince: toRfc3339(d.gateOpenSince) } : {}),
        generations,
      },
    },
    message: `Signing with CA ${info.subject}, valid until ${info.notAfter.toISOString()}${d.phase === 'Stable' ? '' : `; ${d.phase}: ${d.message}`}`,
    switched: d.switched,
    // Look again when the CA expires at the latest.
    requeueAfterMs: Math.min(until, info.notAfter.getTime() - now.getTime() + 1000, SAFETY_RECHECK_MS),
  };
}

function duration(field: string, v: string | undefined, dflt: string): number {
  try {
    return parseDuration(v ?? dflt);
  } catch (err) {
    throw new CertsmithError('InvalidSpec', `ca.${field}: ${(err as Error).message}`);
  }
}
