// The private key an order is finalized with. rotationPolicy Never reuses the key in the Certificate's Secret;
// otherwise a new key is kept in a Secret of its own, named after the order, until the certificate is in the
// Certificate's Secret, so a restart between finalizing and writing finds it again.
import { createHash, type KeyObject } from 'node:crypto';
import type { AcmeOrderStatus, Certificate } from '../../../api/certificate.ts';
import { CERTIFICATE_NAME_LABEL, INTERNAL_SECRET_LABEL, InternalSecret, MANAGED_BY_LABEL, MANAGED_BY_VALUE } from '../../../api/labels.ts';
import type { SecretObject } from '../../../api/secret.ts';
import { AcmeError } from '../../../acme/errors.ts';
import { CertsmithError } from '../../../errors.ts';
import type { KubeClient } from '../../../kube/client.ts';
import { isConflict } from '../../../kube/errors.ts';
import { Resources } from '../../../kube/resources.ts';
import { encodePrivateKeyPem, generatePrivateKey, keySpecOf, parsePrivateKeyPem } from '../../../pki/index.ts';
import { encodeSecretValue, secretValue } from '../../../signers/secret-data.ts';
import type { DesiredCertificate } from '../desired.ts';
import type { AcmeStepInput } from './step.ts';

/** The key an order is finalized with, and the Secret keeping it (none when the stored key is reused). */
export interface OrderKey {
  privateKey: KeyObject;
  secretName?: string;
}

export interface OrderKeyDeps {
  kube: KubeClient;
  /** Reads a Secret the operator manages (cache first). */
  readSecret(namespace: string, name: string): Promise<SecretObject | undefined>;
}

type OrderKeyInput = Pick<AcmeStepInput, 'certificate' | 'desired' | 'storedKey'>;

export function createOrderKeys(deps: OrderKeyDeps) {
  return { kept, create, secretOf, remove };

  /** The private key the order is finalized with, if there is one yet. */
  async function kept(order: AcmeOrderStatus, input: OrderKeyInput): Promise<OrderKey | undefined> {
    const { desired, storedKey } = input;
    if (!desired.rotateKey && storedKey && keyFits(storedKey, desired)) return { privateKey: storedKey };
    const { ns, name } = secretOf(input, order);
    const existing = await deps.readSecret(ns, name);
    if (existing && existing.metadata.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) {
      throw new CertsmithError('SecretConflict', `Secret ${ns}/${name} exists and is not managed by certsmith; it is left untouched`);
    }
    const pem = secretValue(existing?.data, 'tls.key');
    return pem ? { privateKey: parsePrivateKeyPem(pem), secretName: name } : undefined;
  }

  /** A new key for the order, kept in the order's key Secret. */
  async function create(order: AcmeOrderStatus, input: OrderKeyInput): Promise<OrderKey> {
    const { ns, name } = secretOf(input, order);
    const privateKey = await generatePrivateKey(input.desired.key);
    try {
      await deps.kube.create(Resources.secrets, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name,
          namespace: ns,
          labels: {
            [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
            [CERTIFICATE_NAME_LABEL]: input.certificate.metadata.name,
            [INTERNAL_SECRET_LABEL]: InternalSecret.acmeOrderKey,
          },
          ownerReferences: [
            {
              apiVersion: input.certificate.apiVersion,
              kind: 'Certificate',
              name: input.certificate.metadata.name,
              uid: input.certificate.metadata.uid!,
              blockOwnerDeletion: true,
            },
          ],
        },
        type: 'Opaque',
        data: { 'tls.key': encodeSecretValue(encodePrivateKeyPem(privateKey, 'PKCS8')) },
      } as SecretObject);
    } catch (err) {
      if (isConflict(err)) throw new AcmeError('AcmeProblem', `the order key Secret ${ns}/${name} appeared while creating it; retrying`);
      throw err;
    }
    return { privateKey, secretName: name };
  }

  /** Where an order's key is kept: a Secret named after the order, in the Certificate's namespace. */
  function secretOf(input: Pick<AcmeStepInput, 'certificate'>, order: AcmeOrderStatus): { ns: string; name: string } {
    return { ns: input.certificate.metadata.namespace!, name: orderKeySecretName(input.certificate.metadata.name, order.orderURL!) };
  }

  /** After the certificate is in its Secret, the order's key Secret has done its job. */
  async function remove(certificate: Certificate, order: AcmeOrderStatus | undefined): Promise<void> {
    if (!order?.keySecretName) return;
    await deps.kube.delete(Resources.secrets, certificate.metadata.namespace, order.keySecretName);
  }
}

export type OrderKeys = ReturnType<typeof createOrderKeys>;

function keyFits(key: KeyObject, desired: DesiredCertificate): boolean {
  const spec = keySpecOf(key);
  return spec.algorithm === desired.key.algorithm && spec.size === desired.key.size;
}

/** Deterministic, so a restart finds the key of the order in progress. */
export function orderKeySecretName(certificateName: string, orderURL: string): string {
  const suffix = createHash('sha256').update(orderURL).digest('hex').slice(0, 10);
  return `${certificateName.slice(0, 253 - 16)}-order-${suffix}`;
}
