/**
 * How a simulated cluster is made from its options: identities and keys, the factory of replicas
 * and state machines, the outages (who goes down when), the replicas and the agents. Each part
 * that draws randomness takes its own fork of the seed's PRNG, so what one draws never shifts
 * another.
 */
import { CoordinationStateMachine } from '@conclave/coordination';
import {
  type ClusterConfig,
  type CryptoBackend,
  DEFAULT_DECODE_LIMITS,
  type DecodeLimits,
  type DurableState,
  emptyDurableState,
  type KeyPair,
  KvStateMachine,
  LIMITS,
  nodeCrypto,
  type ProtocolConfig,
  quorumsOf,
  Replica,
  type StateMachine,
  signedReplyVerifier,
  verifyCache,
} from '@conclave/core';
import { SimulatedAgent } from './agent.ts';
import { type ByzantinePlan, ByzantineReplica, Conspiracy } from './byzantine.ts';
import { ByzantineAgent } from './byzantine-agent.ts';
import type { HonestReplica } from './honest-replica.ts';
import type { Address } from './network.ts';
import type { Prng } from './prng.ts';
import { type ScenarioOptions, twinAddress } from './scenario-options.ts';
import type { Commons } from './workload.ts';

/** Verdicts the simulation's shared verify cache remembers (every replica's checks in one run). */
const SIMULATION_VERIFY_CACHE_ENTRIES = 50_000;

/**
 * Replicas verify the same broadcasts (n-1 times each); Ed25519 verification is a pure function,
 * so answering repeats from one shared cache saves time and changes no outcome.
 */
export function simulationCrypto(): CryptoBackend {
  return verifyCache(nodeCrypto(), SIMULATION_VERIFY_CACHE_ENTRIES);
}

export interface Identities {
  readonly replicaKeys: readonly KeyPair[];
  readonly agentIds: readonly string[];
  readonly agentKeys: readonly KeyPair[];
  /** Lying agents: registered, so their requests are well signed. */
  readonly malloryIds: readonly string[];
  readonly malloryKeys: readonly KeyPair[];
  readonly config: ClusterConfig;
}

/** Replicas first, then honest agents, then lying ones, from one key stream. */
export function identitiesOf(options: ScenarioOptions, crypto: CryptoBackend, keyStream: Prng): Identities {
  const replicaKeys = Array.from({ length: options.replicas }, () =>
    crypto.keyPairFromSeed(keyStream.bytes(32)),
  );
  const agentIds = Array.from({ length: options.agents }, (_, i) => `agent-${i}`);
  const agentKeys = agentIds.map(() => crypto.keyPairFromSeed(keyStream.bytes(32)));
  const malloryIds = Array.from({ length: options.byzantineAgents }, (_, i) => `mallory-${i}`);
  const malloryKeys = malloryIds.map(() => crypto.keyPairFromSeed(keyStream.bytes(32)));
  const allAgentKeys = [...agentKeys, ...malloryKeys];
  const config: ClusterConfig = {
    replicas: replicaKeys.map((keys, id) => ({ id, publicKey: keys.publicKey })),
    agents: [...agentIds, ...malloryIds].map((id, i) => ({
      id,
      publicKey: (allAgentKeys[i] as KeyPair).publicKey,
    })),
  };
  return { replicaKeys, agentIds, agentKeys, malloryIds, malloryKeys, config };
}

/** What a run's decoders accept: as much as its protocol settings let replicas send. */
export function decodeLimitsOf(protocol: ProtocolConfig): DecodeLimits {
  return {
    ...DEFAULT_DECODE_LIMITS,
    batchSizeMax: protocol.batchSizeMax,
    entriesMax: Math.max(protocol.watermarkWindow, LIMITS.committedBatchesPerFetchMax),
  };
}

/** Makes the run's replicas and state machines, at the start and on every restart. */
export class ReplicaFactory {
  /** Where every replica starts (and an amnesiac restarts): the start view, if not 0. */
  readonly startState: DurableState | undefined;
  readonly #options: ScenarioOptions;
  readonly #config: ClusterConfig;
  readonly #crypto: CryptoBackend;
  readonly #keys: readonly KeyPair[];
  readonly #wrap: ((stateMachine: StateMachine) => StateMachine) | undefined;

  constructor(
    options: ScenarioOptions,
    config: ClusterConfig,
    crypto: CryptoBackend,
    keys: readonly KeyPair[],
    /** Tests only: a broken state machine made of the real one (see `RunHooks.wrapStateMachine`). */
    wrap?: (stateMachine: StateMachine) => StateMachine,
  ) {
    this.#options = options;
    this.#config = config;
    this.#crypto = crypto;
    this.#keys = keys;
    this.#wrap = wrap;
    const startView = options.startView ?? 0;
    this.startState = startView > 0 ? { ...emptyDurableState(), view: startView } : undefined;
  }

  stateMachine(): StateMachine {
    const made = this.#made();
    return this.#wrap === undefined ? made : this.#wrap(made);
  }

  #made(): StateMachine {
    return this.#options.stateMachine === 'coordination'
      ? new CoordinationStateMachine({
          crypto: this.#crypto,
          agents: this.#config.agents,
          ...(this.#options.membership === undefined ? {} : { council: this.#options.membership.council }),
          ...(this.#options.coordinationLimits === undefined
            ? {}
            : { limits: this.#options.coordinationLimits }),
        })
      : new KvStateMachine(this.#crypto.hash);
  }

  /** A replica restored from `restored` (the start state when undefined), its clock at `clockStart`. */
  replica(
    id: number,
    stateMachine: StateMachine,
    restored: DurableState | undefined = this.startState,
    clockStart: number = this.#options.clockStarts[id] ?? 0,
  ): Replica {
    return new Replica({
      id,
      cluster: this.#config,
      protocol: this.#options.protocol,
      crypto: this.#crypto,
      secretKey: this.secretKey(id),
      stateMachine,
      clockStart,
      ...(restored === undefined ? {} : { restored }),
    });
  }

  secretKey(id: number): Uint8Array {
    return (this.#keys[id] as KeyPair).secretKey;
  }
}

/** A replica down from `crashTick` (inclusive) to `restartTick` (exclusive), then rebuilt. */
export interface Outage {
  readonly crashTick: number;
  readonly restartTick: number;
  /** Restart from durable state (false: amnesia). */
  readonly durable: boolean;
}

/** Who goes down when, and how each comes back: honest crashes as planned, Byzantine ones drawn. */
export function outagesOf(options: ScenarioOptions, restartStream: Prng): Map<number, Outage> {
  const byzantineIds = new Set(options.byzantine.map((plan) => plan.id));
  const outages = new Map<number, Outage>();
  for (const plan of options.crashes ?? []) {
    if (byzantineIds.has(plan.id)) continue;
    outages.set(plan.id, { crashTick: plan.crashTick, restartTick: plan.restartTick, durable: true });
  }
  for (const plan of options.byzantine) {
    const amnesia = plan.strategies.includes('amnesia');
    if (!amnesia && !plan.strategies.includes('crashRestart')) continue;
    const crashTick = plan.crashTick ?? restartStream.range(30, Math.max(30, options.healTick));
    const restartTick = plan.restartTick ?? crashTick + restartStream.range(20, 200);
    outages.set(plan.id, {
      crashTick,
      restartTick: Math.max(restartTick, crashTick + 1),
      durable: !amnesia,
    });
  }
  return outages;
}

/** Colluding Byzantine replicas share one conspiracy, when collusion is on and there are two. */
export function conspiracyOf(options: ScenarioOptions, prng: Prng): Conspiracy | undefined {
  const byzantineIds = new Set(options.byzantine.map((plan) => plan.id));
  const honestIds = Array.from({ length: options.replicas }, (_, id) => id).filter(
    (id) => !byzantineIds.has(id),
  );
  const colluders = options.byzantine.filter((plan) => plan.colluding).map((plan) => plan.id);
  return options.collusion && colluders.length >= 2 ? new Conspiracy(colluders, honestIds, prng) : undefined;
}

export interface ReplicaSet {
  readonly honest: Map<number, HonestReplica>;
  readonly byzantine: Map<number, ByzantineReplica>;
  /** The durable state of Byzantine replicas that will restart. */
  readonly byzantineDurable: Map<number, DurableState>;
  /** Second copies of twinned replicas, by address: honest code, the twinned replica's key. */
  readonly twins: Map<string, HonestReplica>;
}

export interface ReplicaSetContext {
  readonly options: ScenarioOptions;
  readonly factory: ReplicaFactory;
  readonly outages: ReadonlyMap<number, Outage>;
  readonly config: ClusterConfig;
  readonly crypto: CryptoBackend;
  readonly decodeLimits: DecodeLimits;
  readonly conspiracy: Conspiracy | undefined;
  /** The seed's root PRNG: each Byzantine replica forks its own stream. */
  readonly root: Prng;
  readonly honestReplica: (
    id: number,
    address: Address,
    replica: Replica,
    stateMachine: StateMachine,
    durable: DurableState | undefined,
  ) => HonestReplica;
}

/** Every replica in id order: honest ones, or Byzantine ones wrapping a replica (and a twin copy). */
export function replicaSetOf(context: ReplicaSetContext): ReplicaSet {
  const { options, factory } = context;
  const plans = new Map(options.byzantine.map((plan) => [plan.id, plan]));
  const set: ReplicaSet = {
    honest: new Map(),
    byzantine: new Map(),
    byzantineDurable: new Map(),
    twins: new Map(),
  };
  for (let id = 0; id < options.replicas; id++) {
    const stateMachine = factory.stateMachine();
    const replica = factory.replica(id, stateMachine);
    const plan = plans.get(id);
    // Only replicas that will restart keep a durable state: applying records costs time.
    const durable = context.outages.has(id) ? (factory.startState ?? emptyDurableState()) : undefined;
    if (plan === undefined) {
      set.honest.set(id, context.honestReplica(id, id, replica, stateMachine, durable));
      continue;
    }
    if (durable !== undefined) set.byzantineDurable.set(id, durable);
    if (plan.strategies.includes('twins')) {
      const copyMachine = factory.stateMachine();
      const address = twinAddress(id);
      const copy = factory.replica(id, copyMachine);
      set.twins.set(address, context.honestReplica(id, address, copy, copyMachine, undefined));
    }
    set.byzantine.set(id, byzantineReplica(context, plan, replica));
  }
  return set;
}

function byzantineReplica(context: ReplicaSetContext, plan: ByzantinePlan, inner: Replica): ByzantineReplica {
  const { conspiracy } = context;
  return new ByzantineReplica({
    plan,
    inner,
    cluster: context.config,
    crypto: context.crypto,
    secretKey: context.factory.secretKey(plan.id),
    prng: context.root.fork(`byzantine-${plan.id}`),
    decodeLimits: context.decodeLimits,
    // Just under the backups' request timeout: late, never late enough to be replaced.
    slowPrimaryDelayTicks: Math.floor(context.options.protocol.requestTimeoutTicks * 0.75),
    ...(conspiracy === undefined ? {} : { conspiracy }),
  });
}

export interface AgentContext {
  readonly options: ScenarioOptions;
  readonly identities: Identities;
  readonly crypto: CryptoBackend;
  readonly decodeLimits: DecodeLimits;
  /** Shared by every agent: what each one signed, for the workload and the liars. */
  readonly commons: Commons;
  /** `agent#requestId` of every created object, shared by every agent. */
  readonly created: Map<string, { agent: string; requestId: number }>;
  /** Every registered agent, honest or not: who may vote. */
  readonly voters: readonly string[];
}

/** Honest agents, each with its own stream forked from `agentStream` and a start tick drawn from it. */
export function honestAgents(context: AgentContext, agentStream: Prng): SimulatedAgent[] {
  const { options, identities, crypto } = context;
  const verifier = signedReplyVerifier(crypto, identities.config);
  return identities.agentIds.map(
    (id, i) =>
      new SimulatedAgent({
        id,
        secretKey: (identities.agentKeys[i] as KeyPair).secretKey,
        crypto,
        verifier,
        decodeLimits: context.decodeLimits,
        replicaCount: options.replicas,
        faultsMax: quorumsOf(options.replicas).f,
        prng: agentStream.fork(id),
        requests: options.requestsPerAgent,
        keyCount: options.keyCount,
        startTick: (options.agentStartTicksMin ?? 0) + agentStream.int(options.agentStartTicksMax + 1),
        thinkTicksMax: options.agentThinkTicksMax,
        retryTicks: options.agentRetryTicks,
        retryTicksMax: options.agentRetryTicksMax,
        created: context.created,
        stateMachine: options.stateMachine ?? 'kv',
        commons: context.commons,
        voters: context.voters,
        ...(options.fairness === undefined ? {} : { ownKeys: true }),
      }),
  );
}

/** Lying agents, each with its own stream forked from the root. */
export function lyingAgents(context: AgentContext, root: Prng): ByzantineAgent[] {
  const { options, identities } = context;
  return identities.malloryIds.map(
    (id, i) =>
      new ByzantineAgent({
        id,
        secretKey: (identities.malloryKeys[i] as KeyPair).secretKey,
        crypto: context.crypto,
        prng: root.fork(`mallory-${i}`),
        replicaCount: options.replicas,
        keyCount: options.keyCount,
        victims: identities.agentIds,
        created: context.created,
        stateMachine: options.stateMachine ?? 'kv',
        commons: context.commons,
        voters: context.voters,
        ...(options.byzantineAgentStrategies === undefined
          ? {}
          : { strategies: options.byzantineAgentStrategies }),
      }),
  );
}
