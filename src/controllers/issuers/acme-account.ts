// The ACME side of an Issuer: make sure the account key exists (generated and stored on first use, reused
// after), register the account once, and look at it again now and then so a deactivated account shows here.
// The pure parts are in acme-account-plan.ts.
import { isAcmeError } from '../../acme/errors.ts';
import type { AcmeIssuer, Issuer, IssuerKind, SecretKeySelector } from '../../api/issuer.ts';
import { CertsmithError } from '../../errors.ts';
import type { KubeClient } from '../../kube/client.ts';
import { isConflict } from '../../kube/errors.ts';
import { Resources } from '../../kube/resources.ts';
import { encodePrivateKeyPem, generatePrivateKey } from '../../pki/index.ts';
import { ACCOUNT_KEY_DEFAULT, type AcmeAccountSource } from '../../signers/acme-accounts.ts';
import {
  accountCheckDue,
  accountKeySecret,
  accountRejected,
  describeAccount,
  registeredAccount,
  reusableAccountUri,
  type AcmeAccountStatus,
} from './acme-account-plan.ts';

export interface AcmeAccountOutcome {
  acme: AcmeAccountStatus;
  message: string;
  /** True when the CA was asked (registration or a re-check), false when the status was still current. */
  contacted: boolean;
}

export interface EnsureAcmeAccount {
  issuer: Issuer;
  kind: IssuerKind;
  spec: AcmeIssuer;
  client: KubeClient;
  accounts: AcmeAccountSource;
  now: Date;
  /** When this replica last asked the CA about the account; undefined: never, or since a failure. */
  lastCheckedAt?: Date | undefined;
  /** Aborted when the controller stops: no key is written and no account registered after it. */
  signal: AbortSignal;
}

export async function ensureAcmeAccount(deps: EnsureAcmeAccount): Promise<AcmeAccountOutcome> {
  const { issuer, kind, spec } = deps;
  const ns = deps.accounts.secretNamespace(issuer, kind);
  if (!(await deps.accounts.accountKey(issuer, kind))) {
    deps.signal.throwIfAborted();
    await createAccountKey(issuer, kind, spec.privateKeySecretRef, ns, deps.client);
    // The read above remembered the Secret missing, and the cache may not have seen the new one yet.
    deps.accounts.accountKeyWritten(issuer, kind);
  }

  const prev = issuer.status?.acme;
  const reuse = reusableAccountUri(prev, spec);
  const client = await deps.accounts.clientFor(issuer, kind, reuse);
  const thumbprint = client.accountKeyThumbprint();
  if (reuse && prev?.accountKeyThumbprint === thumbprint) {
    const recheckAsked = deps.accounts.takeRecheck(issuer, kind);
    if (!accountCheckDue({ recheckAsked, lastCheckedAt: deps.lastCheckedAt, now: deps.now })) {
      return { acme: prev, message: describeAccount(reuse, spec.server), contacted: false };
    }
    const status = await client.accountStatus().catch((err: unknown) => {
      // The CA no longer knows the account (its database was reset): register the key again below.
      if (isAcmeError(err) && (err.problemType === 'accountDoesNotExist' || err.httpStatus === 404)) return 'unknown';
      throw err;
    });
    if (status === 'valid') return { acme: prev, message: describeAccount(reuse, spec.server), contacted: true };
    if (status !== 'unknown') throw accountRejected(reuse, status, spec.server);
  }
  const fresh = reuse ? await deps.accounts.clientFor(issuer, kind) : client;
  deps.signal.throwIfAborted();
  // Registering an existing key returns its account (RFC 8555 7.3.1), so this is also how a lost account URL is found.
  const { accountUrl, status } = await fresh.registerAccount({ ...(spec.email ? { email: spec.email } : {}) });
  if (status !== 'valid') throw accountRejected(accountUrl, status, spec.server);
  return { acme: registeredAccount(accountUrl, spec, thumbprint), message: describeAccount(accountUrl, spec.server), contacted: true };
}

/** A new ECDSA P-256 account key in a Secret the operator manages. Never touches an existing Secret. */
async function createAccountKey(issuer: Issuer, kind: IssuerKind, ref: SecretKeySelector, ns: string, client: KubeClient): Promise<void> {
  const key = await generatePrivateKey({ algorithm: 'ECDSA', size: 256 });
  const existing = await client.get(Resources.secrets, ns, ref.name);
  if (existing) {
    throw new CertsmithError(
      'SecretMissingKey',
      `Secret ${ns}/${ref.name} exists but has no "${ref.key ?? ACCOUNT_KEY_DEFAULT}" with an account key; it is left untouched: name a new Secret in privateKeySecretRef to have one generated`,
    );
  }
  try {
    await client.create(Resources.secrets, accountKeySecret(issuer, kind, ref, ns, encodePrivateKeyPem(key, 'PKCS8')));
  } catch (err) {
    // Another replica (or a restart) created it a moment ago: use that one.
    if (!isConflict(err)) throw err;
  }
}
