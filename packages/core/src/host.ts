/**
 * The replica host: what every place that runs a `Replica` must do with its output, written once.
 *
 * A replica's step returns effects (`ReplicaOutput`); the host carries them out in the order the
 * protocol's safety rests on: persist, then send, then report what executed. A vote that leaves
 * the process before the record that promises it is durable could be contradicted after a crash
 * — the replica would equivocate. The daemon, the in-process cluster, the simulator, core's test
 * cluster and the model replay all run replicas through this class, each with its own effects
 * (lmdb or memory, WebSocket or a simulated network).
 *
 * A round may hold several steps (the daemon steps its inbox, then time) whose effects are
 * carried out together: one durable write for the round, then every message of the round.
 */
import { InvariantError } from './errors.ts';
import type {
  Destination,
  ExecutedBatch,
  Outbound,
  PersistRecord,
  ReplicaInput,
  ReplicaOutput,
} from './types.ts';

/** One recipient of one copy of a frame. */
export type PeerAddress =
  | { readonly kind: 'replica'; readonly id: number }
  | { readonly kind: 'agent'; readonly id: string };

/** What a host does with a replica's effects; each host supplies its own. */
export interface HostEffects {
  /**
   * Makes `records` durable, in order. Nothing of the same round is sent until this returns, or
   * until its promise settles. Not called for a round with nothing to persist.
   */
  persist(records: readonly PersistRecord[]): void | Promise<void>;
  /** Hands one copy of `outbound` to the network, for `peer`. */
  send(peer: PeerAddress, outbound: Outbound): void;
  /** What the replica executed in the round, in order; called after every send of the round. */
  executed?(batches: readonly ExecutedBatch[]): void;
}

/** The part of a `Replica` a host needs: stepping it. Byzantine wrappers and test doubles fit too. */
export interface Steppable {
  step(input: ReplicaInput): ReplicaOutput;
}

/**
 * The peers a destination names, in a fixed order: `replicas` is every replica but `self`,
 * ascending. A replica addressed by its own id is still a recipient: routing is not filtering.
 */
export function peersOf(to: Destination, self: number, replicaCount: number): PeerAddress[] {
  switch (to.kind) {
    case 'replica':
      return [{ kind: 'replica', id: to.id }];
    case 'agent':
      return [{ kind: 'agent', id: to.id }];
    case 'replicas': {
      const peers: PeerAddress[] = [];
      for (let id = 0; id < replicaCount; id++) if (id !== self) peers.push({ kind: 'replica', id });
      return peers;
    }
  }
}

export interface ReplicaHostOptions {
  /** The hosted replica's id: `replicas` destinations leave it out. */
  readonly id: number;
  readonly replicaCount: number;
  readonly effects: HostEffects;
}

/** Steps a replica and carries out its effects round by round: persist, send, report. */
export class ReplicaHost {
  readonly id: number;
  readonly #replicaCount: number;
  readonly #effects: HostEffects;
  #persist: PersistRecord[] = [];
  #sends: Outbound[] = [];
  #executed: ExecutedBatch[] = [];
  #finishing = false;

  constructor(options: ReplicaHostOptions) {
    if (!Number.isInteger(options.id) || options.id < 0 || options.id >= options.replicaCount)
      throw new InvariantError(`host id ${options.id} is not a replica of ${options.replicaCount}`);
    this.id = options.id;
    this.#replicaCount = options.replicaCount;
    this.#effects = options.effects;
  }

  /** Effects collected and not yet carried out. */
  get pending(): boolean {
    return this.#persist.length > 0 || this.#sends.length > 0 || this.#executed.length > 0;
  }

  /** Steps `replica` and adds its effects to the round; returns the output for the caller's bookkeeping. */
  step(replica: Steppable, input: ReplicaInput): ReplicaOutput {
    if (this.#finishing) throw new InvariantError('a replica stepped while its round was being carried out');
    const output = replica.step(input);
    this.add(output);
    return output;
  }

  /** Adds effects produced elsewhere (a wrapper that stepped the replica itself) to the round. */
  add(output: Pick<ReplicaOutput, 'persist' | 'send' | 'executed'>): void {
    for (const record of output.persist) this.#persist.push(record);
    for (const send of output.send) this.#sends.push(send);
    for (const batch of output.executed) this.#executed.push(batch);
  }

  /**
   * Carries out the round: persist, then send, then report executed. Synchronous when the
   * effects' `persist` is; otherwise returns a promise to await before the next round.
   */
  finishRound(): void | Promise<void> {
    const persist = this.#persist;
    const sends = this.#sends;
    const executed = this.#executed;
    this.#persist = [];
    this.#sends = [];
    this.#executed = [];
    if (persist.length === 0) return this.#sendAndReport(sends, executed);
    this.#finishing = true;
    let durable: void | Promise<void>;
    try {
      durable = this.#effects.persist(persist);
    } catch (error) {
      this.#finishing = false;
      throw error;
    }
    if (durable === undefined) {
      this.#finishing = false;
      return this.#sendAndReport(sends, executed);
    }
    return durable.then(
      () => {
        this.#finishing = false;
        this.#sendAndReport(sends, executed);
      },
      (error: unknown) => {
        this.#finishing = false;
        throw error;
      },
    );
  }

  /** One step carried out at once, for hosts whose persistence is synchronous. */
  run(replica: Steppable, input: ReplicaInput): ReplicaOutput {
    if (this.pending) throw new InvariantError('run() with a round still open: call finishRound() first');
    const output = this.step(replica, input);
    const finished = this.finishRound();
    if (finished !== undefined)
      throw new InvariantError('run() needs synchronous persistence; await finishRound() instead');
    return output;
  }

  #sendAndReport(sends: readonly Outbound[], executed: readonly ExecutedBatch[]): void {
    for (const outbound of sends)
      for (const peer of peersOf(outbound.to, this.id, this.#replicaCount))
        this.#effects.send(peer, outbound);
    if (executed.length > 0) this.#effects.executed?.(executed);
  }
}
