// ACME clients per issuer, built from the issuer's spec and Secrets: the account key, the EAB key, the CA bundle.
// A client is reused while none of those change, so a thousand orders share one connection pool and one nonce
// stream. Reads only: creating a missing account key is the issuer controller's job.
import { createHash, type KeyObject } from 'node:crypto';
import type { AcmeIssuer, Issuer, IssuerKind } from '../api/issuer.ts';
import type { AcmeClient } from '../acme/client.ts';
import { createOriginGate } from '../acme/http-limits.ts';
import type { TransportOptions } from '../acme/transport.ts';
import { CertsmithError } from '../errors.ts';
import type { SecretReader } from '../kube/secret-reader.ts';
import { keySpecOf, parsePrivateKeyPem } from '../pki/index.ts';
import { secretValue } from './secret-data.ts';

export const ACCOUNT_KEY_DEFAULT = 'tls.key';
export const EAB_KEY_DEFAULT = 'secret';

export interface AcmeAccountSource {
  /** Namespace of the issuer's Secrets: its own, or the cluster-resource namespace for a ClusterIssuer. */
  secretNamespace(issuer: Issuer, kind: IssuerKind): string;
  /** The account key PEM, or undefined when its Secret (or the key in it) does not exist. Throws InvalidPEM/UnsupportedKey. */
  accountKey(issuer: Issuer, kind: IssuerKind): Promise<{ pem: string; key: KeyObject } | undefined>;
  /**
   * A client for the issuer's account. With `accountUrl` (from the issuer's status) it is used as is; without, the
   * caller registers. Throws SecretNotFound/SecretMissingKey with a message naming the Secret.
   */
  clientFor(issuer: Issuer, kind: IssuerKind, accountUrl?: string): Promise<AcmeClient>;
  /** The operator has just written the account key Secret: the next read must not answer from a remembered miss. */
  accountKeyWritten(issuer: Issuer, kind: IssuerKind): void;
  /** A Certificate saw the CA refuse this issuer's account: its next check must ask the CA, not trust its status. */
  requestRecheck(issuer: Issuer, kind: IssuerKind): void;
  /** Whether a re-check was asked for since the last call (and clears the request). */
  takeRecheck(issuer: Issuer, kind: IssuerKind): boolean;
}

export function createAcmeAccountSource(opts: { secrets: SecretReader; clusterResourceNamespace: string; transport?: TransportOptions }): AcmeAccountSource {
  const clients = new Map<string, { fingerprint: string; client: AcmeClient }>();
  // One gate for every issuer's client: many Issuers naming one server share its slots (http-limits.ts).
  const gate = opts.transport?.gate ?? createOriginGate();
  const rechecks = new Set<string>();
  const idOf = (issuer: Issuer, kind: IssuerKind) => `${kind}/${issuer.metadata.namespace ?? ''}/${issuer.metadata.name}`;
  const secretNamespace = (issuer: Issuer, kind: IssuerKind) => (kind === 'ClusterIssuer' ? opts.clusterResourceNamespace : (issuer.metadata.namespace ?? ''));
  const spec = (issuer: Issuer): AcmeIssuer => {
    if (!issuer.spec?.acme) throw new CertsmithError('InvalidSpec', `${issuer.metadata.name} is not an ACME issuer`);
    return issuer.spec.acme;
  };

  async function readKey(ns: string, ref: { name: string; key?: string }, fallback: string) {
    const secret = await opts.secrets.get(ns, ref.name);
    return { secret, value: secretValue(secret?.data, ref.key ?? fallback) };
  }

  async function accountKey(issuer: Issuer, kind: IssuerKind) {
    const acme = spec(issuer);
    const ns = secretNamespace(issuer, kind);
    const { value } = await readKey(ns, acme.privateKeySecretRef, ACCOUNT_KEY_DEFAULT);
    if (!value) return undefined;
    let key: KeyObject;
    try {
      key = parsePrivateKeyPem(value);
    } catch (err) {
      throw new CertsmithError('InvalidPEM', `the ACME account key in Secret ${ns}/${acme.privateKeySecretRef.name} is not usable: ${(err as Error).message}`);
    }
    if (keySpecOf(key).algorithm === 'Ed25519') {
      throw new CertsmithError(
        'UnsupportedKey',
        `the ACME account key in Secret ${ns}/${acme.privateKeySecretRef.name} is Ed25519: ACME servers take RSA or ECDSA account keys`,
      );
    }
    return { pem: value, key };
  }

  return {
    secretNamespace,
    accountKey,
    async clientFor(issuer, kind, accountUrl) {
      const acme = spec(issuer);
      const ns = secretNamespace(issuer, kind);
      const key = await accountKey(issuer, kind);
      if (!key) {
        throw new CertsmithError(
          'SecretMissingKey',
          `the ACME account key Secret ${ns}/${acme.privateKeySecretRef.name} (key ${acme.privateKeySecretRef.key ?? ACCOUNT_KEY_DEFAULT}) does not exist yet`,
        );
      }
      let eab: { keyID: string; hmacKey: string } | undefined;
      if (acme.externalAccountBinding) {
        const ref = acme.externalAccountBinding.keySecretRef;
        const { secret, value } = await readKey(ns, ref, EAB_KEY_DEFAULT);
        if (!secret) throw new CertsmithError('SecretNotFound', `the external account binding Secret ${ns}/${ref.name} does not exist`);
        if (!value)
          throw new CertsmithError('SecretMissingKey', `the external account binding Secret ${ns}/${ref.name} has no key "${ref.key ?? EAB_KEY_DEFAULT}"`);
        eab = { keyID: acme.externalAccountBinding.keyID, hmacKey: value.trim() };
      }
      const caPem = acme.caBundle ? Buffer.from(acme.caBundle, 'base64').toString('utf8') : undefined;
      if (acme.caBundle && !caPem?.includes('-----BEGIN CERTIFICATE-----')) {
        throw new CertsmithError('InvalidPEM', 'caBundle does not decode to PEM certificates: it takes base64-encoded PEM');
      }
      const fingerprint = createHash('sha256')
        .update(JSON.stringify([acme.server, key.pem, caPem ?? '', eab ?? null, accountUrl ?? '']))
        .digest('hex');
      const id = idOf(issuer, kind);
      const hit = clients.get(id);
      if (hit?.fingerprint === fingerprint) return hit.client;
      hit?.client.close();
      // Loaded on first use: acme-client and what it brings (axios, node-forge) cost ~30 MiB of RSS that an operator
      // issuing only from CAs never needs.
      const { createAcmeClient } = await import('../acme/client.ts');
      const client = createAcmeClient({
        ...opts.transport,
        gate,
        directoryUrl: acme.server,
        accountKeyPem: key.pem,
        ...(accountUrl ? { accountUrl } : {}),
        ...(eab ? { eab } : {}),
        ...(caPem ? { caPem } : {}),
      });
      clients.set(id, { fingerprint, client });
      return client;
    },
    accountKeyWritten(issuer, kind) {
      opts.secrets.forget?.(secretNamespace(issuer, kind), spec(issuer).privateKeySecretRef.name);
    },
    requestRecheck(issuer, kind) {
      rechecks.add(idOf(issuer, kind));
    },
    takeRecheck(issuer, kind) {
      return rechecks.delete(idOf(issuer, kind));
    },
  };
}
