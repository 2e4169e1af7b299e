// `certsmith inspect <secret>`: reads one Secret and decodes what it holds.
import { CertsmithError } from '../errors.ts';
import { Resources } from '../kube/resources.ts';
import type { CliContext, CommandResult } from './context.ts';
import { buildInspectView, formatInspect } from './inspect-view.ts';
import type { SecretObject } from '../api/secret.ts';

export async function inspectCommand(ctx: CliContext, name: string): Promise<CommandResult> {
  const secret = await ctx.client.get<SecretObject>(Resources.secrets, ctx.namespace, name);
  if (!secret) throw new CertsmithError('KubeNotFound', `Secret ${ctx.namespace}/${name} not found`);
  const view = await buildInspectView(secret);
  return { ok: true, json: view, text: formatInspect(view, ctx.clock.now()) };
}
