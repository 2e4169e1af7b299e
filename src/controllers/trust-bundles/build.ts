// Reads a TrustBundle's sources and builds its bundle and truststores. A failure the user has to fix (a source in
// a namespace not allowed, missing, holding a key or bad PEM; a bundle empty, expired or too large) is returned
// with its condition reason, so the reconcile still reports it and keeps the targets as they are; Kube* errors are
// thrown (retry).
import type { TrustBundleSpec } from '../../api/trust-bundle.ts';
import { errorCode } from '../../errors.ts';
import { buildBundle, type Bundle } from '../../trust/bundle.ts';
import { refuseSourcesOutside } from '../../trust/source-namespaces.ts';
import { truststores } from './formats.ts';
import { readSources, type SourceDeps } from './sources.ts';
import { buildFailedReason } from './status.ts';
import type { BinaryFormats } from './targets.ts';

export interface BuildFailure {
  code: string;
  reason: string;
  message: string;
}

export type BuildResult = { bundle: Bundle; formats: BinaryFormats; failure?: undefined } | { bundle?: undefined; failure: BuildFailure };

export async function buildFromSources(spec: TrustBundleSpec, sources: SourceDeps, o: { now: Date; maxBytes?: number }): Promise<BuildResult> {
  try {
    // Before the first read: a namespace not allowed is refused alike whether or not what it names exists.
    refuseSourcesOutside(spec, { trust: sources.clusterResourceNamespace, allowed: sources.sourceNamespaces });
    const materials = await readSources(spec, sources);
    const bundle = buildBundle(materials, {
      now: o.now,
      excludeExpired: spec.filters?.excludeExpired,
      excludeNonCA: spec.filters?.excludeNonCA,
      maxBytes: o.maxBytes,
    });
    return { bundle, formats: await truststores(spec, bundle.pem, sources.objects) };
  } catch (err) {
    const code = errorCode(err);
    if (code === undefined || code.startsWith('Kube')) throw err;
    return { failure: { code, reason: buildFailedReason(code), message: (err as Error).message } };
  }
}
