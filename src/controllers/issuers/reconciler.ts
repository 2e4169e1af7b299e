// Reconciles an Issuer or ClusterIssuer: checks that it can sign and says so in its Ready condition.
import type { Logger } from 'pino';
import { ConditionType, Reason, findCondition, setCondition } from '../../api/conditions.ts';
import { IssuerSpec, type Issuer, type IssuerKind, type IssuerStatus } from '../../api/issuer.ts';
import { API_VERSION, type Condition } from '../../api/meta.ts';
import { errorCode, type ErrorCode } from '../../errors.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { createOwnWrites } from '../../kube/own-writes.ts';
import { Resources } from '../../kube/resources.ts';
import type { Clock } from '../../policy/clock.ts';
import type { SignerSource } from '../../signers/signer-source.ts';
import { isDeepStrictEqual } from 'node:util';
import { parseKey, type Store } from '../store.ts';
import { toRfc3339 } from '../../api/conditions.ts';

export interface IssuerReconcilerDeps {
  kind: IssuerKind;
  client: KubeClient;
  issuers: Store<Issuer>;
  signers: SignerSource;
  events: EventRecorder;
  clock: Clock;
  log: Logger;
}

// CA Secrets a user manages are not watched (only managed Secrets are cached): look at them again now and then.
const RECHECK_MS = 5 * 60_000;

const reasonForCode: Partial<Record<ErrorCode, string>> = {
  SecretNotFound: Reason.SecretNotFound,
  SecretMissingKey: Reason.SecretMissingKey,
  InvalidPEM: Reason.InvalidPEM,
  NotCA: Reason.NotCA,
  KeyMismatch: Reason.KeyMismatch,
  CAExpired: Reason.CAExpired,
  InvalidSpec: Reason.InvalidIssuerSpec,
};

export function createIssuerReconciler(deps: IssuerReconcilerDeps) {
  const own = createOwnWrites<Issuer>();
  const resource = deps.kind === 'ClusterIssuer' ? Resources.clusterIssuers : Resources.issuers;

  return async function reconcileIssuer(key: string): Promise<{ requeueAfterMs?: number }> {
    const { namespace, name } = parseKey(key);
    const issuer = own.freshest(namespace, name, deps.issuers.get(namespace, name));
    if (!issuer || issuer.metadata.deletionTimestamp) {
      own.forget(namespace, name);
      return {};
    }
    const now = deps.clock.now();
    const log = deps.log.child({ kind: deps.kind, namespace, name });
    let cond: Condition;
    let extra: Pick<IssuerStatus, 'caNotAfter' | 'caFingerprint'> = {};
    let requeueAfterMs: number | undefined;
    const parsed = IssuerSpec.safeParse(issuer.spec);
    if (!parsed.success) {
      cond = ready('False', Reason.InvalidIssuerSpec, `Invalid spec: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    } else {
      try {
        const signer = await deps.signers.signerFor(issuer, deps.kind);
        if (signer.kind === 'ca') {
          extra = { caNotAfter: toRfc3339(signer.caInfo.notAfter), caFingerprint: signer.caInfo.fingerprintSha256 };
          cond = ready('True', Reason.IssuerReady, `Signing with CA ${signer.caInfo.subject}, valid until ${signer.caInfo.notAfter.toISOString()}`);
          // Look again when the CA expires, and periodically for changes to a Secret that is not watched.
          requeueAfterMs = Math.min(signer.caInfo.notAfter.getTime() - now.getTime() + 1000, RECHECK_MS);
        } else {
          cond = ready('True', Reason.IssuerReady, 'Signing each certificate with its own key');
        }
      } catch (err) {
        const code = errorCode(err);
        if (code === undefined || code.startsWith('Kube')) throw err;
        cond = ready('False', reasonForCode[code] ?? Reason.Failed, (err as Error).message);
        requeueAfterMs = RECHECK_MS;
      }
    }
    const prev = findCondition(issuer.status?.conditions, ConditionType.Ready);
    const status: IssuerStatus = { conditions: setCondition(issuer.status?.conditions, cond, now), ...extra };
    if (!isDeepStrictEqual(normalize(issuer.status), normalize(status))) {
      const applied = await deps.client.apply<Issuer>(
        resource,
        { apiVersion: API_VERSION, kind: deps.kind, metadata: { name, ...(namespace ? { namespace } : {}) }, status },
        { subresource: 'status', force: true },
      );
      own.remember(applied);
    }
    if (!prev || prev.status !== cond.status || prev.reason !== cond.reason) {
      await deps.events.record(issuer, cond.status === 'True' ? 'Normal' : 'Warning', cond.reason ?? 'Ready', cond.message ?? '');
      log.info({ ready: cond.status, reason: cond.reason }, 'issuer checked');
    }
    return requeueAfterMs === undefined ? {} : { requeueAfterMs };

    function ready(status: 'True' | 'False', reason: string, message: string): Condition {
      return { type: ConditionType.Ready, status, reason, message, observedGeneration: issuer!.metadata.generation };
    }
  };
}

function normalize(s: IssuerStatus | undefined): unknown {
  return Object.fromEntries(Object.entries(s ?? {}).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b)));
}
