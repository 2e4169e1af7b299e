// A certificate that @peculiar/x509 reads and OpenSSL refuses, as a hostile or broken TrustBundle source might
// hold: a real self-signed CA with the first byte of its subject's commonName OID (2.5.4.3, 55 04 03) changed to
// 0x80. That is a non-minimal OID encoding, which OpenSSL refuses and the lenient parser reads as 0.4.3. Not a test
// file itself: the unit and integration tests of TrustBundles use it.
import { X509Certificate } from 'node:crypto';
import { signCertificate } from '../../../src/pki/certificate.ts';
import { generatePrivateKey } from '../../../src/pki/keys.ts';
import { encodePem } from '../../../src/pki/pem.ts';
import * as x509 from '../../../src/pki/x509.ts';

const COMMON_NAME_OID = Buffer.from([0x06, 0x03, 0x55, 0x04, 0x03]);

export interface UnloadableCertificate {
  der: Uint8Array;
  pem: string;
  /** The subject as @peculiar/x509 reads it: "0.4.3=<commonName>". */
  subject: string;
}

/** Throws when the parsers no longer disagree on it, so a library change fails the tests that use it clearly. */
export async function unloadableCertificate(commonName: string, notBefore = new Date(Math.floor(Date.now() / 1000) * 1000)): Promise<UnloadableCertificate> {
  const privateKey = await generatePrivateKey({ algorithm: 'ECDSA', size: 256 });
  const der = Buffer.from(
    await signCertificate({
      publicKey: privateKey,
      subject: { commonName },
      dnsNames: [],
      ipAddresses: [],
      uris: [],
      emailAddresses: [],
      usages: [],
      isCA: true,
      notBefore,
      notAfter: new Date(notBefore.getTime() + 30 * 86_400_000),
      signer: { privateKey },
    }),
  );
  // The subject comes after the issuer in the TBSCertificate, and a plain CA has no other commonName: the last one.
  const at = der.lastIndexOf(COMMON_NAME_OID);
  if (at < 0) throw new Error('no commonName OID in the certificate');
  der[at + 2] = 0x80;
  const subject = new x509.X509Certificate(der).subject;
  if (subject !== `0.4.3=${commonName}`) throw new Error(`the changed byte is not in the subject's OID: @peculiar/x509 reads ${subject}`);
  let loads = true;
  try {
    new X509Certificate(der);
  } catch {
    loads = false;
  }
  if (loads) throw new Error('OpenSSL (node:crypto) loads the changed certificate: it no longer tells the two parsers apart');
  return { der: new Uint8Array(der), pem: encodePem('CERTIFICATE', der), subject };
}
