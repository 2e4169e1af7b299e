// Checks certsmith's output with an independent implementation: the openssl CLI must read, verify and agree.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { signCertificate } from '../../../src/pki/certificate.ts';
import { createCsr } from '../../../src/pki/csr.ts';
import { encodePrivateKeyPem, generatePrivateKey } from '../../../src/pki/keys.ts';
import { encodePem } from '../../../src/pki/pem.ts';
import type { KeyEncoding, KeySpec } from '../../../src/pki/types.ts';
import { HOUR, noNames, wholeSecond } from './fixtures.ts';

function openssl(args: string[]): string {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  if (r.error) {
    assert.fail(
      `the openssl CLI is needed to check certificates independently and could not run (${r.error.message}): install it, e.g. apt-get install -y openssl`,
    );
  }
  assert.equal(r.status, 0, `openssl ${args.join(' ')} failed with exit ${r.status}:\n${r.stdout}${r.stderr}`);
  return r.stdout + r.stderr;
}

const cases: { spec: KeySpec; encoding: KeyEncoding; signature: string }[] = [
  { spec: { algorithm: 'ECDSA', size: 256 }, encoding: 'PKCS1', signature: 'ecdsa-with-SHA256' },
  { spec: { algorithm: 'ECDSA', size: 521 }, encoding: 'PKCS8', signature: 'ecdsa-with-SHA512' },
  { spec: { algorithm: 'RSA', size: 2048 }, encoding: 'PKCS1', signature: 'sha256WithRSAEncryption' },
  { spec: { algorithm: 'Ed25519' }, encoding: 'PKCS8', signature: 'ED25519' },
];

describe('openssl agrees with what certsmith writes', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'certsmith-pki-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  // Reported as a failure with an install hint when openssl is missing; the checks below then fail too.
  it('needs the openssl CLI on PATH', () => {
    assert.match(openssl(['version']), /^OpenSSL \d/);
  });

  for (const c of cases) {
    const title = `${c.spec.algorithm}${c.spec.size ? ` ${c.spec.size}` : ''}`;
    describe(`${title}, key written as ${c.encoding}`, () => {
      let files: { ca: string; leaf: string; key: string; csr: string };
      before(async () => {
        const caKey = await generatePrivateKey(c.spec);
        const leafKey: KeyObject = await generatePrivateKey(c.spec);
        const notBefore = wholeSecond(Date.now() - 60_000);
        const caDer = await signCertificate({
          publicKey: createPublicKey(caKey),
          subject: { commonName: `certsmith test ${title} CA` },
          ...noNames(),
          usages: ['digital signature'],
          isCA: true,
          notBefore,
          notAfter: new Date(notBefore.getTime() + 24 * HOUR),
          signer: { privateKey: caKey },
        });
        const leafDer = await signCertificate({
          publicKey: createPublicKey(leafKey),
          subject: {},
          dnsNames: ['app.example.com', '*.app.example.com'],
          ipAddresses: ['192.0.2.10', '2001:db8::1'],
          uris: ['spiffe://cluster.local/ns/default/sa/app'],
          emailAddresses: ['ops@example.com'],
          usages: ['digital signature', 'key encipherment', 'server auth', 'client auth'],
          isCA: false,
          notBefore,
          notAfter: new Date(notBefore.getTime() + HOUR),
          signer: { privateKey: caKey, certificateDer: caDer },
        });
        const csrDer = await createCsr({
          privateKey: leafKey,
          subject: { commonName: 'app.example.com' },
          dnsNames: ['app.example.com'],
          ipAddresses: [],
          uris: [],
          emailAddresses: [],
        });
        const slug = title.replace(' ', '-');
        files = { ca: join(dir, `${slug}-ca.pem`), leaf: join(dir, `${slug}-leaf.pem`), key: join(dir, `${slug}-leaf.key`), csr: join(dir, `${slug}.csr`) };
        writeFileSync(files.ca, encodePem('CERTIFICATE', caDer));
        writeFileSync(files.leaf, encodePem('CERTIFICATE', leafDer));
        writeFileSync(files.key, encodePrivateKeyPem(leafKey, c.encoding));
        writeFileSync(files.csr, encodePem('CERTIFICATE REQUEST', csrDer));
      });

      it('openssl verify -x509_strict accepts the leaf under the CA, for TLS server and client', () => {
        for (const purpose of ['sslserver', 'sslclient']) {
          assert.match(openssl(['verify', '-x509_strict', '-purpose', purpose, '-CAfile', files.ca, files.leaf]), /: OK\n/);
        }
      });
      it('openssl x509 -text shows the SANs, the usages and the signature algorithm', () => {
        const text = openssl(['x509', '-noout', '-text', '-in', files.leaf]);
        const sans = [
          'DNS:app.example.com',
          'DNS:*.app.example.com',
          'IP Address:192.0.2.10',
          'IP Address:2001:DB8:0:0:0:0:0:1',
          'URI:spiffe://cluster.local/ns/default/sa/app',
          'email:ops@example.com',
        ].join(', ');
        // Critical because the subject is empty (RFC 5280 4.2.1.6).
        assert.ok(text.includes(`X509v3 Subject Alternative Name: critical\n                ${sans}\n`), text);
        assert.match(text, /X509v3 Key Usage: critical\n\s+Digital Signature, Key Encipherment\n/);
        assert.match(text, /X509v3 Extended Key Usage: \n\s+TLS Web Server Authentication, TLS Web Client Authentication\n/);
        assert.match(text, /X509v3 Basic Constraints: critical\n\s+CA:FALSE\n/);
        assert.match(text, new RegExp(`Signature Algorithm: ${c.signature}\n`));
      });
      it('openssl x509 -text shows the CA as a CA allowed to sign certificates and CRLs', () => {
        const text = openssl(['x509', '-noout', '-text', '-in', files.ca]);
        assert.match(text, /X509v3 Basic Constraints: critical\n\s+CA:TRUE\n/);
        assert.match(text, /X509v3 Key Usage: critical\n\s+Digital Signature, Certificate Sign, CRL Sign\n/);
      });
      it('openssl reads the key, and its public half is the one in the certificate', () => {
        const fromKey = openssl(['pkey', '-in', files.key, '-pubout']);
        const fromCert = openssl(['x509', '-in', files.leaf, '-noout', '-pubkey']);
        assert.match(fromKey, /^-----BEGIN PUBLIC KEY-----\n/);
        assert.equal(fromKey, fromCert);
      });
      it('openssl req -verify accepts the CSR signature', () => {
        assert.match(openssl(['req', '-in', files.csr, '-noout', '-verify']), /verify OK/i);
      });
    });
  }
});
