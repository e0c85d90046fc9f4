/**
 * The deterministic simulator: one seed drives keys, network, agents and adversary; virtual time
 * is an integer tick. Each tick delivers the frames due (in (deliverAt, insertion) order), then
 * ticks every replica in id order, then lets every agent act. Nothing reads a clock or
 * `Math.random`, so the same options give the same run, byte for byte.
 *
 * Phases: faults (drops, duplicates, delays, reordering, partitions) until `healTick`; then the
 * network is healed (no drops, no partitions, small bounded delays: "after GST") and the run goes
 * on until every honest agent has all its answers, or `livenessTicksMax` after the heal.
 */
import {
  type ClusterConfig,
  type CryptoBackend,
  DEFAULT_DECODE_LIMITS,
  type DecodeLimits,
  decodeFrame,
  type ExecutedBatch,
  KvStateMachine,
  LIMITS,
  MessageType,
  nodeCrypto,
  type ProtocolConfig,
  quorumsOf,
  Replica,
  type ReplicaInput,
  type ReplicaOutput,
  type ReplicaStatus,
  signedReplyVerifier,
  toHex,
} from '@conclave/core';
import { SimulatedAgent } from './agent.ts';
import { type ByzantinePlan, ByzantineReplica, Conspiracy, type SimOutbound } from './byzantine.ts';
import { ByzantineAgent } from './byzantine-agent.ts';
import { checkRun, SAFETY_CHECKERS, type Violation } from './checkers.ts';
import {
  type Address,
  type Envelope,
  type FaultConfig,
  Network,
  type NetworkStats,
  type Partition,
} from './network.ts';
import { Prng } from './prng.ts';
import type { BatchRecord, ExecutedRecord, ReplicaRecord, RunRecord } from './record.ts';
import { cachingVerifier } from './verify-cache.ts';

export interface ScenarioOptions {
  readonly seed: number;
  readonly replicas: number;
  /** One plan per Byzantine replica; every other replica is honest. */
  readonly byzantine: readonly ByzantinePlan[];
  /** Whether Byzantine replicas marked `colluding` share a conspiracy. */
  readonly collusion: boolean;
  readonly agents: number;
  /** Registered agents that lie (see byzantine-agent.ts); nothing is promised to them. */
  readonly byzantineAgents: number;
  readonly requestsPerAgent: number;
  readonly keyCount: number;
  readonly protocol: ProtocolConfig;
  /** The network until `healTick`. */
  readonly faults: FaultConfig;
  /** The network from `healTick` on: no drops, small bounded delays. */
  readonly healedFaults: FaultConfig;
  readonly partitions: readonly Partition[];
  readonly healTick: number;
  /** Ticks after the heal within which every honest agent must be done. */
  readonly livenessTicksMax: number;
  /** Ticks to keep running after every agent is done, so lagging replicas catch up for the checkers. */
  readonly drainTicks: number;
  /** Initial clock reading of each replica (clocks are skewed, not drifting). */
  readonly clockStarts: readonly number[];
  readonly agentStartTicksMax: number;
  readonly agentThinkTicksMax: number;
  readonly agentRetryTicks: number;
  readonly agentRetryTicksMax: number;
}

export interface ScenarioStats {
  readonly ticks: number;
  readonly network: NetworkStats;
  /** Steps taken by honest replicas (messages and ticks). */
  readonly replicaSteps: number;
  readonly executedBatches: number;
  readonly viewMax: number;
  /** Rejections summed over honest replicas, by code. */
  readonly rejections: Readonly<Record<string, number>>;
  readonly persistRecords: number;
  readonly repliesIgnored: number;
}

export interface ScenarioResult {
  readonly seed: number;
  readonly options: ScenarioOptions;
  readonly violations: readonly Violation[];
  readonly record: RunRecord;
  readonly stats: ScenarioStats;
  /** Each honest replica's status at the end. */
  readonly statuses: readonly ReplicaStatus[];
  readonly conspiracy?: {
    readonly members: readonly number[];
    readonly groupA: readonly number[];
    readonly groupB: readonly number[];
    readonly proposals: number;
  };
}

/** Frames delivered in one tick at most; the rest wait for the next tick (they stay due). */
export const DELIVERIES_PER_TICK_MAX = 20_000;
/** Hard cap on a run's length whatever the options say. */
export const SCENARIO_TICKS_MAX = 100_000;
/** Batches observed on the network and kept for the validity checker. */
export const OBSERVED_BATCHES_MAX = 100_000;

const BATCH_CARRYING_TYPES: ReadonlySet<number> = new Set([
  MessageType.prePrepare,
  MessageType.viewChange,
  MessageType.newView,
  MessageType.committed,
]);

interface HonestNode {
  readonly replica: Replica;
  readonly stateMachine: KvStateMachine;
  readonly executed: ExecutedRecord[];
}

/** Optional observers, for debugging a seed; they must not feed anything back into the run. */
export interface RunHooks {
  readonly onDeliver?: (envelope: Envelope, tick: number) => void;
  readonly onHonestOutput?: (id: number, output: ReplicaOutput, tick: number) => void;
  readonly onByzantineOutput?: (id: number, sends: readonly SimOutbound[], tick: number) => void;
}

export function runScenario(options: ScenarioOptions, hooks: RunHooks = {}): ScenarioResult {
  validateOptions(options);
  const root = new Prng(options.seed);
  // Replicas verify the same broadcasts; remembering results saves time and changes no outcome.
  const crypto: CryptoBackend = cachingVerifier(nodeCrypto());
  const n = options.replicas;
  const { f } = quorumsOf(n);

  // Identities: replicas first, then agents, from one key stream.
  const keyStream = root.fork('keys');
  const replicaKeys = Array.from({ length: n }, () => crypto.keyPairFromSeed(keyStream.bytes(32)));
  const agentIds = Array.from({ length: options.agents }, (_, i) => `agent-${i}`);
  const agentKeys = agentIds.map(() => crypto.keyPairFromSeed(keyStream.bytes(32)));
  const malloryIds = Array.from({ length: options.byzantineAgents }, (_, i) => `mallory-${i}`);
  const malloryKeys = malloryIds.map(() => crypto.keyPairFromSeed(keyStream.bytes(32)));
  const allAgentKeys = [...agentKeys, ...malloryKeys];
  const cluster: ClusterConfig = {
    replicas: replicaKeys.map((keys, id) => ({ id, publicKey: keys.publicKey })),
    agents: [...agentIds, ...malloryIds].map((id, i) => ({
      id,
      publicKey: (allAgentKeys[i] as { publicKey: Uint8Array }).publicKey,
    })),
  };
  const decodeLimits: DecodeLimits = {
    ...DEFAULT_DECODE_LIMITS,
    batchSizeMax: options.protocol.batchSizeMax,
    entriesMax: Math.max(options.protocol.watermarkWindow, LIMITS.committedBatchesPerFetchMax),
  };

  const plans = new Map(options.byzantine.map((plan) => [plan.id, plan]));
  const honestIds = Array.from({ length: n }, (_, id) => id).filter((id) => !plans.has(id));
  const colluders = options.byzantine.filter((plan) => plan.colluding).map((plan) => plan.id);
  const conspiracy =
    options.collusion && colluders.length >= 2
      ? new Conspiracy(colluders, honestIds, root.fork('conspiracy'))
      : undefined;

  const makeReplica = (id: number, stateMachine: KvStateMachine) =>
    new Replica({
      id,
      cluster,
      protocol: options.protocol,
      crypto,
      secretKey: (replicaKeys[id] as { secretKey: Uint8Array }).secretKey,
      stateMachine,
      clockStart: options.clockStarts[id] ?? 0,
    });

  const honest = new Map<number, HonestNode>();
  const byzantine = new Map<number, ByzantineReplica>();
  for (let id = 0; id < n; id++) {
    const stateMachine = new KvStateMachine(crypto.hash);
    const replica = makeReplica(id, stateMachine);
    const plan = plans.get(id);
    if (plan === undefined) {
      honest.set(id, { replica, stateMachine, executed: [] });
    } else {
      byzantine.set(
        id,
        new ByzantineReplica({
          plan,
          inner: replica,
          cluster,
          crypto,
          secretKey: (replicaKeys[id] as { secretKey: Uint8Array }).secretKey,
          prng: root.fork(`byzantine-${id}`),
          decodeLimits,
          ...(conspiracy === undefined ? {} : { conspiracy }),
        }),
      );
    }
  }

  const created = new Map<string, { agent: string; requestId: number }>();
  const verifier = signedReplyVerifier(crypto, cluster);
  const agentStream = root.fork('agents');
  const agents = agentIds.map(
    (id, i) =>
      new SimulatedAgent({
        id,
        secretKey: (agentKeys[i] as { secretKey: Uint8Array }).secretKey,
        crypto,
        verifier,
        decodeLimits,
        replicaCount: n,
        faultsMax: f,
        prng: agentStream.fork(id),
        requests: options.requestsPerAgent,
        keyCount: options.keyCount,
        startTick: agentStream.int(options.agentStartTicksMax + 1),
        thinkTicksMax: options.agentThinkTicksMax,
        retryTicks: options.agentRetryTicks,
        retryTicksMax: options.agentRetryTicksMax,
        created,
      }),
  );
  const mallories = malloryIds.map(
    (id, i) =>
      new ByzantineAgent({
        id,
        secretKey: (malloryKeys[i] as { secretKey: Uint8Array }).secretKey,
        crypto,
        prng: root.fork(`mallory-${i}`),
        replicaCount: n,
        keyCount: options.keyCount,
        victims: agentIds,
        created,
      }),
  );
  const agentsById = new Map<string, SimulatedAgent | ByzantineAgent>([
    ...agents.map((agent) => [agent.id, agent] as const),
    ...mallories.map((agent) => [agent.id, agent] as const),
  ]);

  const network = new Network({
    replicaCount: n,
    prng: root.fork('network'),
    faults: options.faults,
    partitions: options.partitions,
  });

  const batches = new Map<string, BatchRecord>();
  const observe = (out: SimOutbound) => {
    if (!BATCH_CARRYING_TYPES.has(out.type) || batches.size >= OBSERVED_BATCHES_MAX) return;
    const decoded = decodeFrame(out.frame, decodeLimits, crypto.hash);
    if (!decoded.ok) return;
    for (const batch of decoded.value.batches) {
      const digest = toHex(batch.digest);
      if (batches.has(digest)) continue;
      batches.set(digest, {
        digest,
        timestamp: batch.timestamp,
        requests: batch.requests.map((request) => ({
          agent: request.body.agent,
          requestId: request.body.requestId,
          digest: toHex(crypto.hash(request.bytes)),
        })),
      });
    }
  };

  let replicaSteps = 0;
  let persistRecords = 0;
  let crash: Violation | undefined;

  const stepHonest = (id: number, node: HonestNode, input: ReplicaInput, tick: number) => {
    replicaSteps++;
    let output: ReplicaOutput;
    try {
      output = node.replica.step(input);
    } catch (error) {
      crash = {
        checker: 'replicaCrash',
        message: `honest replica ${id} threw on ${input.kind === 'tick' ? 'a tick' : `a frame of ${input.frame.byteLength} bytes`}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
        tick,
      };
      return;
    }
    hooks.onHonestOutput?.(id, output, tick);
    // The host's order: persist (recorded only), then send, then report executed.
    persistRecords += output.persist.length;
    for (const out of output.send) {
      observe(out);
      network.send(id, out.to, out.type, out.frame);
    }
    output.executed.forEach((batch, index) => {
      const last = index === output.executed.length - 1;
      node.executed.push(executedRecord(batch, tick, last ? toHex(node.stateMachine.digest()) : undefined));
    });
  };

  const stepByzantine = (id: number, node: ByzantineReplica, input: ReplicaInput, tick: number) => {
    let sends: SimOutbound[];
    try {
      sends = node.step(input, tick);
    } catch (error) {
      // The liar's inner replica only ever sees real network input, so this is a replica bug too.
      crash = {
        checker: 'replicaCrash',
        message: `inner replica of Byzantine ${id} threw: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
        tick,
      };
      return;
    }
    hooks.onByzantineOutput?.(id, sends, tick);
    for (const out of sends) {
      observe(out);
      network.send(id, out.to, out.type, out.frame);
    }
  };

  const deliver = (envelope: Envelope, tick: number) => {
    hooks.onDeliver?.(envelope, tick);
    const to: Address = envelope.to;
    if (typeof to === 'string') {
      agentsById.get(to)?.onReply(envelope.frame, tick);
      return;
    }
    const input: ReplicaInput = { kind: 'message', frame: envelope.frame };
    const node = honest.get(to);
    if (node !== undefined) stepHonest(to, node, input, tick);
    else {
      const liar = byzantine.get(to);
      if (liar !== undefined) stepByzantine(to, liar, input, tick);
    }
  };

  const tickLimit = Math.min(options.healTick + options.livenessTicksMax, SCENARIO_TICKS_MAX);
  let doneAt: number | undefined;
  let tick = 0;
  const tickInput: ReplicaInput = { kind: 'tick' };
  for (; tick <= tickLimit && crash === undefined; tick++) {
    network.advanceTo(tick);
    if (tick === options.healTick) {
      network.setFaults(options.healedFaults);
      network.setPartitions([]);
    }
    for (let delivered = 0; delivered < DELIVERIES_PER_TICK_MAX && crash === undefined; delivered++) {
      const envelope = network.nextDue();
      if (envelope === undefined) break;
      deliver(envelope, tick);
    }
    for (let id = 0; id < n && crash === undefined; id++) {
      const node = honest.get(id);
      if (node !== undefined) stepHonest(id, node, tickInput, tick);
      else {
        const liar = byzantine.get(id);
        if (liar !== undefined) stepByzantine(id, liar, tickInput, tick);
      }
    }
    for (const agent of [...agents, ...mallories]) {
      for (const send of agent.tick(tick)) network.send(agent.id, send.to, MessageType.request, send.frame);
    }
    if (doneAt === undefined && agents.every((agent) => agent.done)) doneAt = tick;
    if (doneAt !== undefined && tick >= doneAt + options.drainTicks) break;
  }
  const endTick = Math.min(tick, tickLimit);

  const replicaRecords: ReplicaRecord[] = [];
  const statuses: ReplicaStatus[] = [];
  const rejections: Record<string, number> = {};
  let viewMax = 0;
  let executedBatches = 0;
  for (let id = 0; id < n; id++) {
    const node = honest.get(id);
    if (node === undefined) {
      replicaRecords.push({ id, honest: false, executed: [] });
      continue;
    }
    const status = node.replica.status();
    statuses.push(status);
    viewMax = Math.max(viewMax, status.view);
    executedBatches += node.executed.length;
    for (const [code, count] of Object.entries(node.replica.rejections()))
      rejections[code] = (rejections[code] ?? 0) + (count ?? 0);
    replicaRecords.push({
      id,
      honest: true,
      executed: node.executed,
      final: {
        lastExecuted: status.lastExecuted,
        stateDigest: toHex(node.stateMachine.digest()),
        view: status.view,
      },
    });
  }

  const record: RunRecord = {
    replicaCount: n,
    faultsMax: f,
    checkpointInterval: options.protocol.checkpointInterval,
    replicas: replicaRecords,
    agents: [...agents.map((agent) => agent.record()), ...mallories.map((agent) => agent.record())],
    created,
    batches,
    healTick: options.healTick,
    endTick,
    agentsDone: doneAt !== undefined,
  };
  // A crash ends the run early, so only safety can be judged: liveness had no fair chance.
  const violations =
    crash === undefined ? checkRun(record) : [crash, ...SAFETY_CHECKERS.flatMap((check) => check(record))];

  return {
    seed: options.seed,
    options,
    violations,
    record,
    statuses,
    stats: {
      ticks: endTick,
      network: { ...network.stats },
      replicaSteps,
      executedBatches,
      viewMax,
      rejections,
      persistRecords,
      repliesIgnored: agents.reduce((sum, agent) => sum + agent.repliesIgnored, 0),
    },
    ...(conspiracy === undefined
      ? {}
      : {
          conspiracy: {
            members: conspiracy.members,
            groupA: conspiracy.groupA,
            groupB: conspiracy.groupB,
            proposals: conspiracy.proposals.length,
          },
        }),
  };
}

function executedRecord(batch: ExecutedBatch, tick: number, stateDigest: string | undefined): ExecutedRecord {
  const base = {
    tick,
    sequence: batch.sequence,
    view: batch.view,
    digest: toHex(batch.digest),
    timestamp: batch.timestamp,
    via: batch.via,
    requests: batch.requests.map((request) => ({
      agent: request.agent,
      requestId: request.requestId,
      result: toHex(request.result),
    })),
  };
  return stateDigest === undefined ? base : { ...base, stateDigest };
}

function validateOptions(options: ScenarioOptions): void {
  const n = options.replicas;
  if (!Number.isSafeInteger(n) || n < 4) throw new RangeError(`replicas must be an integer >= 4, got ${n}`);
  const ids = new Set<number>();
  for (const plan of options.byzantine) {
    if (!Number.isSafeInteger(plan.id) || plan.id < 0 || plan.id >= n)
      throw new RangeError(`Byzantine replica ${plan.id} out of range`);
    if (ids.has(plan.id)) throw new RangeError(`Byzantine replica ${plan.id} listed twice`);
    ids.add(plan.id);
  }
  if (ids.size >= n) throw new RangeError('at least one replica must be honest');
  if (!Number.isSafeInteger(options.byzantineAgents) || options.byzantineAgents < 0) {
    throw new RangeError('byzantineAgents must be a non-negative integer');
  }
  if (!Number.isSafeInteger(options.agents) || options.agents < 1)
    throw new RangeError('agents must be a positive integer');
  if (!Number.isSafeInteger(options.requestsPerAgent) || options.requestsPerAgent < 1) {
    throw new RangeError('requestsPerAgent must be a positive integer');
  }
  if (options.healTick < 0 || options.livenessTicksMax < 1)
    throw new RangeError('healTick must be >= 0 and livenessTicksMax >= 1');
}
