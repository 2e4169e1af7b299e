// SessionTicketKeys on the real control plane, through the real operator: the Secret gets a 48-byte key, rotates on
// a short interval keeping `keep` previous keys, a Secret it does not manage is left alone with a condition, and two
// TLS servers reading the Secret through kubelet-style mounts (certsmith/reload) resume each other's sessions.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createServer, type Server } from 'node:tls';
import pino from 'pino';
import { findCondition } from '../../src/api/conditions.ts';
import { API_VERSION } from '../../src/api/meta.ts';
import {
  SESSION_TICKET_KEYS_ANNOTATION,
  TICKET_KEYS_ROTATED_AT_ANNOTATION,
  type SessionTicketKeys,
  type SessionTicketKeysSpec,
} from '../../src/api/session-ticket-keys.ts';
import { createKubeClient, type KubeClient } from '../../src/kube/client.ts';
import { Resources } from '../../src/kube/resources.ts';
import { serverTLS, watchKeyPair, watchTicketKeys, type ServerTLS } from '../../src/reload/index.ts';
import { startControlPlane, type ControlPlane } from '../env/controlplane.ts';
import { writeAtomically } from '../unit/reload/atomic-writer.ts';
import { eventually, makeCA, tlsPayload, type CA } from '../unit/reload/fixtures.ts';
import { handshake } from '../unit/reload/tls.ts';
import { createNamespace, editObject, type Secret } from './helpers/objects.ts';
import { startOperator, type OperatorProcess } from './helpers/operator.ts';
import { startProjector, type Projector } from './helpers/projector.ts';
import { reconcileCount, reconciledAgain } from './helpers/reconciles.ts';
import { waitFor } from './helpers/wait.ts';

const crdsDir = join(import.meta.dirname, '..', '..', 'crds');
const NS = 'stek';
const log = pino({ level: process.env.CERTSMITH_TEST_VERBOSE ? 'debug' : 'silent' });
let cp: ControlPlane;
let client: KubeClient;
let operator: OperatorProcess;
let workDir: string;
const closers: (() => unknown)[] = [];

function stek(name: string, spec: SessionTicketKeysSpec): SessionTicketKeys {
  return { apiVersion: API_VERSION, kind: 'SessionTicketKeys', metadata: { name, namespace: NS }, spec };
}

const getSecret = (name: string) => client.get<Secret>(Resources.secrets, NS, name);
const keyOf = (s: Secret | undefined, file: string) => (s?.data?.[file] === undefined ? undefined : Buffer.from(s.data[file], 'base64'));

async function waitForReady(name: string, reason: string, status = reason === 'KeysReady' ? 'True' : 'False'): Promise<SessionTicketKeys> {
  return waitFor(`SessionTicketKeys ${name} Ready=${status} (${reason})`, async () => {
    const o = await client.get<SessionTicketKeys>(Resources.sessionTicketKeys, NS, name);
    const c = findCondition(o?.status?.conditions, 'Ready');
    if (!o || !c) return undefined;
    if (c.observedGeneration !== o.metadata.generation || c.status !== status || c.reason !== reason) throw new Error(`Ready is ${JSON.stringify(c)}`);
    return o;
  });
}

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'certsmith-stek-'));
  cp = await startControlPlane({ crdsDir });
  client = createKubeClient({ kubeconfigPath: cp.kubeconfigPath });
  await createNamespace(client, NS);
  operator = startOperator({ kubeconfigPath: cp.kubeconfigPath, logDir: workDir, args: ['--leader-elect=false', '--resync-seconds', '2'] });
});

after(async () => {
  for (const close of closers.reverse()) await close();
  await operator?.stop();
  await cp?.stop();
  await rm(workDir, { recursive: true, force: true });
});

describe('SessionTicketKeys', () => {
  it('writes one 48-byte key into a Secret it labels as managed, and then leaves it alone', async () => {
    await client.create(Resources.sessionTicketKeys, stek('web', { secretName: 'web-ticket-keys', rotationInterval: '1h' }));
    const ready = await waitForReady('web', 'KeysReady');
    const secret = await getSecret('web-ticket-keys');
    assert.equal(keyOf(secret, 'ticket.key')?.length, 48);
    assert.deepEqual(Object.keys(secret!.data!), ['ticket.key'], 'no previous key yet');
    assert.equal(secret!.metadata.labels?.['app.kubernetes.io/managed-by'], 'certsmith');
    assert.equal(secret!.metadata.annotations?.[SESSION_TICKET_KEYS_ANNOTATION], 'web');
    assert.ok(secret!.metadata.annotations?.[TICKET_KEYS_ROTATED_AT_ANNOTATION]);
    assert.equal(ready.status?.keys, 1);
    const next = Date.parse(ready.status!.nextRotationTime!) - Date.parse(ready.status!.lastRotationTime!);
    assert.ok(Math.abs(next - 3_600_000) <= 1000, `next rotation ${next} ms after the last`);
    // Resyncs every 2 s: no rotation and no write before the interval, after three more reconciles (the only
    // SessionTicketKeys so far: all of them its own).
    await reconciledAgain(operator, 'sessionticketkeys', await reconcileCount(operator, 'sessionticketkeys'), 3);
    const again = await getSecret('web-ticket-keys');
    assert.equal(again!.metadata.resourceVersion, secret!.metadata.resourceVersion);
    const statusAgain = await client.get<SessionTicketKeys>(Resources.sessionTicketKeys, NS, 'web');
    assert.equal(statusAgain!.metadata.resourceVersion, ready.metadata.resourceVersion, 'no status write without a change');
    assert.doesNotMatch(await operator.logs(), new RegExp(secret!.data!['ticket.key']!.replace(/[+/=]/g, '.').slice(0, 40)), 'key material never logged');
  });

  it('rotates on its interval, the old key becoming ticket.key.1, and keeps at most `keep` previous keys', async () => {
    await client.create(Resources.sessionTicketKeys, stek('fast', { secretName: 'fast-ticket-keys', rotationInterval: '3s', keep: 2 }));
    const seen: string[] = [];
    let last: Secret | undefined;
    await waitFor(
      'four keys in turn',
      async () => {
        last = await getSecret('fast-ticket-keys');
        const current = last?.data?.['ticket.key'];
        if (current && seen.at(-1) !== current) seen.push(current);
        // Each time, the Secret holds the key before as ticket.key.1 and the one before that as ticket.key.2.
        if (current && seen.length >= 2) assert.equal(last!.data!['ticket.key.1'], seen.at(-2));
        if (current && seen.length >= 3) assert.equal(last!.data!['ticket.key.2'], seen.at(-3));
        return seen.length >= 4 ? true : undefined;
      },
      { timeoutMs: 40_000, intervalMs: 200 },
    );
    assert.equal(new Set(seen).size, 4, 'every rotation draws a new key');
    assert.deepEqual(Object.keys(last!.data!).sort(), ['ticket.key', 'ticket.key.1', 'ticket.key.2'], 'the oldest key is dropped');
    for (const k of Object.values(last!.data!)) assert.equal(Buffer.from(k, 'base64').length, 48);
    const status = (await waitForReady('fast', 'KeysReady')).status!;
    assert.equal(status.keys, 3);

    // keep lowered to 0: the previous keys go without a rotation.
    // Retried on a conflict: the operator writes the status at every rotation, between our read and our write.
    await editObject<SessionTicketKeys>(client, Resources.sessionTicketKeys, NS, 'fast', (o) => ({
      ...o,
      spec: { ...o.spec!, keep: 0, rotationInterval: '1h' },
    }));
    await waitFor('previous keys dropped', async () => {
      const s = await getSecret('fast-ticket-keys');
      return Object.keys(s?.data ?? {}).join() === 'ticket.key' ? s : undefined;
    });
  });

  it('leaves a Secret it does not manage untouched and says so in its Ready condition', async () => {
    const mine = await client.create<Secret>(Resources.secrets, {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'someone-elses', namespace: NS },
      data: { 'ticket.key': Buffer.alloc(48, 7).toString('base64') },
    } as Secret);
    const created = Date.now();
    await client.create(Resources.sessionTicketKeys, stek('intruder', { secretName: 'someone-elses', rotationInterval: '3s' }));
    const o = await waitForReady('intruder', 'SecretConflict');
    assert.match(findCondition(o.status?.conditions, 'Ready')!.message!, /not managed/);
    // Once a rotation would be due, two resync rounds (every SessionTicketKeys reconciled twice, counted).
    await waitFor('its rotation interval to pass', () => Date.now() >= created + 3_000, { intervalMs: 100 });
    const all = (await client.list(Resources.sessionTicketKeys, { namespace: NS })).items.length;
    await reconciledAgain(operator, 'sessionticketkeys', await reconcileCount(operator, 'sessionticketkeys'), 2 * all);
    const after = await getSecret('someone-elses');
    assert.equal(after!.metadata.resourceVersion, mine.metadata.resourceVersion);
    assert.deepEqual(after!.data, mine.data);
  });

  it("lets two servers mounting the Secret resume each other's TLS sessions, across a rotation", async () => {
    const ca: CA = await makeCA(workDir, 'STEK Test CA');
    const pair = await ca.issue({ commonName: 'api', dnsNames: ['api.example.com'] });
    await client.create(Resources.sessionTicketKeys, stek('shared', { secretName: 'shared-ticket-keys', rotationInterval: '4s', keep: 1 }));
    await waitForReady('shared', 'KeysReady');

    // Two pods, each with its own kubelet-style mount of the Secret and its own certificate mount.
    const replicas: { server: Server; port: number; tls: ServerTLS; generation(): number; keys(): Buffer }[] = [];
    for (const pod of ['pod-a', 'pod-b']) {
      const projector: Projector = startProjector({
        client,
        log,
        kind: 'Secret',
        namespace: NS,
        name: 'shared-ticket-keys',
        dir: join(workDir, pod, 'tickets'),
      });
      closers.push(() => projector.stop());
      await projector.ready();
      const certDir = join(workDir, pod, 'tls');
      await writeAtomically(certDir, tlsPayload(pair));
      const certificate = await watchKeyPair(certDir, { debounceMs: 20 });
      const ticketKeys = await watchTicketKeys(join(workDir, pod, 'tickets'), { debounceMs: 20 });
      closers.push(certificate.close, ticketKeys.close);
      const tls = serverTLS({ certificates: [certificate], defaultCertificate: certificate, ticketKeys });
      const server = createServer(tls.options, (socket) => socket.end('ok'));
      tls.attach(server);
      server.on('tlsClientError', () => undefined);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      closers.push(() => new Promise((r) => server.close(r)));
      replicas.push({
        server,
        port: (server.address() as { port: number }).port,
        tls,
        generation: ticketKeys.generation,
        keys: () => ticketKeys.current().keys,
      });
    }
    const [a, b] = replicas as [(typeof replicas)[0], (typeof replicas)[0]];
    const options = { servername: 'api.example.com', ca: ca.certPem };

    // A rotation may land between the two handshakes (the interval is short): try again a few times.
    const resumesAcross = async (from: typeof a, to: typeof a, label: string) => {
      const tries: unknown[] = [];
      for (let attempt = 0; attempt < 5; attempt++) {
        // Both replicas must hold the same key (after a rotation the mounts catch up one by one).
        await eventually(() => (from.server.getTicketKeys().equals(to.server.getTicketKeys()) ? true : undefined), 10_000);
        const first = await handshake(from.port, options);
        const resumed = first.session ? await handshake(to.port, { ...options, session: first.session }) : undefined;
        if (first.ok && resumed?.ok && resumed.resumed) return first.session!;
        tries.push({ ok: first.ok, error: first.error, ticket: !!first.session, resumed: resumed?.resumed, resumeError: resumed?.error });
      }
      assert.fail(`${label}: no session resumed on the other replica: ${JSON.stringify(tries)}`);
    };

    const earlier = await resumesAcross(a, b, 'a → b');
    // The servers use the Secret's ticket.key as it is (or as it was one rotation ago, if one just happened).
    const now = await getSecret('shared-ticket-keys');
    assert.ok([keyOf(now, 'ticket.key'), keyOf(now, 'ticket.key.1')].some((k) => k?.equals(a.server.getTicketKeys())));

    // The operator rotates the key; both mounts follow; sessions resume across replicas under the new key.
    const generationBefore = b.generation();
    await waitFor('both replicas to load the rotated key', () => (a.generation() > generationBefore && b.generation() > generationBefore ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 100,
    });
    await resumesAcross(b, a, 'b → a after the rotation');
    // Node decrypts with the one current key only: a ticket sealed under the previous key gets a full handshake.
    const old = await handshake(a.port, { ...options, session: earlier });
    assert.equal(old.ok, true);
    assert.equal(old.resumed, false);
  });
});
