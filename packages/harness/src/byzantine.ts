/**
 * Byzantine replicas. Each wraps an honest `Replica` that runs on the real inputs (so the liar
 * knows the protocol state it lies about) and rewrites what it sends. A liar signs with its own
 * key only: it can claim to be someone else, but that signature will not verify.
 *
 * Colluders share a `Conspiracy`: when one of them is primary it shows one batch to honest group A
 * and a different one to honest group B, and every colluder votes for each digest only towards
 * the group that saw it. Within the bound (k <= f) neither group can reach a quorum that the
 * other's honest replicas would miss; beyond it (k >= f+1) both groups commit different batches
 * at one sequence, which the agreement checker must report.
 */

import { DEFAULT_COORDINATION_LIMITS, decodeOperation } from '@conclave/coordination';
import {
  type Batch,
  type Body,
  bytesEqual,
  type ClusterConfig,
  type CryptoBackend,
  DEFAULT_DECODE_LIMITS,
  type DecodeLimits,
  type Destination,
  decodeFrame,
  encodeCanonical,
  encodeFrame,
  type Frame,
  MessageType,
  makeBatch,
  type PersistRecord,
  type PrePrepare,
  publicKeyOf,
  type Replica,
  type ReplicaInput,
  type ReplicaOutput,
  type Signed,
  signBody,
  type ViewChange,
} from '@conclave/core';
import type { Prng } from './prng.ts';

export const STRATEGY_NAMES = [
  'silent',
  'crash',
  'equivocate',
  'conflictingVotes',
  'forgeSender',
  'badSignature',
  'replay',
  'outOfWatermarks',
  'lyingViewChange',
  'withhold',
  'flood',
  'lyingReplies',
  /** Crashes, then restarts from its durable state (on its own not Byzantine; see `crashes`). */
  'crashRestart',
  /** Crashes, then restarts with no durable state: it may sign what contradicts its past. */
  'amnesia',
  /** As primary, holds every pre-prepare until just before the backups would time out. */
  'slowPrimary',
  /** Two copies of the replica share its key, each wired to a different part of the network. */
  'twins',
  /**
   * Sealed ballots' primary: gets reveals ordered as early as it can. Requests that are not
   * reveals wait for its next tick, so reveals go into batches first; and its batch timestamps
   * are as low as backups accept, because its clock is set back (by the scenario,
   * `EARLY_REVEALS_CLOCK_LAG`) almost `timestampSkewMaxTicks` behind the fastest honest clock:
   * agreed time then lags, and reveals sent by wall time land before the commit deadline.
   */
  'earlyReveals',
] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/**
 * Strategies that may be combined; `silent` and `crash` stand alone. `earlyReveals` is left out
 * of the random mix (the sealed suite plans it), so the other suites' seeds replay as before.
 */
export const COMBINABLE_STRATEGIES: readonly StrategyName[] = STRATEGY_NAMES.filter(
  (name) => name !== 'silent' && name !== 'crash' && name !== 'earlyReveals',
);

/**
 * How far behind the fastest honest clock an `earlyReveals` replica's clock is set: the skew
 * backups tolerate, less what a pre-prepare may spend on the wire (delays and reordering) before
 * a backup checks its timestamp against its own clock.
 */
export function earlyRevealsClockLag(timestampSkewMaxTicks: number): number {
  return Math.max(0, timestampSkewMaxTicks - EARLY_REVEALS_WIRE_TICKS);
}
/** Ticks a pre-prepare may take to reach a backup, in the simulator's faulty phase at worst. */
export const EARLY_REVEALS_WIRE_TICKS = 40;

/** Strategies that stop and rebuild the replica: the simulator, not the liar, carries them out. */
export const RESTART_STRATEGIES: readonly StrategyName[] = ['crashRestart', 'amnesia'];

export interface ByzantinePlan {
  readonly id: number;
  readonly strategies: readonly StrategyName[];
  /** For `crash`: the tick from which the replica is silent for good; for `crashRestart` and `amnesia`: when it stops. */
  readonly crashTick?: number;
  /** For `crashRestart` and `amnesia`: when it comes back (after `crashTick`). */
  readonly restartTick?: number;
  /** Member of the conspiracy (only meaningful when the scenario has one). */
  readonly colluding: boolean;
}

/** What a Byzantine replica emits; type 0 marks junk that is no protocol message at all. */
export interface SimOutbound {
  readonly to: Destination;
  readonly type: MessageType | 0;
  readonly frame: Uint8Array;
}

/** Bounds on the adversary, so a run's size stays bounded whatever it draws. */
export const BYZANTINE_LIMITS = Object.freeze({
  /** Frames remembered for replay. */
  replayBufferFrames: 128,
  /** Junk frames one flooding replica sends over a whole run. */
  floodFramesMax: 300,
  /** Bytes of one junk frame at most. */
  floodFrameBytesMax: 4096,
  /** Frames one replica replays over a whole run. */
  replayFramesMax: 400,
  /** Crafted out-of-window and spontaneous view-change messages over a whole run. */
  craftedFramesMax: 200,
  /** Proposals a conspiracy tracks. */
  conspiracyProposalsMax: 4096,
});

// Per-tick and per-message probabilities of the active strategies: enough to hit every code path
// many times per run, not so much that the attack drowns the honest traffic in the simulator.
const REPLAY_PER_TICK = 0.05;
const CRAFT_PER_TICK = 0.03;
const FLOOD_PER_TICK = 0.08;
const SPONTANEOUS_VIEW_CHANGE_PER_TICK = 0.01;
const FORGE_PER_MESSAGE = 0.2;
const BAD_SIGNATURE_PER_MESSAGE = 0.15;
const CONFLICTING_VOTE_PER_MESSAGE = 0.5;
const LYING_REPLY_PER_MESSAGE = 0.5;
const WITHHOLD_REPLY_PER_MESSAGE = 0.5;
const REMEMBER_PER_FRAME = 0.25;

interface Proposal {
  readonly view: number;
  readonly sequence: number;
  readonly primary: number;
  readonly digestA: Uint8Array;
  readonly digestB: Uint8Array;
}

/**
 * Shared memory of colluding replicas: which honest replicas see which version of a batch, and
 * the double proposals made so far. Colluders could as well share keys; sharing intent is enough.
 */
export class Conspiracy {
  readonly members: readonly number[];
  readonly groupA: readonly number[];
  readonly groupB: readonly number[];
  readonly #proposals: Proposal[] = [];
  readonly #attacked = new Set<string>();
  readonly #voted = new Map<number, number>();

  constructor(members: readonly number[], honest: readonly number[], prng: Prng) {
    this.members = [...members].sort((a, b) => a - b);
    const shuffled = prng.shuffle(honest);
    const half = Math.ceil(shuffled.length / 2);
    this.groupA = shuffled.slice(0, half).sort((a, b) => a - b);
    this.groupB = shuffled.slice(half).sort((a, b) => a - b);
  }

  get proposals(): readonly Proposal[] {
    return this.#proposals;
  }

  isAttacked(view: number, sequence: number): boolean {
    return this.#attacked.has(`${view}:${sequence}`);
  }

  propose(proposal: Proposal): boolean {
    if (this.#proposals.length >= BYZANTINE_LIMITS.conspiracyProposalsMax) return false;
    this.#proposals.push(proposal);
    this.#attacked.add(`${proposal.view}:${proposal.sequence}`);
    return true;
  }

  /** Proposals `member` has not voted on yet; marks them voted. */
  takeUnvoted(member: number): readonly Proposal[] {
    const from = this.#voted.get(member) ?? 0;
    this.#voted.set(member, this.#proposals.length);
    return this.#proposals.slice(from);
  }
}

export interface ByzantineReplicaOptions {
  readonly plan: ByzantinePlan;
  /** The honest replica the liar runs internally, with the liar's own key. */
  readonly inner: Replica;
  readonly cluster: ClusterConfig;
  readonly crypto: CryptoBackend;
  readonly secretKey: Uint8Array;
  readonly prng: Prng;
  readonly conspiracy?: Conspiracy;
  readonly decodeLimits?: DecodeLimits;
  /** For `slowPrimary`: how long pre-prepares are held (just under the backups' timeout). */
  readonly slowPrimaryDelayTicks?: number;
}

/** Another digest for the same proposal: reorder, drop a request, or move the timestamp. */
export function alternativeBatch(batch: Batch, hash: (data: Uint8Array) => Uint8Array): Batch {
  if (batch.requests.length >= 2) return makeBatch(batch.timestamp, [...batch.requests].reverse(), hash);
  if (batch.requests.length === 1) return makeBatch(batch.timestamp, [], hash);
  return makeBatch(batch.timestamp + 1, [], hash);
}

export class ByzantineReplica {
  readonly id: number;
  readonly plan: ByzantinePlan;
  #inner: Replica;
  readonly #n: number;
  readonly #crypto: CryptoBackend;
  readonly #secretKey: Uint8Array;
  readonly #prng: Prng;
  readonly #conspiracy: Conspiracy | undefined;
  readonly #limits: DecodeLimits;
  readonly #strategies: ReadonlySet<StrategyName>;
  /** For `withhold`: the only replicas that hear from us. */
  readonly #audience: readonly number[];
  readonly #remembered: Uint8Array[] = [];
  readonly #rememberedTypes: (MessageType | 0)[] = [];
  #replayed = 0;
  #flooded = 0;
  #crafted = 0;
  readonly #slowDelayTicks: number;
  /** Pre-prepares a slow primary holds back, in release order. */
  readonly #held: { readonly releaseAt: number; readonly out: SimOutbound }[] = [];
  /** `earlyReveals`: requests that are not reveals, held until the next tick. */
  #queued: Uint8Array[] = [];
  #now = 0;
  /** What the inner replica asked to persist in the last step (the simulator keeps it for restarts). */
  lastPersist: readonly PersistRecord[] = [];
  /** Frames this replica sent, by kind, for the tally in verbose output. */
  readonly counts: Record<string, number> = {};

  constructor(options: ByzantineReplicaOptions) {
    this.id = options.plan.id;
    this.plan = options.plan;
    this.#inner = options.inner;
    this.#n = options.cluster.replicas.length;
    this.#crypto = options.crypto;
    this.#secretKey = options.secretKey;
    this.#prng = options.prng;
    this.#conspiracy = options.plan.colluding ? options.conspiracy : undefined;
    this.#limits = options.decodeLimits ?? DEFAULT_DECODE_LIMITS;
    this.#strategies = new Set(options.plan.strategies);
    this.#slowDelayTicks = options.slowPrimaryDelayTicks ?? 45;
    const others = this.#others();
    this.#audience = this.#prng
      .sample(others, this.#prng.range(1, Math.max(1, others.length - 1)))
      .sort((a, b) => a - b);
  }

  has(strategy: StrategyName): boolean {
    return this.#strategies.has(strategy);
  }

  /** The replica the liar runs inside. */
  get inner(): Replica {
    return this.#inner;
  }

  /** After a crash: the liar goes on with a rebuilt replica (from durable state, or from nothing). */
  restart(inner: Replica): void {
    if (inner.id !== this.id) throw new RangeError(`restart: replica ${inner.id} is not ${this.id}`);
    this.#inner = inner;
    this.#held.length = 0;
  }

  /** Feeds one input to the inner replica and returns what the liar actually sends. */
  step(input: ReplicaInput, now: number): SimOutbound[] {
    if (this.has('silent')) return [];
    if (this.has('crash') && this.plan.crashTick !== undefined && now >= this.plan.crashTick) return [];
    this.#now = now;
    if (input.kind === 'message') this.#remember(input.frame, 0);
    const outputs = this.has('earlyReveals') ? this.#revealsFirst(input) : [this.#inner.step(input)];
    this.lastPersist = outputs.flatMap((output) => output.persist);
    const sent = outputs.flatMap((output) => output.send);
    if (this.has('crash')) return sent.map((out) => ({ to: out.to, type: out.type, frame: out.frame }));
    const sends: SimOutbound[] = [];
    for (const out of sent) {
      if (out.type !== MessageType.reply) this.#remember(out.frame, out.type);
      sends.push(...this.#transform({ to: out.to, type: out.type, frame: out.frame }));
    }
    if (input.kind === 'tick') sends.push(...this.#spontaneous(now), ...this.#releaseHeld(now));
    if (this.#conspiracy !== undefined) sends.push(...this.#conspiracyVotes());
    for (const send of sends) this.counts[String(send.type)] = (this.counts[String(send.type)] ?? 0) + 1;
    return sends;
  }

  /**
   * `earlyReveals`: a reveal goes to the inner replica at once; any other request waits for the
   * next tick, when the held ones go in (in arrival order) before the tick itself. In a burst,
   * reveals go first.
   */
  #revealsFirst(input: ReplicaInput): ReplicaOutput[] {
    if (input.kind === 'message') {
      if (
        !isRequestFrame(input.frame, this.#limits, this.#crypto.hash) ||
        isReveal(input.frame, this.#limits, this.#crypto.hash)
      )
        return [this.#inner.step(input)];
      this.#queued.push(input.frame);
      return [];
    }
    if (input.kind === 'messages') {
      const reveals = input.frames.filter((frame) => isReveal(frame, this.#limits, this.#crypto.hash));
      const others = input.frames.filter((frame) => !reveals.includes(frame));
      return [this.#inner.step({ kind: 'messages', frames: [...reveals, ...others] })];
    }
    const queued = this.#queued;
    this.#queued = [];
    const outputs = queued.length === 0 ? [] : [this.#inner.step({ kind: 'messages', frames: queued })];
    outputs.push(this.#inner.step(input));
    return outputs;
  }

  // -------------------------------------------------------------------------------------------
  // Rewriting what the inner replica sends

  #transform(out: SimOutbound): SimOutbound[] {
    const conspiracy = this.#conspiracy;
    if (
      conspiracy !== undefined &&
      (out.type === MessageType.prePrepare ||
        out.type === MessageType.prepare ||
        out.type === MessageType.commit)
    ) {
      const frame = this.#decode(out.frame);
      if (frame !== undefined) {
        const body = frame.body as { view: number; sequence: number };
        // Our own honest-looking votes would only muddy the split; the conspiracy votes instead.
        if (out.type !== MessageType.prePrepare && conspiracy.isAttacked(body.view, body.sequence)) return [];
        if (out.type === MessageType.prePrepare) {
          const split = this.#splitProposal(frame as Frame<PrePrepare>, conspiracy);
          if (split !== undefined) return split;
        }
      }
    }
    let outs: SimOutbound[] = [out];
    if (this.has('equivocate') && out.type === MessageType.prePrepare) outs = this.#equivocate(out);
    if (
      this.has('conflictingVotes') &&
      (out.type === MessageType.prepare || out.type === MessageType.commit)
    ) {
      outs = outs.flatMap((o) => this.#conflictingVote(o));
    }
    if (this.has('lyingViewChange') && out.type === MessageType.viewChange)
      outs = outs.map((o) => this.#lieInViewChange(o));
    if (this.has('lyingReplies') && out.type === MessageType.reply)
      outs = outs.map((o) => this.#lieInReply(o));
    if (this.has('forgeSender')) outs = outs.flatMap((o) => this.#forge(o));
    if (this.has('badSignature')) outs = outs.map((o) => this.#badSignature(o));
    if (this.has('withhold')) outs = outs.flatMap((o) => this.#withhold(o));
    if (this.has('slowPrimary') && out.type === MessageType.prePrepare) {
      for (const o of outs) this.#held.push({ releaseAt: this.#now + this.#slowDelayTicks, out: o });
      return [];
    }
    return outs;
  }

  #releaseHeld(now: number): SimOutbound[] {
    let due = 0;
    while (due < this.#held.length && (this.#held[due]?.releaseAt ?? Infinity) <= now) due++;
    return this.#held.splice(0, due).map((held) => held.out);
  }

  /** Pre-prepare d1 to group A, d2 to group B, both to fellow colluders. */
  #splitProposal(frame: Frame<PrePrepare>, conspiracy: Conspiracy): SimOutbound[] | undefined {
    const batch = frame.batches.find((b) => bytesEqual(b.digest, frame.body.digest));
    if (batch === undefined) return undefined;
    const other = alternativeBatch(batch, this.#crypto.hash);
    const alternative = this.#sign<PrePrepare>({ ...frame.body, digest: other.digest });
    const alternativeFrame = encodeFrame(alternative, [other]);
    const proposal: Proposal = {
      view: frame.body.view,
      sequence: frame.body.sequence,
      primary: this.id,
      digestA: frame.body.digest,
      digestB: other.digest,
    };
    if (!conspiracy.propose(proposal)) return undefined;
    const original = encodeFrame(frame, frame.batches);
    const sends: SimOutbound[] = [];
    for (const id of conspiracy.groupA) sends.push(toReplica(id, MessageType.prePrepare, original));
    for (const id of conspiracy.groupB) sends.push(toReplica(id, MessageType.prePrepare, alternativeFrame));
    for (const id of conspiracy.members) {
      if (id === this.id) continue;
      sends.push(toReplica(id, MessageType.prePrepare, original));
      sends.push(toReplica(id, MessageType.prePrepare, alternativeFrame));
    }
    return sends;
  }

  /** Each colluder votes d1 towards group A and d2 towards group B for every double proposal. */
  #conspiracyVotes(): SimOutbound[] {
    const conspiracy = this.#conspiracy;
    if (conspiracy === undefined) return [];
    const sends: SimOutbound[] = [];
    for (const proposal of conspiracy.takeUnvoted(this.id)) {
      for (const [group, digest] of [
        [conspiracy.groupA, proposal.digestA],
        [conspiracy.groupB, proposal.digestB],
      ] as const) {
        const votes: Signed[] = [];
        if (proposal.primary !== this.id) {
          votes.push(
            this.#sign({
              type: MessageType.prepare,
              view: proposal.view,
              sequence: proposal.sequence,
              digest,
              replica: this.id,
            }),
          );
        }
        votes.push(
          this.#sign({
            type: MessageType.commit,
            view: proposal.view,
            sequence: proposal.sequence,
            digest,
            replica: this.id,
          }),
        );
        for (const vote of votes) {
          const frame = encodeFrame(vote);
          for (const id of group) sends.push(toReplica(id, vote.body.type, frame));
        }
      }
    }
    return sends;
  }

  /** As primary: half the backups get one batch, the other half another. */
  #equivocate(out: SimOutbound): SimOutbound[] {
    const frame = this.#decode(out.frame) as Frame<PrePrepare> | undefined;
    const batch = frame?.batches.find((b) => frame !== undefined && bytesEqual(b.digest, frame.body.digest));
    if (frame === undefined || batch === undefined || out.to.kind !== 'replicas') return [out];
    const other = alternativeBatch(batch, this.#crypto.hash);
    const alternative = encodeFrame(this.#sign<PrePrepare>({ ...frame.body, digest: other.digest }), [other]);
    const others = this.#prng.shuffle(this.#others());
    const half = this.#prng.range(1, Math.max(1, others.length - 1));
    return others.map((id, index) =>
      toReplica(id, MessageType.prePrepare, index < half ? out.frame : alternative),
    );
  }

  /** Receivers get the real vote, a vote for a digest nobody proposed, or both in either order. */
  #conflictingVote(out: SimOutbound): SimOutbound[] {
    if (out.to.kind !== 'replicas' || !this.#prng.chance(CONFLICTING_VOTE_PER_MESSAGE)) return [out];
    const frame = this.#decode(out.frame);
    if (frame === undefined) return [out];
    const body = frame.body as Body & { digest: Uint8Array };
    const fake = encodeFrame(this.#sign({ ...body, digest: this.#prng.bytes(32) } as Body));
    return this.#others().flatMap((id) => {
      const real = toReplica(id, out.type, out.frame);
      const lie = toReplica(id, out.type, fake);
      return this.#prng.pick([[real], [lie], [lie, real], [real, lie]]);
    });
  }

  /** A view-change that hides what we prepared, claims a stale checkpoint, or carries a fake certificate. */
  #lieInViewChange(out: SimOutbound): SimOutbound {
    const frame = this.#decode(out.frame) as Frame<ViewChange> | undefined;
    if (frame === undefined) return out;
    const body = frame.body;
    const lie = this.#prng.int(4);
    if (lie === 0)
      return { ...out, frame: encodeFrame(this.#sign<ViewChange>({ ...body, prepared: [] }), frame.batches) };
    if (lie === 1) {
      return {
        ...out,
        frame: encodeFrame(
          this.#sign<ViewChange>({ ...body, stableSequence: 0, checkpointProof: [] }),
          frame.batches,
        ),
      };
    }
    if (lie === 2) {
      const sequence = body.stableSequence + 1 + this.#prng.int(8);
      const view = Math.max(0, body.newView - 1);
      const digest = this.#prng.bytes(32);
      const prePrepare = this.#sign<PrePrepare>({
        type: MessageType.prePrepare,
        view,
        sequence,
        digest,
        replica: this.id,
      });
      const prepare = this.#sign({ type: MessageType.prepare, view, sequence, digest, replica: this.id });
      const prepared = [...body.prepared, { prePrepare, prepares: [prepare, prepare] }];
      return { ...out, frame: encodeFrame(this.#sign<ViewChange>({ ...body, prepared }), frame.batches) };
    }
    // A stale view-change remembered from earlier, if we have one.
    const stale = this.#rememberedOfType(MessageType.viewChange);
    return stale === undefined ? out : { ...out, frame: stale };
  }

  /** A validly signed reply with a made-up result; colluders make up the same one. */
  #lieInReply(out: SimOutbound): SimOutbound {
    if (!this.#prng.chance(LYING_REPLY_PER_MESSAGE)) return out;
    const frame = this.#decode(out.frame);
    if (frame === undefined || frame.body.type !== MessageType.reply) return out;
    const result = encodeCanonical([true, 'lie', frame.body.requestId]);
    return { ...out, frame: encodeFrame(this.#sign({ ...frame.body, result })) };
  }

  /** An extra copy that claims another replica sent it; our signature cannot match its key. */
  #forge(out: SimOutbound): SimOutbound[] {
    if (out.type === 0 || out.type === MessageType.request || !this.#prng.chance(FORGE_PER_MESSAGE))
      return [out];
    const frame = this.#decode(out.frame);
    if (frame === undefined || frame.body.type === MessageType.request) return [out];
    const victim = this.#prng.pick(this.#others());
    const forged = this.#sign({ ...frame.body, replica: victim } as Body);
    return [out, { ...out, frame: encodeFrame(forged, frame.batches) }];
  }

  /** The real message with random signature bytes: it is lost, and counted as a bad signature. */
  #badSignature(out: SimOutbound): SimOutbound {
    if (out.type === 0 || !this.#prng.chance(BAD_SIGNATURE_PER_MESSAGE)) return out;
    const frame = this.#decode(out.frame);
    if (frame === undefined) return out;
    return {
      ...out,
      frame: encodeFrame(
        { body: frame.body, bytes: frame.bytes, signature: this.#prng.bytes(64) },
        frame.batches,
      ),
    };
  }

  /** Only the audience hears replica messages; agents get half the replies. */
  #withhold(out: SimOutbound): SimOutbound[] {
    switch (out.to.kind) {
      case 'replicas':
        return this.#audience.map((id) => toReplica(id, out.type, out.frame));
      case 'replica':
        return this.#audience.includes(out.to.id) ? [out] : [];
      case 'agent':
        return this.#prng.chance(WITHHOLD_REPLY_PER_MESSAGE) ? [] : [out];
    }
  }

  // -------------------------------------------------------------------------------------------
  // What the liar sends on its own, on ticks

  #spontaneous(now: number): SimOutbound[] {
    const sends: SimOutbound[] = [];
    if (
      this.has('replay') &&
      this.#replayed < BYZANTINE_LIMITS.replayFramesMax &&
      this.#prng.chance(REPLAY_PER_TICK)
    ) {
      const count = this.#prng.range(1, 3);
      for (let i = 0; i < count && this.#remembered.length > 0; i++) {
        const index = this.#prng.int(this.#remembered.length);
        const frame = this.#remembered[index] as Uint8Array;
        const type = this.#rememberedTypes[index] ?? 0;
        this.#replayed++;
        sends.push(
          this.#prng.chance(0.5)
            ? { to: { kind: 'replicas' }, type, frame }
            : toReplica(this.#prng.pick(this.#others()), type, frame),
        );
      }
    }
    if (
      this.has('outOfWatermarks') &&
      this.#crafted < BYZANTINE_LIMITS.craftedFramesMax &&
      this.#prng.chance(CRAFT_PER_TICK)
    ) {
      this.#crafted++;
      sends.push(this.#outOfWatermarks(now));
    }
    if (
      this.has('lyingViewChange') &&
      this.#crafted < BYZANTINE_LIMITS.craftedFramesMax &&
      this.#prng.chance(SPONTANEOUS_VIEW_CHANGE_PER_TICK)
    ) {
      this.#crafted++;
      const status = this.#inner.status();
      const viewChange = this.#sign<ViewChange>({
        type: MessageType.viewChange,
        newView: status.view + this.#prng.range(1, 3),
        stableSequence: 0,
        checkpointProof: [],
        prepared: [],
        replica: this.id,
      });
      sends.push({ to: { kind: 'replicas' }, type: MessageType.viewChange, frame: encodeFrame(viewChange) });
    }
    if (
      this.has('flood') &&
      this.#flooded < BYZANTINE_LIMITS.floodFramesMax &&
      this.#prng.chance(FLOOD_PER_TICK)
    ) {
      const count = this.#prng.range(1, 3);
      for (let i = 0; i < count && this.#flooded < BYZANTINE_LIMITS.floodFramesMax; i++) {
        this.#flooded++;
        sends.push(toReplica(this.#prng.pick(this.#others()), 0, this.#junk()));
      }
    }
    return sends;
  }

  /** A well-signed message with a sequence far above anyone's high watermark. */
  #outOfWatermarks(now: number): SimOutbound {
    const status = this.#inner.status();
    const sequence = status.highWatermark + 1 + this.#prng.int(10_000);
    const digest = this.#prng.bytes(32);
    const kind = this.#prng.int(4);
    if (kind === 0) {
      const batch = makeBatch(Math.max(now, status.agreedTime), [], this.#crypto.hash);
      const prePrepare = this.#sign<PrePrepare>({
        type: MessageType.prePrepare,
        view: status.view,
        sequence,
        digest: batch.digest,
        replica: this.id,
      });
      return {
        to: { kind: 'replicas' },
        type: MessageType.prePrepare,
        frame: encodeFrame(prePrepare, [batch]),
      };
    }
    if (kind === 3) {
      const checkpoint = this.#sign({
        type: MessageType.checkpoint,
        sequence,
        stateDigest: digest,
        replica: this.id,
      });
      return { to: { kind: 'replicas' }, type: MessageType.checkpoint, frame: encodeFrame(checkpoint) };
    }
    const type = kind === 1 ? MessageType.prepare : MessageType.commit;
    const vote = this.#sign({ type, view: status.view, sequence, digest, replica: this.id });
    return { to: { kind: 'replicas' }, type, frame: encodeFrame(vote) };
  }

  /** Garbage: random bytes, well-formed nonsense, an unknown type, or a message from a stranger. */
  #junk(): Uint8Array {
    switch (this.#prng.int(5)) {
      case 0:
        return this.#prng.bytes(this.#prng.range(1, BYZANTINE_LIMITS.floodFrameBytesMax));
      case 1:
        return encodeCanonical([this.#prng.bytes(this.#prng.range(0, 64)), this.#prng.bytes(64), []]);
      case 2:
        return encodeCanonical([
          encodeCanonical([99, this.id, this.#prng.bytes(16)]),
          this.#prng.bytes(64),
          [],
        ]);
      case 3: {
        const request = signBody(
          {
            type: MessageType.request,
            agent: 'stranger',
            requestId: 1,
            operation: this.#prng.bytes(16),
            publicKey: publicKeyOf(this.#secretKey),
          },
          this.#crypto,
          this.#secretKey,
        );
        return encodeFrame(request);
      }
      default: {
        // A known message whose outer tuple has the wrong arity.
        const frame = this.#rememberedOfType(MessageType.prepare) ?? this.#prng.bytes(32);
        return encodeCanonical([frame, 1, 2, 3]);
      }
    }
  }

  // -------------------------------------------------------------------------------------------
  // Helpers

  #others(): number[] {
    const out: number[] = [];
    for (let id = 0; id < this.#n; id++) if (id !== this.id) out.push(id);
    return out;
  }

  #remember(frame: Uint8Array, type: MessageType | 0): void {
    if (this.has('replay') || this.has('lyingViewChange') || this.has('flood')) {
      if (!this.#prng.chance(REMEMBER_PER_FRAME)) return;
      const resolved = type === 0 ? (this.#decode(frame)?.body.type ?? 0) : type;
      if (this.#remembered.length < BYZANTINE_LIMITS.replayBufferFrames) {
        this.#remembered.push(frame);
        this.#rememberedTypes.push(resolved);
      } else {
        const index = this.#prng.int(BYZANTINE_LIMITS.replayBufferFrames);
        this.#remembered[index] = frame;
        this.#rememberedTypes[index] = resolved;
      }
    }
  }

  #rememberedOfType(type: MessageType): Uint8Array | undefined {
    const indexes: number[] = [];
    this.#rememberedTypes.forEach((t, index) => {
      if (t === type) indexes.push(index);
    });
    return indexes.length === 0 ? undefined : this.#remembered[this.#prng.pick(indexes)];
  }

  #decode(frame: Uint8Array): Frame | undefined {
    const decoded = decodeFrame(frame, this.#limits, this.#crypto.hash);
    return decoded.ok ? decoded.value : undefined;
  }

  #sign<B extends Body>(body: B): Signed<B> {
    return signBody(body, this.#crypto, this.#secretKey);
  }
}

/** Whether a frame is an agent's request. */
function isRequestFrame(
  frame: Uint8Array,
  limits: DecodeLimits,
  hash: (data: Uint8Array) => Uint8Array,
): boolean {
  const decoded = decodeFrame(frame, limits, hash);
  return decoded.ok && decoded.value.body.type === MessageType.request;
}

/** Whether a frame is an agent's request to reveal a sealed ballot. */
function isReveal(frame: Uint8Array, limits: DecodeLimits, hash: (data: Uint8Array) => Uint8Array): boolean {
  const decoded = decodeFrame(frame, limits, hash);
  if (!decoded.ok || decoded.value.body.type !== MessageType.request) return false;
  const operation = decodeOperation(decoded.value.body.operation, DEFAULT_COORDINATION_LIMITS);
  return operation.ok && operation.operation.op === 'reveal';
}

function toReplica(id: number, type: MessageType | 0, frame: Uint8Array): SimOutbound {
  return { to: { kind: 'replica', id }, type, frame };
}
