/**
 * Model-based testing: replays a trace of the Quint model (spec/conclave.qnt, produced by
 * `quint run --mbt --out-itf`) against real `Replica`s of @conclave/core.
 *
 * The driver holds every key. Each model step becomes real signed frames:
 * - receiveStep: the real replica steps the frame of the delivered message;
 * - proposeStep: the driver signs the honest primary's pre-prepare with its key and steps the
 *   primary with it (a primary takes its own pre-prepare exactly as #proposeBatch records it);
 * - timeoutStep: the replica steps a tick long enough for any timeout;
 * - byzantine*: the driver crafts and signs the Byzantine message (certificates are assembled
 *   from the real signed frames in the pool), RETURNs and RETURN-ACKs (byzantineReturn) included;
 * - sendReturnStep: the driver signs the honest returner's RETURN (an input the real returner is
 *   not made to mirror: it asks on its own trigger); completing a return is not replayed.
 * Where a documented difference of model and implementation applies (see #deliverReturn and
 * #stepReplica; spec/README.md), the replay stops early (`ReplayResult.stopped`).
 * Every frame an honest replica sends is turned back into an abstract message; after each step the
 * messages the implementation sent must be exactly those the model sent, and every honest
 * replica's view, stable checkpoint, execution, log (pre-prepare, votes, prepared, prepared
 * proof, committed) and skipped views must equal the model's. A difference throws a `ReplayMismatch` with a diff.
 *
 * Abstract digests are empty batches told apart by timestamp: A = 1, B = 2, the null batch N = 0
 * (no requests: no pending requests, so the real primary never proposes on its own).
 */
import {
  type Batch,
  type Body,
  type Checkpoint,
  type ClusterConfig,
  type CryptoBackend,
  DEFAULT_DECODE_LIMITS,
  decodeFrame,
  encodeCanonical,
  encodeFrame,
  type Frame,
  type KeyPair,
  KvStateMachine,
  MessageType,
  makeBatch,
  type NewView,
  nodeCrypto,
  type Outbound,
  type PersistRecord,
  type PrePrepare,
  type Prepare,
  type ProtocolConfig,
  Replica,
  ReplicaHost,
  type ReplicaInspection,
  type ReplicaOutput,
  type Return,
  type ReturnAck,
  type Signed,
  type Suspect,
  signBody,
  toHex,
  type ViewChange,
} from '@conclave/core';

// -----------------------------------------------------------------------------------------------
// ITF values, decoded into canonical JSON-able values

type Value = number | string | boolean | Value[] | { [key: string]: Value };

/** Sets (and maps, as [key, value] pairs) become arrays sorted by their JSON: one form per value. */
function sortedSet(values: Value[]): Value[] {
  return values
    .map((value) => [JSON.stringify(value), value] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, value]) => value);
}

/** A record with its keys in order, so equal records have equal JSON. */
function record(fields: Record<string, Value>): { [key: string]: Value } {
  const out: { [key: string]: Value } = {};
  for (const key of Object.keys(fields).sort()) out[key] = fields[key] as Value;
  return out;
}

export function decodeItf(raw: unknown): Value {
  if (raw === null || typeof raw !== 'object') return raw as Value;
  if (Array.isArray(raw)) return raw.map(decodeItf);
  const object = raw as Record<string, unknown>;
  if ('#bigint' in object) return Number(object['#bigint']);
  if ('#set' in object) return sortedSet((object['#set'] as unknown[]).map(decodeItf));
  if ('#tup' in object) return (object['#tup'] as unknown[]).map(decodeItf);
  if ('#map' in object)
    return sortedSet((object['#map'] as [unknown, unknown][]).map(([k, v]) => [decodeItf(k), decodeItf(v)]));
  const fields: Record<string, Value> = {};
  for (const key of Object.keys(object)) fields[key] = decodeItf(object[key]);
  return record(fields);
}

export interface ItfTrace {
  readonly states: readonly Record<string, unknown>[];
}

// -----------------------------------------------------------------------------------------------
// The abstract messages of the model

type Digest = 'A' | 'B' | 'N';
interface VoteMessage {
  view: number;
  seq: number;
  digest: Digest;
  sender: number;
}
interface CheckpointMessage {
  seq: number;
  state: number;
  sender: number;
}
interface ClaimMessage {
  seq: number;
  view: number;
  digest: Digest;
}
interface ViewChangeMessage {
  newView: number;
  sender: number;
  stable: number;
  stableState: number;
  prepared: ClaimMessage[];
}
interface NewViewMessage {
  view: number;
  sender: number;
  vcs: ViewChangeMessage[];
  prePrepares: { seq: number; digest: Digest }[];
}
type AbstractMessage =
  | { tag: 'PrePrepare' | 'Prepare' | 'Commit'; value: VoteMessage }
  | { tag: 'Checkpoint'; value: CheckpointMessage }
  | { tag: 'ViewChange'; value: ViewChangeMessage }
  | { tag: 'NewView'; value: NewViewMessage }
  | { tag: 'Suspect'; value: { view: number; sender: number } }
  | { tag: 'Return'; value: { view: number; through: number; left: number; sender: number } }
  | { tag: 'ReturnAck'; value: { view: number; through: number; returner: number; sender: number } };

const keyOf = (message: Value | AbstractMessage): string => JSON.stringify(message);

// -----------------------------------------------------------------------------------------------
// The cluster the trace is replayed on

/** The model's K = 2, L = 4; timeouts short so one tick of TIMEOUT_TICKS fires any of them. */
export const MBT_PROTOCOL: ProtocolConfig = {
  checkpointInterval: 2,
  watermarkWindow: 4,
  batchSizeMax: 4,
  pipelineDepthMax: 4,
  pendingRequestsPerAgentMax: 8,
  operationBytesMax: 1024,
  requestTimeoutTicks: 10,
  silenceTimeoutMinTicks: 5,
  heartbeatTicks: 5,
  // Clocks jump by a whole timeout per model timeout; timestamps (0, 1, 2) are never too far off.
  timestampSkewMaxTicks: 1_000_000_000,
  retryTicks: 4,
  viewChangeBackoffMax: 2,
};
/** The model's MaxView in the instances replayed (n4, n4backup: views 0..2). */
const MODEL_MAX_VIEW = 2;
const TIMEOUT_TICKS = MBT_PROTOCOL.requestTimeoutTicks * 2 ** MBT_PROTOCOL.viewChangeBackoffMax;

const DIGEST_TIMESTAMPS: Readonly<Record<Digest, number>> = { N: 0, A: 1, B: 2 };
/** The model's `rankOf`: the byte order of the concrete digests (checked when a replay starts). */
const DIGEST_RANK: readonly Digest[] = ['N', 'A', 'B'];
const STATES = [0, 1, 2] as const;

const REPLICA_TYPES = new Set<number>([
  MessageType.prePrepare,
  MessageType.prepare,
  MessageType.commit,
  MessageType.checkpoint,
  MessageType.viewChange,
  MessageType.newView,
  MessageType.suspect,
  MessageType.return,
  MessageType.returnAck,
]);

/** Thrown to end a replay early where a documented difference of model and implementation applies. */
class StopReplay extends Error {}

export class ReplayMismatch extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayMismatch';
  }
}

export interface ReplayResult {
  readonly steps: number;
  readonly actions: Readonly<Record<string, number>>;
  /** Frames honest replicas sent that the model leaves out (fetches for state transfer). */
  readonly unmodelledSends: number;
  /** Messages delivered to real replicas, by type. */
  readonly delivered: Readonly<Record<string, number>>;
  /** At the end, over the honest real replicas: the highest executed sequence, stable checkpoint and view. */
  readonly executedMax: number;
  readonly stableCheckpointMax: number;
  readonly viewMax: number;
  /** RETURNs delivered to a real replica that acknowledged them (skipping views), as the model did. */
  readonly returnsAcknowledged: number;
  /**
   * Where the replay stopped before the end of the trace, and why: a documented difference of
   * model and implementation made the states part from there on (see spec/README.md).
   */
  readonly stopped: { readonly step: number; readonly reason: string } | undefined;
}

export interface ReplayOptions {
  readonly byzantine: ReadonlySet<number>;
  readonly crypto?: CryptoBackend;
  /** A label for messages (e.g. the trace file). */
  readonly label?: string;
}

export function replayTrace(trace: ItfTrace, options: ReplayOptions): ReplayResult {
  return new Replay(trace, options).run();
}

class Replay {
  readonly #crypto: CryptoBackend;
  readonly #states: readonly Record<string, unknown>[];
  readonly #byzantine: ReadonlySet<number>;
  readonly #label: string;
  readonly #n: number;
  readonly #f: number;
  readonly #keys: KeyPair[];
  readonly #replicas = new Map<number, Replica>();
  readonly #batches: Record<Digest, Batch>;
  readonly #digestNames = new Map<string, Digest>();
  readonly #stateDigests: Uint8Array[];
  readonly #stateNames = new Map<string, number>();
  /** Every message sent so far, by abstract key: the real signed frame. */
  readonly #pool = new Map<string, Uint8Array>();
  readonly #actions: Record<string, number> = {};
  readonly #delivered: Record<string, number> = {};
  #unmodelledSends = 0;
  #returnsAcknowledged = 0;
  /** Each honest replica's skipped views as last persisted (the durable `skips` record). */
  readonly #skips = new Map<number, readonly { above: number; through: number }[]>();
  #stopped: { step: number; reason: string } | undefined;
  #stepIndex = 0;
  #action = 'init';

  constructor(trace: ItfTrace, options: ReplayOptions) {
    this.#crypto = options.crypto ?? nodeCrypto();
    this.#states = trace.states;
    this.#byzantine = options.byzantine;
    this.#label = options.label ?? 'trace';
    const first = this.#modelReplicas(0);
    this.#n = first.size;
    this.#f = Math.floor((this.#n - 1) / 3);
    this.#keys = Array.from({ length: this.#n }, (_, i) =>
      this.#crypto.keyPairFromSeed(seed(`replica:${i}`)),
    );
    const cluster: ClusterConfig = {
      replicas: this.#keys.map((k, id) => ({ id, publicKey: k.publicKey })),
      agents: [],
    };
    for (let id = 0; id < this.#n; id++) {
      if (this.#byzantine.has(id)) continue;
      this.#replicas.set(
        id,
        new Replica({
          id,
          cluster,
          protocol: MBT_PROTOCOL,
          crypto: this.#crypto,
          secretKey: (this.#keys[id] as KeyPair).secretKey,
          stateMachine: new KvStateMachine(this.#crypto.hash),
        }),
      );
    }
    this.#batches = {
      N: makeBatch(DIGEST_TIMESTAMPS.N, [], this.#crypto.hash),
      A: makeBatch(DIGEST_TIMESTAMPS.A, [], this.#crypto.hash),
      B: makeBatch(DIGEST_TIMESTAMPS.B, [], this.#crypto.hash),
    };
    for (const name of DIGEST_RANK) this.#digestNames.set(toHex(this.#batches[name].digest), name);
    const byBytes = [...DIGEST_RANK].sort((a, b) =>
      toHex(this.#batches[a].digest) < toHex(this.#batches[b].digest) ? -1 : 1,
    );
    if (byBytes.join() !== DIGEST_RANK.join())
      throw new Error(`digest byte order ${byBytes.join('<')} differs from the model's rankOf`);
    // The replicated state of empty batches is the agreed time: the snapshot #takeSnapshot makes.
    const machine = new KvStateMachine(this.#crypto.hash);
    this.#stateDigests = STATES.map((time) =>
      this.#crypto.hash(encodeCanonical([machine.snapshot(), machine.digest(), [], time])),
    );
    STATES.forEach((time) => {
      this.#stateNames.set(toHex(this.#stateDigests[time] as Uint8Array), time);
    });
    const initial = [...this.#replicas.values()][0]?.stableStateDigest();
    if (initial === undefined || toHex(initial) !== toHex(this.#stateDigests[0] as Uint8Array))
      throw new Error('the modelled state digest at agreed time 0 differs from the replica initial state');
  }

  run(): ReplayResult {
    this.#compareStates();
    try {
      this.#replaySteps();
    } catch (error) {
      if (!(error instanceof StopReplay)) throw error;
      this.#stopped = { step: this.#stepIndex, reason: error.message };
    }
    const final = [...this.#replicas.values()].map((replica) => replica.inspect());
    return {
      steps: this.#states.length - 1,
      actions: { ...this.#actions },
      unmodelledSends: this.#unmodelledSends,
      delivered: { ...this.#delivered },
      executedMax: Math.max(...final.map((r) => r.lastExecuted)),
      stableCheckpointMax: Math.max(...final.map((r) => r.stableCheckpoint)),
      viewMax: Math.max(...final.map((r) => (r.changingView ? r.view - 1 : r.view))),
      returnsAcknowledged: this.#returnsAcknowledged,
      stopped: this.#stopped,
    };
  }

  #replaySteps(): void {
    for (this.#stepIndex = 1; this.#stepIndex < this.#states.length; this.#stepIndex++) {
      const state = this.#states[this.#stepIndex] as Record<string, unknown>;
      this.#action = state['mbt::actionTaken'] as string;
      this.#actions[this.#action] = (this.#actions[this.#action] ?? 0) + 1;
      const picks = decodeItf(state['mbt::nondetPicks']) as Record<string, { tag: string; value: Value }>;
      const pick = (name: string): Value => {
        const option = picks[name];
        if (option?.tag !== 'Some') this.#fail(`no pick ${name}`);
        return (option as { value: Value }).value;
      };
      const added = this.#addedMessages();
      switch (this.#action) {
        case 'receiveStep': {
          const [replica, message] = pick('delivery') as [number, AbstractMessage];
          const frame = this.#pool.get(keyOf(message));
          if (frame === undefined) this.#fail(`delivering a message never sent: ${keyOf(message)}`);
          if (message.tag === 'Return') {
            this.#deliverReturn(replica, message, frame as Uint8Array, added);
            break;
          }
          this.#delivered[message.tag] = (this.#delivered[message.tag] ?? 0) + 1;
          this.#stepReplica(replica, { kind: 'message', frame: frame as Uint8Array }, added);
          break;
        }
        case 'sendReturnStep': {
          // The model lets a stranded replica ask to return at any time; the real one asks only on
          // its own trigger (2f votes below, 2 x retryTicks after it left). The RETURN is an input
          // the real returner is not made to mirror: the driver signs it with the returner's key
          // (as it signs a proposal) and it joins the pool; the real returner's state is untouched,
          // as the model's is (sending changes nothing else). It never asked, so RETURN-ACKs for
          // it are ignored there (`onReturnAck`), as the model holds them unused:
          // `completeReturnStep` is not in the replay's scheduler.
          const stranded = pick('stranded') as number;
          if (added.length !== 1 || added[0]?.tag !== 'Return' || added[0].value.sender !== stranded)
            this.#fail(`sendReturnStep must add one RETURN of ${stranded}, added ${JSON.stringify(added)}`);
          this.#craft(added[0] as AbstractMessage);
          break;
        }
        case 'proposeStep': {
          const proposer = pick('proposer') as number;
          const prePrepare = added.find((m) => m.tag === 'PrePrepare' && m.value.sender === proposer);
          if (prePrepare === undefined) this.#fail('the model proposed without a pre-prepare');
          const frame = this.#craft(prePrepare as AbstractMessage);
          this.#stepReplica(
            proposer,
            { kind: 'message', frame },
            added.filter((m) => m !== prePrepare),
          );
          break;
        }
        case 'timeoutStep':
          this.#stepReplica(pick('suspicious') as number, { kind: 'tick', ticks: TIMEOUT_TICKS }, added);
          break;
        case 'byzantineVote':
        case 'byzantineCheckpoint':
        case 'byzantineViewChange':
        case 'byzantineNewView':
        case 'byzantineSuspect':
        case 'byzantineReturn': {
          if (added.length !== 1 || !this.#byzantine.has(added[0]?.value.sender as number))
            this.#fail(`a Byzantine step must add one Byzantine message, added ${JSON.stringify(added)}`);
          this.#craft(added[0] as AbstractMessage);
          break;
        }
        default:
          this.#fail(`unknown action ${this.#action}`);
      }
      this.#compareStates();
    }
  }

  /**
   * A RETURN delivered to a real replica (`onReturn`). Where a documented difference of model and
   * implementation (spec/README.md, the return rule's list) decides the outcome, the replay stops
   * there instead of comparing states that are meant to differ:
   * - `RETURN_RATE_LIMITED`: the implementation handles one (x, w) per returner per retryTicks (and
   *   the replay's clock moves only on timeouts); the model acknowledges each;
   * - the acknowledgement guard (`othersSuspect`): the model withholds the ack while it holds a
   *   suspicion of x from another replica; the implementation's suspicions lapse sooner (2 x
   *   retryTicks unrenewed; its own is withdrawn on progress), so it may acknowledge. Only the case
   *   where the model withheld for that reason and the real replica acknowledged is let through;
   * - `forgetViewChangeOf`: a valid RETURN drops the returner's held view-change for a view in
   *   x+1..w at the real replica, the model keeps it. The step itself is compared in full (the
   *   drop changes nothing compared); the replay stops after it, as later steps may read the dropped
   *   view-change (the join rule, the NEW-VIEW, the view-change timer).
   */
  #deliverReturn(
    replica: number,
    message: Extract<AbstractMessage, { tag: 'Return' }>,
    frame: Uint8Array,
    added: readonly AbstractMessage[],
  ): void {
    const { view: x, through: w, sender } = message.value;
    const before = this.#modelReplicas(this.#stepIndex - 1).get(replica) as Record<string, Value>;
    const suspicions = before.suspicions as [number, number][];
    const guarded =
      before.changing === false && before.view === x && suspicions.some(([q, v]) => q !== sender && v === x);
    const latest = before.latestViewChange as [number, Record<string, Value>][];
    const heldView = latest.find(([q]) => q === sender)?.[1].newView as number | undefined;
    const forgets = heldView !== undefined && heldView > x && heldView <= w;
    this.#delivered.Return = (this.#delivered.Return ?? 0) + 1;
    this.#stepReplica(replica, { kind: 'message', frame }, added, (sent, out) => {
      if (out.rejected.some((r) => r.code === 'RETURN_RATE_LIMITED'))
        return 'RETURN_RATE_LIMITED (the model does not rate-limit RETURNs)';
      const acked = [...sent.values()].some((m) => m.tag === 'ReturnAck');
      if (guarded && acked && added.length === 0)
        return 'acknowledged a RETURN the model withholds (othersSuspect: the model holds suspicions longer)';
      return undefined;
    });
    if (added.some((m) => m.tag === 'ReturnAck')) this.#returnsAcknowledged++;
    if (forgets) {
      this.#compareStates();
      throw new StopReplay(
        `after delivering RETURN(${x}, ${w}) of ${sender} to ${replica}: forgetViewChangeOf dropped the view-change for ${heldView} (the model keeps it)`,
      );
    }
  }

  #fail(message: string): never {
    throw new ReplayMismatch(`${this.#label}, step ${this.#stepIndex} (${this.#action}): ${message}`);
  }

  // --- model state ------------------------------------------------------------------------------

  #variable(index: number, name: string): Value {
    const state = this.#states[index] as Record<string, unknown>;
    const key = Object.keys(state).find((k) => k.endsWith(`::${name}`));
    if (key === undefined) throw new Error(`trace has no variable ${name}`);
    return decodeItf(state[key]);
  }

  #modelReplicas(index: number): Map<number, Record<string, Value>> {
    return new Map(this.#variable(index, 'replicas') as [number, Record<string, Value>][]);
  }

  #addedMessages(): AbstractMessage[] {
    const before = new Set((this.#variable(this.#stepIndex - 1, 'msgs') as Value[]).map(keyOf));
    return (this.#variable(this.#stepIndex, 'msgs') as unknown as AbstractMessage[]).filter(
      (m) => !before.has(keyOf(m)),
    );
  }

  // --- stepping the implementation ----------------------------------------------------------------

  /**
   * A host whose network is the model's message pool: each message the replica sends (once,
   * however many peers it goes to) joins the pool and `sent`. Nothing here is durable: the
   * model has no crashes.
   */
  #hostFor(id: number, sent: Map<string, AbstractMessage>): ReplicaHost {
    let previous: Outbound | undefined;
    return new ReplicaHost({
      id,
      replicaCount: this.#n,
      effects: {
        persist: (records: readonly PersistRecord[]) => {
          for (const r of records) if (r.kind === 'skips') this.#skips.set(id, r.intervals);
        },
        send: (_peer, outbound) => {
          if (outbound === previous) return; // another copy of a broadcast
          previous = outbound;
          this.#addToPool(outbound, sent);
        },
      },
    });
  }

  #addToPool(outbound: Outbound, sent: Map<string, AbstractMessage>): void {
    if (!REPLICA_TYPES.has(outbound.type)) {
      this.#unmodelledSends++;
      return;
    }
    const message = this.#abstract(this.#decode(outbound.frame));
    const key = keyOf(message);
    if (this.#pool.has(key)) return; // a re-sent view-change or new-view: the same message
    this.#pool.set(key, outbound.frame);
    sent.set(key, message);
  }

  #stepReplica(
    id: number,
    input: Parameters<Replica['step']>[0],
    expected: readonly AbstractMessage[],
    /** A documented difference that applies to this step's outcome (then the replay stops). */
    differs?: (sent: ReadonlyMap<string, AbstractMessage>, out: ReplicaOutput) => string | undefined,
  ): void {
    const replica = this.#replicas.get(id);
    if (replica === undefined) this.#fail(`replica ${id} is not honest`);
    let out: ReplicaOutput;
    const sent = new Map<string, AbstractMessage>();
    try {
      out = this.#hostFor(id, sent).run(replica as Replica, input);
    } catch (error) {
      this.#fail(`replica ${id} threw: ${(error as Error).message}`);
    }
    // When to ask: the real replica asks to return on its own trigger (on a tick while changing
    // views), the model's honest RETURNs are the driver's inputs; a real replica that asked could
    // complete a return the model never makes, so the replay stops there.
    const asked = [...sent.values()].find((m) => m.tag === 'Return');
    if (asked !== undefined)
      throw new StopReplay(
        `replica ${id} asked to return on its own: ${describe(asked)} (when to ask differs)`,
      );
    // `firstUnskipped` always finds a view; the model's views end at MaxView (MODEL_MAX_VIEW), where
    // its `startViewChange` stays put when every view up to it is skipped. The real replica changes
    // into a view the model does not have: the replay stops there.
    const beyond = [...sent.values()].find((m) => m.tag === 'ViewChange' && m.value.newView > MODEL_MAX_VIEW);
    if (beyond !== undefined)
      throw new StopReplay(
        `replica ${id} changes into a view above the model's MaxView (firstUnskipped): ${describe(beyond)}`,
      );
    const reason = differs?.(sent, out as ReplicaOutput);
    if (reason !== undefined) throw new StopReplay(`replica ${id}: ${reason}`);
    const expectedKeys = new Set(expected.map(keyOf));
    const missing = expected.filter((m) => !sent.has(keyOf(m)));
    const extra = [...sent.entries()].filter(([key]) => !expectedKeys.has(key)).map(([, m]) => m);
    if (missing.length > 0 || extra.length > 0) {
      this.#fail(
        [
          `replica ${id} sent other messages than the model`,
          ...missing.map((m) => `  model only: ${describe(m)}`),
          ...extra.map((m) => `  implementation only: ${describe(m)}`),
          `  rejected: ${out.rejected.map((r) => `${r.code} ${r.detail}`).join('; ') || 'nothing'}`,
        ].join('\n'),
      );
    }
  }

  #compareStates(): void {
    const model = this.#modelReplicas(this.#stepIndex);
    const differences: string[] = [];
    for (const [id, replica] of this.#replicas) {
      const modelState = model.get(id) as Record<string, Value>;
      const expected = projectModel(modelState);
      const actual = this.#projectImplementation(replica.inspect());
      // The skipped views above `left`, the last view it worked in: the implementation drops
      // intervals at or below `left` when it records a skip (they are behind it for good), the model
      // keeps every skipped view. The implementation's are its durable `skips` record.
      const left = modelState.left as number;
      expected.skips = (modelState.skipped as number[]).filter((v) => v > left);
      actual.skips = (this.#skips.get(id) ?? [])
        .flatMap((i) => Array.from({ length: i.through - i.above }, (_, k) => i.above + 1 + k))
        .filter((v) => v > left)
        .sort((a, b) => a - b);
      for (const field of Object.keys(expected)) {
        const a = JSON.stringify(expected[field]);
        const b = JSON.stringify(actual[field]);
        if (a !== b)
          differences.push(
            `  replica ${id} ${field}: model ${a}\n  ${' '.repeat(String(id).length + 9 + field.length)}impl  ${b}`,
          );
      }
    }
    if (differences.length > 0) this.#fail(`state differs\n${differences.join('\n')}`);
  }

  #projectImplementation(inspection: ReplicaInspection): Record<string, Value> {
    const votes = (list: readonly { replica: number; digest: Uint8Array }[]): Value =>
      sortedSet(list.map((v) => [v.replica, this.#digestName(v.digest)]));
    return {
      view: inspection.view,
      changing: inspection.changingView,
      low: inspection.stableCheckpoint,
      lastExecuted: inspection.lastExecuted,
      agreedTime: inspection.agreedTime,
      log: inspection.log.map((entry) =>
        record({
          seq: entry.sequence,
          view: entry.view,
          pp: entry.prePrepareDigest === undefined ? '' : this.#digestName(entry.prePrepareDigest),
          prepares: votes(entry.prepares),
          commits: votes(entry.commits),
          prepared: entry.prepared,
          proof:
            entry.preparedProof === undefined
              ? ''
              : `${entry.preparedProof.view}:${this.#digestName(entry.preparedProof.digest)}`,
          committed:
            entry.committed === undefined
              ? ''
              : `${entry.committed.view}:${this.#digestName(entry.committed.digest)}`,
        }),
      ),
    };
  }

  // --- concrete ⇄ abstract ------------------------------------------------------------------------

  #digestName(digest: Uint8Array): string {
    return this.#digestNames.get(toHex(digest)) ?? `?${toHex(digest).slice(0, 8)}`;
  }

  #decode(frame: Uint8Array): Frame {
    const decoded = decodeFrame(frame, { ...DEFAULT_DECODE_LIMITS, entriesMax: 64 }, this.#crypto.hash);
    if (!decoded.ok) this.#fail(`a replica sent an undecodable frame: ${decoded.reason}`);
    return decoded.value;
  }

  #stateName(digest: Uint8Array): number {
    const name = this.#stateNames.get(toHex(digest));
    if (name === undefined) this.#fail(`unknown state digest ${toHex(digest).slice(0, 8)}`);
    return name;
  }

  #abstractViewChange(body: ViewChange): ViewChangeMessage {
    return record({
      newView: body.newView,
      sender: body.replica,
      stable: body.stableSequence,
      stableState:
        body.stableSequence === 0
          ? 0
          : this.#stateName((body.checkpointProof[0] as Signed<Checkpoint>).body.stateDigest),
      prepared: sortedSet(
        body.prepared.map((proof) =>
          record({
            seq: proof.prePrepare.body.sequence,
            view: proof.prePrepare.body.view,
            digest: this.#digestName(proof.prePrepare.body.digest),
          }),
        ),
      ),
    }) as unknown as ViewChangeMessage;
  }

  #abstract(frame: Frame): AbstractMessage {
    const body = frame.body as Body;
    switch (body.type) {
      case MessageType.prePrepare:
      case MessageType.prepare:
      case MessageType.commit: {
        const tag =
          body.type === MessageType.prePrepare
            ? 'PrePrepare'
            : body.type === MessageType.prepare
              ? 'Prepare'
              : 'Commit';
        const value = record({
          view: body.view,
          seq: body.sequence,
          digest: this.#digestName(body.digest),
          sender: body.replica,
        });
        return record({ tag, value }) as unknown as AbstractMessage;
      }
      case MessageType.checkpoint:
        return record({
          tag: 'Checkpoint',
          value: record({
            seq: body.sequence,
            state: this.#stateName(body.stateDigest),
            sender: body.replica,
          }),
        }) as unknown as AbstractMessage;
      case MessageType.viewChange:
        return record({
          tag: 'ViewChange',
          value: this.#abstractViewChange(body) as unknown as Value,
        }) as unknown as AbstractMessage;
      case MessageType.newView:
        return record({
          tag: 'NewView',
          value: record({
            view: body.view,
            sender: body.replica,
            vcs: sortedSet(
              body.viewChanges.map((vc) => this.#abstractViewChange(vc.body) as unknown as Value),
            ),
            prePrepares: sortedSet(
              body.prePrepares.map((pp) =>
                record({ seq: pp.body.sequence, digest: this.#digestName(pp.body.digest) }),
              ),
            ),
          }),
        }) as unknown as AbstractMessage;
      case MessageType.suspect:
        return record({
          tag: 'Suspect',
          value: record({ view: body.view, sender: body.replica }),
        }) as unknown as AbstractMessage;
      case MessageType.return:
        return record({
          tag: 'Return',
          value: record({ view: body.view, through: body.through, left: body.left, sender: body.replica }),
        }) as unknown as AbstractMessage;
      case MessageType.returnAck:
        return record({
          tag: 'ReturnAck',
          value: record({
            view: body.view,
            through: body.through,
            returner: body.returner,
            sender: body.replica,
          }),
        }) as unknown as AbstractMessage;
      default:
        this.#fail(`unexpected message type ${body.type}`);
    }
  }

  /** Signs the message as its sender would (the driver holds every key) and adds it to the pool. */
  #craft(message: AbstractMessage): Uint8Array {
    const key = (this.#keys[message.value.sender] as KeyPair).secretKey;
    const sign = <B extends Body>(body: B): Signed<B> => signBody(body, this.#crypto, key);
    let frame: Uint8Array;
    switch (message.tag) {
      case 'PrePrepare':
      case 'Prepare':
      case 'Commit': {
        const { view, seq, digest, sender } = message.value;
        const type =
          message.tag === 'PrePrepare'
            ? MessageType.prePrepare
            : message.tag === 'Prepare'
              ? MessageType.prepare
              : MessageType.commit;
        const signed = sign({
          type,
          view,
          sequence: seq,
          digest: this.#batches[digest].digest,
          replica: sender,
        } as Body);
        frame = encodeFrame(signed, message.tag === 'PrePrepare' ? [this.#batches[digest]] : []);
        break;
      }
      case 'Checkpoint': {
        const { seq, state, sender } = message.value;
        frame = encodeFrame(
          sign<Checkpoint>({
            type: MessageType.checkpoint,
            sequence: seq,
            stateDigest: this.#stateDigests[state] as Uint8Array,
            replica: sender,
          }),
        );
        break;
      }
      case 'ViewChange': {
        const { body, batches } = this.#viewChangeBody(message.value);
        frame = encodeFrame(sign<ViewChange>(body), batches);
        break;
      }
      case 'NewView': {
        const { view, sender, vcs, prePrepares } = message.value;
        const viewChanges = [...vcs]
          .sort((a, b) => a.sender - b.sender)
          .map(
            (vc) =>
              this.#pooled(
                record({ tag: 'ViewChange', value: vc as unknown as Value }),
              ) as Signed<ViewChange>,
          );
        const proposals = [...prePrepares].sort((a, b) => a.seq - b.seq);
        const body: NewView = {
          type: MessageType.newView,
          view,
          viewChanges,
          prePrepares: proposals.map((p) =>
            sign<PrePrepare>({
              type: MessageType.prePrepare,
              view,
              sequence: p.seq,
              digest: this.#batches[p.digest].digest,
              replica: sender,
            }),
          ),
          replica: sender,
        };
        const batches = proposals.filter((p) => p.digest !== 'N').map((p) => this.#batches[p.digest]);
        frame = encodeFrame(sign<NewView>(body), batches);
        break;
      }
      case 'Suspect': {
        const { view, sender } = message.value;
        // Crafted in step order, so a liar's later suspicion is always its newer one.
        frame = encodeFrame(
          sign<Suspect>({ type: MessageType.suspect, view, round: this.#stepIndex, replica: sender }),
        );
        break;
      }
      case 'Return': {
        const { view, through, left, sender } = message.value;
        frame = encodeFrame(sign<Return>({ type: MessageType.return, view, through, left, replica: sender }));
        break;
      }
      case 'ReturnAck': {
        const { view, through, returner, sender } = message.value;
        frame = encodeFrame(
          sign<ReturnAck>({ type: MessageType.returnAck, view, through, returner, replica: sender }),
        );
        break;
      }
    }
    this.#pool.set(keyOf(message), frame);
    return frame;
  }

  #pooled(message: Value): Frame {
    const frame = this.#pool.get(keyOf(message));
    if (frame === undefined) this.#fail(`a Byzantine message needs one never sent: ${keyOf(message)}`);
    return this.#decode(frame);
  }

  /** A Byzantine view-change's certificates, assembled from real signed messages in the pool. */
  #viewChangeBody(vc: ViewChangeMessage): { body: ViewChange; batches: Batch[] } {
    const quorum = 2 * this.#f + 1;
    const pooledOf = (tag: string, matches: (value: Record<string, Value>) => boolean): Frame[] =>
      [...this.#pool.keys()]
        .map((key) => JSON.parse(key) as { tag: string; value: Record<string, Value> })
        .filter((m) => m.tag === tag && matches(m.value))
        .sort((a, b) => (a.value.sender as number) - (b.value.sender as number))
        .map((m) => this.#pooled(m as unknown as Value));
    const checkpointProof =
      vc.stable === 0
        ? []
        : pooledOf('Checkpoint', (c) => c.seq === vc.stable && c.state === vc.stableState).slice(0, quorum);
    if (vc.stable > 0 && checkpointProof.length < quorum)
      this.#fail('no checkpoint certificate for a view-change');
    const claims = [...vc.prepared].sort((a, b) => a.seq - b.seq);
    const prepared = claims.map((claim) => {
      const primary = claim.view % this.#n;
      const match = (v: Record<string, Value>) =>
        v.view === claim.view && v.seq === claim.seq && v.digest === claim.digest;
      const prePrepare = pooledOf('PrePrepare', (v) => match(v) && v.sender === primary)[0];
      const prepares = pooledOf('Prepare', (v) => match(v) && v.sender !== primary).slice(0, 2 * this.#f);
      if (prePrepare === undefined || prepares.length < 2 * this.#f)
        this.#fail(`no prepared certificate for ${JSON.stringify(claim)}`);
      return {
        prePrepare: prePrepare as Signed<PrePrepare>,
        prepares: prepares as Signed<Prepare>[],
      };
    });
    return {
      body: {
        type: MessageType.viewChange,
        newView: vc.newView,
        stableSequence: vc.stable,
        checkpointProof: checkpointProof as Signed<Checkpoint>[],
        prepared,
        replica: vc.sender,
      },
      batches: claims.map((claim) => this.#batches[claim.digest]),
    };
  }
}

/** The model's replica state in the same shape as `#projectImplementation`. */
function projectModel(state: Record<string, Value>): Record<string, Value> {
  const log = state.log as [number, Record<string, Value>][];
  return {
    view: state.view as number,
    changing: state.changing as boolean,
    low: state.low as number,
    lastExecuted: state.lastExecuted as number,
    agreedTime: state.agreedTime as number,
    log: log.map(([seq, entry]) =>
      record({
        seq,
        view: entry.view as number,
        pp: entry.pp as string,
        prepares: entry.prepares as Value,
        commits: entry.commits as Value,
        prepared: entry.prepared as boolean,
        proof: (entry.proofView as number) >= 0 ? `${entry.proofView}:${entry.proofDigest}` : '',
        committed: entry.committed !== '' ? `${entry.committedView}:${entry.committed}` : '',
      }),
    ),
  };
}

function describe(message: AbstractMessage): string {
  return `${message.tag} ${JSON.stringify(message.value)}`;
}

function seed(label: string): Uint8Array {
  const bytes = new Uint8Array(32);
  bytes.set(new TextEncoder().encode(label).subarray(0, 32));
  return bytes;
}
