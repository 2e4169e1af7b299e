// The truststores a bundle's additionalFormats ask for, by key: reads each store's password (a Secret key, or
// empty) and encodes the bundle's certificates. The encoders are pure and deterministic (src/trust/formats.ts),
// so an unchanged bundle yields the same bytes and its targets are not written again.
import type { TrustBundleSpec, TruststoreFormat } from '../../api/trust-bundle.ts';
import { CertsmithError } from '../../errors.ts';
import type { ObjectReader } from '../../kube/object-reader.ts';
import { Resources } from '../../kube/resources.ts';
import { parseCertificatesPem } from '../../pki/index.ts';
import { encodeJks, encodePkcs12 } from '../../trust/formats.ts';
import type { BinaryFormats } from './targets.ts';

/** Throws SourceNotFound when a password Secret or its key is missing; Kube* errors pass through (retry). */
export async function truststores(spec: TrustBundleSpec, pem: string, objects: ObjectReader): Promise<BinaryFormats> {
  const formats = spec.target.additionalFormats;
  if (!formats || (!formats.pkcs12 && !formats.jks)) return {};
  const ders = parseCertificatesPem(pem);
  const out: Record<string, Uint8Array> = {};
  if (formats.pkcs12) out[formats.pkcs12.key] = encodePkcs12({ ders, password: await passwordOf(formats.pkcs12, 'pkcs12', objects) });
  if (formats.jks) out[formats.jks.key] = encodeJks({ ders, password: await passwordOf(formats.jks, 'jks', objects) });
  return out;
}

async function passwordOf(f: TruststoreFormat, which: string, objects: ObjectReader): Promise<string> {
  const ref = f.passwordSecretRef;
  if (!ref) return '';
  const where = `additionalFormats.${which}.passwordSecretRef: Secret ${ref.namespace}/${ref.name}`;
  const secret = await objects.get(Resources.secrets, ref.namespace, ref.name);
  if (!secret) throw new CertsmithError('SourceNotFound', `${where} does not exist`);
  const value = secret.data?.[ref.key];
  if (value === undefined) throw new CertsmithError('SourceNotFound', `${where} has no key ${ref.key}`);
  return Buffer.from(value, 'base64').toString('utf8');
}
