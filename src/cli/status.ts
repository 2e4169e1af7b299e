// `certsmith status <certificate>`: reads the Certificate, its Secret and its events, then prints the view.
import type { Certificate } from '../api/certificate.ts';
import { CertsmithError } from '../errors.ts';
import { Resources } from '../kube/resources.ts';
import type { CliContext, CommandResult } from './context.ts';
import type { SecretObject } from '../api/secret.ts';
import { buildStatusView, formatStatus, type EventLike } from './status-view.ts';

export async function statusCommand(ctx: CliContext, name: string): Promise<CommandResult> {
  const cert = await getCertificate(ctx, name);
  const ns = ctx.namespace;
  const secretName = cert.spec?.secretName;
  const [secret, events] = await Promise.all([
    secretName ? ctx.client.get<SecretObject>(Resources.secrets, ns, secretName) : Promise.resolve(undefined),
    ctx.client.list<EventLike>(Resources.events, {
      namespace: ns,
      fieldSelector: `involvedObject.kind=Certificate,involvedObject.name=${name}`,
    }),
  ]);
  // Events of an older Certificate of the same name are not this one's.
  const own = events.items.filter((e) => {
    const uid = (e as { involvedObject?: { uid?: string } }).involvedObject?.uid;
    return !uid || uid === cert.metadata.uid;
  });
  const view = buildStatusView(cert, secret, own);
  return { ok: true, json: view, text: formatStatus(view, ctx.clock.now()) };
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
