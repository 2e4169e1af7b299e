// Certificates for the local control plane: a CA, serving certificates, an admin client, a service-account key.
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodePem, encodePrivateKeyPem, generatePrivateKey, signCertificate } from '../../src/pki/index.ts';
import type { KeyUsageName, SubjectFields } from '../../src/pki/types.ts';

export interface KeyPairFiles {
  certFile: string;
  keyFile: string;
  certPem: string;
}

export interface TestCA extends KeyPairFiles {
  key: KeyObject;
  der: Uint8Array;
  issue(name: string, req: { subject: SubjectFields; dnsNames?: string[]; ipAddresses?: string[]; usages: KeyUsageName[] }): Promise<KeyPairFiles>;
}

const DAY = 86_400_000;

export async function createTestCA(dir: string, commonName: string): Promise<TestCA> {
  const key = await generatePrivateKey({ algorithm: 'ECDSA', size: 256 });
  const now = Date.now();
  const der = await signCertificate({
    publicKey: createPublicKey(key),
    subject: { commonName },
    dnsNames: [],
    ipAddresses: [],
    uris: [],
    emailAddresses: [],
    usages: ['cert sign', 'crl sign', 'digital signature'],
    isCA: true,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 365 * DAY),
    signer: { privateKey: key },
  });
  const ca = await writePair(dir, 'ca', der, key);
  return {
    ...ca,
    key,
    der,
    async issue(name, req) {
      const leafKey = await generatePrivateKey({ algorithm: 'ECDSA', size: 256 });
      const leaf = await signCertificate({
        publicKey: createPublicKey(leafKey),
        subject: req.subject,
        dnsNames: req.dnsNames ?? [],
        ipAddresses: req.ipAddresses ?? [],
        uris: [],
        emailAddresses: [],
        usages: req.usages,
        isCA: false,
        notBefore: new Date(now - 60_000),
        notAfter: new Date(now + 365 * DAY),
        signer: { privateKey: key, certificateDer: der },
      });
      return writePair(dir, name, leaf, leafKey);
    },
  };
}

async function writePair(dir: string, name: string, der: Uint8Array, key: KeyObject): Promise<KeyPairFiles> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const certPem = encodePem('CERTIFICATE', der);
  await writeFile(certFile, certPem);
  await writeFile(keyFile, encodePrivateKeyPem(key, 'PKCS8'), { mode: 0o600 });
  return { certFile, keyFile, certPem };
}

/** RSA key pair the API server signs service-account tokens with. */
export async function writeServiceAccountKeys(dir: string): Promise<{ keyFile: string; pubFile: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = join(dir, 'sa.key');
  const pubFile = join(dir, 'sa.pub');
  await writeFile(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
  await writeFile(pubFile, publicKey.export({ format: 'pem', type: 'spki' }) as string);
  return { keyFile, pubFile };
}
