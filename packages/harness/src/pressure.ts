/**
 * Pressure strategies: a lying agent that denies service to honest agents with nothing but
 * valid, signed coordination operations, sent every tick (bounded per tick and per run). Each
 * is one attack of issue 14 (Aardvark's bar: one Byzantine client must not starve the others):
 *
 * - hoard-kv / hoard-locks / hoard-proposals / hoard-tasks: fill a shared table (fresh keys,
 *   locks with long leases, proposals left open or decided and retained, tasks), so the next
 *   honest agent's first one is refused;
 * - overwrite-kv: write keys honest agents wrote in their own namespace;
 * - squat-kv: write honest agents' (predictable) key names before they do;
 * - replay-flood: resend old frames (its own and honest agents') and fresh queries;
 * - event-churn: many event-producing writes, and lock leases timed to expire together, so the
 *   shared event log forgets what honest agents did.
 *
 * Transport attacks (giant frames, slow readers, slowloris) have no place here: the simulated
 * network carries whole frames instantly to a replica's inbox, with no sockets or buffers to
 * exhaust. They belong to the real-daemon attack command.
 */
import { ops } from '@conclave/coordination';
import type { AgentSend } from './agent.ts';
import type { Prng } from './prng.ts';
import {
  type Commons,
  type Operation,
  ownKeyPrefix,
  voteOperation,
  type WorkloadContext,
} from './workload.ts';

export const PRESSURE_STRATEGY_NAMES = [
  'hoard-kv',
  'hoard-locks',
  'hoard-proposals',
  'hoard-tasks',
  'overwrite-kv',
  'squat-kv',
  'replay-flood',
  'event-churn',
] as const;
export type PressureStrategyName = (typeof PRESSURE_STRATEGY_NAMES)[number];

export const PRESSURE_LIMITS = Object.freeze({
  /** Requests one pressuring agent sends per tick: a steady stream, below the replicas' pending bound (8). */
  requestsPerTick: 2,
  /** Frames one pressuring agent sends over a run: 600 ticks of pressure, enough to outlast honest work. */
  framesMax: 1200,
  /** Bytes of each value or payload it stores: enough to weigh on byte quotas, small enough for the sim. */
  valueBytes: 64,
  /**
   * Lease of hoarded locks and deadline of hoarded proposals: beyond any run (at most 100k ticks)
   * yet within every `leaseTicksMax` in use (360,000 with per-agent quotas), or it would be refused
   * INVALID and hoard nothing.
   */
  longTicks: 300_000,
  /** Honest keys are overwritten only this long after the honest write was issued, so it ran first (healed: ~10 ticks). */
  overwriteDelayTicks: 20,
  /** Churned lock leases all end at multiples of this many ticks: expiries timed together. */
  churnPeriodTicks: 16,
});

/** What a pressure strategy may use of the agent that runs it. */
export interface PressureActor {
  readonly id: string;
  readonly prng: Prng;
  readonly keyCount: number;
  /** Honest agents (victims of overwrites and squatting). */
  readonly victims: readonly string[];
  readonly commons: Commons;
  /** Frames it signed before, for replay. */
  readonly remembered: readonly Uint8Array[];
  nextRequestId(): number;
  /** Signs (and records) one of its own requests. */
  sign(requestId: number, operation: Operation): Uint8Array;
  context(requestId: number, now: number): WorkloadContext;
}

const ALL_REPLICAS: AgentSend['to'] = { kind: 'replicas' };

/** A request to sign once its requestId is known, or an old frame to resend as it is. */
type Planned = ((requestId: number) => Operation) | Uint8Array;

/** One pressuring agent's state: which of its proposals it still has to decide. */
export class PressureAttack {
  readonly #actor: PressureActor;
  readonly #payload: Uint8Array;
  #toDecide: string | undefined;

  constructor(actor: PressureActor) {
    this.#actor = actor;
    // Fixed bytes, not drawn from the stream: building an attack must not change other runs.
    this.#payload = new Uint8Array(PRESSURE_LIMITS.valueBytes).fill(0xab);
  }

  /** This tick's requests for `name` (at most `requestsPerTick`). */
  sends(name: PressureStrategyName, now: number): AgentSend[] {
    const operations = this.#operations(name, now);
    const sends: AgentSend[] = [];
    for (const operation of operations.slice(0, PRESSURE_LIMITS.requestsPerTick)) {
      if (operation instanceof Uint8Array) {
        sends.push({ to: ALL_REPLICAS, frame: operation });
        continue;
      }
      const requestId = this.#actor.nextRequestId();
      sends.push({ to: ALL_REPLICAS, frame: this.#actor.sign(requestId, operation(requestId)) });
    }
    return sends;
  }

  /** Operations to sign (built once the requestId is known), or old frames to resend as they are. */
  #operations(name: PressureStrategyName, now: number): Planned[] {
    const { id } = this.#actor;
    const bytes = (make: (requestId: number) => Uint8Array) => (requestId: number) => ({
      bytes: make(requestId),
    });
    const twice = <T>(item: T): T[] => [item, item];
    switch (name) {
      case 'hoard-kv':
        return twice(bytes((r) => ops.kvPut({ key: `${ownKeyPrefix(id)}hoard${r}`, value: this.#payload })));
      case 'hoard-locks':
        return twice(
          bytes((r) => ops.lockAcquire({ name: `${id}.lock${r}`, ttl: PRESSURE_LIMITS.longTicks })),
        );
      case 'hoard-tasks':
        return twice(bytes((r) => ops.taskCreate({ taskId: `${id}.t${r}`, payload: this.#payload })));
      case 'hoard-proposals':
        return this.#hoardProposals(now);
      case 'overwrite-kv':
        return this.#writeHonestKeys(now, true);
      case 'squat-kv':
        return this.#writeHonestKeys(now, false);
      case 'replay-flood':
        return this.#replayFlood();
      case 'event-churn':
        return this.#eventChurn(now);
    }
  }

  /** One proposal left open for good, and one decided at once (kept for the retention period). */
  #hoardProposals(now: number): ((requestId: number) => Operation)[] {
    const out: ((requestId: number) => Operation)[] = [];
    const decide = this.#toDecide;
    if (decide !== undefined) {
      this.#toDecide = undefined;
      out.push((r) => voteOperation(this.#actor.context(r, now), decide, 'approve'));
    }
    out.push((r) => {
      const proposalId = `${this.#actor.id}.p${r}`;
      if (decide === undefined) this.#toDecide = proposalId;
      return {
        bytes: ops.propose({
          proposalId,
          title: `hoard ${proposalId}`,
          rule: { kind: 'threshold', k: 1 },
          voters: [{ agent: this.#actor.id, weight: 1 }],
          deadline: now + PRESSURE_LIMITS.longTicks,
        }),
      };
    });
    return out;
  }

  /** Writes honest agents' keys: ones they wrote a while ago (overwrite), or ones they have not yet (squat). */
  #writeHonestKeys(now: number, written: boolean): ((requestId: number) => Operation)[] {
    const { prng, commons, victims, keyCount } = this.#actor;
    const keys = written
      ? [...commons.honestKeys]
          .filter(([, tick]) => tick <= now - PRESSURE_LIMITS.overwriteDelayTicks)
          .map(([key]) => key)
      : victims
          .flatMap((victim) => Array.from({ length: keyCount }, (_, i) => `${ownKeyPrefix(victim)}k${i}`))
          .filter((key) => !commons.honestKeys.has(key));
    if (keys.length === 0 || victims.length === 0) return [];
    const key = prng.pick(keys);
    return [
      (r) => ({ bytes: ops.kvPut({ key, value: new TextEncoder().encode(`${this.#actor.id}.${r}`) }) }),
    ];
  }

  /** An old frame (its own or an honest agent's) and a fresh, ordered query. */
  #replayFlood(): Planned[] {
    const { prng, remembered, commons } = this.#actor;
    const old = [...remembered, ...commons.honestFrames];
    if (old.length > 0 && prng.chance(0.5)) return [prng.pick(old), prng.pick(old)];
    return [
      () => ({ bytes: ops.kvGet({ key: `k${prng.int(this.#actor.keyCount)}` }) }),
      () => ({ bytes: ops.listTasks({ limit: 100 }) }),
    ];
  }

  /** A write to its own key (one event each) and a lock whose lease ends with all the others'. */
  #eventChurn(now: number): ((requestId: number) => Operation)[] {
    const period = PRESSURE_LIMITS.churnPeriodTicks;
    const ttl = period - (now % period);
    const { id } = this.#actor;
    return [
      (r) => ({
        bytes: ops.kvPut({ key: `${ownKeyPrefix(id)}churn`, value: new TextEncoder().encode(`${r}`) }),
      }),
      (r) => ({ bytes: ops.lockAcquire({ name: `${id}.churn${r % 8}`, ttl }) }),
    ];
  }
}
