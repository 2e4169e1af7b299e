import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Issuer } from '../../../../src/api/issuer.ts';
import { planAction } from '../../../../src/controllers/issuers/plan.ts';

const acme = { server: 'https://acme.test/directory', privateKeySecretRef: { name: 'account' }, solvers: [{ http01: {} }] };

describe('planAction', () => {
  const cases: { name: string; spec: unknown; kind: string; reason?: string; message?: RegExp }[] = [
    { name: 'an ACME issuer ensures its account', spec: { acme }, kind: 'ensureAcmeAccount' },
    { name: 'a managed CA takes a step of its rotation', spec: { ca: { managed: { commonName: 'Org CA' } } }, kind: 'stepManagedCa' },
    { name: 'a CA Secret the user manages is read as the signer', spec: { ca: { secretName: 'org-ca' } }, kind: 'readSigner' },
    { name: 'a self-signed issuer reads its signer', spec: { selfSigned: {} }, kind: 'readSigner' },
    { name: 'a spec that sets no type is left to the signer source to report', spec: {}, kind: 'readSigner' },
    {
      name: 'an invalid spec acts on nothing and says which field is wrong',
      spec: { acme: { ...acme, server: 'not a url' } },
      kind: 'report',
      reason: 'InvalidSpec',
      message: /^Invalid spec: acme\.server: /,
    },
    {
      name: 'an ACME issuer without solvers is invalid',
      spec: { acme: { ...acme, solvers: [] } },
      kind: 'report',
      reason: 'InvalidSpec',
      message: /acme\.solvers/,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const action = planAction({ spec: c.spec } as Pick<Issuer, 'spec'>);
      assert.equal(action.kind, c.kind);
      if (action.kind === 'report') {
        assert.equal(action.check.status, 'False');
        assert.equal(action.check.reason, c.reason);
        assert.match(action.check.message, c.message!);
        assert.equal(action.check.requeueAfterMs, undefined, 'an invalid spec waits for an edit');
      }
    });
  }

  it('the action carries the part of the spec it acts on', () => {
    assert.deepEqual(planAction({ spec: { acme } }), { kind: 'ensureAcmeAccount', acme });
    assert.deepEqual(planAction({ spec: { ca: { secretName: 'org-ca', retireGracePeriod: '1m' } } }), {
      kind: 'readSigner',
      ca: { secretName: 'org-ca', retireGracePeriod: '1m' },
    });
    assert.deepEqual(planAction({ spec: { selfSigned: {} } }), { kind: 'readSigner', ca: {} });
  });
});
