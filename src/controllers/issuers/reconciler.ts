// Reconciles an Issuer or ClusterIssuer: checks that it can sign and says so in its Ready condition.
import type { Logger } from 'pino';
import { ConditionType, Reason, findCondition, setCondition } from '../../api/conditions.ts';
import { IssuerSpec, type Issuer, type IssuerKind, type IssuerStatus } from '../../api/issuer.ts';
import { API_VERSION, type Condition } from '../../api/meta.ts';
import { CertsmithError, errorCode, type ErrorCode } from '../../errors.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { createOwnWrites } from '../../kube/own-writes.ts';
import { Resources } from '../../kube/resources.ts';
import type { Clock } from '../../time/clock.ts';
import type { AcmeAccountSource } from '../../signers/acme-accounts.ts';
import type { SignerSource } from '../../signers/signer-source.ts';
import { isDeepStrictEqual } from 'node:util';
import { isAcmeError } from '../../acme/errors.ts';
import { parseKey, type Store } from '../store.ts';
import { toRfc3339 } from '../../api/conditions.ts';
import { formatZodIssues } from '../../api/zod-issues.ts';
import { ACCOUNT_RECHECK_MS, ensureAcmeAccount } from './acme-account.ts';
import type { createManagedCa } from './managed-ca.ts';
import type { createUserCa } from './user-ca.ts';
import { compareStrings } from '../../ordering.ts';

export interface IssuerReconcilerDeps {
  kind: IssuerKind;
  client: KubeClient;
  issuers: Store<Issuer>;
  signers: SignerSource;
  accounts: AcmeAccountSource;
  /** Steps a managed CA (ca.managed) through its rotation. */
  managedCa?: ReturnType<typeof createManagedCa>;
  /** Remembers a replaced user CA (ca.secretName) until nothing it signed is left. */
  userCa?: ReturnType<typeof createUserCa>;
  events: EventRecorder;
  clock: Clock;
  log: Logger;
}

// CA Secrets a user manages are watched one by one (wiring.ts); this is the safety net.
const RECHECK_MS = 5 * 60_000;

const reasonForCode: Partial<Record<ErrorCode, string>> = {
  SecretNotFound: Reason.SecretNotFound,
  SecretMissingKey: Reason.SecretMissingKey,
  InvalidPEM: Reason.InvalidPEM,
  NotCA: Reason.NotCA,
  KeyMismatch: Reason.KeyMismatch,
  CAExpired: Reason.CAExpired,
  InvalidSpec: Reason.InvalidIssuerSpec,
  InvalidDuration: Reason.InvalidIssuerSpec,
  SecretConflict: Reason.SecretConflict,
  UnsupportedKey: Reason.InvalidPEM,
  AcmeUnreachable: Reason.AcmeServerUnreachable,
  AcmeBadResponse: Reason.AcmeServerUnreachable,
  AcmeUnavailable: Reason.AcmeServerUnreachable,
  AcmeRateLimited: Reason.AcmeRegistrationFailed,
  AcmeAccountProblem: Reason.AcmeAccountRejected,
  AcmeProblem: Reason.AcmeRegistrationFailed,
  AcmeOrderRejected: Reason.AcmeRegistrationFailed,
};

// An unreachable or failing ACME server is asked again sooner than a broken Secret is looked at.
const ACME_RETRY_MS = 60_000;

export function createIssuerReconciler(deps: IssuerReconcilerDeps) {
  const own = createOwnWrites<Issuer>();
  const accountCheckedAt = new Map<string, Date>();
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
    const parsed = IssuerSpec.safeParse(issuer.spec);
    let check: Check;
    if (!parsed.success) {
      check = { status: 'False', reason: Reason.InvalidIssuerSpec, message: `Invalid spec: ${formatZodIssues(parsed.error)}` };
    } else {
      try {
        check = parsed.data.acme
          ? await checkAcme(issuer, key, now)
          : parsed.data.ca?.managed
            ? await checkManagedCa(issuer, now, log)
            : await checkSigner(issuer, now);
      } catch (err) {
        const code = errorCode(err);
        if (code === undefined || code.startsWith('Kube')) throw err;
        accountCheckedAt.delete(key);
        check = {
          status: 'False',
          reason: reasonForCode[code] ?? Reason.Failed,
          message: (err as Error).message,
          // Keep what was registered: a passing outage must not cost the account URL. Keep the CA generations: a
          // replaced CA Secret that is broken must not drop the old CA from the bundles while its leaves are in use.
          extra: { ...(issuer.status?.acme ? { acme: issuer.status.acme } : {}), ...(issuer.status?.ca ? { ca: issuer.status.ca } : {}) },
          requeueAfterMs: code.startsWith('Acme') ? Math.max(isAcmeError(err) ? (err.retryAfterMs ?? 0) : 0, ACME_RETRY_MS) : RECHECK_MS,
        };
      }
    }
    const cond: Condition = {
      type: ConditionType.Ready,
      status: check.status,
      reason: check.reason,
      message: check.message,
      observedGeneration: issuer.metadata.generation,
    };
    const requeueAfterMs = check.requeueAfterMs;
    const prev = findCondition(issuer.status?.conditions, ConditionType.Ready);
    const status: IssuerStatus = { conditions: setCondition(issuer.status?.conditions, cond, now), ...check.extra };
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
  };

  async function checkSigner(issuer: Issuer, now: Date): Promise<Check> {
    const signer = await deps.signers.signerFor(issuer, deps.kind);
    if (signer.kind !== 'ca') return { status: 'True', reason: Reason.IssuerReady, message: 'Signing each certificate with its own key' };
    if (deps.userCa) {
      const outcome = deps.userCa(issuer, signer, now);
      if (outcome.switched) {
        await deps.events.record(issuer, 'Normal', 'CAReplaced', outcome.message);
        deps.log
          .child({ kind: deps.kind, namespace: issuer.metadata.namespace, name: issuer.metadata.name })
          .info({ ca: outcome.status.caFingerprint }, 'CA Secret replaced');
      }
      return { status: 'True', reason: Reason.IssuerReady, message: outcome.message, extra: outcome.status, requeueAfterMs: outcome.requeueAfterMs };
    }
    return {
      status: 'True',
      reason: Reason.IssuerReady,
      message: `Signing with CA ${signer.caInfo.subject}, valid until ${signer.caInfo.notAfter.toISOString()}`,
      extra: { caNotAfter: toRfc3339(signer.caInfo.notAfter), caFingerprint: signer.caInfo.fingerprintSha256 },
      // Look again when the CA expires, and periodically for changes to a Secret that is not watched.
      requeueAfterMs: Math.min(signer.caInfo.notAfter.getTime() - now.getTime() + 1000, RECHECK_MS),
    };
  }

  async function checkManagedCa(issuer: Issuer, now: Date, log: Logger): Promise<Check> {
    if (!deps.managedCa) throw new CertsmithError('InvalidSpec', 'this operator build does not manage CAs');
    const outcome = await deps.managedCa(issuer, deps.kind, now, log);
    return { status: 'True', reason: Reason.IssuerReady, message: outcome.message, extra: outcome.status, requeueAfterMs: outcome.requeueAfterMs };
  }

  async function checkAcme(issuer: Issuer, key: string, now: Date): Promise<Check> {
    const outcome = await ensureAcmeAccount(issuer, deps.kind, {
      client: deps.client,
      accounts: deps.accounts,
      now,
      lastCheckedAt: accountCheckedAt.get(key),
    });
    if (outcome.contacted) accountCheckedAt.set(key, now);
    return {
      status: 'True',
      reason: Reason.AcmeAccountRegistered,
      message: outcome.message,
      extra: { acme: outcome.acme },
      requeueAfterMs: ACCOUNT_RECHECK_MS,
    };
  }
}

interface Check {
  status: 'True' | 'False';
  reason: string;
  message: string;
  extra?: Pick<IssuerStatus, 'caNotAfter' | 'caFingerprint' | 'acme' | 'ca'>;
  requeueAfterMs?: number;
}

function normalize(s: IssuerStatus | undefined): unknown {
  return Object.fromEntries(
    Object.entries(s ?? {})
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => compareStrings(a, b)),
  );
}
