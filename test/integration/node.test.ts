// The real node itself: containerd, kubelet, kube-scheduler and kube-proxy start beside the control plane, run a
// pod that mounts a Secret, drop pod traffic that would leave the machine, and put the machine back as it was —
// when stopped, when the run is interrupted, and at the next start after a run was killed outright.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { startCluster, type Cluster } from '../env/cluster.ts';
import { EGRESS_CHAIN, nodeLeftovers, NODE_ADDRESS, POD_BRIDGE, SYSCTLS } from '../env/node-host.ts';
import { NODE_DIR, NODE_NAME, podVolumeDir, SYSCTL_FILE } from '../env/node.ts';
import { waitFor } from './helpers/wait.ts';

function sysctls(): Record<string, string> {
  return Object.fromEntries(SYSCTLS.map((k) => [k, readFileSync(join('/proc/sys', k), 'utf8').trim()]));
}

function loopbackHasNodeAddress(): boolean {
  return execFileSync('ip', ['-o', '-4', 'addr', 'show', 'dev', 'lo'], { encoding: 'utf8' }).includes(` ${NODE_ADDRESS}/32 `);
}

function pause(name: string, secret: string) {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      // kubelet sets up only the volumes a container mounts.
      containers: [
        { name: 'pause', image: 'registry.k8s.io/pause:3.10', imagePullPolicy: 'Never', volumeMounts: [{ name: 'tls', mountPath: '/tls', readOnly: true }] },
      ],
      volumes: [{ name: 'tls', secret: { secretName: secret } }],
      automountServiceAccountToken: false,
    },
  };
}

describe('a real node', () => {
  const before = sysctls();
  let cluster: Cluster | undefined;
  after(async () => cluster?.stop());

  it('becomes Ready and runs a pod whose mounted Secret follows the Secret, with pod egress dropped', async () => {
    cluster = await startCluster({ node: { syncFrequency: '5s' } });
    const { cp } = cluster;
    const version = await cp.kubectl('get', 'node', NODE_NAME, '-o', 'jsonpath={.status.nodeInfo.kubeletVersion}');
    assert.match(version, /^v1\.37\./);
    assert.equal(await cp.kubectl('get', 'node', NODE_NAME, '-o', 'jsonpath={.status.addresses[?(@.type=="InternalIP")].address}'), NODE_ADDRESS);

    // The egress drop is the first thing forwarded pod traffic meets.
    const forward = execFileSync('iptables', ['-t', 'mangle', '-S', 'FORWARD'], { encoding: 'utf8' }).split('\n');
    assert.equal(forward[1], `-A FORWARD -j ${EGRESS_CHAIN}`);
    assert.match(
      execFileSync('iptables', ['-t', 'mangle', '-S', EGRESS_CHAIN], { encoding: 'utf8' }),
      new RegExp(`-s 10\\.244\\.0\\.0/24 ! -o ${POD_BRIDGE} -j DROP`),
    );

    await cp.kubectl('create', 'secret', 'generic', 'mounted', '-n', 'default', '--from-literal=value=one');
    const podFile = join(cp.dir, 'pod.json');
    writeFileSync(podFile, JSON.stringify(pause('pause', 'mounted')));
    await cp.kubectl('apply', '-f', podFile);
    await waitFor('the pod Running', async () => (await cp.kubectl('get', 'pod', 'pause', '-n', 'default', '-o', 'jsonpath={.status.phase}')) === 'Running', {
      timeoutMs: 60_000,
    });
    const uid = await cp.kubectl('get', 'pod', 'pause', '-n', 'default', '-o', 'jsonpath={.metadata.uid}');
    const file = join(podVolumeDir(uid, 'secret', 'tls'), 'value');
    assert.equal(readFileSync(file, 'utf8'), 'one');
    // kubelet swaps the ..data symlink: the same path shows the new value once the pod is synced again.
    await cp.kubectl('patch', 'secret', 'mounted', '-n', 'default', '-p', JSON.stringify({ data: { value: Buffer.from('two').toString('base64') } }));
    await waitFor('the mounted file to show the new value', () => readFileSync(file, 'utf8') === 'two', { timeoutMs: 90_000 });
    const podIp = await cp.kubectl('get', 'pod', 'pause', '-n', 'default', '-o', 'jsonpath={.status.podIP}');
    assert.match(podIp, /^10\.244\.0\.\d+$/);
  });

  it('stop() removes the processes, pods, mounts, network namespaces, bridge and chains, and restores the kernel settings', async () => {
    assert.ok(cluster, 'the previous test started a cluster');
    await cluster.stop();
    cluster = undefined;
    assert.deepEqual(nodeLeftovers(NODE_DIR, SYSCTL_FILE), []);
    assert.deepEqual(sysctls(), before);
    assert.equal(loopbackHasNodeAddress(), false, 'the node address is gone from loopback');
  });

  it('an interrupted run puts the machine back on its way out; a killed one is cleaned up by the next start', async () => {
    const child = await startChild();
    child.kill('SIGINT');
    await new Promise((r) => child.once('exit', r));
    assert.deepEqual(nodeLeftovers(NODE_DIR, SYSCTL_FILE), [], 'nothing left after SIGINT');
    assert.deepEqual(processesMentioning(child.dir), [], 'no control-plane process left after SIGINT');
    assert.equal(existsSync(child.dir), false, 'the control plane directory is removed');
    assert.deepEqual(sysctls(), before);

    const killed = await startChild();
    // A killed run: the whole process group at once (the child and its control plane), as a terminal's or CI's kill does.
    const exited = new Promise((r) => killed.once('exit', r));
    process.kill(-killed.pid!, 'SIGKILL');
    await exited;
    assert.deepEqual(processesMentioning(killed.dir), [], 'no control-plane process outlives the killed group');
    rmSync(killed.dir, { recursive: true, force: true });
    assert.ok(nodeLeftovers(NODE_DIR, SYSCTL_FILE).length > 0, 'SIGKILL leaves the node behind');
    assert.ok(existsSync(SYSCTL_FILE), 'with the kernel settings from before it');

    cluster = await startCluster();
    assert.deepEqual(
      readdirSync('/var/run/netns').filter((n) => n.startsWith('cni-')),
      [],
      "the killed run's pods are gone",
    );
    await cluster.stop();
    cluster = undefined;
    assert.deepEqual(nodeLeftovers(NODE_DIR, SYSCTL_FILE), []);
    assert.deepEqual(sysctls(), before);
  });
});

async function startChild() {
  // Its own process group, so a kill can take its control plane with it.
  const child = spawn(process.execPath, [join(import.meta.dirname, 'helpers', 'cluster-child.ts')], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  await waitFor(
    'the child cluster to be ready',
    () => {
      if (child.exitCode !== null) throw new Error(`the child exited (${child.exitCode})`);
      return out.includes('ready');
    },
    { timeoutMs: 180_000, intervalMs: 500 },
  );
  return Object.assign(child, { dir: /ready (\S+)/.exec(out)![1]! });
}

/** Commands of the processes whose command line mentions `dir`. */
function processesMentioning(dir: string): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .flatMap((p) => {
      try {
        const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        return cmd.includes(dir) ? [cmd.split('\0')[0]!] : [];
      } catch {
        return [];
      }
    });
}
