// Starts a cluster (control plane and node) in its own process, prints "ready" and waits to be signalled: the node
// tests interrupt and kill it to check what is left behind.
import { startCluster } from '../../env/cluster.ts';

const cluster = await startCluster();
// The directory a SIGKILL leaves behind, for the test to remove.
process.stdout.write(`ready ${cluster.cp.dir}\n`);
setInterval(() => undefined, 60_000);
