/**
 * Hosts on one machine: a network namespace per replica and one for the agents, each with its
 * own address, joined by an emulated wide-area link (wan-port.py: delay, jitter, loss, cuts).
 *
 * Why not veth, a bridge and `tc netem`: the kernel of the machine this was built on is
 * built without CONFIG_NET_SCH_NETEM (`tc qdisc add … netem`: "qdisc kind is unknown"). Each host instead has a TUN device, held by its wan-port.py, and the
 * ports pass packets to each other through Unix sockets after the WAN's delay. Nothing is added
 * to the root namespace: a port's TUN goes when its process does, and deleting the run's
 * namespaces kills every process left in them.
 * Names carry the owner's pid (`cvh-PID-RAND-…`), so parallel runs never collide and a later run can
 * tell a crashed run's leftovers (owner gone) from a live run's (owner alive).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const WAN_PORT = join(import.meta.dirname, 'wan-port.py');

export const NAME_PREFIX = 'cvh-';
/** A private subnet; it only exists inside the run's namespaces, so parallel runs may share it. */
export const SUBNET = '10.77.0';
export const AGENTS_ADDRESS = `${SUBNET}.100`;
export const replicaAddress = (id: number): string => `${SUBNET}.${id + 1}`;

/** One-way delay, its jitter and random loss, applied on every host's egress (wan-port.py). */
export interface Wan {
  readonly delayMs: number;
  readonly jitterMs: number;
  readonly lossPercent: number;
}

function ip(args: readonly string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
}

function quietly(command: string, args: readonly string[]): void {
  spawnSync(command, args, { stdio: 'ignore', timeout: 10_000 });
}

/**
 * Why this machine cannot run the hosts test, or undefined when it can: root, iproute2 with
 * network namespaces, a TUN device in one, and python3 for the WAN emulator. Tried for real in a
 * throw-away namespace.
 */
export function hostsUnavailableReason(): string | undefined {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0)
    return `creating network namespaces needs root (running as uid ${process.getuid()})`;
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun: the WAN is emulated with TUN devices';
  const python = spawnSync('python3', ['--version'], { encoding: 'utf8', timeout: 10_000 });
  if (python.status !== 0) return 'python3 is needed for the WAN emulator (test/hosts/wan-port.py)';
  const probe = `${NAME_PREFIX}${process.pid}-probe`;
  try {
    ip(['netns', 'add', probe]);
  } catch (error) {
    return `\`ip netns add\` failed: ${firstLine(error)}`;
  }
  try {
    ip(['-n', probe, 'tuntap', 'add', 'dev', 'tun0', 'mode', 'tun']);
    ip(['-n', probe, 'link', 'set', 'tun0', 'up']);
    return undefined;
  } catch (error) {
    return `TUN devices unavailable in a namespace: ${firstLine(error)}`;
  } finally {
    quietly('ip', ['netns', 'del', probe]);
  }
}

function firstLine(error: unknown): string {
  const e = error as { stderr?: Buffer | string; message?: string };
  const text =
    e.stderr === undefined || String(e.stderr).trim() === '' ? String(e.message) : String(e.stderr);
  return text.trim().split('\n')[0] ?? '';
}

function ownerAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The run's namespaces that exist now. */
function namespacesWith(prefix: string): string[] {
  return ip(['netns', 'list'])
    .split('\n')
    .map((line) => line.split(' ')[0] ?? '')
    .filter((name) => name.startsWith(prefix));
}

/** Kills every process inside `ns` (its WAN port, so its TUN goes too), then deletes it. */
function removeNamespace(ns: string): void {
  const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 10_000 }).stdout ?? '';
  for (const pid of pids.split('\n').filter((p) => /^\d+$/.test(p))) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  quietly('ip', ['netns', 'del', ns]);
}

/** Removes what crashed earlier runs left: namespaces named by a pid no longer alive. */
export function removeStale(log: (line: string) => void = () => undefined): string[] {
  const stale = namespacesWith(NAME_PREFIX).filter((name) => {
    const pid = Number(name.slice(NAME_PREFIX.length).split('-')[0]);
    return !Number.isSafeInteger(pid) || !ownerAlive(pid);
  });
  for (const ns of stale) removeNamespace(ns);
  // Work directories in the temp dir, bundles in packages/cli (`.cvh-…-bundle`).
  for (const parent of [tmpdir(), join(import.meta.dirname, '../../packages/cli')])
    for (const entry of readdirSync(parent).filter((name) =>
      name.replace(/^\./, '').startsWith(NAME_PREFIX),
    )) {
      const pid = Number(entry.replace(/^\./, '').slice(NAME_PREFIX.length).split('-')[0]);
      if (!ownerAlive(pid)) rmSync(join(parent, entry), { recursive: true, force: true });
    }
  if (stale.length > 0) log(`removed ${stale.length} stale namespaces of earlier runs: ${stale.join(', ')}`);
  return stale;
}

/** The hosts of one run. `close()` is idempotent and synchronous, so it also runs from exit handlers. */
export class HostsNetwork {
  readonly runId: string;
  readonly agentsNs: string;
  /** Where the ports' Unix sockets live (the emulated wire). */
  readonly wireDir: string;
  readonly #replicaNs: string[];
  readonly #ports = new Map<string, ChildProcess>();
  readonly wan: Wan;
  #closed = false;

  private constructor(replicas: number, wan: Wan) {
    this.runId = `${NAME_PREFIX}${process.pid}-${randomBytes(2).toString('hex')}`;
    this.agentsNs = `${this.runId}-ag`;
    this.#replicaNs = Array.from({ length: replicas }, (_, id) => `${this.runId}-r${id}`);
    this.wan = wan;
    this.wireDir = mkdtempSync(join(tmpdir(), `${this.runId}-wire-`));
  }

  static async create(replicas: number, wan: Wan): Promise<HostsNetwork> {
    const network = new HostsNetwork(replicas, wan);
    try {
      await network.#build();
    } catch (error) {
      network.close();
      throw error;
    }
    return network;
  }

  replicaNs(id: number): string {
    return this.#replicaNs[id] as string;
  }

  async #build(): Promise<void> {
    const hosts: [string, string][] = [
      ...this.#replicaNs.map((ns, id): [string, string] => [ns, replicaAddress(id)]),
      [this.agentsNs, AGENTS_ADDRESS],
    ];
    for (const [ns] of hosts) ip(['netns', 'add', ns]);
    await Promise.all(hosts.map(([ns, address]) => this.#startPort(ns, address)));
  }

  #startPort(ns: string, address: string): Promise<void> {
    const { delayMs, jitterMs, lossPercent } = this.wan;
    const child = spawn(
      'ip',
      ['netns', 'exec', ns, 'python3', WAN_PORT, '--ip', address, '--dir', this.wireDir].concat([
        '--delay',
        String(delayMs),
        '--jitter',
        String(jitterMs),
        '--loss',
        String(lossPercent),
      ]),
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    this.#ports.set(ns, child);
    let output = '';
    return new Promise((resolveReady, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`the WAN port of ${ns} did not start in 10 s: ${output}`)),
        10_000,
      );
      const onData = (chunk: Buffer) => {
        output += String(chunk);
        if (output.includes('ready')) {
          clearTimeout(timer);
          resolveReady();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', (chunk: Buffer) => {
        output += String(chunk);
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`the WAN port of ${ns} exited (${code}): ${output}`));
      });
    });
  }

  /** Replica `id` hears nothing and is heard by no one: 100% loss both ways. */
  cut(id: number): void {
    this.#ports.get(this.replicaNs(id))?.kill('SIGUSR1');
  }

  heal(id: number): void {
    this.#ports.get(this.replicaNs(id))?.kill('SIGUSR2');
  }

  /** Kills every process in the run's namespaces and deletes them, and the wire's sockets. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const port of this.#ports.values()) port.kill('SIGKILL');
    for (const ns of namespacesWith(`${this.runId}-`)) removeNamespace(ns);
    rmSync(this.wireDir, { recursive: true, force: true });
  }

  /** The run's namespaces still present (empty after `close`). */
  leftovers(): string[] {
    return namespacesWith(`${this.runId}-`);
  }
}
