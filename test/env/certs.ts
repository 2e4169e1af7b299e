// Certificates for the local control plane and Pebble's listener: a CA, serving and client certificates, and the
// service-account key pair. Built on @peculiar/x509 and WebCrypto so the harness does not depend on src/.
import { generateKeyPairSync, webcrypto } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import 'reflect-metadata'; // @peculiar/x509 uses tsyringe, which needs the Reflect polyfill loaded first
import * as x509 from '@peculiar/x509';

const crypto = webcrypto;
type KeyPair = webcrypto.CryptoKeyPair;
const ecdsa = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const signingAlgorithm = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface KeyPairFiles {
  certFile: string;
  keyFile: string;
  certPem: string;
}

export interface LeafRequest {
  commonName: string;
  organizations?: string[];
  dnsNames?: string[];
  ipAddresses?: string[];
  serverAuth?: boolean;
  clientAuth?: boolean;
}

export interface TestCA extends KeyPairFiles {
  /** Signs a leaf certificate and writes `<name>.crt` / `<name>.key` next to the CA's files. */
  issue(name: string, req: LeafRequest): Promise<KeyPairFiles>;
}

export async function createTestCA(dir: string, commonName: string): Promise<TestCA> {
  const keys = await newKeys();
  const now = Date.now();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      name: distinguishedName(commonName),
      keys,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 365 * DAY),
      signingAlgorithm,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const ca = await writePair(dir, 'ca', caCert, keys.privateKey);
  return {
    ...ca,
    async issue(name, req) {
      const leafKeys = await newKeys();
      const usages: string[] = [];
      if (req.serverAuth ?? true) usages.push(x509.ExtendedKeyUsage.serverAuth);
      if (req.clientAuth) usages.push(x509.ExtendedKeyUsage.clientAuth);
      const sans = [
        ...(req.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
        ...(req.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
      ];
      const leaf = await x509.X509CertificateGenerator.create(
        {
          subject: distinguishedName(req.commonName, req.organizations),
          issuer: caCert.subjectName,
          publicKey: leafKeys.publicKey,
          signingKey: keys.privateKey,
          notBefore: new Date(now - 60_000),
          notAfter: new Date(now + 365 * DAY),
          signingAlgorithm,
          extensions: [
            new x509.BasicConstraintsExtension(false, undefined, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
            new x509.ExtendedKeyUsageExtension(usages),
            ...(sans.length ? [new x509.SubjectAlternativeNameExtension(sans)] : []),
            await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey, false, crypto),
          ],
        },
        crypto,
      );
      return writePair(dir, name, leaf, leafKeys.privateKey);
    },
  };
}

/** RSA key pair the API server signs service-account tokens with (and kube-controller-manager signs legacy tokens). */
export async function writeServiceAccountKeys(dir: string): Promise<{ keyFile: string; pubFile: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = join(dir, 'sa.key');
  const pubFile = join(dir, 'sa.pub');
  await writeFile(keyFile, privateKey.export({ format: 'pem', type: 'pkcs8' }) as string, { mode: 0o600 });
  await writeFile(pubFile, publicKey.export({ format: 'pem', type: 'spki' }) as string);
  return { keyFile, pubFile };
}

function newKeys(): Promise<KeyPair> {
  return crypto.subtle.generateKey(ecdsa, true, ['sign', 'verify']);
}

// Built as JSON so characters like ':' in "system:masters" need no escaping.
function distinguishedName(commonName: string, organizations: string[] = []): x509.Name {
  return new x509.Name([...organizations.map((o) => ({ O: [o] })), { CN: [commonName] }]);
}

async function writePair(dir: string, name: string, cert: x509.X509Certificate, key: webcrypto.CryptoKey): Promise<KeyPairFiles> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  const certPem = cert.toString('pem') + '\n';
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey('pkcs8', key));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
  await writeFile(certFile, certPem);
  await writeFile(keyFile, keyPem, { mode: 0o600 });
  return { certFile, keyFile, certPem };
}
