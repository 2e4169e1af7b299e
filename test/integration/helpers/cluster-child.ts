// Starts a cluster (control plane and node) in its own process, prints "ready" and waits to be signalled: the node
// tests interrupt and kill it to check what is left behind.
import { startCluster } from '../../env/cluster.ts';

await startCluster();
process.stdout.write('ready\n');
setInterval(() => undefined, 60_000);
