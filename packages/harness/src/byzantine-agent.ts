/**
 * A Byzantine agent: a registered agent that signs whatever it likes with its own key. It
 * equivocates (two different requests under one requestId, to different replicas), replays its
 * old requests, skips ahead and goes back in requestIds, bursts past the pending-request limit,
 * claims to be an honest agent (with its own signature, so it fails), and sends garbage.
 *
 * What it signs is recorded as created (it did sign it, so executing it is valid); what it
 * forges is not (so executing it is a validity violation). Its replies are ignored, and no
 * promise is checked on its behalf except the replicas' own: exactly once, one order.
 */

import { ops } from '@conclave/coordination';
import {
  type CryptoBackend,
  encodeCanonical,
  encodeFrame,
  encodeKvOperation,
  MessageType,
  publicKeyOf,
  signBody,
} from '@conclave/core';
import type { AgentSend } from './agent.ts';
import {
  PRESSURE_LIMITS,
  PRESSURE_STRATEGY_NAMES,
  PressureAttack,
  type PressureStrategyName,
} from './pressure.ts';
import type { Prng } from './prng.ts';
import type { AgentRecord } from './record.ts';
import {
  type Commons,
  type Operation,
  proposeOperation,
  type StateMachineKind,
  signAndRecord,
  voteOperation,
  WORKLOAD_LIMITS,
  type WorkloadContext,
} from './workload.ts';

export const AGENT_STRATEGY_NAMES = [
  /** Two different requests under one requestId, to different replicas. */
  'equivocate',
  /** Its own old requests again. */
  'replay',
  'skipAhead',
  'goBack',
  /** More requests at once than a replica keeps pending per agent. */
  'burst',
  /** A request in an honest agent's name, signed with its own key. */
  'impersonate',
  /** Bytes that are no frame at all. */
  'garbage',
  /** Two different signed ballots for one proposal, in two requests. */
  'doubleVote',
  /** Different ballots for one proposal to different replicas, under one requestId or two. */
  'equivocateBallots',
  /** An honest agent's signed request, sent again by the liar. */
  'replayOther',
  /** Proposals past the per-agent bound. */
  'proposalSpam',
  /** Renewing, releasing or taking over locks and tasks it does not hold. */
  'leaseHijack',
  /** Validly signed requests whose operation is nonsense. */
  'malformed',
] as const;
/** Every strategy a lying agent may be given: the misdeeds above and the pressure strategies (pressure.ts). */
export const ALL_AGENT_STRATEGY_NAMES = [...AGENT_STRATEGY_NAMES, ...PRESSURE_STRATEGY_NAMES] as const;
export type AgentStrategyName = (typeof ALL_AGENT_STRATEGY_NAMES)[number];

/** Strategies that only make sense against the coordination state machine. */
export const COORDINATION_AGENT_STRATEGIES: readonly AgentStrategyName[] = [
  'doubleVote',
  'equivocateBallots',
  'proposalSpam',
  'leaseHijack',
  ...PRESSURE_STRATEGY_NAMES,
];

function isPressure(name: AgentStrategyName): name is PressureStrategyName {
  return (PRESSURE_STRATEGY_NAMES as readonly string[]).includes(name);
}

export const BYZANTINE_AGENT_LIMITS = Object.freeze({
  /** Frames one Byzantine agent sends over a run. */
  framesMax: 150,
  /** Requests sent at once by a burst. */
  burstRequests: 12,
  /** Frames remembered for replay. */
  rememberedMax: 32,
});

/** Probability of one misdeed per tick: frequent enough to matter, rare enough to keep runs small. */
const ACTION_PER_TICK = 0.05;

export interface ByzantineAgentOptions {
  readonly id: string;
  readonly secretKey: Uint8Array;
  readonly crypto: CryptoBackend;
  readonly prng: Prng;
  readonly replicaCount: number;
  readonly keyCount: number;
  /** Honest agents it may pretend to be. */
  readonly victims: readonly string[];
  readonly created: Map<string, { readonly agent: string; readonly requestId: number }>;
  /** Misdeeds to choose from; every one that fits the state machine by default. */
  readonly strategies?: readonly AgentStrategyName[];
  readonly stateMachine?: StateMachineKind;
  readonly commons?: Commons;
  /** Every registered agent (voters of the proposals it opens). */
  readonly voters?: readonly string[];
}

export class ByzantineAgent {
  readonly id: string;
  readonly #options: ByzantineAgentOptions;
  readonly #remembered: Uint8Array[] = [];
  #nextRequestId = 1;
  #sent = 0;
  #now = 0;
  readonly #actions: readonly Exclude<AgentStrategyName, PressureStrategyName>[];
  /** Pressure strategies, applied every tick (one per tick), with their own frame budget. */
  readonly #pressure: readonly PressureStrategyName[];
  readonly #attack: PressureAttack;
  #pressureSent = 0;
  /** Misdeeds done, by kind, for verbose output and tests. */
  readonly counts: Record<string, number> = {};

  constructor(options: ByzantineAgentOptions) {
    this.id = options.id;
    this.#options = options;
    const coordination = options.stateMachine === 'coordination';
    // KV runs keep the original seven by default, so that old seeds replay the same runs.
    const defaults = coordination ? AGENT_STRATEGY_NAMES : AGENT_STRATEGY_NAMES.slice(0, 7);
    const chosen = (options.strategies ?? defaults).filter(
      (name) => coordination || !COORDINATION_AGENT_STRATEGIES.includes(name),
    );
    this.#actions = chosen.filter((name) => !isPressure(name)) as Exclude<
      AgentStrategyName,
      PressureStrategyName
    >[];
    this.#pressure = chosen.filter(isPressure);
    this.#attack = new PressureAttack({
      id: options.id,
      prng: options.prng,
      keyCount: options.keyCount,
      victims: options.victims,
      commons: options.commons as Commons,
      remembered: this.#remembered,
      nextRequestId: () => this.#nextRequestId++,
      sign: (requestId, operation) => this.#request(requestId, operation),
      context: (requestId, now) => ({ ...this.#context(requestId), now }),
    });
  }

  /** A Byzantine agent has no answers to wait for. */
  get done(): boolean {
    return true;
  }

  record(): AgentRecord {
    return { id: this.id, honest: false, requestsPlanned: 0, issued: [], accepted: [] };
  }

  /** Replies are of no use to a liar: it accepts nothing. */
  onReply(): undefined {
    return undefined;
  }

  tick(now: number): AgentSend[] {
    this.#now = now;
    // Pressure draws nothing from the stream unless chosen, so runs without it replay as before.
    return this.#pressure.length === 0 ? this.#misdeed() : [...this.#press(now), ...this.#misdeed()];
  }

  /** One pressure strategy's requests this tick, within its run budget. */
  #press(now: number): AgentSend[] {
    if (this.#pressureSent >= PRESSURE_LIMITS.framesMax) return [];
    const name = this.#options.prng.pick(this.#pressure);
    this.counts[name] = (this.counts[name] ?? 0) + 1;
    const sends = this.#attack.sends(name, now).slice(0, PRESSURE_LIMITS.framesMax - this.#pressureSent);
    this.#pressureSent += sends.length;
    return sends;
  }

  /** Now and then, one misdeed of the original kinds. */
  #misdeed(): AgentSend[] {
    const prng = this.#options.prng;
    if (this.#actions.length === 0) return [];
    if (this.#sent >= BYZANTINE_AGENT_LIMITS.framesMax || !prng.chance(ACTION_PER_TICK)) return [];
    const action = prng.pick(this.#actions);
    this.counts[action] = (this.counts[action] ?? 0) + 1;
    const sends = this.#act(action);
    const allowed = sends.slice(0, BYZANTINE_AGENT_LIMITS.framesMax - this.#sent);
    this.#sent += allowed.length;
    return allowed;
  }

  #act(action: Exclude<AgentStrategyName, PressureStrategyName>): AgentSend[] {
    const prng = this.#options.prng;
    switch (action) {
      case 'doubleVote': {
        const proposalId = this.#proposal();
        const a = this.#request(this.#nextRequestId++, this.#vote(proposalId, 'approve'));
        const b = this.#request(this.#nextRequestId++, this.#vote(proposalId, 'reject'));
        return [
          { to: { kind: 'replicas' }, frame: a },
          { to: { kind: 'replicas' }, frame: b },
        ];
      }
      case 'equivocateBallots': {
        const proposalId = this.#proposal();
        const sameId = prng.chance(0.5);
        const first = this.#nextRequestId++;
        const a = this.#request(first, this.#vote(proposalId, 'approve'));
        const b = this.#request(sameId ? first : this.#nextRequestId++, this.#vote(proposalId, 'reject'));
        return this.#split(a, b);
      }
      case 'replayOther': {
        const frames = this.#options.commons?.honestFrames ?? [];
        if (frames.length === 0) return [];
        return [{ to: this.#somewhere(), frame: prng.pick(frames) }];
      }
      case 'proposalSpam': {
        const sends: AgentSend[] = [];
        for (let i = 0; i < BYZANTINE_AGENT_LIMITS.burstRequests; i++) {
          const requestId = this.#nextRequestId++;
          const operation = proposeOperation(this.#context(requestId), `${this.id}.spam${requestId}`);
          sends.push({ to: { kind: 'replicas' }, frame: this.#request(requestId, operation) });
        }
        return sends;
      }
      case 'leaseHijack': {
        const commons = this.#options.commons;
        const lock = `lock-${prng.int(WORKLOAD_LIMITS.lockCount)}`;
        const task = commons !== undefined && commons.tasks.length > 0 ? prng.pick(commons.tasks) : 'no-task';
        const bytes = prng.pick([
          () => ops.lockRenew({ name: lock, ttl: 10_000 }),
          () => ops.lockRelease({ name: lock }),
          () => ops.lockAcquire({ name: lock, ttl: 10_000 }),
          () => ops.taskClaim({ taskId: task, ttl: 10_000 }),
          () => ops.taskComplete({ taskId: task, result: new Uint8Array([0xba, 0xd]) }),
          () => ops.taskRelease({ taskId: task }),
        ])();
        return [{ to: { kind: 'replicas' }, frame: this.#request(this.#nextRequestId++, { bytes }) }];
      }
      case 'malformed': {
        const bytes = prng.pick([
          () => prng.bytes(prng.range(1, 64)),
          () => encodeCanonical(['vote', prng.bytes(40)]),
          () => encodeCanonical(['kv_put', 7, 'x']),
          () => encodeCanonical(['lock_acquire', 'lock-0', -5]),
          () => encodeCanonical(['propose', 'p', 't', ['threshold', 0], [], 0, []]),
          () => encodeCanonical(['vote', prng.bytes(64), prng.bytes(64)]),
        ])();
        return [{ to: this.#somewhere(), frame: this.#request(this.#nextRequestId++, { bytes }) }];
      }
      case 'equivocate': {
        const requestId = this.#nextRequestId++;
        return this.#split(this.#request(requestId), this.#request(requestId));
      }
      case 'replay': {
        if (this.#remembered.length === 0) return [];
        return [{ to: this.#somewhere(), frame: prng.pick(this.#remembered) }];
      }
      case 'skipAhead': {
        this.#nextRequestId += prng.range(2, 20);
        return [{ to: this.#somewhere(), frame: this.#request(this.#nextRequestId++) }];
      }
      case 'goBack': {
        const requestId = prng.range(1, Math.max(1, this.#nextRequestId - 1));
        return [{ to: this.#somewhere(), frame: this.#request(requestId) }];
      }
      case 'burst': {
        const sends: AgentSend[] = [];
        for (let i = 0; i < BYZANTINE_AGENT_LIMITS.burstRequests; i++) {
          sends.push({ to: { kind: 'replicas' }, frame: this.#request(this.#nextRequestId++) });
        }
        return sends;
      }
      case 'impersonate': {
        // A victim's id signed with our key: must fail verification and never run.
        const victim = prng.pick(this.#options.victims);
        const operation = encodeKvOperation({ op: 'put', key: 'k0', value: `forged-by-${this.id}` });
        const forged = signBody(
          {
            type: MessageType.request,
            agent: victim,
            requestId: 1_000_000 + prng.int(1000),
            operation,
            publicKey: publicKeyOf(this.#options.secretKey),
          },
          this.#options.crypto,
          this.#options.secretKey,
        );
        return [{ to: { kind: 'replicas' }, frame: encodeFrame(forged) }];
      }
      case 'garbage':
        return [
          {
            to: this.#somewhere(),
            frame: prng.chance(0.5)
              ? prng.bytes(prng.range(1, 512))
              : encodeCanonical([prng.bytes(40), prng.bytes(64), [[1, [[prng.bytes(8), prng.bytes(64)]]]]]),
          },
        ];
    }
  }

  /** `a` to some replicas, `b` to the others. */
  #split(a: Uint8Array, b: Uint8Array): AgentSend[] {
    const prng = this.#options.prng;
    const replicas = prng.shuffle(this.#replicas());
    const half = prng.range(1, replicas.length - 1);
    return replicas.map((id, index) => ({ to: { kind: 'replica', id }, frame: index < half ? a : b }));
  }

  #context(requestId: number): WorkloadContext {
    const options = this.#options;
    return {
      agent: this.id,
      requestId,
      prng: options.prng,
      keyCount: options.keyCount,
      commons: options.commons as Commons,
      crypto: options.crypto,
      secretKey: options.secretKey,
      voters: options.voters ?? [this.id],
      now: this.#now,
    };
  }

  /** A proposal to vote on: someone's, or one of our own. */
  #proposal(): string {
    const commons = this.#options.commons;
    if (commons !== undefined && commons.proposals.length > 0 && this.#options.prng.chance(0.7))
      return this.#options.prng.pick(commons.proposals);
    return `${this.id}.p${this.#nextRequestId}`;
  }

  #vote(proposalId: string, choice: 'approve' | 'reject'): Operation {
    return voteOperation(this.#context(this.#nextRequestId), proposalId, choice);
  }

  /** A request we sign (so it is valid, and recorded as created). */
  #request(requestId: number, given?: Operation): Uint8Array {
    const options = this.#options;
    const prng = options.prng;
    const operation =
      given ??
      (options.stateMachine === 'coordination'
        ? {
            bytes: ops.kvPut({
              key: `k${prng.int(options.keyCount)}`,
              value: new TextEncoder().encode(`${this.id}.${requestId}.${prng.int(1_000_000)}`),
            }),
          }
        : {
            bytes: encodeKvOperation({
              op: 'put',
              key: `k${prng.int(options.keyCount)}`,
              value: `${this.id}.${requestId}.${prng.int(1_000_000)}`,
            }),
          });
    const { frame } = signAndRecord(this.id, requestId, operation, options, false);
    if (this.#remembered.length < BYZANTINE_AGENT_LIMITS.rememberedMax) this.#remembered.push(frame);
    else this.#remembered[prng.int(BYZANTINE_AGENT_LIMITS.rememberedMax)] = frame;
    return frame;
  }

  #replicas(): number[] {
    return Array.from({ length: this.#options.replicaCount }, (_, id) => id);
  }

  #somewhere(): AgentSend['to'] {
    const prng = this.#options.prng;
    return prng.chance(0.3)
      ? { kind: 'replicas' }
      : { kind: 'replica', id: prng.int(this.#options.replicaCount) };
  }
}
