// What a node changes on this machine, and how to put it back: the node's address, kernel settings, iptables
// chains, network namespaces, the pod bridge, mounts and the pods' cgroups. Everything here is synchronous, so the
// same teardown runs from stop(), from an 'exit' hook when a test run fails or is interrupted, and at the next start
// when a run was killed outright.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The node's address: on loopback, so nothing listens on the machine's external interface, yet pods reach it through
 * their bridge (a packet for a local address is delivered whatever interface it came in on). From the
 * benchmarking range (RFC 2544), which nothing on this machine routes anywhere else.
 */
export const NODE_ADDRESS = '198.18.0.1';
export const POD_CIDR = '10.244.0.0/24';
export const POD_BRIDGE = 'csbr0';
/** Our own chain, jumped to first from mangle FORWARD: kube-proxy inserts ACCEPT rules at the top of filter FORWARD. */
export const EGRESS_CHAIN = 'CERTSMITH-EGRESS';

/**
 * Kernel settings kubelet, kube-proxy or the bridge plugin change (kubelet's protectKernelDefaults=false sets the first
 * three; the bridge plugin turns forwarding on; we turn bridge-nf-call-iptables on so Service traffic between two
 * pods on the bridge goes through kube-proxy's rules).
 */
export const SYSCTLS = [
  'vm/overcommit_memory',
  'kernel/panic',
  'kernel/panic_on_oops',
  'net/ipv4/ip_forward',
  'net/bridge/bridge-nf-call-iptables',
  'net/bridge/bridge-nf-call-ip6tables',
] as const;

const CHAIN_PREFIXES = ['KUBE-', 'CNI-', 'CERTSMITH-'];
const TABLES = ['filter', 'nat', 'mangle', 'raw'];
const NETNS_DIR = '/var/run/netns';
const CGROUP_ROOT = '/sys/fs/cgroup';

function sh(cmd: string, args: string[], opts: { allowFail?: boolean; input?: string } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], input: opts.input, timeout: 30_000 });
  } catch (err) {
    if (opts.allowFail) return '';
    const e = err as Error & { stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr?.trim() || e.message}`);
  }
}

/** One file per process serving on the node's address: the address goes when the last of them stops. */
const ADDRESS_USERS_DIR = '/run/certsmith-node-address';

function isLive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Puts the node's address on loopback (idempotent) and records this process as one that serves on it. */
export function addNodeAddress(): void {
  mkdirSync(ADDRESS_USERS_DIR, { recursive: true });
  writeFileSync(join(ADDRESS_USERS_DIR, String(process.pid)), '');
  const have = sh('ip', ['-o', '-4', 'addr', 'show', 'dev', 'lo']);
  if (!have.includes(` ${NODE_ADDRESS}/32 `)) sh('ip', ['addr', 'add', `${NODE_ADDRESS}/32`, 'dev', 'lo']);
}

/**
 * Forgets this process as a user of the node's address, and takes the address off loopback unless another live
 * process still serves on it (a sandbox's control plane while a test's stops, say).
 */
export function removeNodeAddress(): void {
  rmSync(join(ADDRESS_USERS_DIR, String(process.pid)), { force: true });
  const others = existsSync(ADDRESS_USERS_DIR)
    ? readdirSync(ADDRESS_USERS_DIR)
        .map(Number)
        .filter((pid) => pid !== process.pid && isLive(pid))
    : [];
  if (others.length > 0) return;
  sh('ip', ['addr', 'del', `${NODE_ADDRESS}/32`, 'dev', 'lo'], { allowFail: true });
}

function sysctlPath(key: string): string {
  return join('/proc/sys', key);
}

/** Records the kernel settings once; a file left by a killed run already holds the values from before it. */
export function saveSysctls(file: string): void {
  if (existsSync(file)) return;
  const saved: Record<string, string> = {};
  for (const key of SYSCTLS) {
    if (existsSync(sysctlPath(key))) saved[key] = readFileSync(sysctlPath(key), 'utf8').trim();
  }
  writeFileSync(file, JSON.stringify(saved, null, 2));
}

export function setSysctl(key: (typeof SYSCTLS)[number], value: string): void {
  writeFileSync(sysctlPath(key), value);
}

/** Writes the saved values back and forgets them. */
export function restoreSysctls(file: string): void {
  if (!existsSync(file)) return;
  const saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  for (const [key, value] of Object.entries(saved)) {
    try {
      writeFileSync(sysctlPath(key), value);
    } catch {
      // a setting that cannot be written back is reported by the caller's check, not here
    }
  }
  unlinkSync(file);
}

/**
 * Drops whatever a pod sends that would leave this machine: tests may talk only to this machine and to pods. Pods
 * reach the machine's own addresses through INPUT, and each other on the bridge; everything routed on is dropped.
 */
export function installEgressDrop(): void {
  sh('iptables', ['-t', 'mangle', '-N', EGRESS_CHAIN], { allowFail: true });
  sh('iptables', ['-t', 'mangle', '-F', EGRESS_CHAIN]);
  sh('iptables', ['-t', 'mangle', '-A', EGRESS_CHAIN, '-s', POD_CIDR, '!', '-o', POD_BRIDGE, '-j', 'DROP']);
  sh('iptables', ['-t', 'mangle', '-I', 'FORWARD', '1', '-j', EGRESS_CHAIN]);
  // Pods get no IPv6 address; drop any IPv6 they might forward all the same.
  sh('ip6tables', ['-t', 'mangle', '-N', EGRESS_CHAIN], { allowFail: true });
  sh('ip6tables', ['-t', 'mangle', '-F', EGRESS_CHAIN]);
  sh('ip6tables', ['-t', 'mangle', '-A', EGRESS_CHAIN, '-i', POD_BRIDGE, '-j', 'DROP']);
  sh('ip6tables', ['-t', 'mangle', '-I', 'FORWARD', '1', '-j', EGRESS_CHAIN]);
}

/** Chains whose names start with KUBE-, CNI- or CERTSMITH- in `iptables-save` output of one table. */
export function ownedChains(save: string): string[] {
  return save
    .split('\n')
    .filter((l) => l.startsWith(':'))
    .map((l) => l.slice(1).split(' ')[0]!)
    .filter((c) => CHAIN_PREFIXES.some((p) => c.startsWith(p)))
    .sort();
}

/** `-A` rules of built-in chains that jump to one of `chains`, as `-D` argument lists. */
export function jumpsInto(save: string, chains: string[]): string[][] {
  const owned = new Set(chains);
  const out: string[][] = [];
  for (const line of save.split('\n')) {
    if (!line.startsWith('-A ')) continue;
    const words = splitRule(line);
    const chain = words[1]!;
    if (owned.has(chain)) continue;
    const j = words.indexOf('-j');
    if (j > 0 && owned.has(words[j + 1]!)) out.push(['-D', ...words.slice(1)]);
  }
  return out;
}

// iptables-save quotes arguments that contain spaces (comments): keep them as one word, without the quotes.
function splitRule(line: string): string[] {
  const words: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (const m of line.matchAll(re)) words.push(m[1] !== undefined ? m[1].replace(/\\"/g, '"') : m[2]!);
  return words;
}

/** Removes every KUBE-/CNI-/CERTSMITH- chain and the rules that jump to them, for IPv4 and IPv6. */
export function removeOwnedChains(): void {
  for (const [save, tool] of [
    ['iptables-save', 'iptables'],
    ['ip6tables-save', 'ip6tables'],
  ] as const) {
    for (const table of TABLES) {
      const dump = sh(save, ['-t', table], { allowFail: true });
      const chains = ownedChains(dump);
      if (chains.length === 0) continue;
      for (const rule of jumpsInto(dump, chains)) sh(tool, ['-t', table, ...rule], { allowFail: true });
      for (const c of chains) sh(tool, ['-t', table, '-F', c], { allowFail: true });
      for (const c of chains) sh(tool, ['-t', table, '-X', c], { allowFail: true });
    }
  }
}

/** Names of the network namespaces containerd made for pods (`cni-<uuid>`). */
export function podNetnsNames(): string[] {
  if (!existsSync(NETNS_DIR)) return [];
  return readdirSync(NETNS_DIR).filter((n) => n.startsWith('cni-'));
}

/** Mount points at or below `dir`, deepest first (from /proc/self/mountinfo; octal escapes decoded). */
export function mountsBelow(mountinfo: string, dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const points = mountinfo
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => p !== undefined)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(prefix));
  return [...new Set(points)].sort((a, b) => b.split('/').length - a.split('/').length || b.localeCompare(a));
}

function unmountBelow(dir: string): void {
  for (let round = 0; round < 5; round++) {
    const points = mountsBelow(readFileSync('/proc/self/mountinfo', 'utf8'), dir);
    if (points.length === 0) return;
    for (const p of points) sh('umount', ['-l', p], { allowFail: true });
  }
}

/** Every pid in the pods' cgroups (kubelet's cgroupfs driver puts them under kubepods in each hierarchy). */
function podPids(): number[] {
  const pids = new Set<number>();
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    const procs = join(dir, 'cgroup.procs');
    if (existsSync(procs)) {
      for (const l of readFileSync(procs, 'utf8').split('\n')) if (l.trim()) pids.add(Number(l));
    }
    for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) walk(join(dir, e.name));
  };
  walk(join(CGROUP_ROOT, 'pids', 'kubepods'));
  walk(join(CGROUP_ROOT, 'memory', 'kubepods'));
  return [...pids].sort((a, b) => a - b);
}

/** Pids whose command line mentions `needle` (containerd's shims carry the node's directory in theirs). */
function pidsMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(needle)) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

function killAll(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

// Depth first: a cgroup directory goes only once it has no children and no tasks.
function removeCgroups(dir: string): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) removeCgroups(join(dir, e.name));
  try {
    rmdirSync(dir);
  } catch {
    // a task that has not died yet; the next teardown takes it
  }
}

function podCgroupDirs(): string[] {
  if (!existsSync(CGROUP_ROOT)) return [];
  return readdirSync(CGROUP_ROOT)
    .map((h) => join(CGROUP_ROOT, h, 'kubepods'))
    .filter((d) => existsSync(d) && statSync(d).isDirectory());
}

/** Where kubelet links each container's log (a path compiled into kubelet, outside the node's directory). */
const CONTAINER_LOG_LINKS = '/var/log/containers';

/** kubelet's links in /var/log/containers that point into `dir`. */
function containerLogLinks(dir: string): string[] {
  if (!existsSync(CONTAINER_LOG_LINKS)) return [];
  return readdirSync(CONTAINER_LOG_LINKS)
    .map((name) => join(CONTAINER_LOG_LINKS, name))
    .filter((link) => {
      try {
        return readlinkSync(link).startsWith(`${dir}/`);
      } catch {
        return false;
      }
    });
}

/** Removes kubelet's log links into `dir`, and /var/log/containers itself once empty (kubelet made it). */
function removeContainerLogLinks(dir: string): void {
  for (const link of containerLogLinks(dir)) rmSync(link, { force: true });
  try {
    if (existsSync(CONTAINER_LOG_LINKS) && readdirSync(CONTAINER_LOG_LINKS).length === 0) rmdirSync(CONTAINER_LOG_LINKS);
  } catch {
    // in use by something else: leave it
  }
}

/**
 * Puts the machine back as it was before a node started in `dir`: kills the node's processes and every pod
 * process, unmounts what is below `dir`, deletes the pods' network namespaces, the bridge, the KUBE-/CNI-/CERTSMITH-
 * chains, the pods' cgroups and kubelet's log links, restores the kernel settings saved in `sysctlFile`, and removes `dir`. Safe to run on
 * a machine where no node ran, and twice.
 */
export function teardownNodeSync(dir: string, sysctlFile: string): void {
  killAll(pidsMentioning(dir));
  // Twice: a process forked while the first round ran is caught by the second.
  for (let i = 0; i < 2; i++) killAll(podPids());
  unmountBelow(dir);
  for (const ns of podNetnsNames()) {
    sh('umount', ['-l', join(NETNS_DIR, ns)], { allowFail: true });
    rmSync(join(NETNS_DIR, ns), { force: true });
  }
  sh('ip', ['link', 'del', POD_BRIDGE], { allowFail: true });
  removeOwnedChains();
  for (const d of podCgroupDirs()) removeCgroups(d);
  restoreSysctls(sysctlFile);
  removeContainerLogLinks(dir);
  rmSync(dir, { recursive: true, force: true });
}

/** What is left of a node on this machine, as sentences; empty when teardown was complete. */
export function nodeLeftovers(dir: string, sysctlFile: string): string[] {
  const left: string[] = [];
  if (existsSync(dir)) left.push(`${dir} still exists`);
  if (existsSync(sysctlFile)) left.push(`${sysctlFile} (saved kernel settings) was not restored`);
  const ns = podNetnsNames();
  if (ns.length > 0) left.push(`network namespaces ${ns.join(', ')}`);
  if (sh('ip', ['-o', 'link', 'show', POD_BRIDGE], { allowFail: true }).trim()) left.push(`bridge ${POD_BRIDGE}`);
  for (const table of TABLES) {
    const chains = ownedChains(sh('iptables-save', ['-t', table], { allowFail: true }));
    if (chains.length > 0) left.push(`iptables ${table} chains ${chains.join(', ')}`);
  }
  const cg = podCgroupDirs();
  if (cg.length > 0) left.push(`cgroups ${cg.join(', ')}`);
  const procs = pidsMentioning(dir);
  if (procs.length > 0) left.push(`processes ${procs.join(', ')} of the node`);
  if (podPids().length > 0) left.push(`pod processes ${podPids().join(', ')}`);
  const links = containerLogLinks(dir);
  if (links.length > 0) left.push(`container log links ${links.join(', ')}`);
  return left;
}
