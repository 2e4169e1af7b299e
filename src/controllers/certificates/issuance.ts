// Acts on an issuance the plan found due: signs now with a CA or SelfSigned issuer, or advances the ACME order by
// one step, and writes the new certificate to the Secret. Returns the outcome for the reconciler to apply; the
// one status write it makes itself is the ACME intent, before an order is placed, so a restart resumes that order.
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { AcmeOrderStatus, Certificate, CertificateStatus } from '../../api/certificate.ts';
import { Reason } from '../../api/conditions.ts';
import type { SecretObject } from '../../api/secret.ts';
import { isAcmeError } from '../../acme/errors.ts';
import { errorCode, type CertsmithError } from '../../errors.ts';
import type { KubeClient } from '../../kube/client.ts';
import { isConflict } from '../../kube/errors.ts';
import type { OwnWrites } from '../../kube/own-writes.ts';
import { Resources } from '../../kube/resources.ts';
import { encodePrivateKeyDer, encodePrivateKeyPem, generatePrivateKey } from '../../pki/index.ts';
import type { BackoffOptions } from '../../policy/backoff.ts';
import type { AcmeAccountSource } from '../../signers/acme-accounts.ts';
import { issueCertificate } from '../../signers/issue.ts';
import type { SignerSource } from '../../signers/signer-source.ts';
import type { Issuer, IssuerKind } from '../../api/issuer.ts';
import type { Store } from '../store.ts';
import type { createAcmeIssuance } from './acme/issuance.ts';
import { leafRequest, type DesiredCertificate } from './desired.ts';
import { isLiveCertificate } from './gather.ts';
import { certificateIssued, issuanceFailed, orderInProgress, orderIntentStatus, secretRefused, waitingToIssue, type CertificateOutcome } from './outcomes.ts';
import { RECHECK_FOREIGN_SECRET_MS, type CertificatePlan } from './plan.ts';
import { buildSecret } from './secret-builder.ts';
import { secretOwnership } from './secret-ownership.ts';
import type { StoredSecret } from './stored-secret.ts';

export interface IssuanceDeps {
  client: KubeClient;
  certificates: Store<Certificate>;
  signers: SignerSource;
  accounts: AcmeAccountSource;
  acme: ReturnType<typeof createAcmeIssuance>;
  ownSecrets: OwnWrites<SecretObject>;
  backoff?: BackoffOptions | undefined;
  /** The CA refused an issuer's account: have the issuer controller look at it now. */
  onAcmeAccountProblem?: ((kind: IssuerKind, issuer: Issuer) => void) | undefined;
  /** With --shards: the shard label a Certificate's Secret is written with (its Certificate's shard). */
  secretShardLabel?: ((cert: Certificate) => string) | undefined;
}

export type IssuanceResult =
  | { kind: 'outcome'; outcome: CertificateOutcome /** The ACME order whose certificate is now in the Secret. */; finishedOrder?: AcmeOrderStatus }
  /** The CA in the cache is not yet the one the issuer's status names: look again in a moment. */
  | { kind: 'requeue'; afterMs: number };

type Due = Extract<CertificatePlan, { kind: 'issue' }>;

const ACCOUNT_PROBLEM_RETRY_MS = 10_000;
const CA_CACHE_LAG_RETRY_MS = 500;

interface Issued {
  certificatePem: string;
  caPem?: string;
  privateKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
}

export function createIssuance(deps: IssuanceDeps) {
  return async function issue(cert: Certificate, plan: Due, now: Date, writeStatus: (status: CertificateStatus) => Promise<void>): Promise<IssuanceResult> {
    const { desired, stored } = plan.facts;
    const { due, issuer } = plan;
    // The ACME order in status, kept when an attempt fails: the next one resumes it.
    let statusOrder = cert.status?.acmeOrder;
    try {
      if (plan.acme) {
        const step = await deps.acme.step({
          certificate: cert,
          desired,
          issuer,
          issuerKind: desired.issuer.kind,
          storedKey: stored?.privateKey,
          replaces: plan.replaces,
          recordedOrders: () => recordedOrders(deps.certificates.list()),
          recordIntent: async (intent) => {
            await writeStatus(orderIntentStatus(cert, now, due, intent));
            statusOrder = intent;
          },
          now,
        });
        if (step.kind === 'blocked') {
          return outcome(waitingToIssue(cert, now, due, step.reason === 'NoSolver' ? Reason.NoSolver : Reason.InvalidSpec, step.message));
        }
        if (step.kind === 'progress') return outcome(orderInProgress(cert, now, due, step.order, step.message, step.requeueAfterMs));
        if (step.kind === 'failed') return outcome(issuanceFailed(cert, now, due, failure(step.error), step.order, deps.backoff));
        return await writeIssued(cert, plan, now, step, step.order);
      }
      const signer = await deps.signers.signerFor(issuer, desired.issuer.kind);
      // A CA Secret is read from a cache, which may lag the issuer's status by a moment (or lead it, for a user's
      // replaced CA): signing with a CA other than the one the status names would cost a second re-issuance.
      const wanted = issuer.spec?.ca ? issuer.status?.caFingerprint : undefined;
      if (signer.kind === 'ca' && wanted && signer.caInfo.fingerprintSha256 !== wanted) return { kind: 'requeue', afterMs: CA_CACHE_LAG_RETRY_MS };
      const privateKey = await keyFor(desired, stored);
      const signed = await issueCertificate(signer, leafRequest(desired), { privateKey, publicKey: createPublicKey(privateKey) }, now);
      return await writeIssued(cert, plan, now, { ...signed, privateKey });
    } catch (err) {
      // API trouble is not an issuance failure: the work queue retries it with its own backoff.
      const code = errorCode(err);
      if (code === undefined || code.startsWith('Kube')) throw err;
      // The account is the issuer's business: it re-registers, and its change brings this Certificate back.
      if (code === 'AcmeAccountProblem' && plan.acme) {
        deps.accounts.requestRecheck(issuer, desired.issuer.kind);
        deps.onAcmeAccountProblem?.(desired.issuer.kind, issuer);
        // Also look again by itself: a re-registration that ends with the same account URL changes no status.
        const message = `the ACME account of ${desired.issuer.kind} ${desired.issuer.name} was refused: ${(err as Error).message}`;
        return outcome(waitingToIssue(cert, now, due, Reason.IssuerNotReady, message, ACCOUNT_PROBLEM_RETRY_MS));
      }
      // An ACME order in progress is kept: the next attempt resumes it.
      return outcome(issuanceFailed(cert, now, due, failure(err as CertsmithError), statusOrder, deps.backoff));
    }
  };

  async function writeIssued(cert: Certificate, plan: Due, now: Date, issued: Issued, order?: AcmeOrderStatus): Promise<IssuanceResult> {
    const { desired, ownership, secret, stored } = plan.facts;
    const ns = cert.metadata.namespace ?? '';
    const contents = {
      certificatePem: issued.certificatePem,
      ...(issued.caPem ? { caPem: issued.caPem } : {}),
      privateKeyPem: encodePrivateKeyPem(issued.privateKey, desired.keyEncoding),
      privateKeyDer: encodePrivateKeyDer(issued.privateKey),
    };
    const ours = ownership.kind === 'ours';
    const secretObj = buildSecret(
      ns,
      cert.metadata.name,
      desired,
      contents,
      plan.revision,
      ours ? secret?.metadata.resourceVersion : undefined,
      deps.secretShardLabel?.(cert),
    );
    let written: SecretObject;
    if (ours) {
      written = await deps.client.apply(Resources.secrets, secretObj, { force: true });
    } else {
      try {
        written = await deps.client.create(Resources.secrets, secretObj);
      } catch (err) {
        // Someone created the Secret since the cache was read: report it unless it turns out to be ours after all.
        if (isConflict(err)) {
          const existing = await deps.client.get<SecretObject>(Resources.secrets, ns, desired.secretName);
          const again = secretOwnership(cert.metadata.name, existing, isLiveCertificate(deps.certificates, ns));
          const refused = secretRefused(cert, now, desired.secretName, again, RECHECK_FOREIGN_SECRET_MS);
          if (refused) return outcome(refused);
        }
        throw err;
      }
    }
    deps.ownSecrets.remember(written);
    const validity = {
      notBefore: issued.notBefore,
      notAfter: issued.notAfter,
      revision: plan.revision,
      renewed: stored?.cert !== undefined,
      viaAcme: plan.acme,
    };
    return { kind: 'outcome', outcome: certificateIssued(cert, now, plan.due, desired, validity), ...(order ? { finishedOrder: order } : {}) };
  }
}

function outcome(o: CertificateOutcome): IssuanceResult {
  return { kind: 'outcome', outcome: o };
}

function failure(err: CertsmithError): { code: string; message: string; retryAfterMs?: number | undefined } {
  return { code: err.code, message: err.message, retryAfterMs: isAcmeError(err) ? err.retryAfterMs : undefined };
}

/** rotationPolicy Never keeps the stored key when it still fits the spec; otherwise a fresh key. */
async function keyFor(desired: DesiredCertificate, stored: StoredSecret | undefined): Promise<KeyObject> {
  const reusable = !desired.rotateKey && stored?.privateKey && stored.keySpec?.algorithm === desired.key.algorithm && stored.keySpec.size === desired.key.size;
  return reusable ? stored!.privateKey! : generatePrivateKey(desired.key);
}

/** Every ACME order URL in a Certificate's status. */
function recordedOrders(certificates: readonly Certificate[]): Set<string> {
  const urls = new Set<string>();
  for (const c of certificates) if (c.status?.acmeOrder?.orderURL) urls.add(c.status.acmeOrder.orderURL);
  return urls;
}
