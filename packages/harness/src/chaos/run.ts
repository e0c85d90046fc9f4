/**
 * Chaos on real daemons: a cluster of `conclave start` processes on 127.0.0.1, SDK agents
 * writing to it through the fault-injecting proxy, and a seeded schedule of kill -9 and
 * restarts, partitions that heal, dropped connections and delays. Afterwards everything heals
 * and the run checks what must hold whatever the faults were:
 *
 * - agreement: no two replicas ever reported different state digests at one executed sequence
 *   (sampled from GET /status all through the run, and at the end);
 * - liveness after heal: every agent gets one more write acknowledged within a bound;
 * - convergence: all replicas reach the same executed sequence and state digest;
 * - durability: every acknowledged write (f+1 matching replies) reads back with quorum reads,
 *   or a later write of the same key by the same agent does;
 * - no replica stopped by itself (a broken invariant stops a daemon with status 1).
 *
 * Every phase has a time bound and every loop a count bound; the daemons are stopped and the
 * cluster directory removed at the end (kept, and printed, when a check failed).
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
import { decodeKvResult, encodeKvOperation } from '@conclave/core';
import type { ClusterFile } from '@conclave/node';
import { type ConclaveClient, ConclaveError } from '@conclave/sdk';
import { Prng } from '../prng.ts';
import { type FaultProxy, type ProxyStats, type Source, startFaultProxy } from './proxy.ts';
import {
  describeEvent,
  type FaultEvent,
  faultBudgetOf,
  faultSchedule,
  type ReplicaTarget,
  SCHEDULE_DEFAULTS,
} from './schedule.ts';

export type SyncMode = 'full' | 'buffered';

export interface ChaosOptions {
  readonly seed: number;
  readonly durationMs: number;
  readonly replicas: number;
  /** Agents writing during the run (one more reads at the end). */
  readonly agents: number;
  readonly sync: SyncMode;
  /** Progress lines as the run goes (the timeline of faults, the phases). */
  readonly log?: (line: string) => void;
  /** Keep the cluster directory even when every check passed. */
  readonly keepDirectory?: boolean;
}

export interface ChaosCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface ChaosReport {
  readonly options: Omit<ChaosOptions, 'log'>;
  readonly f: number;
  readonly directory: string;
  readonly directoryKept: boolean;
  readonly schedule: readonly FaultEvent[];
  readonly faults: {
    readonly kills: number;
    readonly restarts: number;
    readonly partitions: number;
    readonly partitionsCut: number;
    readonly partitionsStalled: number;
    readonly dropEvents: number;
    readonly delayWindows: number;
    /** Kills or partitions of whichever replica was primary at the time. */
    readonly primaryTargeted: number;
  };
  readonly proxy: ProxyStats;
  readonly load: {
    readonly attempted: number;
    readonly acknowledged: number;
    readonly timedOut: number;
    /** Other failed writes, by SDK error code. */
    readonly failedByCode: Readonly<Record<string, number>>;
    readonly latencyMsP50: number;
    readonly latencyMsP99: number;
    readonly latencyMsMax: number;
    /** The longest stretch of the chaos phase in which no write was acknowledged. */
    readonly longestStallMs: number;
    readonly keysChecked: number;
  };
  readonly cluster: {
    readonly highestView: number;
    readonly finalSequence: number;
    readonly finalDigest: string;
    readonly statusSamples: number;
    readonly sequencesCompared: number;
  };
  readonly checks: readonly ChaosCheck[];
  readonly ok: boolean;
  readonly elapsedMs: number;
}

/** Bounds of the phases of a run. */
export const CHAOS_LIMITS = Object.freeze({
  durationMsMax: 3_600_000,
  replicasMax: 13,
  agentsMax: 16,
  startupTimeoutMs: 60_000,
  writeTimeoutMs: 8_000,
  finalWriteTimeoutMs: 30_000,
  convergenceTimeoutMs: 60_000,
  readTimeoutMs: 5_000,
  readAttemptsMax: 3,
  readsInFlightMax: 8,
  statusPollMs: 250,
  keysPerAgent: 32,
  writesPerAgentMax: 1_000_000,
  /** Distinct sequences remembered by the agreement sampler. */
  sequencesTrackedMax: 1_000_000,
  stopTimeoutMs: 5_000,
  /**
   * With at most f replicas out at once the cluster must keep deciding: a stretch this long
   * without any acknowledged write, while faults come and go, is a liveness failure.
   */
  progressGapMsMax: 20_000,
  outputTailChars: 2_000,
});

/** Protocol settings of the chaos cluster: short timeouts and frequent checkpoints, so faults bite. */
const PROTOCOL = { requestTimeoutTicks: 150, checkpointInterval: 16, watermarkWindow: 64 };

/** Daemons of every run in this process, so a deadline or a signal can stop them at once. */
const daemons = new Set<RunningReplica>();

/** Last resort when the process must exit now: SIGKILL every daemon a chaos run started. */
export function killChaosDaemons(): void {
  for (const daemon of daemons) daemon.process.kill('SIGKILL');
  daemons.clear();
}

const sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, Math.max(0, ms)));

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

/** What every agent wrote: the last acknowledged value per key, and what it tried after that. */
class WriteLedger {
  readonly acknowledged = new Map<string, string>();
  /** Values written to the key after its last acknowledgement (they may have executed, unacknowledged). */
  readonly attemptedSinceAck = new Map<string, Set<string>>();
  attempted = 0;
  acks = 0;
  timedOut = 0;
  readonly failedByCode: Record<string, number> = {};
  readonly latenciesMs: number[] = [];
  readonly ackTimesMs: number[] = [];
  readonly wrongResults: string[] = [];

  attempt(key: string, value: string): void {
    this.attempted++;
    const since = this.attemptedSinceAck.get(key) ?? new Set<string>();
    since.add(value);
    this.attemptedSinceAck.set(key, since);
  }

  acknowledge(key: string, value: string, latencyMs: number, atMs: number): void {
    this.acks++;
    this.acknowledged.set(key, value);
    this.attemptedSinceAck.set(key, new Set());
    this.latenciesMs.push(latencyMs);
    this.ackTimesMs.push(atMs);
  }

  fail(error: unknown): void {
    const code = error instanceof ConclaveError ? error.code : 'UNEXPECTED';
    if (code === 'TIMEOUT') this.timedOut++;
    else this.failedByCode[code] = (this.failedByCode[code] ?? 0) + 1;
  }

  /** Values the key may hold now: the acknowledged one, or one written after it. */
  allowed(key: string): Set<string> {
    const value = this.acknowledged.get(key);
    return new Set([...(value === undefined ? [] : [value]), ...(this.attemptedSinceAck.get(key) ?? [])]);
  }
}

/** Polls GET /status of every replica; remembers each executed sequence's digest and who reported it. */
class StatusSampler {
  readonly digests = new Map<number, { digest: string; replica: number }>();
  readonly disagreements: string[] = [];
  samples = 0;
  highestView = 0;
  #timer: NodeJS.Timeout | undefined;
  #polling = false;
  readonly #file: ClusterFile;

  constructor(file: ClusterFile) {
    this.#file = file;
  }

  start(): void {
    this.#timer = setInterval(() => void this.poll(), CHAOS_LIMITS.statusPollMs);
  }

  async poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const statuses = await Promise.all(this.#file.replicas.map((r) => statusOf(this.#file, r.id)));
      for (const status of statuses) {
        if (status === undefined) continue;
        this.samples++;
        this.highestView = Math.max(this.highestView, status.view);
        this.record(status.id, status.executedSequence, status.stateDigest);
      }
    } finally {
      this.#polling = false;
    }
  }

  record(replica: number, sequence: number, digest: string): void {
    const seen = this.digests.get(sequence);
    if (seen === undefined) {
      if (this.digests.size < CHAOS_LIMITS.sequencesTrackedMax)
        this.digests.set(sequence, { digest, replica });
      return;
    }
    if (seen.digest !== digest && this.disagreements.length < 20) {
      this.disagreements.push(
        `at executed sequence ${sequence}: replica ${seen.replica} had digest ${seen.digest.slice(0, 16)}…, replica ${replica} had ${digest.slice(0, 16)}…`,
      );
    }
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

const sourceOfReplica = (id: number): Source => `replica:${id}`;
const sourceOfAgent = (agent: string): Source => `agent:${agent}`;

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

/** Runs one chaos run. Never throws for a failed check: the report says what failed. */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const startedAt = performance.now();
  const log = options.log ?? (() => undefined);
  const n = options.replicas;
  const f = faultBudgetOf(n);
  if (f < 1 || (n - 1) % 3 !== 0 || n > CHAOS_LIMITS.replicasMax)
    throw new RangeError(
      `--replicas must be 3f+1 with f >= 1, at most ${CHAOS_LIMITS.replicasMax}; got ${n}`,
    );
  if (!Number.isInteger(options.agents) || options.agents < 1 || options.agents > CHAOS_LIMITS.agentsMax)
    throw new RangeError(`--agents must be 1..${CHAOS_LIMITS.agentsMax}; got ${options.agents}`);
  if (options.durationMs <= 0 || options.durationMs > CHAOS_LIMITS.durationMsMax)
    throw new RangeError(`--duration must be positive and at most ${CHAOS_LIMITS.durationMsMax / 1000} s`);

  const schedule = faultSchedule({
    seed: options.seed,
    durationMs: options.durationMs,
    replicas: n,
    agents: options.agents,
  });
  const runtimeRandom = new Prng(options.seed).fork('chaos-runtime');
  const checks: ChaosCheck[] = [];
  const check = (name: string, ok: boolean, detail: string) => {
    checks.push({ name, ok, detail });
  };
  const faults = {
    kills: 0,
    restarts: 0,
    partitions: 0,
    partitionsCut: 0,
    partitionsStalled: 0,
    dropEvents: 0,
    delayWindows: 0,
    primaryTargeted: 0,
  };

  const readerAgent = `agent-${options.agents}`;
  const base = await makeCluster(n, options.agents + 1, PROTOCOL, 'kv');
  const root = dirname(base.dir);
  const proxy = await startFaultProxy({
    sources: [
      ...base.file.replicas.map((r) => sourceOfReplica(r.id)),
      ...base.file.agents.map((a) => sourceOfAgent(a.id)),
    ],
    destinations: base.file.replicas.map((r) => ({ id: r.id, port: r.port })),
    random: () => runtimeRandom.next(),
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
  log(`cluster in ${root}`);

  const running = new Map<number, RunningReplica>();
  const killedByUs = new Set<RunningReplica>();
  const selfExits: string[] = [];
  const start = (id: number) => {
    const replica = startReplica(replicaDirs[id] as string, id, ['--sync', options.sync]);
    daemons.add(replica);
    running.set(id, replica);
    void replica.exited.then((code) => {
      daemons.delete(replica);
      if (killedByUs.has(replica)) return;
      selfExits.push(
        `replica ${id} exited by itself with status ${code}; its last output:\n${replica.output.slice(-CHAOS_LIMITS.outputTailChars)}`,
      );
    });
  };
  const kill = async (id: number, signal: NodeJS.Signals) => {
    const replica = running.get(id);
    if (replica === undefined) return;
    killedByUs.add(replica);
    running.delete(id);
    await stopReplica(replica, signal, CHAOS_LIMITS.stopTimeoutMs);
  };

  const sampler = new StatusSampler(base.file);
  const ledger = new WriteLedger();
  const clients: ConclaveClient[] = [];
  let writing = false;
  let chaosStartedAt = 0;
  let directoryKept = false;
  const at = () => ((performance.now() - chaosStartedAt) / 1000).toFixed(1).padStart(6);
  let finalSequence = -1;
  let finalDigest = '';

  try {
    for (let id = 0; id < n; id++) start(id);
    const upDeadline = performance.now() + CHAOS_LIMITS.startupTimeoutMs;
    while (true) {
      const statuses = await Promise.all(base.file.replicas.map((r) => statusOf(base.file, r.id)));
      if (statuses.every((s) => s !== undefined)) break;
      if (selfExits.length > 0 || performance.now() > upDeadline)
        throw new Error(
          `replicas did not start within ${CHAOS_LIMITS.startupTimeoutMs} ms\n${selfExits.join('\n')}`,
        );
      await sleep(200);
    }
    log(`${n} replicas up (f=${f}); connecting ${options.agents} agents through the proxy`);
    for (let k = 0; k < options.agents; k++) {
      const agent = `agent-${k}`;
      clients.push(
        await connectAgent({
          dir: agentDirs.get(agent) as string,
          agent,
          timeoutMs: CHAOS_LIMITS.writeTimeoutMs,
          connectTimeoutMs: CHAOS_LIMITS.startupTimeoutMs,
        }),
      );
    }
    sampler.start();

    // ---- the chaos phase: writers run while the schedule plays out ----
    writing = true;
    chaosStartedAt = performance.now();
    const writers = clients.map(async (client) => {
      for (let i = 0; writing && i < CHAOS_LIMITS.writesPerAgentMax; i++) {
        const key = `${client.agent}/k${i % CHAOS_LIMITS.keysPerAgent}`;
        const value = `v${i}`;
        ledger.attempt(key, value);
        const sentAt = performance.now();
        try {
          const outcome = await client.request(encodeKvOperation({ op: 'put', key, value }));
          const result = decodeKvResult(outcome.result);
          if (!result.ok || result.value !== value) {
            if (ledger.wrongResults.length < 20)
              ledger.wrongResults.push(`${key} := ${value} was acknowledged as ${JSON.stringify(result)}`);
          }
          ledger.acknowledge(key, value, performance.now() - sentAt, performance.now() - chaosStartedAt);
        } catch (error) {
          // A write that timed out may still execute later: only acknowledged writes are promised.
          ledger.fail(error);
        }
      }
    });

    const occupied = new Map<number, number>();
    /** The replicas a fault hits now ('primary': the current one, unless it is already hit). */
    const resolveTargets = async (targets: readonly ReplicaTarget[]) => {
      const now = performance.now();
      for (const [id, untilMs] of occupied) if (untilMs <= now) occupied.delete(id);
      const statuses = await Promise.all([...running.keys()].map((r) => statusOf(base.file, r)));
      const primary = statuses.filter((s) => s !== undefined).sort((a, b) => b.view - a.view)[0]?.primary;
      const ids: number[] = [];
      for (const target of targets) {
        if (target !== 'primary') {
          ids.push(target);
          continue;
        }
        const free = base.file.replicas
          .map((r) => r.id)
          .filter((r) => !occupied.has(r) && !ids.includes(r) && !targets.includes(r));
        ids.push(primary !== undefined && free.includes(primary) ? primary : runtimeRandom.pick(free));
      }
      if (primary !== undefined && ids.includes(primary)) faults.primaryTargeted++;
      const label = ids.map((id) => `replica ${id}${id === primary ? ' (the primary)' : ''}`).join(' + ');
      return { ids, label };
    };
    const occupy = (ids: readonly number[], untilMs: number) => {
      for (const id of ids) occupied.set(id, untilMs + SCHEDULE_DEFAULTS.recoveryMs);
    };

    // Each fault is a start and an end action; the end reads what the start resolved.
    const actions: { atMs: number; order: number; run: () => Promise<void> }[] = [];
    schedule.forEach((event, index) => {
      const label = describeEvent(event);
      switch (event.kind) {
        case 'kill': {
          let victim: number | undefined;
          actions.push({
            atMs: event.atMs,
            order: index * 2,
            run: async () => {
              const { ids, label } = await resolveTargets([event.replica]);
              victim = ids[0] as number;
              const id = victim;
              occupy([id], chaosStartedAt + event.atMs + event.downMs);
              log(`t=${at()}s  kill -9 ${label}`);
              await kill(id, 'SIGKILL');
              faults.kills++;
            },
          });
          actions.push({
            atMs: event.atMs + event.downMs,
            order: index * 2 + 1,
            run: async () => {
              if (victim === undefined || running.has(victim)) return;
              log(`t=${at()}s  restart replica ${victim}`);
              start(victim);
              faults.restarts++;
            },
          });
          break;
        }
        case 'partition': {
          const island = `island-${index}`;
          let isolated: string[] = [];
          actions.push({
            atMs: event.atMs,
            order: index * 2,
            run: async () => {
              const { ids, label } = await resolveTargets(event.replicas);
              const agents = event.agents.map((k) => `agent-${k}`);
              isolated = [...ids.map((id) => `replica ${id}`), ...agents];
              occupy(ids, chaosStartedAt + event.atMs + event.durationMs);
              const members = [...ids.map(sourceOfReplica), ...agents.map(sourceOfAgent)];
              const cut = proxy.isolate(island, members, event.mode);
              faults.partitions++;
              if (event.mode === 'cut') faults.partitionsCut++;
              else faults.partitionsStalled++;
              log(
                `t=${at()}s  partition (${event.mode}) ${[label, ...agents].join(' + ')} from the rest${event.mode === 'cut' ? `, ${cut} connections reset` : ''}`,
              );
            },
          });
          actions.push({
            atMs: event.atMs + event.durationMs,
            order: index * 2 + 1,
            run: async () => {
              proxy.heal(island);
              log(`t=${at()}s  heal the partition of ${isolated.join(' + ')}`);
            },
          });
          break;
        }
        case 'delay':
          actions.push({
            atMs: event.atMs,
            order: index * 2,
            run: async () => {
              proxy.setDelay(event.fixedMs, event.jitterMs);
              faults.delayWindows++;
              log(`t=${at()}s  ${label}`);
            },
          });
          actions.push({
            atMs: event.atMs + event.durationMs,
            order: index * 2 + 1,
            run: async () => {
              proxy.setDelay(0, 0);
              log(`t=${at()}s  delay off`);
            },
          });
          break;
        case 'drop':
          actions.push({
            atMs: event.atMs,
            order: index * 2,
            run: async () => {
              const dropped = proxy.drop(event.connections);
              faults.dropEvents++;
              log(`t=${at()}s  drop ${dropped} of ${proxy.openConnections() + dropped} open connections`);
            },
          });
          break;
      }
    });
    actions.sort((a, b) => a.atMs - b.atMs || a.order - b.order);
    for (const action of actions) {
      await sleep(chaosStartedAt + action.atMs - performance.now());
      await action.run();
    }
    await sleep(chaosStartedAt + options.durationMs - performance.now());

    // ---- heal everything and stop the load ----
    proxy.healAll();
    proxy.setDelay(0, 0);
    for (let id = 0; id < n; id++) if (!running.has(id)) start(id);
    writing = false;
    log(`t=${at()}s  chaos over: everything healed; waiting for the writers to finish`);
    await Promise.all(writers);
    const chaosEndedMs = performance.now() - chaosStartedAt;

    // ---- checks ----
    log('checking liveness, convergence, agreement and every acknowledged write');
    // Liveness after heal: one more write per agent, within a bound.
    const finalStarted = performance.now();
    const finals = await Promise.all(
      clients.map(async (client) => {
        const key = `${client.agent}/final`;
        ledger.attempt(key, 'final');
        try {
          const outcome = await client.request(encodeKvOperation({ op: 'put', key, value: 'final' }), {
            timeoutMs: CHAOS_LIMITS.finalWriteTimeoutMs,
          });
          const result = decodeKvResult(outcome.result);
          if (!result.ok || result.value !== 'final')
            return `${client.agent}: wrong result ${JSON.stringify(result)}`;
          ledger.acknowledge(
            key,
            'final',
            performance.now() - finalStarted,
            performance.now() - chaosStartedAt,
          );
          return undefined;
        } catch (error) {
          ledger.fail(error);
          return `${client.agent}: ${(error as Error).message}`;
        }
      }),
    );
    const finalFailures = finals.filter((x) => x !== undefined);
    check(
      'liveness after heal',
      finalFailures.length === 0,
      finalFailures.length === 0
        ? `every agent's write after the heal was acknowledged within ${((performance.now() - finalStarted) / 1000).toFixed(1)} s`
        : finalFailures.join('; '),
    );

    // Convergence: every replica at one executed sequence with one digest.
    const convergeStarted = performance.now();
    let lastSeen = '';
    let converged = false;
    while (performance.now() - convergeStarted < CHAOS_LIMITS.convergenceTimeoutMs) {
      const statuses = await Promise.all(base.file.replicas.map((r) => statusOf(base.file, r.id)));
      for (const s of statuses) if (s !== undefined) sampler.record(s.id, s.executedSequence, s.stateDigest);
      lastSeen = statuses
        .map((s, id) =>
          s === undefined ? `${id}: down` : `${id}: ${s.executedSequence}/${s.stateDigest.slice(0, 8)}`,
        )
        .join(', ');
      const sequences = new Set(statuses.map((s) => s?.executedSequence));
      const digests = new Set(statuses.map((s) => s?.stateDigest));
      if (statuses.every((s) => s !== undefined) && sequences.size === 1 && digests.size === 1) {
        finalSequence = statuses[0]?.executedSequence ?? -1;
        finalDigest = statuses[0]?.stateDigest ?? '';
        converged = true;
        break;
      }
      await sleep(100);
    }
    check(
      'convergence',
      converged,
      converged
        ? `all ${n} replicas at executed sequence ${finalSequence}, digest ${finalDigest.slice(0, 16)}…, after ${((performance.now() - convergeStarted) / 1000).toFixed(1)} s`
        : `not within ${CHAOS_LIMITS.convergenceTimeoutMs / 1000} s; last seen (sequence/digest) ${lastSeen}`,
    );
    sampler.stop();
    check(
      'agreement',
      sampler.disagreements.length === 0,
      sampler.disagreements.length === 0
        ? `${sampler.samples} status samples over ${sampler.digests.size} executed sequences: one digest per sequence`
        : sampler.disagreements.join('; '),
    );

    // Durability: every acknowledged write, read back with quorum reads.
    const reader = await connectAgent({
      dir: agentDirs.get(readerAgent) as string,
      agent: readerAgent,
      timeoutMs: CHAOS_LIMITS.readTimeoutMs,
      connectTimeoutMs: CHAOS_LIMITS.startupTimeoutMs,
    });
    clients.push(reader);
    const missing: string[] = [];
    let missingCount = 0;
    const keys = [...ledger.acknowledged.keys()];
    for (let i = 0; i < keys.length; i += CHAOS_LIMITS.readsInFlightMax) {
      await Promise.all(
        keys.slice(i, i + CHAOS_LIMITS.readsInFlightMax).map(async (key) => {
          const allowed = ledger.allowed(key);
          let last = '';
          for (let attempt = 0; attempt < CHAOS_LIMITS.readAttemptsMax; attempt++) {
            try {
              const read = await reader.query(encodeKvOperation({ op: 'get', key }), 'quorum');
              const result = decodeKvResult(read.result);
              if (result.ok && result.value !== null && allowed.has(result.value)) return;
              last = `read ${JSON.stringify(result)} at sequence ${read.executedSequenceMin}`;
              break;
            } catch (error) {
              last = (error as Error).message;
            }
          }
          missingCount++;
          if (missing.length < 20)
            missing.push(`${key}: acknowledged ${ledger.acknowledged.get(key)}, ${last}`);
        }),
      );
    }
    // A few ordered reads too: they go through consensus after everything else.
    for (const key of keys.slice(0, 3)) {
      try {
        const read = await reader.request(encodeKvOperation({ op: 'get', key }));
        const result = decodeKvResult(read.result);
        if (!(result.ok && result.value !== null && ledger.allowed(key).has(result.value))) {
          missingCount++;
          missing.push(`${key}: linearizable read ${JSON.stringify(result)}`);
        }
      } catch (error) {
        missingCount++;
        missing.push(`${key}: linearizable read failed: ${(error as Error).message}`);
      }
    }
    check(
      'acknowledged writes',
      missingCount === 0 && ledger.wrongResults.length === 0,
      missingCount === 0 && ledger.wrongResults.length === 0
        ? `${ledger.acks} acknowledged writes over ${keys.length} keys: every key holds its acknowledged value or a later write`
        : `${missingCount} keys do not: ${[...ledger.wrongResults, ...missing].join('; ')}`,
    );
    const stall = longestGapMs(
      ledger.ackTimesMs.filter((t) => t <= chaosEndedMs),
      chaosEndedMs,
    );
    check(
      'progress during the faults',
      stall <= CHAOS_LIMITS.progressGapMsMax,
      `longest stretch without an acknowledged write ${(stall / 1000).toFixed(1)} s (bound ${CHAOS_LIMITS.progressGapMsMax / 1000} s)`,
    );
    check(
      'no replica stopped by itself',
      selfExits.length === 0,
      selfExits.length === 0
        ? `${faults.kills} kill${faults.kills === 1 ? '' : 's'} by us, no other exit`
        : selfExits.join('\n'),
    );

    const sortedLatencies = [...ledger.latenciesMs].sort((a, b) => a - b);
    const ok = checks.every((c) => c.ok);
    directoryKept = !ok || options.keepDirectory === true;
    return {
      options: {
        seed: options.seed,
        durationMs: options.durationMs,
        replicas: n,
        agents: options.agents,
        sync: options.sync,
        keepDirectory: options.keepDirectory ?? false,
      },
      f,
      directory: root,
      directoryKept,
      schedule,
      faults: { ...faults },
      proxy: proxy.stats(),
      load: {
        attempted: ledger.attempted,
        acknowledged: ledger.acks,
        timedOut: ledger.timedOut,
        failedByCode: { ...ledger.failedByCode },
        latencyMsP50: percentile(sortedLatencies, 50),
        latencyMsP99: percentile(sortedLatencies, 99),
        latencyMsMax: sortedLatencies.at(-1) ?? 0,
        longestStallMs: stall,
        keysChecked: keys.length,
      },
      cluster: {
        highestView: sampler.highestView,
        finalSequence,
        finalDigest,
        statusSamples: sampler.samples,
        sequencesCompared: sampler.digests.size,
      },
      checks,
      ok,
      elapsedMs: performance.now() - startedAt,
    };
  } catch (error) {
    directoryKept = true;
    throw error;
  } finally {
    writing = false;
    sampler.stop();
    await Promise.allSettled(clients.map((client) => client.close()));
    await Promise.allSettled([...running.keys()].map((id) => kill(id, 'SIGTERM')));
    await proxy.close();
    if (!directoryKept) rmSync(root, { recursive: true, force: true });
  }
}

/** The longest time between consecutive acknowledgements (and the ends of the phase). */
function longestGapMs(times: readonly number[], endMs: number): number {
  let longest = 0;
  let previous = 0;
  for (const t of [...times].sort((a, b) => a - b)) {
    longest = Math.max(longest, t - previous);
    previous = t;
  }
  return Math.max(longest, endMs - previous);
}
