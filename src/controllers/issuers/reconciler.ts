// Reconciles an Issuer or ClusterIssuer: checks that it can sign and says so in its Ready condition.
// Gather (the issuer from the cache) → plan what to act on (plan.ts) → act: ensure the ACME account, step the
// managed CA, or read the signer → plan the status (status.ts) → apply it once, then the events it calls for.
import type { Logger } from 'pino';
import type { Issuer, IssuerKind } from '../../api/issuer.ts';
import { API_VERSION } from '../../api/meta.ts';
import type { SecretObject } from '../../api/secret.ts';
import { isAcmeError } from '../../acme/errors.ts';
import { errorCode } from '../../errors.ts';
import type { KubeClient } from '../../kube/client.ts';
import type { EventRecorder } from '../../kube/events.ts';
import { createOwnWrites } from '../../kube/own-writes.ts';
import { Resources } from '../../kube/resources.ts';
import { encodePem } from '../../pki/index.ts';
import type { ReconcileContext } from '../../runtime/controller.ts';
import type { AcmeAccountSource } from '../../signers/acme-accounts.ts';
import type { SignerSource } from '../../signers/signer-source.ts';
import type { Clock } from '../../time/clock.ts';
import { parseKey, type Store } from '../store.ts';
import { ensureAcmeAccount } from './acme-account.ts';
import { clusterSignerNameProblem, signerNameOf } from '../../policy/pod-certificates.ts';
import { countLeavesSignedBy } from './leaves.ts';
import type { createManagedCa, ManagedCaDeps } from './managed-ca.ts';
import { planAction, type IssuerAction } from './plan.ts';
import { acmeAccountReady, caReady, failedCheck, planStatus, selfSignedReady, type IssuerCheck, type StatusPlan } from './status.ts';
import { stepUserCa } from './user-ca.ts';

export interface IssuerReconcilerDeps {
  kind: IssuerKind;
  client: KubeClient;
  issuers: Store<Issuer>;
  signers: SignerSource;
  accounts: AcmeAccountSource;
  /** Steps a managed CA (ca.managed) through its rotation. */
  managedCa: ReturnType<typeof createManagedCa>;
  /** Managed Secrets: a replaced user CA (ca.secretName) is remembered until no leaf among them is signed by it. */
  secrets: Store<SecretObject>;
  events: EventRecorder;
  clock: Clock;
  /** Pods still holding a pod certificate of these generations: a replaced user CA stays trusted for them too. */
  podCertificatesSignedBy?: ManagedCaDeps['podCertificatesSignedBy'];
  leafSecrets?: ManagedCaDeps['leafSecrets'];
}

export function createIssuerReconciler(deps: IssuerReconcilerDeps) {
  const own = createOwnWrites<Issuer>();
  // When each issuer's ACME account was last looked at by this replica: a current one is not asked again every time.
  const accountCheckedAt = new Map<string, Date>();
  const resource = deps.kind === 'ClusterIssuer' ? Resources.clusterIssuers : Resources.issuers;

  return async function reconcileIssuer(key: string, ctx: ReconcileContext): Promise<{ requeueAfterMs?: number }> {
    const { namespace, name } = parseKey(key);
    const issuer = own.freshest(namespace, name, deps.issuers.get(namespace, name));
    if (!issuer || issuer.metadata.deletionTimestamp) {
      own.forget(namespace, name);
      return {};
    }
    const now = deps.clock.now();
    const log = ctx.log.child({ kind: deps.kind, namespace, name });
    const check = withSignerName(issuer, await act(issuer, key, planAction(issuer), { now, log, signal: ctx.signal }));
    const plan = planStatus(issuer, check, now);
    if (plan.write) {
      ctx.signal.throwIfAborted();
      const body = { apiVersion: API_VERSION, kind: deps.kind, metadata: { name, ...(namespace ? { namespace } : {}) }, status: plan.status };
      own.remember(await deps.client.apply<Issuer>(resource, body, { subresource: 'status', force: true }));
    }
    await announce(issuer, check, plan, log);
    return check.requeueAfterMs === undefined ? {} : { requeueAfterMs: check.requeueAfterMs };
  };

  /** Does what the plan says and tells what it found. A coded error is a finding too: the issuer cannot sign. */
  async function act(issuer: Issuer, key: string, action: IssuerAction, o: { now: Date; log: Logger; signal: AbortSignal }): Promise<IssuerCheck> {
    const { now, signal } = o;
    try {
      switch (action.kind) {
        case 'report':
          return action.check;
        case 'ensureAcmeAccount': {
          const { client, accounts, kind } = deps;
          const outcome = await ensureAcmeAccount({ issuer, kind, spec: action.acme, client, accounts, now, lastCheckedAt: accountCheckedAt.get(key), signal });
          if (outcome.contacted) accountCheckedAt.set(key, now);
          return acmeAccountReady(outcome);
        }
        case 'stepManagedCa':
          return caReady(await deps.managedCa({ issuer, kind: deps.kind, spec: action.managed, ...o }));
        case 'readSigner': {
          const signer = await deps.signers.signerFor(issuer, deps.kind);
          if (signer.kind !== 'ca') return selfSignedReady();
          const caPem = encodePem('CERTIFICATE', signer.chain[0]!);
          const retiring = (fps: ReadonlySet<string>) =>
            (issuer.status?.ca?.generations ?? [])
              .filter((g) => fps.has(g.fingerprint))
              .map((g) => ({ fingerprint: g.fingerprint, notBefore: new Date(g.notBefore) }));
          // Leaves are counted while a CA retires: one is recorded as retiring, or the Secret holds another CA now.
          const generations = issuer.status?.ca?.generations ?? [];
          const fp = signer.caInfo.fingerprintSha256;
          const recordedCa = generations.find((g) => g.role === 'signing')?.fingerprint ?? issuer.status?.caFingerprint;
          const mayRetire = generations.some((g) => g.role === 'retiring') || (recordedCa !== undefined && recordedCa !== fp);
          const leaves = deps.leafSecrets ? await deps.leafSecrets(mayRetire) : deps.secrets.list();
          const countLeaves = (fps: ReadonlySet<string>) =>
            countLeavesSignedBy(leaves, fps, now) + (deps.podCertificatesSignedBy?.({ kind: deps.kind, issuer, retiring: retiring(fps), now }) ?? 0);
          return caReady(stepUserCa({ spec: action.ca, recorded: issuer.status, caInfo: signer.caInfo, caPem, countLeaves, now }));
        }
      }
    } catch (err) {
      const code = errorCode(err);
      if (code === undefined || code.startsWith('Kube')) throw err;
      accountCheckedAt.delete(key);
      return failedCheck(issuer.status, code, (err as Error).message, isAcmeError(err) ? err.retryAfterMs : undefined);
    }
  }

  /** A CA that signs pod certificates names its signer in status; a ClusterIssuer asking for a reserved one is not Ready. */
  function withSignerName(issuer: Issuer, check: IssuerCheck): IssuerCheck {
    const signerName = signerNameOf(deps.kind, issuer);
    if (!signerName) return check;
    const problem = deps.kind === 'ClusterIssuer' ? clusterSignerNameProblem(signerName) : undefined;
    if (problem) return failedCheck(issuer.status, 'InvalidSpec', `ca.podCertificates.signerName ${signerName}: ${problem}`);
    return check.status === 'True' ? { ...check, fields: { ...check.fields, podCertificateSignerName: signerName } } : check;
  }

  /** Events and log lines for what changed: a replaced user CA, and Ready moving. */
  async function announce(issuer: Issuer, check: IssuerCheck, plan: StatusPlan, log: Logger): Promise<void> {
    if (check.caReplaced) {
      await deps.events.record(issuer, 'Normal', 'CAReplaced', check.message);
      log.info({ ca: check.fields?.caFingerprint }, 'CA Secret replaced');
    }
    const { ready } = plan;
    if (!plan.readyChanged) return;
    await deps.events.record(issuer, ready.status === 'True' ? 'Normal' : 'Warning', ready.reason ?? 'Ready', ready.message ?? '');
    log.info({ ready: ready.status, reason: ready.reason }, 'issuer checked');
  }
}
