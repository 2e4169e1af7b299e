// The Certificate reconciler's decisions, from gathered facts to a plan and the status it results in, without a
// control plane: one table of situations, each with the plan it must come to.
import assert from 'node:assert/strict';
import { createPublicKey } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Certificate, CertificateSpec, CertificateStatus } from '../../../../src/api/certificate.ts';
import { ConditionType, findCondition } from '../../../../src/api/conditions.ts';
import type { Issuer } from '../../../../src/api/issuer.ts';
import { RENEW_REVISION_ANNOTATION } from '../../../../src/api/labels.ts';
import type { Condition } from '../../../../src/api/meta.ts';
import type { SecretObject } from '../../../../src/api/secret.ts';
import { desiredCertificate, leafRequest } from '../../../../src/controllers/certificates/desired.ts';
import type { CertificateFacts } from '../../../../src/controllers/certificates/gather.ts';
import { planCertificate, RECHECK_FOREIGN_SECRET_MS, type CertificatePlan } from '../../../../src/controllers/certificates/plan.ts';
import { buildSecret } from '../../../../src/controllers/certificates/secret-builder.ts';
import { readStoredSecret } from '../../../../src/controllers/certificates/stored-secret.ts';
import { encodePrivateKeyDer, encodePrivateKeyPem, generatePrivateKey } from '../../../../src/pki/index.ts';
import { issueCertificate } from '../../../../src/signers/issue.ts';
import type { PolicyObject } from '../../../../src/policy/issuance-policy.ts';

const NS = 'apps';
const NOW = new Date('2030-01-01T00:00:00Z');
const HOUR = 3_600_000;
const SPEC: CertificateSpec = { secretName: 'web-tls', issuerRef: { name: 'ca', kind: 'ClusterIssuer' }, dnsNames: ['web.apps.example'] };

function certificate(
  opts: { spec?: Partial<CertificateSpec>; status?: CertificateStatus; generation?: number; annotations?: Record<string, string> } = {},
): Certificate {
  return {
    apiVersion: 'certsmith.dev/v1alpha1',
    kind: 'Certificate',
    metadata: {
      name: 'web',
      namespace: NS,
      generation: opts.generation ?? 1,
      creationTimestamp: '2029-12-01T00:00:00Z',
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
    },
    spec: { ...SPEC, ...opts.spec } as CertificateSpec,
    ...(opts.status ? { status: opts.status } : {}),
  } as Certificate;
}

function issuer(opts: { ready?: boolean; acme?: boolean; generation?: number; observedGeneration?: number } = {}): Issuer {
  const ready: Condition = {
    type: ConditionType.Ready,
    status: opts.ready === false ? 'False' : 'True',
    reason: opts.ready === false ? 'SecretNotFound' : 'IssuerReady',
    message: opts.ready === false ? 'Secret ca-key not found' : 'ready',
    observedGeneration: opts.observedGeneration ?? 1,
  };
  return {
    apiVersion: 'certsmith.dev/v1alpha1',
    kind: 'ClusterIssuer',
    metadata: { name: 'ca', generation: opts.generation ?? 1 },
    spec: opts.acme ? { acme: { server: 'https://127.0.0.1:14000/dir', email: 'a@b.example', solvers: [] } } : { selfSigned: {} },
    status: { conditions: [ready] },
  } as unknown as Issuer;
}

/** A Secret as the operator writes it, holding a certificate for `spec` issued at `issuedAt`. */
async function managedSecret(spec: CertificateSpec, issuedAt: Date, revision = 1): Promise<SecretObject> {
  const desired = desiredCertificate(spec);
  const privateKey = await generatePrivateKey(desired.key);
  const issued = await issueCertificate({ kind: 'selfSigned' }, leafRequest(desired), { privateKey, publicKey: createPublicKey(privateKey) }, issuedAt);
  const contents = {
    certificatePem: issued.certificatePem,
    caPem: issued.caPem,
    privateKeyPem: encodePrivateKeyPem(privateKey, desired.keyEncoding),
    privateKeyDer: encodePrivateKeyDer(privateKey),
  };
  return buildSecret(NS, 'web', desired, contents, revision);
}

function foreignSecret(): SecretObject {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'web-tls', namespace: NS }, data: {} } as SecretObject;
}

function facts(
  cert: Certificate,
  opts: { secret?: SecretObject; issuer?: Issuer | null; inUseBy?: string; policies?: PolicyObject[]; policyDefault?: 'Allow' | 'Deny' } = {},
): CertificateFacts {
  const desired = desiredCertificate(cert.spec as CertificateSpec);
  const secret = opts.secret;
  const managed = secret?.metadata.labels?.['app.kubernetes.io/managed-by'] === 'certsmith';
  const ownership = opts.inUseBy
    ? ({ kind: 'inUse', by: opts.inUseBy } as const)
    : !secret
      ? ({ kind: 'free' } as const)
      : managed
        ? ({ kind: 'ours' } as const)
        : ({ kind: 'foreign' } as const);
  return {
    kind: 'valid',
    desired,
    secret,
    ownership,
    issuer: opts.issuer === null ? undefined : (opts.issuer ?? issuer()),
    stored: ownership.kind === 'ours' ? readStoredSecret(secret) : undefined,
    policy: { policies: opts.policies ?? [], namespaceLabels: { 'kubernetes.io/metadata.name': NS }, default: opts.policyDefault ?? 'Allow' },
  };
}

function ready(plan: CertificatePlan): Condition | undefined {
  return plan.kind === 'report' ? findCondition(plan.outcome.status.conditions, ConditionType.Ready) : undefined;
}

function issuing(plan: CertificatePlan): Condition | undefined {
  return plan.kind === 'report' ? findCondition(plan.outcome.status.conditions, ConditionType.Issuing) : undefined;
}

describe('certificate plan', () => {
  it('reports an invalid spec as Ready=False InvalidSpec with an event, and only once', () => {
    const cert = certificate();
    const invalid: CertificateFacts = { kind: 'invalidSpec', problems: ['renewBefore must be shorter than duration'] };
    const plan = planCertificate(cert, invalid, NOW);
    assert.equal(plan.kind, 'report');
    assert.equal(ready(plan)?.reason, 'InvalidSpec');
    assert.equal(ready(plan)?.message, 'Invalid spec: renewBefore must be shorter than duration');
    assert.equal(plan.kind === 'report' && plan.outcome.event?.reason, 'InvalidSpec');
    const again = planCertificate(certificate({ status: plan.kind === 'report' ? plan.outcome.status : {} }), invalid, NOW);
    assert.equal(again.kind === 'report' && again.outcome.event, undefined, 'the same problem is not announced twice');
  });

  it('refuses a Secret another live Certificate writes, naming it', () => {
    const cert = certificate();
    const plan = planCertificate(cert, facts(cert, { inUseBy: 'older' }), NOW);
    assert.equal(ready(plan)?.reason, 'SecretInUse');
    assert.match(ready(plan)?.message ?? '', /written by Certificate older/);
    assert.equal(plan.kind === 'report' && plan.outcome.event?.reason, 'Conflict');
  });

  it('leaves a Secret certsmith does not manage untouched and looks again in five minutes', () => {
    const cert = certificate();
    const plan = planCertificate(cert, facts(cert, { secret: foreignSecret() }), NOW);
    assert.equal(ready(plan)?.reason, 'SecretConflict');
    assert.equal(plan.kind === 'report' && plan.outcome.requeueAfterMs, RECHECK_FOREIGN_SECRET_MS);
  });

  it('finds a Secret holding what the spec asks for up to date, at the revision it carries', async () => {
    const cert = certificate();
    const plan = planCertificate(cert, facts(cert, { secret: await managedSecret(SPEC, new Date(NOW.getTime() - HOUR), 4) }), NOW);
    assert.equal(plan.kind, 'upToDate');
    assert.equal(plan.kind === 'upToDate' && plan.current.revision, 4);
    assert.equal(plan.kind === 'upToDate' && plan.ari, undefined, 'a CA issuer has no renewal information');
  });

  it('issues revision 1 when there is no Secret and the issuer is ready', () => {
    const cert = certificate();
    const plan = planCertificate(cert, facts(cert), NOW);
    assert.equal(plan.kind, 'issue');
    assert.equal(plan.kind === 'issue' && plan.revision, 1);
    assert.equal(plan.kind === 'issue' && plan.due.decision.reason, 'SecretMissing');
    assert.equal(plan.kind === 'issue' && plan.due.renewalOnly, false);
  });

  it('issues again at once when the spec no longer matches the certificate, counting on from the stored revision', async () => {
    const cert = certificate({ spec: { dnsNames: ['web.apps.example', 'www.apps.example'] } });
    const plan = planCertificate(cert, facts(cert, { secret: await managedSecret(SPEC, NOW, 2) }), NOW);
    assert.equal(plan.kind === 'issue' && plan.due.decision.reason, 'SpecChanged');
    assert.equal(plan.kind === 'issue' && plan.revision, 3);
  });

  it('waits for a missing issuer with Ready=False and Issuing=True naming it', () => {
    const cert = certificate();
    const plan = planCertificate(cert, facts(cert, { issuer: null }), NOW);
    assert.equal(ready(plan)?.reason, 'IssuerNotFound');
    assert.equal(ready(plan)?.message, 'ClusterIssuer ca does not exist');
    assert.equal(issuing(plan)?.status, 'True');
    assert.equal(plan.kind === 'report' && plan.outcome.notReady, true);
  });

  it('waits for an issuer whose Ready condition is for an older generation', () => {
    const cert = certificate();
    const plan = planCertificate(cert, facts(cert, { issuer: issuer({ generation: 2, observedGeneration: 1 }) }), NOW);
    assert.equal(ready(plan)?.reason, 'IssuerNotReady');
    assert.equal(ready(plan)?.message, 'ClusterIssuer ca is not ready: not checked yet');
  });

  it('keeps Ready=True while only a renewal waits on a broken issuer; Issuing carries the problem', async () => {
    const cert = certificate({ spec: { duration: '3h' } });
    // Issued 2.5 h ago for 3 h: past two thirds of its life, still valid.
    const secret = await managedSecret({ ...SPEC, duration: '3h' }, new Date(NOW.getTime() - 2.5 * HOUR));
    const plan = planCertificate(cert, facts(cert, { secret, issuer: issuer({ ready: false }) }), NOW);
    assert.equal(ready(plan)?.status, 'True');
    assert.equal(issuing(plan)?.reason, 'Renewing');
    assert.match(issuing(plan)?.message ?? '', /waiting: ClusterIssuer ca is not ready: Secret ca-key not found$/);
    assert.equal(plan.kind === 'report' && plan.outcome.notReady, undefined);
  });

  it('waits out the backoff of a failed attempt on the same spec without writing', () => {
    const nextRetryTime = new Date(NOW.getTime() + 90_000).toISOString();
    const failedIssuing: Condition = { type: 'Issuing', status: 'False', reason: 'Failed', message: 'x', observedGeneration: 1 };
    const cert = certificate({ status: { failedIssuanceAttempts: 2, nextRetryTime, conditions: [failedIssuing] } });
    assert.deepEqual(planCertificate(cert, facts(cert), NOW), { kind: 'requeue', afterMs: 90_000 });
  });

  it('retries at once when the spec changed since the failure', () => {
    const nextRetryTime = new Date(NOW.getTime() + 90_000).toISOString();
    const failedIssuing: Condition = { type: 'Issuing', status: 'False', reason: 'Failed', message: 'x', observedGeneration: 1 };
    const cert = certificate({ generation: 2, status: { failedIssuanceAttempts: 2, nextRetryTime, conditions: [failedIssuing] } });
    assert.equal(planCertificate(cert, facts(cert), NOW).kind, 'issue');
  });

  it('polls an ACME order when the CA said, not when its own status write wakes the Certificate', () => {
    const pending: Condition = { type: 'Issuing', status: 'True', reason: 'SecretMissing', message: 'x', observedGeneration: 1 };
    const acmeOrder = { orderURL: 'https://127.0.0.1:14000/order/1', nextPollTime: new Date(NOW.getTime() + 3_000).toISOString() };
    const cert = certificate({ status: { conditions: [pending], acmeOrder } as CertificateStatus });
    assert.deepEqual(planCertificate(cert, facts(cert, { issuer: issuer({ acme: true }) }), NOW), { kind: 'requeue', afterMs: 3_000 });
  });

  it('re-issues on request (certsmith renew) while the certificate is good, as a renewal', async () => {
    const cert = certificate({ annotations: { [RENEW_REVISION_ANNOTATION]: '1' }, status: { revision: 1 } });
    const plan = planCertificate(cert, facts(cert, { secret: await managedSecret(SPEC, NOW, 1) }), NOW);
    assert.equal(plan.kind === 'issue' && plan.due.decision.reason, 'RenewalRequested');
    assert.equal(plan.kind === 'issue' && plan.due.renewalOnly, true);
    assert.equal(plan.kind === 'issue' && plan.revision, 2);
  });

  it('is done with a renewal request once the revision it named was replaced', async () => {
    const cert = certificate({ annotations: { [RENEW_REVISION_ANNOTATION]: '1' }, status: { revision: 2 } });
    assert.equal(planCertificate(cert, facts(cert, { secret: await managedSecret(SPEC, NOW, 2) }), NOW).kind, 'upToDate');
  });

  it('refuses what an issuance policy denies before any key or order: Ready=False PolicyDenied naming the rule and the field', () => {
    const cert = certificate();
    const policy = {
      name: 'team',
      spec: { issuers: [{ kind: 'ClusterIssuer', name: 'ca' }], namespaces: { names: [NS] }, allowed: { dnsZones: ['other.example'] } },
    };
    const plan = planCertificate(cert, facts(cert, { policies: [policy] }), NOW);
    assert.equal(plan.kind, 'report');
    assert.equal(ready(plan)?.reason, 'PolicyDenied');
    assert.equal(
      ready(plan)?.message,
      'Denied by issuance policy: IssuancePolicy team: spec.dnsNames[0] "web.apps.example" is not allowed by spec.allowed.dnsNames or spec.allowed.dnsZones',
    );
    assert.equal(plan.kind === 'report' && plan.outcome.event?.reason, 'PolicyDenied');
    assert.equal(issuing(plan), undefined, 'nothing is attempted');
  });

  it('issues what a policy allows, and denies everything when the cluster default is Deny and no policy governs the issuer', () => {
    const cert = certificate();
    const policy = {
      name: 'team',
      spec: { issuers: [{ kind: 'ClusterIssuer', name: 'ca' }], namespaces: { names: [NS] }, allowed: { dnsZones: ['apps.example'] } },
    };
    assert.equal(planCertificate(cert, facts(cert, { policies: [policy] }), NOW).kind, 'issue');
    const denied = planCertificate(cert, facts(cert, { policyDefault: 'Deny' }), NOW);
    assert.match(ready(denied)?.message ?? '', /no IssuancePolicy governs ClusterIssuer ca/);
  });
});
