import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { SecretObject } from '../../../../src/api/secret.ts';
import { countLeavesSignedBy } from '../../../../src/controllers/issuers/leaves.ts';
import { encodePem } from '../../../../src/pki/index.ts';
import { HOUR, selfSignedCertificate } from '../../pki/fixtures.ts';

const b64 = (der: Uint8Array) => Buffer.from(encodePem('CERTIFICATE', der)).toString('base64');
const fp = (der: Uint8Array) => createHash('sha256').update(der).digest('hex');

describe('countLeavesSignedBy', async () => {
  // Only ca.crt says who signed a leaf here, and only the leaf's expiry counts: self-signed stand-ins will do.
  const [oldCa, newCa, leaf] = await Promise.all([selfSignedCertificate('Old CA'), selfSignedCertificate('New CA'), selfSignedCertificate('app')]);
  const now = new Date();
  const leafSecret = (ca: Uint8Array, o: { certificate?: boolean; tls?: string } = {}): SecretObject => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'app-tls', namespace: 'apps', ...(o.certificate === false ? {} : { annotations: { 'certsmith.dev/certificate-name': 'app' } }) },
    data: { 'ca.crt': b64(ca), 'tls.crt': o.tls ?? b64(leaf) },
  });
  const cases: { name: string; secrets: SecretObject[]; at?: Date; expected: number }[] = [
    { name: 'leaves whose ca.crt is the retiring CA count', secrets: [leafSecret(oldCa), leafSecret(oldCa), leafSecret(newCa)], expected: 2 },
    { name: 'a leaf that expired protects nothing', secrets: [leafSecret(oldCa)], at: new Date(now.getTime() + 2 * HOUR), expected: 0 },
    { name: 'a Secret no Certificate wrote (a CA’s own) is not a leaf', secrets: [leafSecret(oldCa, { certificate: false })], expected: 0 },
    {
      name: 'an unreadable leaf is re-issued anyway and protects nothing',
      secrets: [leafSecret(oldCa, { tls: Buffer.from('junk').toString('base64') })],
      expected: 0,
    },
    { name: 'no leaves, no count', secrets: [], expected: 0 },
  ];
  for (const c of cases) {
    it(c.name, () => assert.equal(countLeavesSignedBy(c.secrets, new Set([fp(oldCa)]), c.at ?? now), c.expected));
  }
});
