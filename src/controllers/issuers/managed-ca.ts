// One step of a managed CA (ca.managed): gather what the rotation policy decides on — the generations in the
// issuer's Secret, the TrustBundles that source the issuer, the leaves still signed by retiring generations —
// decide (policy/ca-rotation.ts), write the Secret when the generations change, and return the issuer's status.
import type { Logger } from 'pino';
import { toRfc3339 } from '../../api/conditions.ts';
import { caSecretNameOf, type Issuer, type IssuerKind, type IssuerStatus, type ManagedCa } from '../../api/issuer.ts';
import { CA_ISSUER_ANNOTATION, CA_SIGNING_SINCE_ANNOTATION, CERTIFICATE_NAME_ANNOTATION, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../api/labels.ts';
import type { TrustBundle } from '../../api/trust-bundle.ts';
import { CertsmithError, errorCode } from '../../errors.ts';
import { loadCaSigner } from '../../signers/ca-signer.ts';
import type { KubeClient } from '../../kube/client.ts';
import { createOwnWrites } from '../../kube/own-writes.ts';
import { Resources } from '../../kube/resources.ts';
import { withoutManagedFields } from '../../kube/trim.ts';
import type { SecretObject } from '../../api/secret.ts';
import { describeCertificate, normalizeKeySpec, parseCertificatesPem } from '../../pki/index.ts';
import { bundleHoldsCa, decideRotation, type RotationDecision } from '../../policy/ca-rotation.ts';
import { parseDuration } from '../../time/duration.ts';
import { createGeneration, generationsData, liveGenerations, readGenerations, roleOf, type CaGenerations } from '../../signers/managed-ca.ts';
import { createHash } from 'node:crypto';
import type { Store } from '../store.ts';

export const DEFAULT_CA_DURATION = '8760h';
export const DEFAULT_PROPAGATION_DELAY = '2m';
export const DEFAULT_RETIRE_GRACE = '5m';
export const DEFAULT_REISSUE_WINDOW = '10m';
// Events bring the issuer back (its Secret, its bundles, its leaves' Secrets); this is the safety net.
const SAFETY_RECHECK_MS = 60_000;

export interface ManagedCaDeps {
  client: KubeClient;
  /** Managed Secrets (the informer cache): the CA Secret, and the leaves counted while a generation retires. */
  secrets: Store<SecretObject>;
  bundles: Store<TrustBundle>;
  clusterResourceNamespace: string;
}

export interface ManagedCaOutcome {
  message: string;
  status: Pick<IssuerStatus, 'caNotAfter' | 'caFingerprint' | 'ca'>;
  requeueAfterMs: number;
}

export function createManagedCa(deps: ManagedCaDeps) {
  const own = createOwnWrites<SecretObject>();

  return async function stepManagedCa(issuer: Issuer, kind: IssuerKind, now: Date, log: Logger): Promise<ManagedCaOutcome> {
    const spec = issuer.spec!.ca!.managed!;
    const t = timings(spec);
    const ns = kind === 'ClusterIssuer' ? deps.clusterResourceNamespace : (issuer.metadata.namespace ?? '');
    const name = caSecretNameOf(issuer)!;
    const owner = `${kind}/${issuer.metadata.namespace ?? ''}/${issuer.metadata.name}`;
    // Foreign Secrets are not cached: an absent cache entry is confirmed with a GET before creating.
    let secret = own.freshest(ns, name, deps.secrets.get(ns, name)) ?? (await deps.client.get<SecretObject>(Resources.secrets, ns, name));
    if (secret && (secret.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE || secret.metadata.annotations?.[CA_ISSUER_ANNOTATION] !== owner)) {
      throw new CertsmithError(
        'SecretConflict',
        `Secret ${ns}/${name} exists and was not created for this issuer's managed CA; it is left untouched: delete it or set ca.managed.secretName`,
      );
    }
    // Someone edited the Secret by hand (a non-CA, a foreign key): say so clearly rather than sign with it or
    // silently replace it. An expired CA is the rotation's business.
    if (secret?.data?.['tls.crt'] && secret.data['tls.key']) {
      try {
        loadCaSigner(secret, `${ns}/${name}`, now);
      } catch (err) {
        if (errorCode(err) !== 'CAExpired') throw err;
      }
    }
    let gens = readGenerations(secret?.data);
    const sinceAnnotation = secret?.metadata.annotations?.[CA_SIGNING_SINCE_ANNOTATION];
    let signingSince = sinceAnnotation ? new Date(sinceAnnotation) : gens.signing?.notBefore;

    const bundles = deps.bundles.list().filter((b) => sourcesIssuer(b, kind, issuer));
    const pendingFp = gens.pending?.fingerprint;
    const retiringFps = new Set(gens.retiring.map((g) => g.fingerprint));
    const prevGate = issuer.status?.ca?.gateOpenSince;
    const decision: RotationDecision = decideRotation({
      now,
      ...(gens.signing ? { signing: gens.signing } : {}),
      ...(gens.pending ? { pending: gens.pending } : {}),
      retiring: gens.retiring,
      ...t.rotateBefore,
      propagationDelayMs: t.propagationDelayMs,
      retireGraceMs: t.retireGraceMs,
      bundlesNotSynced: pendingFp
        ? bundles
            .filter((b) => !bundleHoldsCa({ name: b.metadata.name, generation: b.metadata.generation, status: b.status }, pendingFp))
            .map((b) => b.metadata.name)
        : [],
      retiringLeaves: retiringFps.size > 0 ? countLeavesSignedBy(deps.secrets.list(), retiringFps, now) : 0,
      // A gate recorded in another phase does not count for this one.
      ...(prevGate && issuer.status?.ca?.phase === (gens.pending ? 'Publishing' : 'Reissuing') ? { gateOpenSince: new Date(prevGate) } : {}),
    });

    const a = decision.action;
    let changed = true;
    if (a.kind === 'create') {
      const g = await createGeneration({ commonName: spec.commonName, durationMs: t.durationMs, key: t.key }, now);
      if (a.signNow) {
        gens = {
          retiring: [...gens.retiring, ...(gens.signing ? [stripKey(gens.signing)] : [])],
          signing: g,
          ...(gens.pending ? { pending: gens.pending } : {}),
        };
        signingSince = now;
      } else {
        gens = { ...gens, pending: g };
      }
    } else if (a.kind === 'switch') {
      gens = { retiring: [...gens.retiring, ...(gens.signing ? [stripKey(gens.signing)] : [])], signing: gens.pending! };
      signingSince = now;
    } else if (a.kind === 'retire') {
      const drop = new Set(a.fingerprints);
      gens = { ...gens, retiring: gens.retiring.filter((g) => !drop.has(g.fingerprint)) };
    } else {
      changed = false;
    }
    if (changed) {
      const body: SecretObject = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          ...(secret ? withoutManagedFields(secret).metadata : {}),
          name,
          namespace: ns,
          labels: { ...secret?.metadata.labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
          annotations: { ...secret?.metadata.annotations, [CA_ISSUER_ANNOTATION]: owner, [CA_SIGNING_SINCE_ANNOTATION]: toRfc3339(signingSince ?? now) },
        },
        type: 'Opaque',
        data: generationsData(gens),
      };
      // PUT with the resourceVersion read: a Secret changed since (or created by someone else) is never overwritten.
      secret = secret ? await deps.client.replace(Resources.secrets, body) : await deps.client.create(Resources.secrets, body);
      own.remember(secret!);
      log.info({ action: a.kind, phase: decision.phase }, decision.message);
    }

    const signing = gens.signing!;
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
      // After a change, look again at once: the next phase may already be due (or waits on the bundles).
      requeueAfterMs: changed ? 1000 : Math.max(0, Math.min(until, SAFETY_RECHECK_MS)),
    };
  };
}

function stripKey(g: CaGenerations['retiring'][number]) {
  const { keyPem: _drop, ...rest } = g;
  return rest;
}

function timings(spec: ManagedCa) {
  // Spec errors surface as InvalidSpec with the field named.
  const dur = (field: string, v: string | undefined, dflt: string) => {
    try {
      return parseDuration(v ?? dflt);
    } catch (err) {
      throw new CertsmithError('InvalidSpec', `ca.managed.${field}: ${(err as Error).message}`);
    }
  };
  const durationMs = dur('duration', spec.duration, DEFAULT_CA_DURATION);
  if (durationMs <= 0) throw new CertsmithError('InvalidSpec', 'ca.managed.duration must be longer than 0');
  let key;
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

function sourcesIssuer(b: TrustBundle, kind: IssuerKind, issuer: Issuer): boolean {
  return (b.spec?.sources ?? []).some(
    (s) => s.issuer?.kind === kind && s.issuer.name === issuer.metadata.name && (kind === 'ClusterIssuer' || s.issuer.namespace === issuer.metadata.namespace),
  );
}

/**
 * Unexpired leaves whose ca.crt is one of these CAs, among the Secrets Certificates wrote (a CA's own Secret is
 * not a leaf). Pure over the list; ca.crt fingerprints are memoised per call since many leaves share one CA.
 */
export function countLeavesSignedBy(secrets: readonly SecretObject[], caFingerprints: ReadonlySet<string>, now: Date): number {
  const memo = new Map<string, string | undefined>();
  let n = 0;
  for (const s of secrets) {
    if (!s.metadata.annotations?.[CERTIFICATE_NAME_ANNOTATION]) continue;
    const ca = s.data?.['ca.crt'];
    const leaf = s.data?.['tls.crt'];
    if (!ca || !leaf) continue;
    if (!memo.has(ca)) memo.set(ca, firstFingerprint(ca));
    const fp = memo.get(ca);
    if (!fp || !caFingerprints.has(fp)) continue;
    try {
      const der = parseCertificatesPem(Buffer.from(leaf, 'base64').toString('utf8'))[0];
      if (der && describeCertificate(der).notAfter > now) n++;
    } catch {
      // an unreadable leaf is re-issued by its Certificate anyway; it protects nothing
    }
  }
  return n;
}

function firstFingerprint(b64: string): string | undefined {
  try {
    const der = parseCertificatesPem(Buffer.from(b64, 'base64').toString('utf8'))[0];
    return der ? createHash('sha256').update(der).digest('hex') : undefined;
  } catch {
    return undefined;
  }
}
