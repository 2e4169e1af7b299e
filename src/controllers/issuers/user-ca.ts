// One look at a CA the user manages (ca.secretName): the Secret's CA signs; a replaced one is remembered in the
// issuer's status (certificate only) as retiring, so TrustBundles keep publishing it until no leaf it signed is
// left in a managed Secret, plus the grace period. Certificates follow the switch spread over reissueWindow.
import { toRfc3339 } from '../../api/conditions.ts';
import type { Issuer, IssuerStatus } from '../../api/issuer.ts';
import { CertsmithError } from '../../errors.ts';
import type { SecretObject } from '../../api/secret.ts';
import { encodePem } from '../../pki/index.ts';
import { decideUserCa, type UserCaGeneration } from '../../policy/ca-rotation.ts';
import { parseDuration } from '../../time/duration.ts';
import type { CaSigner } from '../../signers/ca-signer.ts';
import type { Store } from '../store.ts';
import { DEFAULT_REISSUE_WINDOW, DEFAULT_RETIRE_GRACE, countLeavesSignedBy } from './managed-ca.ts';

// The Secret is watched and leaf Secrets re-queue the issuer while one retires; this is the safety net.
const SAFETY_RECHECK_MS = 5 * 60_000;

export interface UserCaOutcome {
  status: Pick<IssuerStatus, 'caNotAfter' | 'caFingerprint' | 'ca'>;
  message: string;
  switched: boolean;
  requeueAfterMs: number;
}

export function createUserCa(deps: { secrets: Store<SecretObject> }) {
  return function stepUserCa(issuer: Issuer, signer: CaSigner, now: Date): UserCaOutcome {
    const ca = issuer.spec!.ca!;
    const retireGraceMs = duration('retireGracePeriod', ca.retireGracePeriod, DEFAULT_RETIRE_GRACE);
    duration('reissueWindow', ca.reissueWindow, DEFAULT_REISSUE_WINDOW); // read by the Certificates; checked here
    const info = signer.caInfo;
    const current: UserCaGeneration = {
      fingerprint: info.fingerprintSha256,
      notBefore: info.notBefore,
      notAfter: info.notAfter,
      pem: encodePem('CERTIFICATE', signer.chain[0]!),
    };
    const recorded = issuer.status?.ca?.generations ?? [];
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
      : issuer.status?.caFingerprint
        ? { fingerprint: issuer.status.caFingerprint, notBefore: now, notAfter: now }
        : undefined;
    const prev = issuer.status?.ca;
    const d = decideUserCa({
      now,
      current,
      ...(recordedSigning ? { recordedSigning } : {}),
      recordedRetiring: recorded.filter((g) => g.role === 'retiring').map(toGen),
      ...(prev?.signingSince ? { recordedSigningSince: new Date(prev.signingSince) } : {}),
      retireGraceMs,
      countLeaves: (fps) => countLeavesSignedBy(deps.secrets.list(), fps, now),
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
  };
}

function duration(field: string, v: string | undefined, dflt: string): number {
  try {
    return parseDuration(v ?? dflt);
  } catch (err) {
    throw new CertsmithError('InvalidSpec', `ca.${field}: ${(err as Error).message}`);
  }
}
