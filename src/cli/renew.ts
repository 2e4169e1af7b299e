// `certsmith renew <certificate>`: asks the operator to re-issue now. It sets the Certificate's
// certsmith.dev/renew-revision annotation to the revision the Secret holds; the issuance chain re-issues while the
// Secret still holds that revision (reason RenewalRequested), so the request is done exactly once.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Certificate } from '../api/certificate.ts';
import { ConditionType, findCondition } from '../api/conditions.ts';
import { RENEW_REVISION_ANNOTATION, REVISION_ANNOTATION } from '../api/labels.ts';
import { CertsmithError } from '../errors.ts';
import { isConflict } from '../kube/errors.ts';
import { Resources } from '../kube/resources.ts';
import type { CliContext, CommandResult } from './context.ts';
import type { SecretObject } from '../api/secret.ts';
import { getCertificate } from './status.ts';

export interface RenewResult {
  namespace: string;
  name: string;
  /** The revision being replaced. */
  revision: number;
  requested: boolean;
  /** With --wait: the revision written by the renewal. */
  newRevision?: number;
}

const CONFLICT_RETRIES = 5;

export async function renewCommand(ctx: CliContext, name: string): Promise<CommandResult> {
  const ns = ctx.namespace;
  let revision: number | undefined;
  // Read-modify-write with the resourceVersion as precondition: the operator writes this object too. A merge of
  // one annotation, as `kubectl annotate` does, under no field manager of the operator's.
  for (let attempt = 1; ; attempt++) {
    const cert = await getCertificate(ctx, name);
    revision = await currentRevision(ctx, cert);
    if (revision === undefined) {
      const ready = findCondition(cert.status?.conditions, ConditionType.Ready);
      throw new CertsmithError(
        'CliNotIssued',
        `Certificate ${ns}/${name} has no issued certificate to renew yet${ready ? ` (Ready=${ready.status} ${ready.reason ?? ''}: ${ready.message ?? ''})` : ''}; the operator issues it without a request`,
      );
    }
    if (cert.metadata.annotations?.[RENEW_REVISION_ANNOTATION] === String(revision)) break; // already requested
    const updated: Certificate = {
      ...cert,
      metadata: { ...cert.metadata, annotations: { ...cert.metadata.annotations, [RENEW_REVISION_ANNOTATION]: String(revision) } },
    };
    try {
      await ctx.client.replace(Resources.certificates, updated);
      break;
    } catch (err) {
      if (!isConflict(err) || attempt >= CONFLICT_RETRIES) throw err;
    }
  }

  const result: RenewResult = { namespace: ns, name, revision, requested: true };
  if (ctx.options.wait) result.newRevision = await waitForNewRevision(ctx, name, revision);
  const text =
    result.newRevision !== undefined
      ? `Certificate ${ns}/${name} renewed: revision ${revision} replaced by revision ${result.newRevision}.\n`
      : `Renewal of Certificate ${ns}/${name} requested: the operator replaces revision ${revision} now (follow it: certsmith status ${name} -n ${ns}).\n`;
  return { ok: true, json: result, text };
}

/** The revision the Secret holds, as the operator counts it: the larger of status.revision and the Secret's. */
async function currentRevision(ctx: CliContext, cert: Certificate): Promise<number | undefined> {
  const secretName = cert.spec?.secretName;
  const secret = secretName ? await ctx.client.get<SecretObject>(Resources.secrets, ctx.namespace, secretName) : undefined;
  const fromSecret = Number(secret?.metadata.annotations?.[REVISION_ANNOTATION]);
  const revisions = [cert.status?.revision, Number.isInteger(fromSecret) && fromSecret > 0 ? fromSecret : undefined].filter(
    (r): r is number => r !== undefined && r > 0,
  );
  return revisions.length > 0 ? Math.max(...revisions) : undefined;
}

async function waitForNewRevision(ctx: CliContext, name: string, revision: number): Promise<number> {
  const deadline = Date.now() + ctx.options.timeoutSeconds * 1000;
  let last: Certificate | undefined;
  while (Date.now() < deadline) {
    last = await getCertificate(ctx, name);
    const ready = findCondition(last.status?.conditions, ConditionType.Ready);
    const now = last.status?.revision ?? 0;
    if (now > revision && ready?.status === 'True') return now;
    await sleep(500);
  }
  const issuing = findCondition(last?.status?.conditions, ConditionType.Issuing);
  throw new CertsmithError(
    'CliTimeout',
    `Certificate ${ctx.namespace}/${name} still holds revision ${revision} after ${ctx.options.timeoutSeconds}s${issuing ? ` (Issuing=${issuing.status} ${issuing.reason ?? ''}: ${issuing.message ?? ''})` : ''}`,
  );
}
