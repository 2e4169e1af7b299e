import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IssuerStatus } from '../../../../src/api/issuer.ts';
import { stepUserCa, type UserCaLook } from '../../../../src/controllers/issuers/user-ca.ts';
import { errorCode } from '../../../../src/errors.ts';

const S = 1000;
const MIN = 60 * S;
const t0 = new Date('2026-01-01T00:00:00Z');
const at = (s: number) => new Date(t0.getTime() + s * S);
const iso = (s: number) => at(s).toISOString().replace('.000Z', 'Z');
const HOURS = 3600;
// The CA in the Secret now, valid for a day from t0 + 50 s.
const current = { subject: 'CN=Org CA 2', fingerprintSha256: 'new', notBefore: at(50), notAfter: at(50 + 24 * HOURS) };
const recordedGen = (fp: string, role: 'signing' | 'retiring', from: number, life = 24 * HOURS) => ({
  fingerprint: fp,
  notBefore: iso(from),
  notAfter: iso(from + life),
  role,
  certificate: `PEM ${fp}`,
});
const look = (o: Partial<UserCaLook>): UserCaLook => ({
  spec: {},
  recorded: undefined,
  caInfo: current,
  caPem: 'PEM new',
  countLeaves: () => 0,
  now: at(100),
  ...o,
});

describe('stepUserCa', () => {
  const cases: {
    name: string;
    look: Partial<UserCaLook>;
    phase: string;
    switched: boolean;
    generations: string[];
    signingSince?: string;
    message: string;
    requeueAfterMs: number;
  }[] = [
    {
      name: 'a new issuer records the CA in its Secret as signing',
      look: {},
      phase: 'Stable',
      switched: false,
      generations: ['new:signing'],
      message: 'Signing with CA CN=Org CA 2, valid until 2026-01-02T00:00:50.000Z',
      requeueAfterMs: 5 * MIN,
    },
    {
      name: 'the CA recorded as signing is still there: nothing changes',
      look: { recorded: { caFingerprint: 'new', ca: { phase: 'Stable', signingSince: iso(50), generations: [recordedGen('new', 'signing', 50)] } } },
      phase: 'Stable',
      switched: false,
      generations: ['new:signing'],
      signingSince: iso(50),
      message: 'Signing with CA CN=Org CA 2, valid until 2026-01-02T00:00:50.000Z',
      requeueAfterMs: 5 * MIN,
    },
    {
      name: 'a replaced CA with leaves left keeps the old one in the bundles, with its certificate, and starts the spread now',
      look: {
        recorded: { caFingerprint: 'old', ca: { phase: 'Stable', generations: [recordedGen('old', 'signing', 0)] } },
        countLeaves: (fps) => (fps.has('old') ? 2 : 0),
      },
      phase: 'Reissuing',
      switched: true,
      generations: ['old:retiring', 'new:signing'],
      signingSince: iso(100),
      message:
        'Signing with CA CN=Org CA 2, valid until 2026-01-02T00:00:50.000Z; Reissuing: The CA in the Secret was replaced: certificates are re-issued by the new CA; the old one stays in the bundles until none it signed is left',
      requeueAfterMs: 5 * MIN,
    },
    {
      name: 'a replaced CA recorded before generations were (fingerprint only) cannot stay in the bundles, but the spread starts',
      look: { recorded: { caFingerprint: 'old' }, countLeaves: () => 2 },
      phase: 'Stable',
      switched: true,
      generations: ['new:signing'],
      signingSince: iso(100),
      message: 'Signing with CA CN=Org CA 2, valid until 2026-01-02T00:00:50.000Z',
      requeueAfterMs: 5 * MIN,
    },
    {
      name: 'no leaf of the old CA left: the grace period starts and it is looked at when it ends',
      look: {
        spec: { retireGracePeriod: '1m' },
        recorded: { ca: { phase: 'Reissuing', signingSince: iso(60), generations: [recordedGen('old', 'retiring', 0), recordedGen('new', 'signing', 50)] } },
      },
      phase: 'Reissuing',
      switched: false,
      generations: ['old:retiring', 'new:signing'],
      signingSince: iso(60),
      message:
        'Signing with CA CN=Org CA 2, valid until 2026-01-02T00:00:50.000Z; Reissuing: No certificate signed by the old CA is left; it leaves the bundles at 2026-01-01T00:02:40.000Z (grace period)',
      requeueAfterMs: MIN,
    },
    {
      name: 'the grace period over: the old CA leaves the bundles',
      look: {
        spec: { retireGracePeriod: '1m' },
        recorded: {
          ca: {
            phase: 'Reissuing',
            signingSince: iso(60),
            gateOpenSince: iso(30),
            generations: [recordedGen('old', 'retiring', 0), recordedGen('new', 'signing', 50)],
          },
        },
      },
      phase: 'Stable',
      switched: false,
      generations: ['new:signing'],
      signingSince: iso(60),
      message: 'Signing with CA CN=Org CA 2, valid until 2026-01-02T00:00:50.000Z',
      requeueAfterMs: S,
    },
    {
      name: 'a CA about to expire is looked at again a second after it does',
      look: { caInfo: { ...current, notAfter: at(110) } },
      phase: 'Stable',
      switched: false,
      generations: ['new:signing'],
      message: 'Signing with CA CN=Org CA 2, valid until 2026-01-01T00:01:50.000Z',
      requeueAfterMs: 11 * S,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const o = stepUserCa(look(c.look));
      const ca = o.status.ca!;
      assert.equal(ca.phase, c.phase);
      assert.equal(o.switched, c.switched);
      assert.deepEqual(
        ca.generations?.map((g) => `${g.fingerprint}:${g.role}`),
        c.generations,
      );
      assert.equal(ca.signingSince, c.signingSince);
      assert.equal(o.message, c.message);
      assert.equal(o.requeueAfterMs, c.requeueAfterMs);
      assert.equal(o.status.caFingerprint, 'new');
      assert.equal(o.status.caNotAfter, (c.look.caInfo ?? current).notAfter.toISOString().replace('.000Z', 'Z'));
    });
  }

  it('a retiring CA keeps its certificate in status, so the bundles can go on publishing it', () => {
    const recorded: IssuerStatus = { ca: { phase: 'Stable', generations: [recordedGen('old', 'signing', 0)] } };
    const o = stepUserCa(look({ recorded, countLeaves: () => 1 }));
    assert.deepEqual(o.status.ca?.generations?.[0], { ...recordedGen('old', 'retiring', 0) });
    assert.equal(o.status.ca?.generations?.[1]?.certificate, 'PEM new');
  });

  const invalid: { name: string; spec: UserCaLook['spec']; message: string }[] = [
    { name: 'a retireGracePeriod that does not parse names its field', spec: { retireGracePeriod: 'later' }, message: 'ca.retireGracePeriod: ' },
    {
      name: 'a reissueWindow that does not parse is refused here, though the Certificates read it',
      spec: { reissueWindow: 'soon' },
      message: 'ca.reissueWindow: ',
    },
  ];
  for (const c of invalid) {
    it(c.name, () => {
      assert.throws(
        () => stepUserCa(look({ spec: c.spec })),
        (err: Error) => errorCode(err) === 'InvalidSpec' && err.message.startsWith(c.message),
      );
    });
  }
});
