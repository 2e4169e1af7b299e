// The operator, pause and Traefik images for a local node with no registry: built (on first use) by build-image.sh into
// docker-archive tarballs, and imported into a containerd with ctr. A missing tool or a failed build is a hard
// failure naming the fix, never a skip.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const script = join(import.meta.dirname, 'build-image.sh');
const repoRoot = join(import.meta.dirname, '..', '..');
const buildHint = (target: string) =>
  `run \`bash test/env/system-packages.sh\` (debootstrap, buildah, runc) and \`npm ci\`, then \`bash test/env/build-image.sh ${target}\` (as root)`;

/** The kubelet's sandbox image, as containerd's CRI config names it. */
export const PAUSE_IMAGE_REF = 'registry.k8s.io/pause:3.10';

export interface ImageArchive {
  /** A docker-archive tarball, for `ctr images import`. */
  archive: string;
  /** The name the archive tags the image with. */
  ref: string;
}

/** The chart's default image (repository ghcr.io/certsmith/certsmith, tag its appVersion), tagged with package.json's version. */
export function operatorImageRef(): string {
  const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
  return `ghcr.io/certsmith/certsmith:${version}`;
}

const pending = new Map<string, Promise<ImageArchive>>();

/**
 * The operator image built from the repo's Dockerfile. Instant when the archive's inputs (Dockerfile, package files,
 * src/, crds/, tsconfig) are unchanged; a cold build (bases included) takes minutes and streams its progress to stderr.
 */
export function ensureOperatorImage(): Promise<ImageArchive> {
  return ensure('operator', operatorImageRef());
}

/** registry.k8s.io/pause:3.10, built from test/env/images/pause. */
export function ensurePauseImage(): Promise<ImageArchive> {
  return ensure('pause', PAUSE_IMAGE_REF);
}

/** Traefik's version, as test/env/ingress-versions.env pins it. */
export function traefikVersion(): string {
  const m = /^TRAEFIK_VERSION=(\S+)$/m.exec(readFileSync(join(import.meta.dirname, 'ingress-versions.env'), 'utf8'));
  if (!m) throw new Error('test/env/ingress-versions.env has no TRAEFIK_VERSION line');
  return m[1]!;
}

/**
 * docker.io/library/traefik:<version>: the binary build-traefik.sh builds from Traefik's Go module, alone in an image.
 * A cold build takes about 20 minutes (npm test starts it in the background before the tests); warm, it only hashes.
 */
export function ensureTraefikImage(): Promise<ImageArchive> {
  return ensure('traefik', `docker.io/library/traefik:${traefikVersion()}`);
}

function ensure(target: 'operator' | 'pause' | 'traefik', ref: string): Promise<ImageArchive> {
  let p = pending.get(target);
  if (!p) {
    p = runBuild(target).then((archive) => ({ archive, ref }));
    // A failed build is retried by the next caller, not remembered.
    p.catch(() => pending.delete(target));
    pending.set(target, p);
  }
  return p;
}

function runBuild(target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [script, target], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    // Prefix each line so a cold build's progress is recognisable among test output.
    createInterface({ input: child.stderr }).on('line', (line) => process.stderr.write(`[build-image] ${line}\n`));
    child.on('error', (err) => reject(new Error(`could not run ${script}: ${err.message}`)));
    child.on('close', (code) => {
      const archive = out.trim().split('\n').pop() ?? '';
      if (code === 0 && archive && existsSync(archive)) resolve(archive);
      else reject(new Error(`building the ${target} image failed (exit ${code}); see the [build-image] lines above, then ${buildHint(target)}`));
    });
  });
}

/**
 * Imports a docker-archive tarball into the k8s.io namespace (the one the CRI plugin, hence the kubelet, sees) of the
 * containerd listening on `containerdSocket`, and unpacks it for the snapshotter (containerd's default unless given).
 */
export function importImage(ctrPath: string, containerdSocket: string, archive: string, opts: { snapshotter?: string } = {}): Promise<void> {
  if (!existsSync(archive)) {
    return Promise.reject(new Error(`image archive ${archive} does not exist: ${buildHint('[operator|pause|traefik]')}`));
  }
  const args = ['--address', containerdSocket, '--namespace', 'k8s.io', 'images', 'import'];
  if (opts.snapshotter) args.push('--snapshotter', opts.snapshotter);
  args.push(archive);
  return new Promise((resolve, reject) => {
    const child = spawn(ctrPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          err.code === 'ENOENT'
            ? `ctr not found at "${ctrPath}": install containerd (\`bash test/env/system-packages.sh\`)`
            : `could not run ${ctrPath}: ${err.message}`,
        ),
      ),
    );
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`ctr images import ${archive} into ${containerdSocket} failed (exit ${code}): ${output.trim()}`));
    });
  });
}
