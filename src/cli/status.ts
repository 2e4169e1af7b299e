// `certsmith status <certificate>`: reads the Certificate, its Secret and its events, then prints the view.
import type { Certificate } from '../api/certificate.ts';
import { CertsmithError } from '../errors.ts';
import { Resources } from '../kube/resources.ts';
import type { CliContext, CommandResult } from './context.ts';
import type { SecretObject } from '../api/secret.ts';
import type { IssuancePolicy } from '../api/issuance-policy.ts';
import type { KubeObject } from '../api/meta.ts';
import { buildPolicyView, type PolicyView } from './policy-view.ts';
import { buildStatusView, formatStatus, type EventLike } from './status-view.ts';

export async function statusCommand(ctx: CliContext, name: string): Promise<CommandResult> {
  const cert = await getCertificate(ctx, name);
  const ns = ctx.namespace;
  const secretName = cert.spec?.secretName;
  const [secret, events, policy] = await Promise.all([
    secretName ? ctx.client.get<SecretObject>(Resources.secrets, ns, secretName) : Promise.resolve(undefined),
    ctx.client.list<EventLike>(Resources.events, {
      namespace: ns,
      fieldSelector: `involvedObject.kind=Certificate,involvedObject.name=${name}`,
    }),
    readPolicy(ctx, cert),
  ]);
  // Events of an older Certificate of the same name are not this one's.
  const own = events.items.filter((e) => {
    const uid = (e as { involvedObject?: { uid?: string } }).involvedObject?.uid;
    return !uid || uid === cert.metadata.uid;
  });
  const view = { ...buildStatusView(cert, secret, own), policy };
  return { ok: true, json: view, text: formatStatus(view, ctx.clock.now()) };
}

/** The policy decision; a user who may not list IssuancePolicies or Namespaces is told so, not failed. */
async function readPolicy(ctx: CliContext, cert: Certificate): Promise<PolicyView> {
  try {
    const [policies, namespace] = await Promise.all([
      ctx.client.list<IssuancePolicy>(Resources.issuancePolicies, {}),
      ctx.client.get<KubeObject>(Resources.namespaces, undefined, ctx.namespace),
    ]);
    const objects = policies.items.map((p) => ({ name: p.metadata.name, spec: p.spec }));
    return buildPolicyView(cert, objects, namespace?.metadata.labels ?? {});
  } catch (err) {
    return { decision: 'unknown', why: `could not read IssuancePolicies and the namespace: ${(err as Error).message}` };
  }
}

/** The Certificate, or KubeNotFound with a message that says where we looked. */
export async function getCertificate(ctx: CliContext, name: string): Promise<Certificate> {
  const cert = await ctx.client.get<Certificate>(Resources.certificates, ctx.namespace, name);
  if (!cert) {
    throw new CertsmithError(
      'KubeNotFound',
      `Certificate ${ctx.namespace}/${name} not found (list them: kubectl get certificates.certsmith.dev -n ${ctx.namespace})`,
    );
  }
  return cert;
}
