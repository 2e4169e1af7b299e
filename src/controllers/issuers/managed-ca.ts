// One step of a managed CA (ca.managed): gather what the rotation policy decides on — the generations in the
// issuer's Secret, the TrustBundles that source the issuer, the leaves still signed by retiring generations —
// decide (policy/ca-rotation.ts), write the Secret when the generations change, and return the issuer's status.
// The pure parts are in managed-ca-plan.ts.
import type { Logger } from 'pino';
import { caSecretNameOf, type Issuer, type IssuerKind, type ManagedCa } from '../../api/issuer.ts';
import type { SecretObject } from '../../api/secret.ts';
import type { TrustBundle } from '../../api/trust-bundle.ts';
import type { KubeClient } from '../../kube/client.ts';
import { createOwnWrites } from '../../kube/own-writes.ts';
import { Resources } from '../../kube/resources.ts';
import { decideRotation } from '../../policy/ca-rotation.ts';
import { createGeneration } from '../../signers/managed-ca.ts';
import type { Store } from '../store.ts';
import { countLeavesSignedBy } from './leaves.ts';
import {
  afterStep,
  caOwner,
  caSecret,
  checkCaSecret,
  managedCaOutcome,
  managedCaTimings,
  readState,
  rotationInputs,
  sourcesIssuer,
  type RotationStep,
} from './managed-ca-plan.ts';
import type { CaOutcome } from './status.ts';

export interface ManagedCaDeps {
  client: KubeClient;
  /** Managed Secrets (the informer cache): the CA Secret, and the leaves counted while a generation retires. */
  secrets: Store<SecretObject>;
  bundles: Store<TrustBundle>;
  clusterResourceNamespace: string;
  /** Pods still holding a certificate of these retiring generations (pod certificates this issuer signed). */
  podCertificatesSignedBy?: (o: { kind: IssuerKind; issuer: Issuer; retiring: readonly { fingerprint: string; notBefore: Date }[]; now: Date }) => number;
  /**
   * With --shards, the leaves of Certificates of every shard, read from the API server only when `needed` (while a
   * generation retires): this replica's cache holds its own shards' Secrets only. Absent: the cache is every leaf.
   */
  leafSecrets?: (needed: boolean) => Promise<readonly SecretObject[]>;
}

export interface ManagedCaStep {
  issuer: Issuer;
  kind: IssuerKind;
  spec: ManagedCa;
  now: Date;
  log: Logger;
  /** Aborted when the controller stops: no generation is made or written after it. */
  signal: AbortSignal;
}

export function createManagedCa(deps: ManagedCaDeps) {
  const own = createOwnWrites<SecretObject>();

  return async function stepManagedCa({ issuer, kind, spec, now, log, signal }: ManagedCaStep): Promise<CaOutcome> {
    const timings = managedCaTimings(spec);
    const namespace = kind === 'ClusterIssuer' ? deps.clusterResourceNamespace : (issuer.metadata.namespace ?? '');
    const name = caSecretNameOf(issuer)!;
    const owner = caOwner(kind, issuer);

    // Gather. Foreign Secrets are not cached: an absent cache entry is confirmed with a GET before creating.
    const secret =
      own.freshest(namespace, name, deps.secrets.get(namespace, name)) ?? (await deps.client.get<SecretObject>(Resources.secrets, namespace, name));
    checkCaSecret(secret, `${namespace}/${name}`, owner, now);
    const state = readState(secret);
    const bundles = deps.bundles.list().filter((b) => sourcesIssuer(b, kind, issuer));
    const leaves = deps.leafSecrets ? await deps.leafSecrets(state.gens.retiring.length > 0) : deps.secrets.list();

    // Decide.
    const decision = decideRotation(
      rotationInputs({
        now,
        state,
        timings,
        bundles,
        countLeaves: (fps) =>
          countLeavesSignedBy(leaves, fps, now) +
          (deps.podCertificatesSignedBy?.({ kind, issuer, retiring: state.gens.retiring.filter((g) => fps.has(g.fingerprint)), now }) ?? 0),
        recorded: issuer.status?.ca,
      }),
    );
    const action = decision.action;
    if (action.kind === 'wait') return managedCaOutcome(state, decision, false, now);

    // Act: make a generation if asked, and write the Secret.
    signal.throwIfAborted();
    const step: RotationStep =
      action.kind === 'create'
        ? { ...action, generation: await createGeneration({ commonName: spec.commonName, durationMs: timings.durationMs, key: timings.key }, now) }
        : action;
    const next = afterStep(state, step, now);
    const body = caSecret({ existing: secret, namespace, name, owner, state: next, now });
    signal.throwIfAborted(); // a key can take seconds to generate
    // PUT with the resourceVersion read: a Secret changed since (or created by someone else) is never overwritten.
    own.remember(secret ? await deps.client.replace(Resources.secrets, body) : await deps.client.create(Resources.secrets, body));
    log.info({ action: action.kind, phase: decision.phase }, decision.message);
    return managedCaOutcome(next, decision, true, now);
  };
}
