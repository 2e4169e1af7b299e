// The issuance paths the Pebble tests reach only by killing operators and restarting the CA — resuming after a
// restart, taking up an order never recorded, a takeover by another replica, a lost order key, a CA that forgot the
// order or the account, failed validation — driven step by step against a scripted ACME client. Each replica is a
// createAcmeIssuance of its own (its own memory); what replicas share is the Certificate's status, written here as
// the reconciler writes it, and the cluster's Secrets.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import type { AcmeOrderStatus, Certificate } from '../../../../src/api/certificate.ts';
import type { Issuer } from '../../../../src/api/issuer.ts';
import { API_VERSION } from '../../../../src/api/meta.ts';
import type { SecretObject } from '../../../../src/api/secret.ts';
import { AcmeError } from '../../../../src/acme/errors.ts';
import { createAcmeIssuance } from '../../../../src/controllers/certificates/acme/issuance.ts';
import type { ChallengeContext, ChallengeSolvers } from '../../../../src/controllers/certificates/acme/challenges.ts';
import { PRESENT_TIMEOUT_MS } from '../../../../src/controllers/certificates/acme/challenges.ts';
import type { AcmeStep } from '../../../../src/controllers/certificates/acme/step.ts';
import { desiredCertificate } from '../../../../src/controllers/certificates/desired.ts';
import type { CertsmithError } from '../../../../src/errors.ts';
import type { KubeClient } from '../../../../src/kube/client.ts';
import {
  generatePrivateKey,
  isSignedBy,
  parseCertificatesPem,
  parsePrivateKeyPem,
  publicKeyMatches,
  signCertificate,
  encodePem,
} from '../../../../src/pki/index.ts';
import { backoffForCode, retryTimeFor } from '../../../../src/policy/backoff.ts';
import type { AcmeAccountSource } from '../../../../src/signers/acme-accounts.ts';
import { secretValue } from '../../../../src/signers/secret-data.ts';
import { createScriptedAcmeClient, problem, type ScriptedAcmeClient, type ScriptedAcmeClientOptions } from './scripted-acme-client.ts';

const NS = 'apps';
const MIN = 60_000;

/** The answers in place: HTTP-01 tokens and DNS-01 records, as solvers would leave them. */
interface Answers {
  /** Where each answer is (token or TXT name) → what it says. */
  live: Map<string, string>;
  /** Whether a presented answer can be seen yet (a self-check, DNS propagation). */
  visible: boolean;
  solvers: ChallengeSolvers;
}

function createAnswers(): Answers {
  const live = new Map<string, string>();
  const where = (ctx: ChallengeContext) => (ctx.challenge.type === 'dns-01' ? ctx.challenge.fqdn! : ctx.challenge.token);
  const answers: Answers = {
    live,
    visible: true,
    solvers: {
      async present(ctx) {
        live.set(where(ctx), ctx.challenge.keyAuthorization);
        return {};
      },
      async ready() {
        return answers.visible ? { ok: true } : { ok: false, detail: 'self-check: 404' };
      },
      async cleanup(ctx) {
        live.delete(where(ctx));
      },
    },
  };
  return answers;
}

type Outcome = AcmeStep | { kind: 'error'; error: CertsmithError };

/**
 * A cluster with one ACME ClusterIssuer, Certificates, Secrets and a scripted CA. `replica()` is an operator process
 * (a fresh one has no memory); `reconcile` steps one Certificate through it and writes the status as the reconciler
 * does: the intent before newOrder, the order after the step, nothing kept after a failed order, the order kept after
 * any other error.
 */
function createCluster(caOptions: ScriptedAcmeClientOptions = {}) {
  let now = new Date('2030-01-01T00:00:00Z');
  const ca: ScriptedAcmeClient = createScriptedAcmeClient({ ...caOptions, now: () => now });
  const secrets = new Map<string, SecretObject>();
  const answers = createAnswers();
  const certificates = new Map<string, Certificate>();
  const failures = new Map<string, { attempts: number; error: CertsmithError; nextRetryTime: Date }>();
  const issued = new Map<string, { certificatePem: string; privateKeyPem: string }>();
  const issuer: Issuer = {
    apiVersion: API_VERSION,
    kind: 'ClusterIssuer',
    metadata: { name: 'ca' },
    spec: { acme: { server: ca.directoryUrl, privateKeySecretRef: { name: 'ca-account' }, solvers: [{ http01: {} }] } },
    status: { acme: { uri: 'https://ca.test/acme/account/1' } },
  } as Issuer;

  const kube = {
    async create(_r: unknown, obj: SecretObject) {
      const key = `${obj.metadata.namespace}/${obj.metadata.name}`;
      if (secrets.has(key)) throw new Error(`${key} exists`);
      secrets.set(key, structuredClone(obj));
      return obj;
    },
    async delete(_r: unknown, ns: string, name: string) {
      secrets.delete(`${ns}/${name}`);
    },
  } as unknown as KubeClient;
  const accounts = { clientFor: async () => ca } as unknown as AcmeAccountSource;

  function replica() {
    return createAcmeIssuance({ kube, accounts, solvers: answers.solvers, readSecret: async (ns, name) => secrets.get(`${ns}/${name}`) });
  }

  function addCertificate(name: string, dnsNames: string[]): Certificate {
    const c: Certificate = {
      apiVersion: API_VERSION,
      kind: 'Certificate',
      metadata: { name, namespace: NS, uid: `uid-${name}` },
      spec: { secretName: `${name}-tls`, issuerRef: { kind: 'ClusterIssuer', name: 'ca' }, dnsNames },
      status: {},
    } as Certificate;
    certificates.set(name, c);
    return c;
  }

  /** One reconcile of a Certificate by a replica. `diesAfterIntent`: the process is killed once the intent is written. */
  async function reconcile(by: ReturnType<typeof replica>, name: string, opts: { diesAfterIntent?: boolean } = {}): Promise<Outcome> {
    const cert = certificates.get(name)!;
    let statusOrder = cert.status?.acmeOrder;
    const write = (order: AcmeOrderStatus | undefined) => {
      const { acmeOrder: _old, ...rest } = cert.status ?? {};
      cert.status = order ? { ...rest, acmeOrder: order } : rest;
    };
    try {
      const step = await by.step({
        certificate: structuredClone(cert),
        desired: desiredCertificate(cert.spec!),
        issuer: structuredClone(issuer),
        issuerKind: 'ClusterIssuer',
        recordedOrders: () => new Set([...certificates.values()].map((c) => c.status?.acmeOrder?.orderURL).filter((u): u is string => !!u)),
        recordIntent: async (intent) => {
          write(intent);
          statusOrder = intent;
        },
        now,
      });
      if (opts.diesAfterIntent) return step;
      if (step.kind === 'progress') write(step.order);
      if (step.kind === 'failed') fail(name, step.error, step.order);
      if (step.kind === 'issued') {
        issued.set(name, { certificatePem: step.certificatePem, privateKeyPem: step.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() });
        write(undefined);
        await by.deleteOrderKey(cert, step.order);
      }
      return step;
    } catch (err) {
      if (opts.diesAfterIntent) throw err;
      // An ACME order in progress is kept: the next attempt resumes it.
      fail(name, err as CertsmithError, statusOrder);
      return { kind: 'error', error: err as CertsmithError };
    }

    function fail(n: string, error: CertsmithError, kept: AcmeOrderStatus | undefined) {
      const attempts = (failures.get(n)?.attempts ?? 0) + 1;
      const retryAfterMs = error instanceof AcmeError ? error.retryAfterMs : undefined;
      failures.set(n, { attempts, error, nextRetryTime: retryTimeFor(now, attempts, backoffForCode(error.code), retryAfterMs) });
      write(kept);
    }
  }

  /** Reconciles until the Certificate is issued, validating each submitted challenge at the CA; at most `max` steps. */
  async function issueWith(by: ReturnType<typeof replica>, name: string, max = 10): Promise<Outcome> {
    let last: Outcome | undefined;
    for (let i = 0; i < max; i++) {
      last = await reconcile(by, name);
      if (last.kind === 'issued' || last.kind === 'failed' || last.kind === 'error' || last.kind === 'blocked') return last;
      validateSubmitted(name);
    }
    return last!;
  }

  /** The CA passes every challenge of the Certificate's order that it was asked to validate. */
  function validateSubmitted(name: string) {
    const order = certificates.get(name)!.status?.acmeOrder;
    for (const ch of order?.challenges ?? []) if (ch.state === 'submitted' && order?.orderURL) ca.validate(order.orderURL, ch.identifier);
  }

  return {
    ca,
    secrets,
    answers,
    issuer,
    issued,
    failures,
    replica,
    addCertificate,
    reconcile,
    issueWith,
    validateSubmitted,
    status: (name: string) => certificates.get(name)!.status ?? {},
    order: (name: string) => certificates.get(name)!.status?.acmeOrder,
    advance: (ms: number) => {
      now = new Date(now.getTime() + ms);
    },
    now: () => now,
  };
}

function orderKeySecrets(secrets: Map<string, SecretObject>): string[] {
  return [...secrets.keys()].filter((k) => k.includes('-order-'));
}

describe('ACME issuance against a scripted CA', () => {
  it('places one order, answers and submits its challenge, finalizes with a key kept in a Secret, and leaves nothing behind', async () => {
    const cluster = createCluster();
    cluster.addCertificate('web', ['web.example.test']);
    const op = cluster.replica();

    const placed = await cluster.reconcile(op, 'web');
    assert.equal(placed.kind, 'progress');
    assert.equal(cluster.order('web')?.state, 'pending');
    assert.deepEqual(
      cluster.order('web')?.challenges?.map((c) => [c.identifier, c.type, c.state]),
      [['web.example.test', 'http-01', 'presented']],
    );
    assert.equal(cluster.answers.live.size, 1, 'the answer is in place before the CA is asked');

    const submitted = await cluster.reconcile(op, 'web');
    assert.equal(submitted.kind, 'progress');
    assert.equal(cluster.order('web')?.challenges?.[0]?.state, 'submitted');

    cluster.validateSubmitted('web');
    const done = await cluster.reconcile(op, 'web');
    assert.equal(done.kind, 'issued');
    const { certificatePem, privateKeyPem } = cluster.issued.get('web')!;
    const leaf = parseCertificatesPem(certificatePem)[0]!;
    assert.ok(publicKeyMatches(parsePrivateKeyPem(privateKeyPem), leaf), 'the certificate is for the key the order was finalized with');
    assert.deepEqual(new X509Certificate(Buffer.from(leaf)).subjectAltName, 'DNS:web.example.test');
    assert.equal(cluster.order('web'), undefined, 'the order leaves status once the certificate is written');
    assert.equal(cluster.answers.live.size, 0, 'the answer is taken down');
    assert.deepEqual(orderKeySecrets(cluster.secrets), [], "the order's key Secret is deleted");
    assert.equal(cluster.ca.orders().length, 1);
  });

  it('an authorization the CA reused (already valid) needs no challenge: the order is ready at once', async () => {
    const cluster = createCluster();
    cluster.addCertificate('web', ['web.example.test']);
    cluster.ca.answerNext('newOrder', cluster.ca.addOrder({ identifiers: [{ type: 'dns', value: 'web.example.test' }], validNames: ['web.example.test'] }));
    const op = cluster.replica();
    await cluster.reconcile(op, 'web');
    assert.deepEqual(cluster.order('web')?.challenges, []);
    assert.equal((await cluster.reconcile(op, 'web')).kind, 'issued');
    assert.equal(cluster.answers.live.size, 0);
  });
});

describe('restarts', () => {
  it('a restarted operator resumes the order recorded in status: no second order, the challenge answered before is followed to the end', async () => {
    const cluster = createCluster();
    cluster.addCertificate('resume', ['resume.example.test']);
    const before = cluster.replica();
    await cluster.reconcile(before, 'resume');
    await cluster.reconcile(before, 'resume');
    const orderURL = cluster.order('resume')?.orderURL;
    assert.equal(cluster.order('resume')?.challenges?.[0]?.state, 'submitted');

    const after = cluster.replica();
    cluster.validateSubmitted('resume');
    assert.equal((await cluster.issueWith(after, 'resume')).kind, 'issued');
    assert.equal(cluster.ca.orders().length, 1, `only the order placed before the restart (${orderURL})`);
    assert.equal(cluster.ca.asked('newOrder').length, 1);
    assert.equal(cluster.ca.asked('listOrders').length, 0, 'an order in status needs no search');
  });

  it("a restart between finalizing and downloading finds the order's key in its Secret and writes a certificate for it", async () => {
    const cluster = createCluster({ finalizeTo: 'processing' });
    cluster.addCertificate('slow', ['slow.example.test']);
    const before = cluster.replica();
    await cluster.issueWith(before, 'slow', 3);
    assert.equal(cluster.order('slow')?.state, 'processing');
    const keySecret = cluster.order('slow')?.keySecretName;
    assert.ok(keySecret && cluster.secrets.has(`${NS}/${keySecret}`), "the key waits in the order's Secret");
    const keptKeyPem = secretValue(cluster.secrets.get(`${NS}/${keySecret}`)!.data, 'tls.key')!;

    await cluster.ca.finishOrder(cluster.order('slow')!.orderURL!);
    const after = cluster.replica();
    assert.equal((await cluster.reconcile(after, 'slow')).kind, 'issued');
    const leaf = parseCertificatesPem(cluster.issued.get('slow')!.certificatePem)[0]!;
    assert.ok(publicKeyMatches(parsePrivateKeyPem(keptKeyPem), leaf), 'the certificate is for the key kept before the restart');
    assert.equal(cluster.ca.asked('finalize').length, 1, 'finalized once');
    assert.deepEqual(orderKeySecrets(cluster.secrets), []);
  });

  it("an order placed but never recorded (the operator died between the CA's answer and the status write) is found among the account's orders and taken up", async () => {
    const cluster = createCluster();
    cluster.addCertificate('orphan', ['orphan.example.test']);
    const dead = cluster.replica();
    await cluster.reconcile(dead, 'orphan', { diesAfterIntent: true });
    assert.equal(cluster.order('orphan')?.state, 'ordering', 'the intent is in status');
    assert.equal(cluster.order('orphan')?.orderURL, undefined);
    const orphan = cluster.ca.orders()[0]!.url;

    const next = cluster.replica();
    const taken = await cluster.reconcile(next, 'orphan');
    assert.equal(taken.kind, 'progress');
    assert.match(taken.kind === 'progress' ? taken.message : '', /took up order .* placed earlier and never recorded/);
    assert.equal(cluster.order('orphan')?.orderURL, orphan, 'the order in status is the one placed before the restart');
    assert.equal((await cluster.issueWith(next, 'orphan')).kind, 'issued');
    assert.equal(cluster.ca.orders().length, 1, 'no other order was placed');
  });

  it('a valid order whose key Secret is gone is given up, not resumed: the next attempt places a new order', async () => {
    const cluster = createCluster({ finalizeTo: 'processing' });
    cluster.addCertificate('lostkey', ['lostkey.example.test']);
    const before = cluster.replica();
    await cluster.issueWith(before, 'lostkey', 3);
    const lost = cluster.order('lostkey')!;
    cluster.secrets.delete(`${NS}/${lost.keySecretName}`);
    await cluster.ca.finishOrder(lost.orderURL!);

    const after = cluster.replica();
    const given = await cluster.reconcile(after, 'lostkey');
    assert.equal(given.kind, 'failed');
    assert.match(cluster.failures.get('lostkey')!.error.message, /private key of order .* was lost .*a new order will be placed/);
    assert.equal(cluster.order('lostkey'), undefined, 'the order is dropped from status, so the next attempt places a new one');
    assert.equal(cluster.failures.get('lostkey')!.attempts, 1);
    assert.ok(cluster.failures.get('lostkey')!.nextRetryTime > cluster.now(), 'the next attempt waits out a backoff');
    assert.equal(cluster.ca.orders().length, 1, 'no new order before the backoff ends');

    assert.equal((await cluster.issueWith(after, 'lostkey')).kind, 'progress', 'a new order is processing');
    assert.notEqual(cluster.order('lostkey')?.orderURL, lost.orderURL);
    assert.equal(cluster.ca.orders().length, 2);
  });

  it('a certificate that does not match the key kept for the order is given up the same way', async () => {
    const cluster = createCluster({ finalizeTo: 'processing' });
    cluster.addCertificate('mismatch', ['mismatch.example.test']);
    const op = cluster.replica();
    await cluster.issueWith(op, 'mismatch', 3);
    const orderURL = cluster.order('mismatch')!.orderURL!;
    await cluster.ca.finishOrder(orderURL);
    cluster.ca.setCertificate(orderURL, await someoneElsesCertificate());
    assert.equal((await cluster.reconcile(op, 'mismatch')).kind, 'failed');
    assert.match(cluster.failures.get('mismatch')!.error.message, /does not match the private key kept for the order; a new order will be placed/);
    assert.equal(cluster.order('mismatch'), undefined);
    assert.deepEqual(orderKeySecrets(cluster.secrets), [], "the order's key Secret goes with it");
  });

  it('an order the CA no longer knows (404) is dropped, its answers taken down, and a new order placed in the same step', async () => {
    const cluster = createCluster();
    cluster.addCertificate('forgot', ['forgot.example.test']);
    const op = cluster.replica();
    await cluster.reconcile(op, 'forgot');
    const first = cluster.order('forgot')!;
    cluster.ca.failNext('getOrder', problem(404, 'malformed', 'no such order', { url: first.orderURL! }));

    assert.equal((await cluster.reconcile(op, 'forgot')).kind, 'progress');
    const second = cluster.order('forgot')!;
    assert.notEqual(second.orderURL, first.orderURL);
    assert.ok(!cluster.answers.live.has(first.challenges![0]!.token), "the forgotten order's answer is down");
    assert.ok(cluster.answers.live.has(second.challenges![0]!.token), "the new order's answer is up");
    assert.equal((await cluster.issueWith(op, 'forgot')).kind, 'issued');
  });

  it('a CA restarted mid-order (its account and orders forgotten) fails as an account problem keeping the order; after the account registers again a new order issues', async () => {
    const cluster = createCluster();
    cluster.addCertificate('amnesia', ['amnesia.example.test']);
    const op = cluster.replica();
    await cluster.reconcile(op, 'amnesia');
    const old = cluster.order('amnesia')!;
    cluster.ca.restart();

    const refused = await cluster.reconcile(op, 'amnesia');
    assert.equal(refused.kind, 'error');
    assert.equal(cluster.failures.get('amnesia')!.error.code, 'AcmeAccountProblem', 'the issuer re-registers on this code');
    assert.deepEqual(cluster.order('amnesia'), old, 'the order is kept until the account is known again');

    // What the issuer controller does on AcmeAccountProblem: register again, and record the new account.
    const { accountUrl } = await cluster.ca.registerAccount({});
    assert.notEqual(accountUrl, cluster.issuer.status!.acme!.uri);
    cluster.issuer.status!.acme!.uri = accountUrl;

    const placed = await cluster.reconcile(op, 'amnesia');
    assert.equal(placed.kind, 'progress');
    assert.notEqual(cluster.order('amnesia')?.orderURL, old.orderURL, 'an order of the old account is not continued: the account is part of what was ordered');
    assert.ok(!cluster.answers.live.has(old.challenges![0]!.token), "the old order's answer is down");
    assert.equal((await cluster.issueWith(op, 'amnesia')).kind, 'issued');
    const chain = parseCertificatesPem(cluster.issued.get('amnesia')!.certificatePem);
    assert.ok(isSignedBy(chain[0]!, parseCertificatesPem(await cluster.ca.rootPem())[0]!), "the certificate is signed by the CA's (new) root");
  });
});

describe('takeover by another replica', () => {
  it('the next leader takes up the order the killed leader placed but never recorded; the old leader, back, resumes it too — one order in all', async () => {
    const cluster = createCluster();
    cluster.addCertificate('ha', ['ha.example.test']);
    const leader = cluster.replica();
    const next = cluster.replica();
    await cluster.reconcile(leader, 'ha', { diesAfterIntent: true });

    await cluster.reconcile(next, 'ha');
    const taken = cluster.order('ha')!.orderURL;
    assert.equal(taken, cluster.ca.orders()[0]!.url);
    // The old leader comes back (leadership flaps): it follows the status, not its own memory.
    cluster.validateSubmitted('ha');
    assert.equal((await cluster.issueWith(leader, 'ha')).kind, 'issued');
    assert.equal(cluster.ca.orders().length, 1);
    assert.equal(cluster.ca.asked('newOrder').length, 1);
  });

  it('two Certificates for the same names recovering after one takeover never take up the same order', async () => {
    const cluster = createCluster();
    cluster.addCertificate('one', ['same.example.test']);
    cluster.addCertificate('two', ['same.example.test']);
    const leader = cluster.replica();
    await cluster.reconcile(leader, 'one', { diesAfterIntent: true });
    await cluster.reconcile(leader, 'two', { diesAfterIntent: true });
    assert.equal(cluster.ca.orders().length, 2);

    const next = cluster.replica();
    await cluster.reconcile(next, 'one');
    await cluster.reconcile(next, 'two');
    const urls = [cluster.order('one')?.orderURL, cluster.order('two')?.orderURL];
    assert.notEqual(urls[0], urls[1]);
    assert.deepEqual(new Set(urls), new Set(cluster.ca.orders().map((o) => o.url)), 'both orders taken up, none placed');
    assert.equal(cluster.ca.asked('listOrders').length, 1, 'one listing serves every Certificate recovering after the takeover');
  });

  it('an order another Certificate records is never taken up, even for the same names', async () => {
    const cluster = createCluster();
    cluster.addCertificate('owner', ['shared.example.test']);
    cluster.addCertificate('late', ['shared.example.test']);
    const op = cluster.replica();
    await cluster.reconcile(op, 'owner');
    const next = cluster.replica();
    // The status says 'late' was about to order (a dead process's intent), and nothing was placed for it.
    await cluster.reconcile(op, 'late', { diesAfterIntent: true });
    const placedByDead = cluster.ca.orders().at(-1)!.url;
    await cluster.reconcile(next, 'late');
    assert.notEqual(cluster.order('late')?.orderURL, cluster.order('owner')?.orderURL);
    assert.equal(cluster.order('late')?.orderURL, placedByDead, "the dead process's own order, not the one 'owner' records");
  });

  it('a CA without an orders list (Let’s Encrypt) makes the next leader place a new order', async () => {
    const cluster = createCluster();
    cluster.addCertificate('le', ['le.example.test']);
    await cluster.reconcile(cluster.replica(), 'le', { diesAfterIntent: true });
    const next = cluster.replica();
    cluster.ca.answerNext('listOrders', []);
    await cluster.reconcile(next, 'le');
    assert.equal(cluster.ca.orders().length, 2, 'the unrecorded order is left unused');
    assert.equal(cluster.order('le')?.orderURL, cluster.ca.orders()[1]!.url);
  });

  it('a listing that fails is a courtesy skipped: a new order is placed', async () => {
    const cluster = createCluster();
    cluster.addCertificate('flaky', ['flaky.example.test']);
    await cluster.reconcile(cluster.replica(), 'flaky', { diesAfterIntent: true });
    cluster.ca.failNext('listOrders', problem(503, 'serverInternal', 'try later'));
    assert.equal((await cluster.reconcile(cluster.replica(), 'flaky')).kind, 'progress');
    assert.equal(cluster.ca.orders().length, 2);
  });
});

describe('placing an order', () => {
  it('a newOrder the CA refused (4xx) created nothing: the retry places again without looking through the orders', async () => {
    const cluster = createCluster();
    cluster.addCertificate('refused', ['refused.example.test']);
    const op = cluster.replica();
    cluster.ca.failNext('newOrder', problem(400, 'rejectedIdentifier', 'no such name'));
    const first = await cluster.reconcile(op, 'refused');
    assert.equal(first.kind, 'error');
    assert.equal(cluster.failures.get('refused')!.error.code, 'AcmeOrderRejected');
    assert.equal(cluster.order('refused')?.state, 'ordering', 'the intent stays');
    assert.equal((await cluster.reconcile(op, 'refused')).kind, 'progress');
    assert.equal(cluster.ca.asked('listOrders').length, 0);
    assert.equal(cluster.ca.orders().length, 1);
  });

  it('a newOrder without an answer (5xx after the CA may have created it) is looked for among the orders before placing another', async () => {
    const cluster = createCluster();
    cluster.addCertificate('lost', ['lost.example.test']);
    const op = cluster.replica();
    cluster.ca.failNext('newOrder', problem(503, 'serverInternal', 'gateway timeout'));
    const created = cluster.ca.addOrder({ identifiers: [{ type: 'dns', value: 'lost.example.test' }] });
    assert.equal((await cluster.reconcile(op, 'lost')).kind, 'error');
    assert.equal((await cluster.reconcile(op, 'lost')).kind, 'progress');
    assert.equal(cluster.order('lost')?.orderURL, created.url, 'the order the CA created is taken up');
    assert.equal(cluster.ca.asked('newOrder').length, 1);
  });

  it('a rate-limited newOrder fails with the CA’s Retry-After, which the retry time honours', async () => {
    const cluster = createCluster();
    cluster.addCertificate('limited', ['limited.example.test']);
    cluster.ca.failNext('newOrder', problem(429, 'rateLimited', 'too many orders', { retryAfterMs: 3 * 3_600_000 }));
    await cluster.reconcile(cluster.replica(), 'limited');
    const f = cluster.failures.get('limited')!;
    assert.equal(f.error.code, 'AcmeRateLimited');
    assert.equal(f.nextRetryTime.getTime() - cluster.now().getTime(), 3 * 3_600_000);
  });
});

describe('challenges and validation', () => {
  it('a validation the CA fails is reported with its reason, the order is dropped, its answers are taken down, and the first retry waits 5 minutes', async () => {
    const cluster = createCluster();
    cluster.addCertificate('refused', ['refused.example.test']);
    const op = cluster.replica();
    await cluster.reconcile(op, 'refused');
    await cluster.reconcile(op, 'refused');
    cluster.ca.validate(cluster.order('refused')!.orderURL!, 'refused.example.test', { invalid: '127.0.0.2: Connection refused' });

    assert.equal((await cluster.reconcile(op, 'refused')).kind, 'failed');
    const f = cluster.failures.get('refused')!;
    assert.equal(f.error.code, 'AcmeValidationFailed');
    assert.match(f.error.message, /the CA could not validate refused\.example\.test \(http-01\): .*127\.0\.0\.2/);
    assert.equal(f.attempts, 1);
    assert.equal(f.nextRetryTime.getTime() - cluster.now().getTime(), 5 * MIN, 'the first retry waits 5 minutes');
    assert.equal(cluster.order('refused'), undefined, 'the failed order is dropped');
    assert.equal(cluster.answers.live.size, 0);
  });

  it('an authorization found invalid while the order is still pending fails the order the same way', async () => {
    const cluster = createCluster();
    cluster.addCertificate('early', ['early.example.test']);
    const op = cluster.replica();
    await cluster.reconcile(op, 'early');
    await cluster.reconcile(op, 'early');
    const orderURL = cluster.order('early')!.orderURL!;
    cluster.ca.validate(orderURL, 'early.example.test', { invalid: 'wrong answer' });
    cluster.ca.updateOrder(orderURL, { status: 'pending' });
    assert.equal((await cluster.reconcile(op, 'early')).kind, 'failed');
    assert.match(cluster.failures.get('early')!.error.message, /the CA could not validate early\.example\.test \(http-01\): wrong answer/);
    assert.equal(cluster.answers.live.size, 0);
  });

  it('an answer not visible yet holds the order back and says why: the CA is not asked to validate', async () => {
    const cluster = createCluster();
    cluster.addCertificate('hidden', ['hidden.example.test']);
    const op = cluster.replica();
    await cluster.reconcile(op, 'hidden');
    cluster.answers.visible = false;
    const held = await cluster.reconcile(op, 'hidden');
    assert.match(held.kind === 'progress' ? held.message : '', /waiting for challenges to be visible: hidden\.example\.test: self-check: 404/);
    assert.equal(cluster.ca.asked('submitChallenge').length, 0);
    assert.equal(cluster.order('hidden')?.challenges?.[0]?.state, 'presented');
  });

  it('an answer still not visible after 10 minutes fails the order and takes the answer down', async () => {
    const cluster = createCluster();
    cluster.addCertificate('never', ['never.example.test']);
    const op = cluster.replica();
    await cluster.reconcile(op, 'never');
    cluster.answers.visible = false;
    cluster.advance(PRESENT_TIMEOUT_MS + 1);
    assert.equal((await cluster.reconcile(op, 'never')).kind, 'failed');
    assert.match(cluster.failures.get('never')!.error.message, /the http-01 challenge for never\.example\.test was not visible after 10 minutes/);
    assert.equal(cluster.order('never'), undefined);
    assert.equal(cluster.answers.live.size, 0);
  });

  it('answers are taken down once the order is past pending, even those this replica never saw validated', async () => {
    const cluster = createCluster();
    cluster.addCertificate('two', ['a.example.test', 'b.example.test']);
    const before = cluster.replica();
    await cluster.reconcile(before, 'two');
    await cluster.reconcile(before, 'two');
    const orderURL = cluster.order('two')!.orderURL!;
    cluster.ca.validate(orderURL, 'a.example.test');
    cluster.ca.validate(orderURL, 'b.example.test');
    assert.equal(cluster.answers.live.size, 2);
    const after = cluster.replica();
    assert.equal((await cluster.reconcile(after, 'two')).kind, 'issued');
    assert.equal(cluster.answers.live.size, 0);
  });

  const polls: { name: string; order?: number; authz?: number; expected: number }[] = [
    { name: 'polls a pending order after 2 seconds when the CA sends no Retry-After', expected: 2_000 },
    { name: "polls sooner when an authorization's Retry-After says so", authz: 1_500, expected: 1_500 },
    { name: "follows the order's Retry-After over the authorization's", order: 30_000, authz: 1_500, expected: 30_000 },
    { name: 'waits at most a minute, whatever the Retry-After', order: 3_600_000, expected: 60_000 },
    { name: 'waits at least a second, whatever the Retry-After', order: 10, expected: 1_000 },
  ];
  for (const p of polls) {
    it(p.name, async () => {
      const cluster = createCluster();
      cluster.addCertificate('poll', ['poll.example.test']);
      const op = cluster.replica();
      await cluster.reconcile(op, 'poll');
      await cluster.reconcile(op, 'poll');
      const order = cluster.order('poll')!;
      if (p.order !== undefined) cluster.ca.updateOrder(order.orderURL!, { retryAfterMs: p.order });
      if (p.authz !== undefined) cluster.ca.updateAuthorization(order.challenges![0]!.authorizationURL, { retryAfterMs: p.authz });
      const step = await cluster.reconcile(op, 'poll');
      assert.equal(step.kind === 'progress' ? step.requeueAfterMs : undefined, p.expected);
    });
  }

  it("a processing order is polled at the CA's Retry-After", async () => {
    const cluster = createCluster({ finalizeTo: 'processing' });
    cluster.addCertificate('proc', ['proc.example.test']);
    const op = cluster.replica();
    await cluster.issueWith(op, 'proc', 3);
    cluster.ca.updateOrder(cluster.order('proc')!.orderURL!, { retryAfterMs: 7_000 });
    const step = await cluster.reconcile(op, 'proc');
    assert.equal(step.kind === 'progress' ? step.requeueAfterMs : undefined, 7_000);
    assert.equal(step.kind === 'progress' ? step.message : undefined, 'the CA is issuing the certificate');
  });
});

/** A certificate for the order's names, but for a key nobody kept. */
async function someoneElsesCertificate(): Promise<string> {
  const key = await generatePrivateKey({ algorithm: 'ECDSA', size: 256 });
  const der = await signCertificate({
    publicKey: key,
    subject: {},
    dnsNames: ['mismatch.example.test'],
    ipAddresses: [],
    uris: [],
    emailAddresses: [],
    usages: ['digital signature'],
    isCA: false,
    notBefore: new Date('2030-01-01T00:00:00Z'),
    notAfter: new Date('2030-04-01T00:00:00Z'),
    signer: { privateKey: key },
  });
  return encodePem('CERTIFICATE', der);
}
