import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { describe, it } from 'node:test';
import { isCertsmithError } from '../../../src/errors.ts';
import { createCsr } from '../../../src/pki/csr.ts';
import { generatePrivateKey } from '../../../src/pki/keys.ts';
import type { KeySpec } from '../../../src/pki/types.ts';
import * as x509 from '../../../src/pki/x509.ts';

// Pkcs10CertificateRequest.getExtension takes only an OID, not an extension class.
const SAN_OID = '2.5.29.17';

describe('createCsr', () => {
  const specs: KeySpec[] = [{ algorithm: 'ECDSA', size: 384 }, { algorithm: 'RSA', size: 2048 }, { algorithm: 'Ed25519' }];
  for (const spec of specs) {
    it(`writes a ${spec.algorithm} CSR that verifies and carries the subject, the SANs and the key`, async () => {
      const privateKey = await generatePrivateKey(spec);
      const der = await createCsr({
        privateKey,
        subject: { commonName: 'app.example.com', organizations: ['Example'] },
        dnsNames: ['app.example.com', '*.app.example.com'],
        ipAddresses: ['192.0.2.10', '2001:db8::1'],
        uris: ['spiffe://cluster.local/ns/default/sa/app'],
        emailAddresses: ['ops@example.com'],
      });
      const csr = new x509.Pkcs10CertificateRequest(der);
      assert.equal(await csr.verify(), true);
      assert.equal(csr.subject, 'O=Example, CN=app.example.com');
      const spki = Buffer.from(csr.publicKey.rawData);
      assert.deepEqual(spki, createPublicKey(privateKey).export({ format: 'der', type: 'spki' }));
      const san = csr.getExtension(SAN_OID) as x509.SubjectAlternativeNameExtension | null;
      assert.equal(san?.critical, false);
      assert.deepEqual(
        san?.names.items.map((n) => `${n.type}:${n.value}`),
        [
          'dns:app.example.com',
          'dns:*.app.example.com',
          'ip:192.0.2.10',
          'ip:2001:db8::1',
          'url:spiffe://cluster.local/ns/default/sa/app',
          'email:ops@example.com',
        ],
      );
    });
  }
  it('marks the SANs critical when the subject is empty, as ACME CSRs often are', async () => {
    const der = await createCsr({
      privateKey: await generatePrivateKey({ algorithm: 'ECDSA' }),
      subject: {},
      dnsNames: ['a.example'],
      ipAddresses: [],
      uris: [],
      emailAddresses: [],
    });
    const csr = new x509.Pkcs10CertificateRequest(der);
    assert.equal(csr.subject, '');
    assert.equal((csr.getExtension(SAN_OID) as x509.SubjectAlternativeNameExtension | null)?.critical, true);
  });
  it('refuses a CSR that names nothing', async () => {
    const privateKey = await generatePrivateKey({ algorithm: 'ECDSA' });
    await assert.rejects(
      createCsr({ privateKey, subject: {}, dnsNames: [], ipAddresses: [], uris: [], emailAddresses: [] }),
      (err: unknown) => isCertsmithError(err, 'SigningFailed') && /at least one subject alternative name/.test(err.message),
    );
  });
});
