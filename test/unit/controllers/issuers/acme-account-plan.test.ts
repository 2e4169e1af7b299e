import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  accountCheckDue,
  accountKeySecret,
  accountRejected,
  registeredAccount,
  reusableAccountUri,
  type AcmeAccountStatus,
} from '../../../../src/controllers/issuers/acme-account-plan.ts';
import { errorCode } from '../../../../src/errors.ts';

const MIN = 60_000;
const server = 'https://acme.test/directory';
const recorded: AcmeAccountStatus = { uri: 'https://acme.test/acct/1', server, lastRegisteredEmail: 'ops@example.com', accountKeyThumbprint: 'thumb' };

describe('reusableAccountUri', () => {
  const cases: { name: string; prev: AcmeAccountStatus | undefined; spec: { server: string; email?: string }; expected: string | undefined }[] = [
    { name: 'the account registered with this server and email is reused', prev: recorded, spec: { server, email: 'ops@example.com' }, expected: recorded.uri },
    { name: 'nothing registered yet: nothing to reuse', prev: undefined, spec: { server }, expected: undefined },
    {
      name: 'another server means another account',
      prev: recorded,
      spec: { server: 'https://other.test/directory', email: 'ops@example.com' },
      expected: undefined,
    },
    { name: 'a changed email registers again, so the CA learns it', prev: recorded, spec: { server, email: 'sec@example.com' }, expected: undefined },
    { name: 'an email removed from the spec registers again', prev: recorded, spec: { server }, expected: undefined },
    { name: 'no email then and none now is the same', prev: { uri: recorded.uri, server }, spec: { server }, expected: recorded.uri },
    { name: 'a status without an account URL has nothing to reuse', prev: { server }, spec: { server }, expected: undefined },
  ];
  for (const c of cases) it(c.name, () => assert.equal(reusableAccountUri(c.prev, c.spec), c.expected));
});

describe('accountCheckDue', () => {
  const now = new Date('2026-01-01T12:00:00Z');
  const ago = (ms: number) => new Date(now.getTime() - ms);
  const cases: { name: string; recheckAsked: boolean; lastCheckedAt: Date | undefined; due: boolean }[] = [
    { name: 'asked about a minute ago: the status is current', recheckAsked: false, lastCheckedAt: ago(MIN), due: false },
    { name: 'asked about an hour ago: ask again', recheckAsked: false, lastCheckedAt: ago(60 * MIN), due: true },
    { name: 'never asked by this replica (a restart): ask', recheckAsked: false, lastCheckedAt: undefined, due: true },
    { name: 'a Certificate found the account wrong: ask at once', recheckAsked: true, lastCheckedAt: ago(MIN), due: true },
  ];
  for (const c of cases) it(c.name, () => assert.equal(accountCheckDue({ recheckAsked: c.recheckAsked, lastCheckedAt: c.lastCheckedAt, now }), c.due));
});

describe('registeredAccount', () => {
  const cases: { name: string; spec: { server: string; email?: string }; expected: AcmeAccountStatus }[] = [
    {
      name: 'records the account, its server, its key and the email registered',
      spec: { server, email: 'ops@example.com' },
      expected: { uri: recorded.uri, server, accountKeyThumbprint: 'thumb', lastRegisteredEmail: 'ops@example.com' },
    },
    { name: 'without an email, records none', spec: { server }, expected: { uri: recorded.uri, server, accountKeyThumbprint: 'thumb' } },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(registeredAccount(recorded.uri!, c.spec, 'thumb'), c.expected));
});

describe('accountRejected', () => {
  it('names the account, its status and what to do', () => {
    const err = accountRejected(recorded.uri, 'deactivated', server);
    assert.equal(errorCode(err), 'AcmeAccountProblem');
    assert.equal(
      err.message,
      'the ACME account https://acme.test/acct/1 is deactivated at https://acme.test/directory: use a new account key Secret to register a new account',
    );
  });
});

describe('accountKeySecret', () => {
  const cases: { name: string; namespace?: string; kind: 'Issuer' | 'ClusterIssuer'; key?: string; owner: string; dataKey: string }[] = [
    {
      name: 'an Issuer’s key goes under tls.key, marked with its namespace and name',
      namespace: 'apps',
      kind: 'Issuer',
      owner: 'Issuer/apps/le',
      dataKey: 'tls.key',
    },
    { name: 'a ClusterIssuer’s is marked with its name alone', kind: 'ClusterIssuer', owner: 'ClusterIssuer/le', dataKey: 'tls.key' },
    {
      name: 'the key named in privateKeySecretRef is used',
      namespace: 'apps',
      kind: 'Issuer',
      key: 'account.pem',
      owner: 'Issuer/apps/le',
      dataKey: 'account.pem',
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const issuer = { metadata: { name: 'le', ...(c.namespace ? { namespace: c.namespace } : {}) } };
      const s = accountKeySecret(issuer, c.kind, { name: 'le-account', ...(c.key ? { key: c.key } : {}) }, 'certsmith', 'KEY PEM');
      assert.deepEqual(s.metadata, {
        name: 'le-account',
        namespace: 'certsmith',
        labels: { 'app.kubernetes.io/managed-by': 'certsmith', 'certsmith.dev/internal': 'acme-account-key' },
        annotations: { 'certsmith.dev/acme-account-of': c.owner },
      });
      assert.deepEqual(s.data, { [c.dataKey]: Buffer.from('KEY PEM').toString('base64') });
    });
  }
});
