// `certsmith check`: is the API server reachable, are the CRDs installed and the same as this version's, is the
// operator running (its Lease held and fresh; optionally its health endpoint). Every check runs; any failure makes
// the exit code 1.
import { customResourceDefinitions } from '../api/crds.ts';
import { Resources } from '../kube/resources.ts';
import { compareCrd, evaluateLease, formatCheck, report, type CheckResult, type CrdLike, type LeaseLike } from './check-view.ts';
import type { CliContext, CommandResult } from './context.ts';

const HEALTH_TIMEOUT_MS = 5_000;

export async function checkCommand(ctx: CliContext): Promise<CommandResult> {
  const checks: CheckResult[] = [];
  const api = await checkApi(ctx);
  checks.push(api);
  if (api.ok) {
    for (const want of customResourceDefinitions() as CrdLike[]) {
      checks.push(
        await guarded(`crd/${want.metadata.name}`, async () => {
          const have = await ctx.client.get<CrdLike>(Resources.customResourceDefinitions, undefined, want.metadata.name);
          return compareCrd(want, have);
        }),
      );
    }
    const { operatorNamespace: ns, leaseName } = ctx.options;
    checks.push(
      await guarded('operator/lease', async () => {
        const lease = await ctx.client.get<LeaseLike>(Resources.leases, ns, leaseName);
        return evaluateLease(lease, `${ns}/${leaseName}`, ctx.clock.now());
      }),
    );
  }
  if (ctx.options.healthUrl) checks.push(await checkHealth(ctx.options.healthUrl));
  const r = report(checks);
  return { ok: r.ok, json: r, text: formatCheck(r) };
}

async function checkApi(ctx: CliContext): Promise<CheckResult> {
  return guarded('api', async () => {
    const v = await ctx.client.getPath<{ gitVersion?: string }>('/version');
    return { name: 'api', ok: true, message: `reachable at ${ctx.client.server} (Kubernetes ${v?.gitVersion ?? 'version unknown'})` };
  });
}

async function checkHealth(url: string): Promise<CheckResult> {
  const name = 'operator/health';
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(HEALTH_TIMEOUT_MS) });
    const body = (await res.text()).trim().slice(0, 200);
    return res.ok
      ? { name, ok: true, message: `${url} answered ${res.status}${body ? ` ${body}` : ''}` }
      : { name, ok: false, message: `${url} answered ${res.status}${body ? `: ${body}` : ''}` };
  } catch (err) {
    return { name, ok: false, message: `${url} unreachable: ${(err as Error).message}` };
  }
}

/** A check that throws (an API error) is a failed check, not a crashed command. */
async function guarded(name: string, run: () => Promise<CheckResult>): Promise<CheckResult> {
  try {
    return await run();
  } catch (err) {
    return { name, ok: false, message: (err as Error).message };
  }
}
