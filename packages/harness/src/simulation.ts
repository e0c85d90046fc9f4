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
import { CoordinationStateMachine } from '@conclave/coordination';
import {
  applyPersistRecords,
  type ClusterConfig,
  type CryptoBackend,
  DEFAULT_DECODE_LIMITS,
  type DecodeLimits,
  type Destination,
  type DurableState,
  emptyDurableState,
  KvStateMachine,
  LIMITS,
  MessageType,
  nodeCrypto,
  type Outbound,
  type PeerAddress,
  quorumsOf,
  Replica,
  type ReplicaInput,
  type ReplicaOutput,
  type ReplicaStatus,
  type StateMachine,
  signedReplyVerifier,
  verifyCache,
} from '@conclave/core';
import { SimulatedAgent } from './agent.ts';
import { BatchLog } from './batch-log.ts';
import { ByzantineReplica, Conspiracy, type SimOutbound } from './byzantine.ts';
import { ByzantineAgent } from './byzantine-agent.ts';
import { checkRun, SAFETY_CHECKERS, type Violation } from './checkers.ts';
import { equivocationsSeen, RequestBodiesSeen } from './equivocations.ts';
import { HonestReplica, ReceiptAudit } from './honest-replica.ts';
import { type Address, type Envelope, Network } from './network.ts';
import { Prng } from './prng.ts';
import type { ReplicaRecord, RunRecord } from './record.ts';
import type { ScenarioOptions, ScenarioResult } from './scenario-options.ts';
import { twinAddress } from './scenario-options.ts';
import { type TraceSink, traceAccepted, tracePartitions, traceReplicaOutput, traceSends } from './trace.ts';
import { Commons } from './workload.ts';

export { OBSERVED_BATCHES_MAX } from './batch-log.ts';
export { RECEIPTS_PER_REPLICA_MAX } from './honest-replica.ts';
export {
  type CrashPlan,
  type ScenarioOptions,
  type ScenarioResult,
  type ScenarioStats,
  twinAddress,
} from './scenario-options.ts';

/** Frames delivered in one tick at most; the rest wait for the next tick (they stay due). */
export const DELIVERIES_PER_TICK_MAX = 20_000;
/** Hard cap on a run's length whatever the options say. */
export const SCENARIO_TICKS_MAX = 100_000;
interface DownWindow {
  readonly crashTick: number;
  readonly restartTick: number;
  /** Restart from durable state (false: amnesia). */
  readonly durable: boolean;
}

/** With lying agents, the run goes on this many request timeouts after the honest agents are done. */
export const EVIDENCE_DRAIN_TIMEOUTS = 2;

/** Optional observers, for debugging a seed; they must not feed anything back into the run. */
export interface RunHooks {
  readonly onDeliver?: (envelope: Envelope, tick: number) => void;
  readonly onHonestOutput?: (id: number, output: ReplicaOutput, tick: number) => void;
  readonly onByzantineOutput?: (id: number, sends: readonly SimOutbound[], tick: number) => void;
  /** Every send (with its fate), delivery, replica step worth showing, accepted result and partition: see trace.ts. */
  readonly trace?: TraceSink;
}

/** Verdicts the simulation's shared verify cache remembers (every replica's checks in one run). */
const SIMULATION_VERIFY_CACHE_ENTRIES = 50_000;

export function runScenario(options: ScenarioOptions, hooks: RunHooks = {}): ScenarioResult {
  validateOptions(options);
  const root = new Prng(options.seed);
  // Replicas verify the same broadcasts (n-1 times each); Ed25519 verification is a pure
  // function, so answering repeats from one shared cache saves time and changes no outcome.
  const crypto: CryptoBackend = verifyCache(nodeCrypto(), SIMULATION_VERIFY_CACHE_ENTRIES);
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

  const newStateMachine = (): StateMachine =>
    options.stateMachine === 'coordination'
      ? new CoordinationStateMachine({ crypto, agents: cluster.agents })
      : new KvStateMachine(crypto.hash);
  const startState: DurableState | undefined =
    (options.startView ?? 0) > 0 ? { ...emptyDurableState(), view: options.startView as number } : undefined;
  const makeReplica = (
    id: number,
    stateMachine: StateMachine,
    restored: DurableState | undefined = startState,
    clockStart: number = options.clockStarts[id] ?? 0,
  ) =>
    new Replica({
      id,
      cluster,
      protocol: options.protocol,
      crypto,
      secretKey: (replicaKeys[id] as { secretKey: Uint8Array }).secretKey,
      stateMachine,
      clockStart,
      ...(restored === undefined ? {} : { restored }),
    });

  // Who goes down when, and how each comes back.
  const restartStream = root.fork('restarts');
  const downWindows = new Map<number, DownWindow>();
  for (const plan of options.crashes ?? []) {
    if (plans.has(plan.id)) continue;
    downWindows.set(plan.id, { crashTick: plan.crashTick, restartTick: plan.restartTick, durable: true });
  }
  for (const plan of options.byzantine) {
    const amnesia = plan.strategies.includes('amnesia');
    if (!amnesia && !plan.strategies.includes('crashRestart')) continue;
    const crashTick = plan.crashTick ?? restartStream.range(30, Math.max(30, options.healTick));
    const restartTick = plan.restartTick ?? crashTick + restartStream.range(20, 200);
    downWindows.set(plan.id, {
      crashTick,
      restartTick: Math.max(restartTick, crashTick + 1),
      durable: !amnesia,
    });
  }
  const isDown = (id: number, tick: number): boolean => {
    const window = downWindows.get(id);
    return window !== undefined && tick >= window.crashTick && tick < window.restartTick;
  };
  let droppedWhileDown = 0;
  let restarts = 0;

  const receiptAudit = new ReceiptAudit(cluster, crypto);
  /** The tick being run: what the replicas' sends are stamped with. */
  let now = 0;
  const sendCopy = (from: Address, peer: PeerAddress, outbound: Outbound) =>
    send(from, peer, outbound.type, outbound.frame, now);
  const honestReplica = (
    id: number,
    address: Address,
    replica: Replica,
    stateMachine: StateMachine,
    durable: DurableState | undefined,
  ) =>
    new HonestReplica({
      id,
      address,
      replicaCount: n,
      replica,
      stateMachine,
      durable,
      send: sendCopy,
      // A twin copy's receipts are not promised: only the replica's own address is audited.
      ...(address === id ? { receipts: receiptAudit } : {}),
    });
  const honest = new Map<number, HonestReplica>();
  const byzantine = new Map<number, ByzantineReplica>();
  const byzantineDurable = new Map<number, DurableState>();
  /** Second copies of twinned replicas, by address: honest code, the twinned replica's key. */
  const twins = new Map<string, HonestReplica>();
  for (let id = 0; id < n; id++) {
    const stateMachine = newStateMachine();
    const replica = makeReplica(id, stateMachine);
    const plan = plans.get(id);
    const durable = downWindows.has(id) ? (startState ?? emptyDurableState()) : undefined;
    if (plan === undefined) {
      honest.set(id, honestReplica(id, id, replica, stateMachine, durable));
    } else {
      if (durable !== undefined) byzantineDurable.set(id, durable);
      if (plan.strategies.includes('twins')) {
        const copyMachine = newStateMachine();
        const address = twinAddress(id);
        twins.set(address, honestReplica(id, address, makeReplica(id, copyMachine), copyMachine, undefined));
      }
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
          // Just under the backups' request timeout: late, never late enough to be replaced.
          slowPrimaryDelayTicks: Math.floor(options.protocol.requestTimeoutTicks * 0.75),
          ...(conspiracy === undefined ? {} : { conspiracy }),
        }),
      );
    }
  }

  const created = new Map<string, { agent: string; requestId: number }>();
  const commons = new Commons();
  const voters = [...agentIds, ...malloryIds];
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
        stateMachine: options.stateMachine ?? 'kv',
        commons,
        voters,
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
        stateMachine: options.stateMachine ?? 'kv',
        commons,
        voters,
        ...(options.byzantineAgentStrategies === undefined
          ? {}
          : { strategies: options.byzantineAgentStrategies }),
      }),
  );
  const malloryIdSet = new Set(malloryIds);
  const agentsById = new Map<string, SimulatedAgent | ByzantineAgent>([
    ...agents.map((agent) => [agent.id, agent] as const),
    ...mallories.map((agent) => [agent.id, agent] as const),
  ]);

  const network = new Network({
    replicaCount: n,
    prng: root.fork('network'),
    faults: options.faults,
    partitions: [...options.partitions, ...(options.permanentPartitions ?? [])],
    aliases: new Map([...twins.values()].map((copy) => [copy.id, [twinAddress(copy.id)]])),
  });
  const requestsSeen = new RequestBodiesSeen();
  const batchLog = new BatchLog(decodeLimits, crypto.hash);
  const batches = batchLog.batches;
  const send = (from: Address, to: Destination, type: MessageType | 0, frame: Uint8Array, tick: number) => {
    const copies = network.send(from, to, type, frame);
    if (hooks.trace !== undefined) traceSends(hooks.trace, from, type, frame, copies, tick);
  };

  let crash: Violation | undefined;

  const stepHonest = (node: HonestReplica, input: ReplicaInput, tick: number) => {
    let output: ReplicaOutput;
    try {
      output = node.step(input, tick);
    } catch (error) {
      crash = {
        checker: 'replicaCrash',
        message: `honest replica ${node.id} threw on ${input.kind === 'tick' ? 'a tick' : input.kind === 'message' ? `a frame of ${input.frame.byteLength} bytes` : `${input.frames.length} frames`}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
        tick,
      };
      return;
    }
    hooks.onHonestOutput?.(node.id, output, tick);
    if (hooks.trace !== undefined) traceReplicaOutput(hooks.trace, node.id, output, tick);
    // Batches are read off the wire once per message, not once per copy.
    for (const out of output.send) batchLog.observe(out);
    node.finishRound();
  };

  /** Brings a crashed replica back: from its durable state, with a fresh state machine, or (amnesia) from nothing. */
  const restart = (id: number, window: DownWindow, tick: number) => {
    restarts++;
    const node = honest.get(id);
    if (node !== undefined) {
      // What a replica saw before its crash was never durable (requests are not): it cannot
      // prove an equivocation whose two bodies straddle its restart.
      requestsSeen.forget(id);
      const clockStart = node.replica.status().now + (window.restartTick - window.crashTick);
      node.retire();
      const stateMachine = newStateMachine();
      let replica: Replica;
      try {
        replica = makeReplica(id, stateMachine, node.durable, clockStart);
      } catch (error) {
        crash = {
          checker: 'replicaCrash',
          message: `honest replica ${id} could not restart from its durable state: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
          tick,
        };
        return;
      }
      node.resume(replica, stateMachine, window.crashTick, tick);
      return;
    }
    const liar = byzantine.get(id);
    if (liar === undefined) return;
    const clockStart = liar.inner.status().now + (window.restartTick - window.crashTick);
    const restored = window.durable ? byzantineDurable.get(id) : startState;
    try {
      liar.restart(makeReplica(id, newStateMachine(), restored, clockStart));
    } catch (error) {
      crash = {
        checker: 'replicaCrash',
        message: `Byzantine replica ${id} could not restart from its durable state: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
        tick,
      };
    }
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
    const durable = byzantineDurable.get(id);
    if (durable !== undefined && node.lastPersist.length > 0)
      byzantineDurable.set(id, applyPersistRecords(durable, node.lastPersist));
    for (const out of sends) {
      batchLog.observe(out);
      send(id, out.to, out.type, out.frame, tick);
    }
  };

  const deliver = (envelope: Envelope, tick: number) => {
    hooks.onDeliver?.(envelope, tick);
    hooks.trace?.({ kind: 'deliver', tick, envelope });
    const to: Address = envelope.to;
    if (typeof to === 'string') {
      const agent = agentsById.get(to);
      if (agent !== undefined) {
        const accepted = agent.onReply(envelope.frame, tick);
        if (accepted !== undefined && hooks.trace !== undefined)
          traceAccepted(hooks.trace, agent.id, accepted, tick);
        return;
      }
      const copy = twins.get(to);
      if (copy !== undefined) stepHonest(copy, { kind: 'message', frame: envelope.frame }, tick);
      return;
    }
    if (isDown(to, tick)) {
      droppedWhileDown++;
      return;
    }
    const input: ReplicaInput = { kind: 'message', frame: envelope.frame };
    const node = honest.get(to);
    if (node !== undefined && envelope.type === MessageType.request) {
      const info = commons.byFrame.get(envelope.frame);
      // A body with an id below what the replica already executed for the agent is refused as
      // stale: the replica keeps only each agent's last request, so it cannot prove anything.
      const movedPast = info !== undefined && info.requestId < (node.executedMax.get(info.agent) ?? 0);
      if (info !== undefined && malloryIdSet.has(info.agent) && !movedPast) {
        // Per replica: the protocol saw an equivocation when one honest replica held both bodies.
        requestsSeen.note(info.agent, info.requestId, to, info.digest, tick);
      }
    }
    if (node !== undefined) {
      if (options.burstDelivery === true) {
        const burst = bursts.get(to);
        if (burst === undefined) bursts.set(to, [envelope.frame]);
        else burst.push(envelope.frame);
      } else stepHonest(node, input, tick);
    } else {
      const liar = byzantine.get(to);
      if (liar !== undefined) stepByzantine(to, liar, input, tick);
    }
  };

  const tickLimit = Math.min(options.healTick + options.livenessTicksMax, SCENARIO_TICKS_MAX);
  let doneAt: number | undefined;
  // Evidence of the liars' last equivocations needs a few rounds (and maybe a view change) to be ordered.
  const drainTicks =
    options.byzantineAgents > 0
      ? Math.max(options.drainTicks, EVIDENCE_DRAIN_TIMEOUTS * options.protocol.requestTimeoutTicks)
      : options.drainTicks;
  let tick = 0;
  /** With `burstDelivery`: the frames due this tick per honest replica, stepped together. */
  const bursts = new Map<number, Uint8Array[]>();
  const tickInput: ReplicaInput = { kind: 'tick' };
  for (; tick <= tickLimit && crash === undefined; tick++) {
    now = tick;
    network.advanceTo(tick);
    if (tick === options.healTick) {
      network.setFaults(options.healedFaults);
      network.setPartitions(options.permanentPartitions ?? []);
    }
    if (hooks.trace !== undefined) tracePartitions(hooks.trace, options.partitions, options.healTick, tick);
    for (let delivered = 0; delivered < DELIVERIES_PER_TICK_MAX && crash === undefined; delivered++) {
      const envelope = network.nextDue();
      if (envelope === undefined) break;
      deliver(envelope, tick);
    }
    for (const [id, frames] of bursts) {
      const node = honest.get(id);
      if (node !== undefined && crash === undefined && !isDown(id, tick))
        stepHonest(node, { kind: 'messages', frames }, tick);
    }
    bursts.clear();
    for (let id = 0; id < n && crash === undefined; id++) {
      const window = downWindows.get(id);
      if (window !== undefined && tick === window.restartTick) restart(id, window, tick);
      if (isDown(id, tick) || crash !== undefined) continue;
      const node = honest.get(id);
      if (node !== undefined) stepHonest(node, tickInput, tick);
      else {
        const liar = byzantine.get(id);
        if (liar !== undefined) stepByzantine(id, liar, tickInput, tick);
      }
    }
    for (const copy of twins.values()) if (crash === undefined) stepHonest(copy, tickInput, tick);
    // Liars leave with the honest agents, so what they did last can still be ordered as evidence.
    for (const agent of doneAt === undefined ? [...agents, ...mallories] : agents) {
      for (const out of agent.tick(tick)) send(agent.id, out.to, MessageType.request, out.frame, tick);
    }
    if (doneAt === undefined && agents.every((agent) => agent.done)) doneAt = tick;
    if (doneAt !== undefined && tick >= doneAt + drainTicks) break;
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
    for (const [code, count] of Object.entries(node.pastRejections))
      rejections[code] = (rejections[code] ?? 0) + count;
    replicaRecords.push(node.record(status));
  }
  const equivocations = equivocationsSeen(
    requestsSeen.entries,
    commons,
    batches,
    replicaRecords,
    options.healTick,
  );

  /** Every honest replica run, twin copies included: their steps and writes count too. */
  const replicasRun = [...honest.values(), ...twins.values()];
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
    equivocations,
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
      replicaSteps: sumOver(replicasRun, (node) => node.steps),
      executedBatches,
      viewMax,
      rejections,
      persistRecords: sumOver(replicasRun, (node) => node.persistRecords),
      repliesIgnored: agents.reduce((sum, agent) => sum + agent.repliesIgnored, 0),
      droppedWhileDown,
      receiptsChecked: receiptAudit.checked,
      receiptsUnavailable: receiptAudit.unavailable,
      restarts,
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

function sumOver<T>(items: readonly T[], count: (item: T) => number): number {
  return items.reduce((sum, item) => sum + count(item), 0);
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
