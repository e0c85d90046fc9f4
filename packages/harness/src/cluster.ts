/**
 * The simulated cluster: replicas (honest, Byzantine, twin copies), agents, the network and the
 * clock, advanced one tick at a time. Each tick delivers the frames due (in (deliverAt,
 * insertion) order), then ticks every replica in id order (restarting those whose outage ends),
 * then the twin copies, then lets every agent act. A replica that resumes from a pause is first
 * given the ticks it missed, as one tick input, and then what was kept for it. Nothing reads a clock or `Math.random`: the
 * same options give the same run, byte for byte.
 *
 * Faults come from the network until `healTick`; from then on it is healed (no drops, no
 * partitions but permanent ones, small bounded delays: "after GST"). `record()` gives what the
 * checkers read. `runScenario` (simulation.ts) is the driver that decides when a run is over.
 */
import {
  applyPersistRecords,
  type Destination,
  type DurableState,
  MessageType,
  type Outbound,
  type PeerAddress,
  quorumsOf,
  type Replica,
  type ReplicaInput,
  type ReplicaOutput,
  type ReplicaStatus,
  type StateMachine,
} from '@conclave/core';
import type { SimulatedAgent } from './agent.ts';
import { BatchLog } from './batch-log.ts';
import type { ByzantineReplica, Conspiracy, SimOutbound } from './byzantine.ts';
import type { ByzantineAgent } from './byzantine-agent.ts';
import type { Violation } from './checkers.ts';
import {
  conspiracyOf,
  decodeLimitsOf,
  honestAgents,
  identitiesOf,
  lyingAgents,
  type Outage,
  outagesOf,
  ReplicaFactory,
  type ReplicaSet,
  replicaSetOf,
  simulationCrypto,
} from './cluster-setup.ts';
import { equivocationsSeen, RequestBodiesSeen } from './equivocations.ts';
import { retainedEvents } from './fairness-events.ts';
import { HonestReplica, ReceiptAudit } from './honest-replica.ts';
import type { Cast } from './membership-agents.ts';
import { membershipCastOf } from './membership-suite.ts';
import { type Address, type Envelope, Network } from './network.ts';
import { Prng } from './prng.ts';
import type { PauseRecord, RegistryRecord, ReplicaRecord, RetainedEventRecord, RunRecord } from './record.ts';
import { registryOf } from './registry-record.ts';
import {
  type PausePlan,
  type ScenarioOptions,
  type ScenarioResult,
  type ScenarioStats,
  twinAddress,
  validateOptions,
} from './scenario-options.ts';
import type { ScriptedAgent } from './scripted-agent.ts';
import { SealedObserver } from './sealed-record.ts';
import { sealedCastOf } from './sealed-suite.ts';
import { type TraceSink, traceAccepted, tracePartitions, traceReplicaOutput, traceSends } from './trace.ts';
import { Commons } from './workload.ts';

/** Frames delivered in one tick at most; the rest wait for the next tick (they stay due). */
export const DELIVERIES_PER_TICK_MAX = 20_000;

/** Optional observers, for debugging a seed; they must not feed anything back into the run. */
export interface RunHooks {
  readonly onDeliver?: (envelope: Envelope, tick: number) => void;
  /** Every step of an honest replica: what it was given and what it gave back. */
  readonly onHonestOutput?: (id: number, output: ReplicaOutput, tick: number, input: ReplicaInput) => void;
  readonly onByzantineOutput?: (id: number, sends: readonly SimOutbound[], tick: number) => void;
  /**
   * Not an observer: replaces the state machine of every replica (honest and Byzantine, at start
   * and on restarts) with what this makes of the one the options call for. For tests that show a
   * checker catching a broken state machine; never set in a real run.
   */
  readonly wrapStateMachine?: (stateMachine: StateMachine) => StateMachine;
  /** Every send (with its fate), delivery, replica step worth showing, accepted result and partition: see trace.ts. */
  readonly trace?: TraceSink;
}

/** What a run leaves for the checkers and for people. */
export interface ClusterRecord {
  readonly record: RunRecord;
  readonly stats: ScenarioStats;
  /** Each honest replica's status at the end. */
  readonly statuses: readonly ReplicaStatus[];
}

const TICK_INPUT: ReplicaInput = { kind: 'tick' };

export class SimulatedCluster {
  readonly options: ScenarioOptions;
  readonly #hooks: RunHooks;
  readonly #factory: ReplicaFactory;
  readonly #conspiracy: Conspiracy | undefined;
  /** Who is down when; a replica is down from `crashTick` until it restarts at `restartTick`. */
  readonly #outages: Map<number, Outage>;
  /** Honest replicas paused and resumed (see `PausePlan`), in the options' order. */
  readonly #pauses: readonly PausePlan[];
  readonly #replicas: ReplicaSet;
  readonly #agents: readonly (SimulatedAgent | ScriptedAgent)[];
  readonly #mallories: readonly (ByzantineAgent | ScriptedAgent)[];
  readonly #agentsById: ReadonlyMap<string, SimulatedAgent | ByzantineAgent | ScriptedAgent>;
  /** Membership and sealed runs: the scripted agents (they replace the honest and lying ones). */
  readonly #cast: Cast | undefined;
  /** Coordination runs: what the sealed-ballot checkers read (see sealed-record.ts). */
  readonly #sealed: SealedObserver | undefined;
  readonly #genesisAgentKeys: RegistryRecord;
  readonly #malloryIds: ReadonlySet<string>;
  readonly #created = new Map<string, { agent: string; requestId: number }>();
  readonly #commons = new Commons();
  readonly #network: Network;
  readonly #batchLog: BatchLog;
  readonly #requestBodies = new RequestBodiesSeen();
  readonly #receipts: ReceiptAudit;
  /** With `burstDelivery`: the frames due this tick per honest replica, stepped together. */
  readonly #bursts = new Map<number, Uint8Array[]>();
  #now = -1;
  #agentsDoneAt: number | undefined;
  #replicaFailure: Violation | undefined;
  #droppedWhileDown = 0;
  #restarts = 0;

  constructor(options: ScenarioOptions, hooks: RunHooks = {}) {
    validateOptions(options);
    this.options = options;
    this.#hooks = hooks;
    const root = new Prng(options.seed);
    const crypto = simulationCrypto();
    const identities = identitiesOf(options, crypto, root.fork('keys'));
    const decodeLimits = decodeLimitsOf(options.protocol);
    this.#conspiracy = conspiracyOf(options, root.fork('conspiracy'));
    this.#factory = new ReplicaFactory(
      options,
      identities.config,
      crypto,
      identities.replicaKeys,
      hooks.wrapStateMachine,
    );
    this.#outages = outagesOf(options, root.fork('restarts'));
    this.#pauses = options.pauses ?? [];
    this.#receipts = new ReceiptAudit(identities.config, crypto);
    this.#replicas = replicaSetOf({
      options,
      factory: this.#factory,
      outages: this.#outages,
      config: identities.config,
      crypto,
      decodeLimits,
      conspiracy: this.#conspiracy,
      root,
      honestReplica: (id, address, replica, stateMachine, durable) =>
        this.#honestReplica(id, address, replica, stateMachine, durable),
    });
    const voters = [...identities.agentIds, ...identities.malloryIds];
    const agentContext = {
      options,
      identities,
      crypto,
      decodeLimits,
      commons: this.#commons,
      created: this.#created,
      voters,
    };
    this.#cast =
      options.membership !== undefined
        ? membershipCastOf(agentContext, root)
        : options.sealed !== undefined
          ? sealedCastOf(agentContext, root)
          : undefined;
    this.#agents = this.#cast?.honest ?? honestAgents(agentContext, root.fork('agents'));
    this.#mallories = this.#cast?.liars ?? lyingAgents(agentContext, root);
    this.#malloryIds = new Set(identities.malloryIds);
    this.#genesisAgentKeys = registryOf(new Map(identities.config.agents.map((a) => [a.id, a.publicKey])));
    this.#commons.recordOperations = options.fairness !== undefined;
    this.#agentsById = new Map<string, SimulatedAgent | ByzantineAgent | ScriptedAgent>(
      [...this.#agents, ...this.#mallories].map((agent) => [agent.id, agent] as const),
    );
    this.#network = new Network({
      replicaCount: options.replicas,
      prng: root.fork('network'),
      faults: options.faults,
      partitions: [...options.partitions, ...(options.permanentPartitions ?? [])],
      aliases: new Map([...this.#replicas.twins.values()].map((copy) => [copy.id, [twinAddress(copy.id)]])),
    });
    this.#sealed =
      options.stateMachine === 'coordination'
        ? new SealedObserver(crypto, identities.config.agents, decodeLimits)
        : undefined;
    const sealed = this.#sealed;
    this.#batchLog = new BatchLog(
      decodeLimits,
      crypto.hash,
      sealed === undefined ? undefined : (digest, batch) => sealed.observeBatch(digest, batch),
    );
  }

  /** The last tick run; -1 before the first. */
  get now(): number {
    return this.#now;
  }

  /** The first tick at whose end every honest agent had all its answers. */
  get agentsDoneAt(): number | undefined {
    return this.#agentsDoneAt;
  }

  /** The exception a replica threw, if one did: the run cannot go on (see `record`). */
  get replicaFailure(): Violation | undefined {
    return this.#replicaFailure;
  }

  /** True while replica `id` is down at the current tick: it is not stepped and frames to it are lost. */
  isDown(id: number): boolean {
    const outage = this.#outages.get(id);
    return outage !== undefined && this.#now >= outage.crashTick && this.#now < outage.restartTick;
  }

  /**
   * True while replica `id` is paused at the current tick: it is not stepped, and frames to it are
   * kept for it until it resumes.
   */
  isPaused(id: number): boolean {
    return this.#pauses.some(
      (pause) => pause.id === id && this.#now >= pause.pauseTick && this.#now < pause.resumeTick,
    );
  }

  /** Runs the next tick; returns its number. */
  tick(): number {
    const now = ++this.#now;
    this.#network.advanceTo(now);
    if (now === this.options.healTick) {
      this.#network.setFaults(this.options.healedFaults);
      this.#network.setPartitions(this.options.permanentPartitions ?? []);
    }
    if (this.#hooks.trace !== undefined)
      tracePartitions(this.#hooks.trace, this.options.partitions, this.options.healTick, now);
    this.#pauseAndResume();
    this.#deliverDue();
    this.#stepBursts();
    this.#tickReplicas();
    for (const copy of this.#replicas.twins.values())
      if (this.#replicaFailure === undefined) this.#stepHonest(copy, TICK_INPUT);
    this.#agentsAct();
    if (this.#agentsDoneAt === undefined && this.#agents.every((agent) => agent.done))
      this.#agentsDoneAt = now;
    return now;
  }

  /** Hands one frame to its addressee at the current tick: an agent, a twin copy or a replica. */
  deliver(envelope: Envelope): void {
    this.#hooks.onDeliver?.(envelope, this.#now);
    this.#hooks.trace?.({ kind: 'deliver', tick: this.#now, envelope });
    if (typeof envelope.to === 'string') this.#deliverToAddress(envelope.to, envelope.frame);
    else this.#deliverToReplica(envelope.to, envelope);
  }

  /**
   * Takes replica `id` down from the next tick until `restartTick`, when it comes back from its
   * durable state (a Byzantine one without a durable state comes back from the start state).
   * Honest replicas keep a durable state only when the options plan a crash for them.
   */
  crash(id: number, restartTick: number): void {
    const crashTick = this.#now + 1;
    if (!Number.isSafeInteger(restartTick) || restartTick <= crashTick)
      throw new RangeError(`replica ${id} must restart after tick ${crashTick}, not at ${restartTick}`);
    const node = this.#replicas.honest.get(id);
    if (node !== undefined && node.durable === undefined)
      throw new RangeError(`honest replica ${id} keeps no durable state: plan its crash in the options`);
    if (node === undefined && !this.#replicas.byzantine.has(id)) throw new RangeError(`no replica ${id}`);
    this.#outages.set(id, { crashTick, restartTick, durable: true });
  }

  /**
   * Brings replica `id` back at the current tick, as its outage says: from its durable state with a
   * fresh state machine, or (amnesia) from nothing. A replica that cannot be rebuilt ends the run.
   */
  restart(id: number): void {
    const planned = this.#outages.get(id);
    if (planned === undefined) throw new RangeError(`replica ${id} has no outage to come back from`);
    // Called early, the outage ends now (a planned restart is called at its restartTick).
    const outage = this.#now < planned.restartTick ? { ...planned, restartTick: this.#now } : planned;
    this.#outages.set(id, outage);
    this.#restarts++;
    const node = this.#replicas.honest.get(id);
    if (node !== undefined) this.#restartHonest(node, outage);
    else {
      const liar = this.#replicas.byzantine.get(id);
      if (liar !== undefined) this.#restartByzantine(id, liar, outage);
    }
  }

  /** The run so far, for the checkers, ending at `endTick`. */
  record(endTick: number): ClusterRecord {
    const { replicas, statuses, summary } = this.#replicaRecords();
    const record: RunRecord = {
      replicaCount: this.options.replicas,
      faultsMax: quorumsOf(this.options.replicas).f,
      checkpointInterval: this.options.protocol.checkpointInterval,
      replicas,
      agents: [...this.#agents, ...this.#mallories].map((agent) => agent.record()),
      created: this.#created,
      batches: this.#batchLog.batches,
      healTick: this.options.healTick,
      endTick,
      agentsDone: this.#agentsDoneAt !== undefined,
      equivocations: equivocationsSeen(
        this.#requestBodies.entries,
        this.#commons,
        this.#batchLog.batches,
        replicas,
        this.options.healTick,
      ),
      ...(this.options.fairness === undefined
        ? {}
        : {
            fairness: {
              latencyBoundTicks: this.options.fairness.latencyBoundTicks,
              operations: this.#commons.operations,
              events: this.#eventLog(),
            },
          }),
      ...(this.options.liveness === undefined ? {} : { liveness: this.options.liveness }),
      genesisAgentKeys: this.#genesisAgentKeys,
      ...(this.#cast === undefined || this.options.membership === undefined
        ? {}
        : { membership: { outcomes: this.#cast.outcomes() } }),
      ...this.#sealedRecord(),
    };
    return { record, statuses, stats: this.#stats(endTick, summary) };
  }

  #sealedRecord(): { sealed?: RunRecord['sealed'] } {
    const outcomes = this.options.sealed === undefined ? undefined : this.#cast?.outcomes();
    const sealed = this.#sealed?.record(outcomes);
    return sealed === undefined ? {} : { sealed };
  }

  /** The Byzantine replicas' conspiracy, summed up, when there is one. */
  conspiracy(): ScenarioResult['conspiracy'] {
    const conspiracy = this.#conspiracy;
    if (conspiracy === undefined) return undefined;
    return {
      members: conspiracy.members,
      groupA: conspiracy.groupA,
      groupB: conspiracy.groupB,
      proposals: conspiracy.proposals.length,
    };
  }

  // ---- one tick ------------------------------------------------------------------------------

  #deliverDue(): void {
    for (
      let delivered = 0;
      delivered < DELIVERIES_PER_TICK_MAX && this.#replicaFailure === undefined;
      delivered++
    ) {
      const envelope = this.#network.nextDue();
      if (envelope === undefined) break;
      this.deliver(envelope);
    }
  }

  /**
   * Pauses start and end at the top of the tick: a paused replica's frames are kept by the
   * network; a resuming one first gets the ticks it missed as one tick input (its clock jumps),
   * then (in `#deliverDue`) what was kept for it, then its tick like every replica.
   */
  #pauseAndResume(): void {
    for (const pause of this.#pauses) {
      if (pause.pauseTick === this.#now) this.#network.hold(pause.id);
      if (pause.resumeTick !== this.#now) continue;
      this.#network.release(pause.id);
      const node = this.#replicas.honest.get(pause.id);
      if (node !== undefined && this.#replicaFailure === undefined)
        this.#stepHonest(node, { kind: 'tick', ticks: pause.resumeTick - pause.pauseTick });
    }
  }

  #stepBursts(): void {
    for (const [id, frames] of this.#bursts) {
      const node = this.#replicas.honest.get(id);
      if (node !== undefined && this.#replicaFailure === undefined && !this.isDown(id))
        this.#stepHonest(node, { kind: 'messages', frames });
    }
    this.#bursts.clear();
  }

  /**
   * Ticks every replica in id order. A replica whose outage ends now is rebuilt first; frames
   * delivered earlier in this tick reached the incarnation that crashed, which this replaces.
   */
  #tickReplicas(): void {
    for (let id = 0; id < this.options.replicas && this.#replicaFailure === undefined; id++) {
      if (this.#now === this.#outages.get(id)?.restartTick) this.restart(id);
      if (this.isDown(id) || this.isPaused(id) || this.#replicaFailure !== undefined) continue;
      const node = this.#replicas.honest.get(id);
      if (node !== undefined) this.#stepHonest(node, TICK_INPUT);
      else {
        const liar = this.#replicas.byzantine.get(id);
        if (liar !== undefined) this.#stepByzantine(id, liar, TICK_INPUT);
      }
    }
  }

  #agentsAct(): void {
    // Liars leave with the honest agents, so what they did last can still be ordered as evidence.
    const acting = this.#agentsDoneAt === undefined ? [...this.#agents, ...this.#mallories] : this.#agents;
    for (const agent of acting)
      for (const out of agent.tick(this.#now))
        this.#transmit(agent.id, out.to, MessageType.request, out.frame);
  }

  // ---- deliveries ----------------------------------------------------------------------------

  #deliverToAddress(address: string, frame: Uint8Array): void {
    const agent = this.#agentsById.get(address);
    if (agent !== undefined) {
      const accepted = agent.onReply(frame, this.#now);
      if (accepted !== undefined && this.#hooks.trace !== undefined)
        traceAccepted(this.#hooks.trace, agent.id, accepted, this.#now);
      return;
    }
    const copy = this.#replicas.twins.get(address);
    if (copy !== undefined) this.#stepHonest(copy, { kind: 'message', frame });
  }

  #deliverToReplica(id: number, envelope: Envelope): void {
    if (this.isDown(id)) {
      this.#droppedWhileDown++;
      return;
    }
    const input: ReplicaInput = { kind: 'message', frame: envelope.frame };
    const node = this.#replicas.honest.get(id);
    if (node === undefined) {
      const liar = this.#replicas.byzantine.get(id);
      if (liar !== undefined) this.#stepByzantine(id, liar, input);
      return;
    }
    if (envelope.type === MessageType.request) this.#noteRequestBody(node, envelope.frame);
    if (this.options.burstDelivery !== true) this.#stepHonest(node, input);
    else {
      const burst = this.#bursts.get(id);
      if (burst === undefined) this.#bursts.set(id, [envelope.frame]);
      else burst.push(envelope.frame);
    }
  }

  /** Per replica: the protocol saw an equivocation when one honest replica held both bodies. */
  #noteRequestBody(node: HonestReplica, frame: Uint8Array): void {
    const info = this.#commons.byFrame.get(frame);
    if (info === undefined || !this.#malloryIds.has(info.agent)) return;
    // A body with an id below what the replica already executed for the agent is refused as
    // stale: the replica keeps only each agent's last request, so it cannot prove anything.
    if (info.requestId < (node.executedMax.get(info.agent) ?? 0)) return;
    this.#requestBodies.note(info.agent, info.requestId, node.id, info.digest, this.#now);
  }

  // ---- replicas ------------------------------------------------------------------------------

  #honestReplica(
    id: number,
    address: Address,
    replica: Replica,
    stateMachine: StateMachine,
    durable: DurableState | undefined,
  ): HonestReplica {
    return new HonestReplica({
      id,
      address,
      replicaCount: this.options.replicas,
      replica,
      stateMachine,
      durable,
      send: (from, peer, outbound) => this.#sendCopy(from, peer, outbound),
      // A twin copy's receipts are not promised: only the replica's own address is audited.
      ...(address === id ? { receipts: this.#receipts } : {}),
    });
  }

  #stepHonest(node: HonestReplica, input: ReplicaInput): void {
    let output: ReplicaOutput;
    try {
      output = node.step(input, this.#now);
    } catch (error) {
      this.#fail(`honest replica ${node.id} threw on ${describeInput(input)}`, error);
      return;
    }
    this.#hooks.onHonestOutput?.(node.id, output, this.#now, input);
    if (this.#hooks.trace !== undefined) traceReplicaOutput(this.#hooks.trace, node.id, output, this.#now);
    // Batches are read off the wire once per message, not once per copy.
    for (const out of output.send) this.#batchLog.observe(out);
    node.finishRound();
    if (node.address === node.id) this.#sealed?.afterStep(node, output, this.#now);
  }

  #stepByzantine(id: number, liar: ByzantineReplica, input: ReplicaInput): void {
    let sends: SimOutbound[];
    try {
      sends = liar.step(input, this.#now);
    } catch (error) {
      // The liar's inner replica only ever sees real network input, so this is a replica bug too.
      this.#fail(`inner replica of Byzantine ${id} threw`, error);
      return;
    }
    this.#hooks.onByzantineOutput?.(id, sends, this.#now);
    const durable = this.#replicas.byzantineDurable.get(id);
    if (durable !== undefined && liar.lastPersist.length > 0)
      this.#replicas.byzantineDurable.set(id, applyPersistRecords(durable, liar.lastPersist));
    for (const out of sends) {
      this.#batchLog.observe(out);
      this.#transmit(id, out.to, out.type, out.frame);
    }
  }

  #restartHonest(node: HonestReplica, outage: Outage): void {
    this.#requestBodies.forget(node.id);
    const clockStart = node.replica.status().now + (outage.restartTick - outage.crashTick);
    node.retire();
    const stateMachine = this.#factory.stateMachine();
    let replica: Replica;
    try {
      replica = this.#factory.replica(node.id, stateMachine, node.durable, clockStart);
    } catch (error) {
      this.#fail(`honest replica ${node.id} could not restart from its durable state`, error);
      return;
    }
    node.resume(replica, stateMachine, outage.crashTick, this.#now);
  }

  #restartByzantine(id: number, liar: ByzantineReplica, outage: Outage): void {
    const clockStart = liar.inner.status().now + (outage.restartTick - outage.crashTick);
    const restored = outage.durable ? this.#replicas.byzantineDurable.get(id) : this.#factory.startState;
    try {
      liar.restart(this.#factory.replica(id, this.#factory.stateMachine(), restored, clockStart));
    } catch (error) {
      this.#fail(`Byzantine replica ${id} could not restart from its durable state`, error);
    }
  }

  #fail(what: string, error: unknown): void {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.#replicaFailure = { checker: 'replicaCrash', message: `${what}: ${reason}`, tick: this.#now };
  }

  // ---- the network ---------------------------------------------------------------------------

  /** The host's send effect: one copy for one peer, from the replica's own address. */
  #sendCopy(from: Address, peer: PeerAddress, outbound: Outbound): void {
    this.#transmit(from, peer, outbound.type, outbound.frame);
  }

  #transmit(from: Address, to: Destination, type: MessageType | 0, frame: Uint8Array): void {
    const copies = this.#network.send(from, to, type, frame);
    if (this.#hooks.trace !== undefined) traceSends(this.#hooks.trace, from, type, frame, copies, this.#now);
  }

  // ---- the record ----------------------------------------------------------------------------

  /** The lowest-numbered honest replica's event log at the end, for the fairness checker. */
  #eventLog(): { replica: number; lastExecuted: number; retained: RetainedEventRecord[] } {
    const [id, node] = [...this.#replicas.honest.entries()].sort(([a], [b]) => a - b)[0] ?? [];
    if (id === undefined || node === undefined) return { replica: -1, lastExecuted: 0, retained: [] };
    return {
      replica: id,
      lastExecuted: node.replica.status().lastExecuted,
      retained: retainedEvents(node.stateMachine),
    };
  }

  #replicaRecords(): { replicas: ReplicaRecord[]; statuses: ReplicaStatus[]; summary: ReplicaSummary } {
    const replicas: ReplicaRecord[] = [];
    const statuses: ReplicaStatus[] = [];
    const summary: ReplicaSummary = { viewMax: 0, executedBatches: 0, rejections: {} };
    for (let id = 0; id < this.options.replicas; id++) {
      const node = this.#replicas.honest.get(id);
      if (node === undefined) {
        replicas.push({ id, honest: false, executed: [] });
        continue;
      }
      const status = node.replica.status();
      statuses.push(status);
      summary.viewMax = Math.max(summary.viewMax, status.view);
      summary.executedBatches += node.executed.length;
      addCounts(summary.rejections, node.replica.rejections());
      addCounts(summary.rejections, node.pastRejections);
      const record = node.record(status, this.isDown(id) ? this.#outages.get(id)?.crashTick : undefined);
      replicas.push(this.#withPauses(record));
    }
    return { replicas, statuses, summary };
  }

  /** A replica's pauses up to now: those it resumed from, and the one it is still in. */
  #withPauses(record: ReplicaRecord): ReplicaRecord {
    const pauses: PauseRecord[] = [];
    let pausedSince: number | undefined;
    for (const { id, pauseTick, resumeTick } of this.#pauses) {
      if (id !== record.id || pauseTick > this.#now) continue;
      if (resumeTick <= this.#now) pauses.push({ pauseTick, resumeTick });
      else pausedSince = pauseTick;
    }
    return {
      ...record,
      ...(pauses.length === 0 ? {} : { pauses }),
      ...(pausedSince === undefined ? {} : { pausedSince }),
    };
  }

  #stats(endTick: number, summary: ReplicaSummary): ScenarioStats {
    // Twin copies run honest code: their steps and writes count too.
    const replicasRun = [...this.#replicas.honest.values(), ...this.#replicas.twins.values()];
    return {
      ticks: endTick,
      network: { ...this.#network.stats },
      replicaSteps: sumOver(replicasRun, (node) => node.steps),
      executedBatches: summary.executedBatches,
      viewMax: summary.viewMax,
      rejections: summary.rejections,
      persistRecords: sumOver(replicasRun, (node) => node.persistRecords),
      repliesIgnored: sumOver(this.#agents, (agent) => agent.repliesIgnored),
      droppedWhileDown: this.#droppedWhileDown,
      receiptsChecked: this.#receipts.checked,
      receiptsUnavailable: this.#receipts.unavailable,
      restarts: this.#restarts,
      ...(this.#pauses.length === 0
        ? {}
        : {
            pauses: this.#pauses.filter((pause) => pause.pauseTick <= this.#now).length,
            keptWhilePaused: this.#network.keptTotal,
          }),
    };
  }
}

/** Honest replicas' figures summed for the stats. */
interface ReplicaSummary {
  viewMax: number;
  executedBatches: number;
  /** By rejection code, in the order codes were first met. */
  readonly rejections: Record<string, number>;
}

function describeInput(input: ReplicaInput): string {
  if (input.kind === 'tick') return 'a tick';
  if (input.kind === 'message') return `a frame of ${input.frame.byteLength} bytes`;
  return `${input.frames.length} frames`;
}

function addCounts(into: Record<string, number>, counts: Readonly<Record<string, number | undefined>>): void {
  for (const [code, count] of Object.entries(counts)) into[code] = (into[code] ?? 0) + (count ?? 0);
}

function sumOver<T>(items: readonly T[], count: (item: T) => number): number {
  return items.reduce((sum, item) => sum + count(item), 0);
}
