// Which pod holds a certificate from which CA generation. PodCertificateRequests are deleted 15 minutes after they are
// made (kube-controller-manager's cleaner) while their certificates live for hours, so the API cannot answer "does a
// pod still hold a certificate of the retiring CA?": the signer remembers what it signed, per pod, here.
//
// The ledger starts empty. A generation that existed before this process began may have signed pod certificates
// it never saw: until every such certificate has expired (the issuer's longest pod lifetime after the start), it
// counts as one unseen certificate, so a rotation waits rather than cut off a pod. In memory only: the leader holds it.
import type { IssuerKind } from '../../api/issuer.ts';

export interface PodCertificateRecord {
  /** The issuer, as "<kind>/<namespace>/<name>". */
  issuer: string;
  namespace: string;
  podName: string;
  podUID: string;
  /** SHA-256 of the signing CA certificate. */
  caFingerprint: string;
  notAfter: Date;
}

export interface RetiringGeneration {
  fingerprint: string;
  notBefore: Date;
}

export interface PodCertificateLedger {
  /** A certificate was issued to this pod: it replaces the pod's earlier one for this issuer. */
  record(r: PodCertificateRecord): void;
  /** The pod is gone. */
  forgetPod(podUID: string): void;
  /** Pods holding an unexpired certificate of one of these generations (plus one per generation older than the ledger, for a while). */
  countSignedBy(o: { issuer: string; generations: readonly RetiringGeneration[]; maxLifetimeMs: number; now: Date }): number;
  /** The records of one issuer signed by these generations: the pods to look at. */
  holders(issuer: string, fingerprints: ReadonlySet<string>, now: Date): PodCertificateRecord[];
  size(): number;
}

export function issuerLedgerKey(kind: IssuerKind, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ''}/${name}`;
}

export function createPodCertificateLedger(started: Date): PodCertificateLedger {
  // CA certificates carry whole seconds: a CA made in this process's first second is not older than it.
  const startedAt = new Date(Math.floor(started.getTime() / 1000) * 1000);
  // One entry per pod and issuer: a pod with two podCertificate volumes of one signer holds both from one generation
  // once both are refreshed; the later record stands for the pod.
  const records = new Map<string, PodCertificateRecord>();
  const keyOf = (issuer: string, podUID: string) => `${issuer}\0${podUID}`;
  const prune = (now: Date) => {
    for (const [k, r] of records) if (r.notAfter <= now) records.delete(k);
  };
  return {
    record(r) {
      records.set(keyOf(r.issuer, r.podUID), r);
    },
    forgetPod(podUID) {
      for (const [k, r] of records) if (r.podUID === podUID) records.delete(k);
    },
    countSignedBy({ issuer, generations, maxLifetimeMs, now }) {
      prune(now);
      const fps = new Set(generations.map((g) => g.fingerprint));
      let n = 0;
      for (const r of records.values()) if (r.issuer === issuer && fps.has(r.caFingerprint)) n++;
      const unseenUntil = startedAt.getTime() + maxLifetimeMs;
      if (now.getTime() < unseenUntil) for (const g of generations) if (g.notBefore < startedAt) n++;
      return n;
    },
    holders(issuer, fingerprints, now) {
      prune(now);
      return [...records.values()].filter((r) => r.issuer === issuer && fingerprints.has(r.caFingerprint));
    },
    size: () => records.size,
  };
}
