/**
 * The chaos cluster: `conclave start` daemons on 127.0.0.1, each source (replica or agent)
 * reaching every replica through its own listener of the fault-injecting proxy, and the SDK
 * clients of the agents. It starts, kills, pauses and restarts daemons, notices daemons that exit by
 * themselves, and tears everything down at the end.
 */
import { chmodSync, copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  connectAgent,
  makeCluster,
  type RunningReplica,
  startReplica,
  statusOf,
  stopReplica,
} from '@conclave/cli';
import { type ClusterFile, type DaemonStatus, readListeningAddress } from '@conclave/node';
import type { ConclaveClient } from '@conclave/sdk';
import { CHAOS_LIMITS, CHAOS_PROTOCOL, type ChaosOptions, type SyncMode } from './chaos-options.ts';
import { sleep } from './clock.ts';
import { type FaultProxy, type Source, startFaultProxy } from './proxy.ts';

/** Daemons of every run in this process, so a deadline or a signal can stop them at once. */
const daemons = new Set<RunningReplica>();

/** Last resort when the process must exit now: SIGKILL every daemon a chaos run started. */
export function killChaosDaemons(): void {
  for (const daemon of daemons) daemon.process.kill('SIGKILL');
  daemons.clear();
}

export const sourceOfReplica = (id: number): Source => `replica:${id}`;
export const sourceOfAgent = (agent: string): Source => `agent:${agent}`;

type StartDaemon = (dir: string, id: number, sync: SyncMode) => RunningReplica;

/** What the cluster is made of: the part of a run's options it reads (`pnpm faults` shares it). */
export interface ChaosClusterOptions extends Pick<ChaosOptions, 'replicas' | 'agents' | 'sync'> {
  /**
   * Run this built daemon (`buildDaemon`) instead of the sources through tsx: a restarted
   * replica is up in a fraction of the time, so restart measurements are about the protocol.
   */
  readonly bundle?: string;
}

/**
 * The one place that makes the cluster directory and spawns daemons. Every replica listens on
 * an OS-chosen port (port 0) and reports it in its own directory; the proxy reads it there.
 */
async function launchCluster(
  options: ChaosClusterOptions,
  agents: number,
): Promise<{ base: { dir: string; file: ClusterFile }; startDaemon: StartDaemon }> {
  const base = await makeCluster(options.replicas, agents, CHAOS_PROTOCOL, 'kv');
  const startDaemon: StartDaemon = (dir, id, sync) =>
    startReplica(dir, id, ['--sync', sync], { bundle: options.bundle });
  return { base, startDaemon };
}

interface ChaosClusterParts {
  readonly file: ClusterFile;
  readonly root: string;
  readonly proxy: FaultProxy;
  readonly replicaDirs: readonly string[];
  readonly agentDirs: ReadonlyMap<string, string>;
  readonly startDaemon: StartDaemon;
  readonly sync: SyncMode;
}

export class ChaosCluster {
  readonly file: ClusterFile;
  /** The directory that holds everything of the run. */
  readonly root: string;
  readonly proxy: FaultProxy;
  /** Why daemons exited that we did not stop, with the tail of their output. */
  readonly selfExits: string[] = [];
  readonly #replicaDirs: readonly string[];
  readonly #agentDirs: ReadonlyMap<string, string>;
  readonly #startDaemon: StartDaemon;
  readonly #sync: SyncMode;
  /** Daemons running now, by replica id, in the order they were (re)started. */
  readonly #running = new Map<number, RunningReplica>();
  readonly #killedByUs = new Set<RunningReplica>();
  /** Replicas stopped with SIGSTOP and not yet continued. */
  readonly #paused = new Set<number>();
  readonly #clients: ConclaveClient[] = [];

  /**
   * Makes the cluster directory (with one more agent, the reader), starts the proxy and writes
   * one directory per source; starts no daemon yet.
   */
  static async create(options: ChaosClusterOptions, random: () => number): Promise<ChaosCluster> {
    const { base, startDaemon } = await launchCluster(options, options.agents + 1);
    const root = dirname(base.dir);
    const proxy = await startFaultProxy({
      sources: [
        ...base.file.replicas.map((r) => sourceOfReplica(r.id)),
        ...base.file.agents.map((a) => sourceOfAgent(a.id)),
      ],
      // Replicas listen on OS-chosen ports, reported in their own directories.
      destinations: base.file.replicas.map((r) => ({
        id: r.id,
        port: () => readListeningAddress(join(root, 'sources', `replica-${r.id}`), r.id)?.port,
      })),
      random,
    });
    const replicaDirs = base.file.replicas.map((r) =>
      writeSourceDirectory(root, base, sourceOfReplica(r.id), `replica-${r.id}`, proxy, r.id),
    );
    const agentDirs = new Map(
      base.file.agents.map((a) => [
        a.id,
        writeSourceDirectory(root, base, sourceOfAgent(a.id), a.id, proxy, undefined),
      ]),
    );
    return new ChaosCluster({
      file: base.file,
      root,
      proxy,
      replicaDirs,
      agentDirs,
      startDaemon,
      sync: options.sync,
    });
  }

  private constructor(parts: ChaosClusterParts) {
    this.file = parts.file;
    this.root = parts.root;
    this.proxy = parts.proxy;
    this.#replicaDirs = parts.replicaDirs;
    this.#agentDirs = parts.agentDirs;
    this.#startDaemon = parts.startDaemon;
    this.#sync = parts.sync;
  }

  get replicaCount(): number {
    return this.file.replicas.length;
  }

  isRunning(id: number): boolean {
    return this.#running.has(id);
  }

  /** Starts replica `id`'s daemon; if it ever exits without us stopping it, that is recorded. */
  start(id: number): void {
    const replica = this.#startDaemon(this.#replicaDirs[id] as string, id, this.#sync);
    daemons.add(replica);
    this.#running.set(id, replica);
    void replica.exited.then((code) => {
      daemons.delete(replica);
      if (this.#killedByUs.has(replica)) return;
      this.selfExits.push(
        `replica ${id} exited by itself with status ${code}; its last output:\n${replica.output.slice(-CHAOS_LIMITS.outputTailChars)}`,
      );
    });
  }

  async kill(id: number, signal: NodeJS.Signals): Promise<void> {
    const replica = this.#running.get(id);
    if (replica === undefined) return;
    this.#killedByUs.add(replica);
    this.#running.delete(id);
    this.#paused.delete(id);
    await stopReplica(replica, signal, CHAOS_LIMITS.stopTimeoutMs);
  }

  /** SIGSTOP: the daemon keeps its sockets but does nothing, as if its machine froze. */
  pause(id: number): void {
    const replica = this.#running.get(id);
    if (replica === undefined || this.#paused.has(id)) return;
    replica.process.kill('SIGSTOP');
    this.#paused.add(id);
  }

  /** SIGCONT: a paused daemon goes on from where it stopped. */
  resume(id: number): void {
    const replica = this.#running.get(id);
    if (replica === undefined || !this.#paused.delete(id)) return;
    replica.process.kill('SIGCONT');
  }

  /** Starts every daemon and waits until each answers GET /status. */
  async startAll(): Promise<void> {
    for (let id = 0; id < this.replicaCount; id++) this.start(id);
    const upDeadline = performance.now() + CHAOS_LIMITS.startupTimeoutMs;
    while (true) {
      const statuses = await this.statuses();
      if (statuses.every((s) => s !== undefined)) return;
      if (this.selfExits.length > 0 || performance.now() > upDeadline)
        throw new Error(
          `replicas did not start within ${CHAOS_LIMITS.startupTimeoutMs} ms\n${this.selfExits.join('\n')}`,
        );
      await sleep(200);
    }
  }

  /** Every replica's status, by id (undefined: it did not answer). */
  statuses(): Promise<(DaemonStatus | undefined)[]> {
    return Promise.all(this.file.replicas.map((r) => this.statusOf(r.id)));
  }

  /** The statuses of the daemons running now, in the order they were started. */
  runningStatuses(): Promise<(DaemonStatus | undefined)[]> {
    return Promise.all([...this.#running.keys()].map((id) => this.statusOf(id)));
  }

  /** Replica `id`'s status, read where its daemon reported its ports (undefined: no answer). */
  statusOf(id: number): Promise<DaemonStatus | undefined> {
    return statusOf(this.#replicaDirs[id] as string, id);
  }

  /** Connects `agent-0` … `agent-(count-1)` through the proxy, one after the other. */
  async connectWriters(count: number): Promise<ConclaveClient[]> {
    const writers: ConclaveClient[] = [];
    for (let k = 0; k < count; k++)
      writers.push(await this.#connect(`agent-${k}`, CHAOS_LIMITS.writeTimeoutMs));
    return writers;
  }

  /** Connects the agent that reads everything back at the end. */
  connectReader(agent: string): Promise<ConclaveClient> {
    return this.#connect(agent, CHAOS_LIMITS.readTimeoutMs);
  }

  /** Ends every fault: the proxy forwards everything at once again, and every daemon runs. */
  healAll(): void {
    this.proxy.healAll();
    this.proxy.setDelay(0, 0);
    for (const id of [...this.#paused]) this.resume(id);
    for (let id = 0; id < this.replicaCount; id++) if (!this.#running.has(id)) this.start(id);
  }

  /** Closes the clients, stops the daemons and the proxy; removes the directory unless kept. */
  async close(keepDirectory: boolean): Promise<void> {
    await Promise.allSettled(this.#clients.map((client) => client.close()));
    // A stopped daemon would not see SIGTERM (nor its stdin closing) until continued.
    for (const id of [...this.#paused]) this.resume(id);
    await Promise.allSettled([...this.#running.keys()].map((id) => this.kill(id, 'SIGTERM')));
    await this.proxy.close();
    if (!keepDirectory) rmSync(this.root, { recursive: true, force: true });
  }

  async #connect(agent: string, timeoutMs: number): Promise<ConclaveClient> {
    const client = await connectAgent({
      dir: this.#agentDirs.get(agent) as string,
      agent,
      timeoutMs,
      connectTimeoutMs: CHAOS_LIMITS.startupTimeoutMs,
    });
    this.#clients.push(client);
    return client;
  }
}

/**
 * A cluster directory for one source: its own key, and a cluster.json in which every replica is
 * reached through this source's proxy listener towards it, and listens on its real port.
 */
function writeSourceDirectory(
  root: string,
  base: { dir: string; file: ClusterFile },
  source: Source,
  keyName: string,
  proxy: FaultProxy,
  selfReplica: number | undefined,
): string {
  const dir = join(root, 'sources', keyName);
  mkdirSync(join(dir, 'keys'), { recursive: true, mode: 0o700 });
  const key = join(dir, 'keys', `${keyName}.secret`);
  copyFileSync(join(base.dir, 'keys', `${keyName}.secret`), key);
  chmodSync(key, 0o600);
  const file: ClusterFile = {
    ...base.file,
    replicas: base.file.replicas.map((r) => ({
      ...r,
      port: r.id === selfReplica ? r.port : proxy.portOf(source, r.id),
      listenPort: r.port,
    })),
  };
  writeFileSync(join(dir, 'cluster.json'), `${JSON.stringify(file, null, 2)}\n`);
  return dir;
}
