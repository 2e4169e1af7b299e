import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SecretObject } from '../../../../src/api/secret.ts';
import type { SessionTicketKeys, SessionTicketKeysStatus } from '../../../../src/api/session-ticket-keys.ts';
import { planSessionTicketKeys, type SessionTicketKeysPlan } from '../../../../src/controllers/session-ticket-keys/plan.ts';
import { ticketKeysSecret } from '../../../../src/controllers/session-ticket-keys/secret.ts';
import type { UsableSpec } from '../../../../src/controllers/session-ticket-keys/spec.ts';

const H = 3_600_000;
const now = new Date('2026-11-29T12:00:00.000Z');
const ago = (ms: number) => new Date(now.getTime() - ms);
const key = (fill: number) => Buffer.alloc(48, fill);
const spec: UsableSpec = { secretName: 'tickets', intervalMs: 12 * H, keep: 2 };
const stek = (status?: SessionTicketKeysStatus): SessionTicketKeys => ({
  apiVersion: 'certsmith.dev/v1alpha1',
  kind: 'SessionTicketKeys',
  metadata: { name: 'web', namespace: 'demo', uid: 'stek-1', generation: 3 },
  spec: { secretName: 'tickets' },
  ...(status ? { status } : {}),
});
/** A Secret this SessionTicketKeys wrote: `current` made at `rotatedAt`, and `previous`, newest first. */
const written = (current: number, previous: number[], rotatedAt: Date): SecretObject => {
  const s = ticketKeysSecret(stek(), 'tickets', key(current), { action: 'keep', previous: previous.map(key), rotatedAt, nextRotation: now });
  return { ...s, metadata: { ...s.metadata, resourceVersion: '41' } };
};
const foreign: SecretObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tickets', namespace: 'demo', resourceVersion: '9' }, data: {} };
const readyWas = (status: 'True' | 'False', reason: string): SessionTicketKeysStatus => ({
  conditions: [{ type: 'Ready', status, reason, message: 'before', lastTransitionTime: '2026-11-01T00:00:00Z' }],
  lastRotationTime: '2026-11-29T01:00:00Z',
  nextRotationTime: '2026-11-29T13:00:00Z',
  keys: 3,
});

/** The plan, told the way a person would check it; the new key drawn is filled with 9s. */
function plan(o: { secret?: SecretObject; spec?: UsableSpec; status?: SessionTicketKeysStatus }) {
  const p: SessionTicketKeysPlan = planSessionTicketKeys({ stek: stek(o.status), spec: o.spec ?? spec, secret: o.secret, now, newKey: () => key(9) });
  const ready = p.status.conditions?.find((c) => c.type === 'Ready');
  const data = p.write?.secret.data ?? {};
  return {
    write: p.write
      ? `${p.write.action}: ${Object.keys(data)
          .map((k) => `${k}=${Buffer.from(data[k]!, 'base64')[0]}`)
          .join(' ')}`
      : 'none',
    ready: `${ready?.status} ${ready?.reason}: ${ready?.message}`,
    events: [...(p.write?.event ? [p.write.event] : []), ...p.events].map((e) => `${e.type} ${e.reason}: ${e.message}`),
    requeueAfterMs: p.requeueAfterMs,
    status: p.status,
    secret: p.write?.secret,
  };
}

describe('planSessionTicketKeys', () => {
  const keysReady = (previous: number) => `True KeysReady: Secret tickets holds the current key and ${previous} previous key(s)`;
  const cases: { name: string; got: ReturnType<typeof plan>; write: string; ready: string; events: string[]; requeueAfterMs: number | undefined }[] = [
    {
      name: 'writes a new key into a Secret that does not exist yet, and looks again at its rotation',
      got: plan({}),
      write: 'create: ticket.key=9',
      ready: keysReady(0),
      events: ['Normal KeyCreated: Wrote a new session-ticket key in Secret tickets; 0 previous key(s) kept'],
      requeueAfterMs: 12 * H,
    },
    {
      name: 'leaves a Secret whose key is younger than the interval',
      got: plan({ secret: written(1, [2], ago(H)) }),
      write: 'none',
      ready: keysReady(1),
      events: [],
      requeueAfterMs: 11 * H,
    },
    {
      name: 'rotates a due key: the old one becomes ticket.key.1',
      got: plan({ secret: written(1, [2], ago(12 * H)) }),
      write: 'rotate: ticket.key=9 ticket.key.1=1 ticket.key.2=2',
      ready: keysReady(2),
      events: ['Normal KeyRotated: Rotated to a new session-ticket key in Secret tickets; 2 previous key(s) kept'],
      requeueAfterMs: 12 * H,
    },
    {
      name: 'trims previous keys beyond a lowered keep, without rotating or an event',
      got: plan({ secret: written(1, [2, 3], ago(H)), spec: { ...spec, keep: 1 } }),
      write: 'keep: ticket.key=1 ticket.key.1=2',
      ready: keysReady(1),
      events: [],
      requeueAfterMs: 11 * H,
    },
    {
      name: 'puts back the ownership label someone removed, with the same keys',
      got: plan({
        secret: ((s) => ({ ...s, metadata: { ...s.metadata, labels: { 'app.kubernetes.io/managed-by': 'certsmith' } } }))(written(1, [], ago(H))),
      }),
      write: 'keep: ticket.key=1',
      ready: keysReady(0),
      events: [],
      requeueAfterMs: 11 * H,
    },
    {
      name: 'leaves a Secret it does not manage alone, says so once, and looks again in a minute',
      got: plan({ secret: foreign, status: readyWas('True', 'KeysReady') }),
      write: 'none',
      ready: 'False SecretConflict: Secret tickets exists and is not managed by this SessionTicketKeys; left alone',
      events: ['Warning SecretConflict: Secret tickets exists and is not managed by this SessionTicketKeys; left alone'],
      requeueAfterMs: 60_000,
    },
    {
      name: 'does not tell the same conflict again',
      got: plan({ secret: foreign, status: readyWas('False', 'SecretConflict') }),
      write: 'none',
      ready: 'False SecretConflict: Secret tickets exists and is not managed by this SessionTicketKeys; left alone',
      events: [],
      requeueAfterMs: 60_000,
    },
    {
      name: 'an unusable spec: Ready says why, nothing is written, and nothing is scheduled',
      got: plan({ spec: { problem: 'rotationInterval: at least 1s, not 10ms' } }),
      write: 'none',
      ready: 'False InvalidSpec: Invalid spec: rotationInterval: at least 1s, not 10ms',
      events: ['Warning InvalidSpec: Invalid spec: rotationInterval: at least 1s, not 10ms'],
      requeueAfterMs: undefined,
    },
    {
      name: 'a conflict resolved: Ready turns true without a warning, and the new key is told',
      got: plan({ status: readyWas('False', 'SecretConflict') }),
      write: 'create: ticket.key=9',
      ready: keysReady(0),
      events: ['Normal KeyCreated: Wrote a new session-ticket key in Secret tickets; 0 previous key(s) kept'],
      requeueAfterMs: 12 * H,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.equal(c.got.write, c.write);
      assert.equal(c.got.ready, c.ready);
      assert.deepEqual(c.got.events, c.events);
      assert.equal(c.got.requeueAfterMs, c.requeueAfterMs);
    });
  }

  it('the status says when the key was made, when it is replaced, and how many keys there are', () => {
    const { status } = plan({ secret: written(1, [2], ago(H)) });
    assert.deepEqual(
      { lastRotationTime: status.lastRotationTime, nextRotationTime: status.nextRotationTime, keys: status.keys },
      { lastRotationTime: '2026-11-29T11:00:00Z', nextRotationTime: '2026-11-29T23:00:00Z', keys: 2 },
    );
  });

  it('a status that is not ready keeps the rotation fields it had', () => {
    const { status } = plan({ secret: foreign, status: readyWas('True', 'KeysReady') });
    assert.deepEqual([status.lastRotationTime, status.nextRotationTime, status.keys], ['2026-11-29T01:00:00Z', '2026-11-29T13:00:00Z', 3]);
  });

  it('the Secret written is owned by the SessionTicketKeys, marked internal and with the rotation time, and guarded by the resourceVersion seen', () => {
    const { secret } = plan({ secret: written(1, [2], ago(12 * H)) });
    assert.deepEqual(secret?.metadata, {
      name: 'tickets',
      namespace: 'demo',
      resourceVersion: '41',
      labels: { 'app.kubernetes.io/managed-by': 'certsmith', 'certsmith.dev/session-ticket-keys': 'web', 'certsmith.dev/internal': 'session-ticket-keys' },
      annotations: { 'certsmith.dev/session-ticket-keys': 'web', 'certsmith.dev/ticket-keys-rotated-at': '2026-11-29T12:00:00.000Z' },
      ownerReferences: [{ apiVersion: 'certsmith.dev/v1alpha1', kind: 'SessionTicketKeys', name: 'web', uid: 'stek-1', controller: true }],
    });
  });

  it('draws a new key only when one is due', () => {
    let drawn = 0;
    const draw = () => (drawn++, key(9));
    planSessionTicketKeys({ stek: stek(), spec, secret: written(1, [], ago(H)), now, newKey: draw });
    assert.equal(drawn, 0);
    planSessionTicketKeys({ stek: stek(), spec, secret: written(1, [], ago(12 * H)), now, newKey: draw });
    assert.equal(drawn, 1);
  });
});
