// A control plane and a real node together: what tests about pods, images, volumes and routing ask for. Tests that
// need only the API keep startControlPlane, which starts faster.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane, type ControlPlaneOptions } from './controlplane.ts';
import { ensureOperatorImage, ensurePauseImage } from './image.ts';
import { startNode, type KubeNode, type NodeOptions } from './node.ts';

export interface Cluster {
  cp: ControlPlane;
  node: KubeNode;
  /** The operator image's reference (tagged as the chart's default image), imported into the node when asked for. */
  operatorImage?: string;
  /** Stops the node, then the control plane. */
  stop(): Promise<void>;
}

export interface ClusterOptions extends Omit<ControlPlaneOptions, 'forNode'> {
  node?: Omit<NodeOptions, 'imageArchives' | 'logDir'> & { extraImageArchives?: string[] };
  /** Build (or reuse) the image from the Dockerfile and import it into the node. */
  withOperatorImage?: boolean;
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const { node: nodeOpts, withOperatorImage, ...cpOpts } = opts;
  // Images first: a cold build takes minutes, and nothing has started yet that could time out meanwhile.
  const pause = await ensurePauseImage();
  const operator = withOperatorImage ? await ensureOperatorImage() : undefined;
  const cp = await startControlPlane({ ...cpOpts, forNode: true });
  let node: KubeNode;
  try {
    node = await startNode(cp, {
      ...nodeOpts,
      logDir: cpOpts.logDir,
      imageArchives: [pause.archive, ...(operator ? [operator.archive] : []), ...(nodeOpts?.extraImageArchives ?? [])],
    });
  } catch (err) {
    await cp.stop();
    throw err;
  }
  return {
    cp,
    node,
    operatorImage: operator?.ref,
    async stop() {
      try {
        await node.stop();
      } finally {
        await cp.stop();
      }
    },
  };
}

let applied = 0;

/** `kubectl apply --server-side` of manifests, as one List, under the field manager `fieldManager`. */
export async function applyManifests(cp: ControlPlane, objects: Record<string, unknown>[], fieldManager = 'certsmith-test'): Promise<void> {
  const file = join(cp.dir, `apply-${process.pid}-${++applied}.json`);
  writeFileSync(file, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }));
  await cp.kubectl('apply', '--server-side', `--field-manager=${fieldManager}`, '-f', file);
}
