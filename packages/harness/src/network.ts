/**
 * The simulated network: virtual time in integer ticks and one queue of frames in flight, ordered
 * by (deliverAt, insertion counter) so that equal delivery times resolve the same way on every run.
 *
 * Faults are decided when a frame is sent, from the network's own random stream: drop, duplicate,
 * delay within a range, and reorder (an extra random delay). Partitions cut two sets of nodes
 * apart for a window of ticks; they are checked both when a frame is sent and when it would be
 * delivered, so a partition also cuts off what was in flight when it started.
 *
 * A paused replica (`hold`) receives nothing: frames due for it are kept, in order, until it is
 * resumed (`release`), as a stopped process's socket buffers keep what reaches it. Kept frames
 * still count as in flight, so the one bound on frames in flight holds them too.
 */
import type { Destination, MessageType } from '@conclave/core';
import type { Prng } from './prng.ts';

/** A replica is named by its number, an agent by its string id. */
export type Address = number | string;

export interface FaultConfig {
  readonly dropProbability: number;
  readonly duplicateProbability: number;
  /** Every frame takes between these many ticks (inclusive); the minimum must be at least 1. */
  readonly delayTicksMin: number;
  readonly delayTicksMax: number;
  /** Probability that a frame is held back by an extra random delay, overtaking order. */
  readonly reorderProbability: number;
  readonly reorderDelayTicksMax: number;
}

/** From `startTick` (inclusive) to `healTick` (exclusive), no frame passes between `sideA` and `sideB`. */
export interface Partition {
  readonly startTick: number;
  readonly healTick: number;
  readonly sideA: readonly Address[];
  readonly sideB: readonly Address[];
}

export const PERFECT_NETWORK: FaultConfig = Object.freeze({
  dropProbability: 0,
  duplicateProbability: 0,
  delayTicksMin: 1,
  delayTicksMax: 1,
  reorderProbability: 0,
  reorderDelayTicksMax: 0,
});

/** Frames in flight at most; beyond it a send is dropped and counted (a flood must not grow memory). */
export const IN_FLIGHT_FRAMES_MAX = 200_000;

/**
 * What became of one copy of a frame handed to the network. A copy that was queued and then
 * duplicated is `duplicated`, whether or not the second copy (or the first) found room in the
 * queue: the outcome names the fault that was drawn first, as the trace has always shown it.
 */
export type SendOutcome = 'queued' | 'duplicated' | 'dropped' | 'partitioned' | 'overflow';

/** One copy of a send: the address it went to, and what became of it. */
export interface SentCopy {
  readonly to: Address;
  readonly outcome: SendOutcome;
}

export interface Envelope {
  readonly from: Address;
  readonly to: Address;
  readonly type: MessageType | 0;
  readonly frame: Uint8Array;
  readonly sentAt: number;
  readonly deliverAt: number;
  /** Insertion counter: the tie-break between frames due at the same tick. */
  readonly order: number;
}

export interface NetworkStats {
  sent: number;
  delivered: number;
  dropped: number;
  droppedByPartition: number;
  droppedOverflow: number;
  duplicated: number;
}

export interface NetworkOptions {
  readonly replicaCount: number;
  readonly prng: Prng;
  readonly faults?: FaultConfig;
  readonly partitions?: readonly Partition[];
  /**
   * Extra addresses that also receive what is sent to a replica id: Twins, a second copy of a
   * replica running with the same key. A copy sends as its own address and never to its siblings.
   */
  readonly aliases?: ReadonlyMap<number, readonly Address[]>;
}

export function validateFaults(faults: FaultConfig): void {
  const probability = (name: keyof FaultConfig) => {
    const value = faults[name];
    if (!(value >= 0 && value <= 1)) throw new RangeError(`${name} must be in [0, 1], got ${value}`);
  };
  probability('dropProbability');
  probability('duplicateProbability');
  probability('reorderProbability');
  if (!Number.isSafeInteger(faults.delayTicksMin) || faults.delayTicksMin < 1) {
    throw new RangeError(`delayTicksMin must be an integer >= 1, got ${faults.delayTicksMin}`);
  }
  if (!Number.isSafeInteger(faults.delayTicksMax) || faults.delayTicksMax < faults.delayTicksMin) {
    throw new RangeError('delayTicksMax must be an integer >= delayTicksMin');
  }
  if (!Number.isSafeInteger(faults.reorderDelayTicksMax) || faults.reorderDelayTicksMax < 0) {
    throw new RangeError('reorderDelayTicksMax must be a non-negative integer');
  }
}

/** A binary min-heap of envelopes by (deliverAt, order). */
class EnvelopeHeap {
  readonly #items: Envelope[] = [];

  get size(): number {
    return this.#items.length;
  }

  peek(): Envelope | undefined {
    return this.#items[0];
  }

  push(envelope: Envelope): void {
    const items = this.#items;
    items.push(envelope);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i] as Envelope, items[parent] as Envelope)) break;
      [items[i], items[parent]] = [items[parent] as Envelope, items[i] as Envelope];
      i = parent;
    }
  }

  pop(): Envelope | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    items[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < items.length && before(items[left] as Envelope, items[smallest] as Envelope))
        smallest = left;
      if (right < items.length && before(items[right] as Envelope, items[smallest] as Envelope))
        smallest = right;
      if (smallest === i) break;
      [items[i], items[smallest]] = [items[smallest] as Envelope, items[i] as Envelope];
      i = smallest;
    }
    return top;
  }
}

function before(a: Envelope, b: Envelope): boolean {
  return a.deliverAt < b.deliverAt || (a.deliverAt === b.deliverAt && a.order < b.order);
}

export class Network {
  readonly replicaCount: number;
  readonly stats: NetworkStats = {
    sent: 0,
    delivered: 0,
    dropped: 0,
    droppedByPartition: 0,
    droppedOverflow: 0,
    duplicated: 0,
  };
  readonly #prng: Prng;
  readonly #queue = new EnvelopeHeap();
  /** Frames due for a held address, in delivery order, kept until it is released. */
  readonly #held = new Map<Address, Envelope[]>();
  #heldCount = 0;
  #keptTotal = 0;
  #faults: FaultConfig;
  #partitions: readonly Partition[];
  #order = 0;
  #now = 0;
  readonly #aliases: ReadonlyMap<number, readonly Address[]>;
  /** Alias address → the replica id it copies. */
  readonly #aliasOf = new Map<Address, number>();

  constructor(options: NetworkOptions) {
    if (!Number.isSafeInteger(options.replicaCount) || options.replicaCount < 1) {
      throw new RangeError('Network: replicaCount must be a positive integer');
    }
    this.replicaCount = options.replicaCount;
    this.#prng = options.prng;
    this.#faults = options.faults ?? PERFECT_NETWORK;
    validateFaults(this.#faults);
    this.#partitions = options.partitions ?? [];
    this.#aliases = options.aliases ?? new Map();
    for (const [id, addresses] of this.#aliases)
      for (const address of addresses) this.#aliasOf.set(address, id);
  }

  get now(): number {
    return this.#now;
  }

  /** Frames in flight, those kept for a held address among them. */
  get inFlight(): number {
    return this.#queue.size + this.#heldCount;
  }

  /** Frames kept for a held address so far, over the run (each counted once, when kept). */
  get keptTotal(): number {
    return this.#keptTotal;
  }

  /** Frames kept for `address` while it is held. */
  heldFor(address: Address): number {
    return this.#held.get(address)?.length ?? 0;
  }

  /** Keeps every frame due for `address` from now on, instead of delivering it, until `release`. */
  hold(address: Address): void {
    if (!this.#held.has(address)) this.#held.set(address, []);
  }

  /**
   * Stops holding `address`: what was kept for it is due again now, in the order it was kept, ahead
   * of later frames to it (it keeps its insertion counter); a partition in force still cuts it off.
   */
  release(address: Address): void {
    const kept = this.#held.get(address);
    if (kept === undefined) return;
    this.#held.delete(address);
    this.#heldCount -= kept.length;
    for (const envelope of kept) this.#queue.push({ ...envelope, deliverAt: this.#now });
  }

  get faults(): FaultConfig {
    return this.#faults;
  }

  /** Replaces the fault model from now on (frames already in flight keep their delivery time). */
  setFaults(faults: FaultConfig): void {
    validateFaults(faults);
    this.#faults = faults;
  }

  /** Replaces the partition schedule (e.g. `[]` to heal everything at once). */
  setPartitions(partitions: readonly Partition[]): void {
    this.#partitions = partitions;
  }

  /** Moves virtual time forward; time never goes back. */
  advanceTo(tick: number): void {
    if (tick < this.#now) throw new RangeError(`Network: time went back from ${this.#now} to ${tick}`);
    this.#now = tick;
  }

  /** True when a partition in force at `tick` separates `a` and `b`. */
  partitioned(a: Address, b: Address, tick: number = this.#now): boolean {
    for (const partition of this.#partitions) {
      if (tick < partition.startTick || tick >= partition.healTick) continue;
      const aInA = partition.sideA.includes(a);
      const aInB = partition.sideB.includes(a);
      const bInA = partition.sideA.includes(b);
      const bInB = partition.sideB.includes(b);
      if ((aInA && bInB) || (aInB && bInA)) return true;
    }
    return false;
  }

  /** The addresses a destination names, from the point of view of `from`. */
  resolve(from: Address, to: Destination): Address[] {
    const self = typeof from === 'number' ? from : this.#aliasOf.get(from);
    switch (to.kind) {
      case 'replica':
        // Twins do not talk to each other; a plain replica addressing itself keeps the old route.
        if (to.id === self && (from !== self || this.#aliases.has(self))) return [];
        return this.#withAliases(to.id);
      case 'agent':
        return [to.id];
      case 'replicas': {
        const out: Address[] = [];
        for (let id = 0; id < this.replicaCount; id++) if (id !== self) out.push(...this.#withAliases(id));
        return out;
      }
    }
  }

  #withAliases(id: number): Address[] {
    const aliases = this.#aliases.get(id);
    return aliases === undefined ? [id] : [id, ...aliases];
  }

  /**
   * Sends one frame to every address `to` names, each copy subject to faults on its own; returns
   * what became of each copy, in the order they were sent.
   */
  send(from: Address, to: Destination, type: MessageType | 0, frame: Uint8Array): SentCopy[] {
    return this.resolve(from, to).map((address) => ({
      to: address,
      outcome: this.sendTo(from, address, type, frame),
    }));
  }

  /** Sends one copy of a frame to one address; returns what became of it. */
  sendTo(from: Address, to: Address, type: MessageType | 0, frame: Uint8Array): SendOutcome {
    this.stats.sent++;
    if (this.partitioned(from, to)) {
      this.stats.droppedByPartition++;
      return 'partitioned';
    }
    const faults = this.#faults;
    if (faults.dropProbability > 0 && this.#prng.chance(faults.dropProbability)) {
      this.stats.dropped++;
      return 'dropped';
    }
    const queued = this.#enqueue(from, to, type, frame);
    if (faults.duplicateProbability > 0 && this.#prng.chance(faults.duplicateProbability)) {
      this.stats.duplicated++;
      this.#enqueue(from, to, type, frame);
      return 'duplicated';
    }
    return queued ? 'queued' : 'overflow';
  }

  /** Queues one copy with its delay; false when the queue is full (the copy is lost and counted). */
  #enqueue(from: Address, to: Address, type: MessageType | 0, frame: Uint8Array): boolean {
    if (this.inFlight >= IN_FLIGHT_FRAMES_MAX) {
      this.stats.droppedOverflow++;
      return false;
    }
    const faults = this.#faults;
    let delay = this.#prng.range(faults.delayTicksMin, faults.delayTicksMax);
    if (
      faults.reorderProbability > 0 &&
      faults.reorderDelayTicksMax > 0 &&
      this.#prng.chance(faults.reorderProbability)
    ) {
      delay += this.#prng.range(1, faults.reorderDelayTicksMax);
    }
    this.#queue.push({
      from,
      to,
      type,
      frame,
      sentAt: this.#now,
      deliverAt: this.#now + delay,
      order: this.#order++,
    });
    return true;
  }

  /**
   * Removes and returns the next frame due at or before the current tick, skipping (and counting)
   * frames a partition now cuts off and keeping those for a held address; undefined when nothing
   * more is due.
   */
  nextDue(): Envelope | undefined {
    for (;;) {
      const head = this.#queue.peek();
      if (head === undefined || head.deliverAt > this.#now) return undefined;
      this.#queue.pop();
      if (this.partitioned(head.from, head.to)) {
        this.stats.droppedByPartition++;
        continue;
      }
      const kept = this.#held.get(head.to);
      if (kept !== undefined) {
        kept.push(head);
        this.#heldCount++;
        this.#keptTotal++;
        continue;
      }
      this.stats.delivered++;
      return head;
    }
  }

  /** The tick of the next frame in flight, if any. */
  nextDeliveryTick(): number | undefined {
    return this.#queue.peek()?.deliverAt;
  }
}
