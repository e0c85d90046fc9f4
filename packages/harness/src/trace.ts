/**
 * A trace of one simulated run, for people: every send, delivery and replica step worth seeing,
 * each stamped with a Lamport timestamp and a vector timestamp (one component per replica and
 * per agent), so that "could A have influenced B?" is a comparison of two vectors.
 *
 * The simulator reports raw `TraceEvent`s to a `TraceSink` (`RunHooks.trace`); a sink only
 * observes, so a traced run is the same run, byte for byte, as an untraced one.
 *
 * Clock rules (Lamport 1978; Fidge and Mattern 1988): every event at a node first increments that
 * node's own component (and its Lamport clock); a send stamps the message with the sender's
 * clocks; a delivery first takes the component-wise maximum with the message's vector and
 * `max(own, message) + 1` for Lamport. Partitions and the network heal belong to no node and
 * carry no clocks.
 */
import {
  DEFAULT_DECODE_LIMITS,
  type DecodeLimits,
  decodeFrame,
  type ExecutedBatch,
  MessageType,
  type RejectionCode,
  type ReplicaOutput,
} from '@conclave/core';
import type { Address, Envelope, Partition, SendOutcome, SentCopy } from './network.ts';
import type { AcceptedRecord } from './record.ts';
import type { ScenarioOptions } from './scenario-options.ts';

/** Events a trace keeps at most; past it the trace is a prefix of the run and says so. */
export const TRACE_EVENTS_MAX = 200_000;
/** Vector cells (events × nodes) a trace keeps at most: 64 MiB of clocks. */
export const TRACE_VECTOR_CELLS_MAX = 16 * 1024 * 1024;
// Eight nodes (n=4 and four agents) must not be limited by the cell budget before the event cap.
if (TRACE_VECTOR_CELLS_MAX < TRACE_EVENTS_MAX * 8)
  throw new Error('trace: vector cell budget below event cap');

/** What the simulator reports, in the order things happen. */
export type TraceEvent =
  | {
      readonly kind: 'send';
      readonly tick: number;
      readonly from: Address;
      readonly to: Address;
      readonly type: MessageType | 0;
      readonly frame: Uint8Array;
      readonly outcome: SendOutcome;
    }
  | { readonly kind: 'deliver'; readonly tick: number; readonly envelope: Envelope }
  | {
      readonly kind: 'execute';
      readonly tick: number;
      readonly replica: number;
      readonly sequence: number;
      readonly view: number;
      readonly via: ExecutedBatch['via'];
      readonly requests: number;
    }
  | {
      readonly kind: 'view';
      readonly tick: number;
      readonly replica: number;
      readonly view: number;
      readonly changing: boolean;
    }
  | {
      readonly kind: 'stateTransfer';
      readonly tick: number;
      readonly replica: number;
      readonly sequence: number;
    }
  | {
      readonly kind: 'reject';
      readonly tick: number;
      readonly replica: number;
      readonly code: RejectionCode;
      readonly detail: string;
    }
  | {
      readonly kind: 'accept';
      readonly tick: number;
      readonly agent: string;
      readonly requestId: number;
      readonly sequence: number;
    }
  | {
      readonly kind: 'partition';
      readonly tick: number;
      readonly phase: 'start' | 'heal';
      /** Position in the scenario's partition schedule. */
      readonly index: number;
      readonly partition: Partition;
    }
  /** The end of the fault phase: no more drops or partitions ("global stabilisation time"). */
  | { readonly kind: 'networkHealed'; readonly tick: number };

export type TraceSink = (event: TraceEvent) => void;

/** What a person needs to know about a message, decoded once from its frame. */
export interface MessageLabel {
  readonly type: MessageType | 0;
  /** Kebab-case type name: `pre-prepare`, `view-change`; `junk` for type 0. */
  readonly name: string;
  readonly decoded: boolean;
  readonly view?: number;
  readonly sequence?: number;
  readonly agent?: string;
  readonly requestId?: number;
  /** The sender the message names, when it is not the one that sent it (a forgery). */
  readonly claimed?: Address;
}

interface Clocked {
  readonly index: number;
  readonly tick: number;
  readonly node: Address;
  readonly lamport: number;
  /** One component per `RunTrace.nodes` entry known when the event happened; missing ones are 0. */
  readonly vector: Uint32Array;
}

export interface TracedSend extends Clocked {
  readonly kind: 'send';
  readonly to: Address;
  readonly message: MessageLabel;
  readonly outcome: SendOutcome;
  /** The first time this node sent this (agent, requestId) request: the request was issued. */
  readonly issue: boolean;
  /** Indices of the deliveries of this send (two when the network duplicated it). */
  readonly deliveries: number[];
  /** Copies queued but never delivered: cut by a partition in flight, or in flight at the end. */
  lost: number;
}

export interface TracedDeliver extends Clocked {
  readonly kind: 'deliver';
  readonly from: Address;
  readonly message: MessageLabel;
  readonly sentAt: number;
  /** Index of the matching send; undefined only if the send was not recorded. */
  readonly send: number | undefined;
}

export type TracedLocal = Clocked &
  Extract<TraceEvent, { kind: 'execute' | 'view' | 'stateTransfer' | 'reject' | 'accept' }>;

export type NodeEvent = TracedSend | TracedDeliver | TracedLocal;

export type GlobalEvent = { readonly index: number; readonly node?: undefined } & (
  | Extract<TraceEvent, { kind: 'partition' }>
  | Extract<TraceEvent, { kind: 'networkHealed' }>
);

export type TracedEvent = NodeEvent | GlobalEvent;

export interface RunTrace {
  /** Vector clock component order: replicas by id, then agents. */
  readonly nodes: readonly Address[];
  readonly events: readonly TracedEvent[];
  readonly eventsMax: number;
  /** Events not recorded because the cap was hit: the trace is then a prefix of the run. */
  readonly eventsDropped: number;
  /** Tick of the first event not recorded, when the cap was hit. */
  readonly cappedAtTick: number | undefined;
}

export type Causality = 'before' | 'after' | 'equal' | 'concurrent';

/** How two vector timestamps relate: `before` means a happened before b. */
export function compareVectors(a: Uint32Array, b: Uint32Array): Causality {
  let less = false;
  let greater = false;
  const length = Math.max(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x < y) less = true;
    else if (x > y) greater = true;
  }
  if (less && greater) return 'concurrent';
  if (less) return 'before';
  if (greater) return 'after';
  return 'equal';
}

export function happenedBefore(a: NodeEvent, b: NodeEvent): boolean {
  return compareVectors(a.vector, b.vector) === 'before';
}

/** The nodes of a scenario in vector order: replicas, honest agents, lying agents. */
export function traceNodes(options: ScenarioOptions): Address[] {
  return [
    ...Array.from({ length: options.replicas }, (_, id) => id),
    ...Array.from({ length: options.agents }, (_, i) => `agent-${i}`),
    ...Array.from({ length: options.byzantineAgents }, (_, i) => `mallory-${i}`),
  ];
}

export function nodeName(node: Address): string {
  return typeof node === 'number' ? `r${node}` : node;
}

const TYPE_NAMES: ReadonlyMap<number, string> = new Map([
  [0, 'junk'],
  ...Object.entries(MessageType).map(
    ([name, type]) => [type, name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)] as const,
  ),
]);

export function messageTypeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `type-${type}`;
}

/** Generous limits: labelling must read whatever the run's replicas could have read. */
const LABEL_DECODE_LIMITS: DecodeLimits = {
  ...DEFAULT_DECODE_LIMITS,
  batchSizeMax: 4096,
  entriesMax: 4096,
};
const NO_DIGEST = new Uint8Array(32);
/** Labels need no batch digests; skipping the hash keeps tracing cheap. */
const skipHash = (): Uint8Array => NO_DIGEST;

function labelOf(from: Address, type: MessageType | 0, frame: Uint8Array): MessageLabel {
  const name = messageTypeName(type);
  if (type === 0) return { type, name, decoded: false };
  const decoded = decodeFrame(frame, LABEL_DECODE_LIMITS, skipHash);
  if (!decoded.ok) return { type, name, decoded: false };
  const body = decoded.value.body;
  const fields: { -readonly [K in keyof MessageLabel]?: MessageLabel[K] } = {};
  switch (body.type) {
    case MessageType.request:
      fields.agent = body.agent;
      fields.requestId = body.requestId;
      break;
    case MessageType.prePrepare:
    case MessageType.prepare:
    case MessageType.commit:
      fields.view = body.view;
      fields.sequence = body.sequence;
      break;
    case MessageType.reply:
      fields.view = body.view;
      fields.sequence = body.sequence;
      fields.agent = body.agent;
      fields.requestId = body.requestId;
      break;
    case MessageType.checkpoint:
    case MessageType.fetchState:
    case MessageType.state:
      fields.sequence = body.sequence;
      break;
    case MessageType.viewChange:
      fields.view = body.newView;
      fields.sequence = body.stableSequence;
      break;
    case MessageType.newView:
    case MessageType.suspect:
      fields.view = body.view;
      break;
    case MessageType.fetchCommitted:
      fields.sequence = body.fromSequence;
      break;
    case MessageType.committed:
      if (body.entries[0] !== undefined) fields.sequence = body.entries[0].sequence;
      break;
    default:
      break;
  }
  if ('replica' in body && typeof from === 'number' && body.replica !== from) fields.claimed = body.replica;
  if ('agent' in body && typeof from === 'string' && body.type !== MessageType.reply && body.agent !== from)
    fields.claimed = body.agent;
  return { type: body.type, name: messageTypeName(body.type), decoded: true, ...fields };
}

/** A one-line description of a message: `prepare v0 s3`, `request agent-1#2`. */
export function describeMessage(label: MessageLabel): string {
  const parts = [label.name];
  if (label.view !== undefined) parts.push(`v${label.view}`);
  if (label.sequence !== undefined) parts.push(`s${label.sequence}`);
  if (label.agent !== undefined) parts.push(`${label.agent}#${label.requestId ?? '?'}`);
  if (label.claimed !== undefined) parts.push(`(claims to be ${nodeName(label.claimed)})`);
  if (!label.decoded && label.type !== 0) parts.push('(undecodable)');
  return parts.join(' ');
}

export interface TraceCollectorOptions {
  /** Nodes in vector order; nodes not listed get a component when they first appear. */
  readonly nodes: readonly Address[];
  readonly eventsMax?: number;
}

export interface TraceCollector {
  readonly sink: TraceSink;
  /** The trace so far, with undelivered copies counted; call once the run is over. */
  finish(): RunTrace;
}

interface PendingCopy {
  readonly from: Address;
  readonly to: Address;
  readonly sentAt: number;
  readonly send: TracedSend;
}

/** Collects a run's events and stamps them with Lamport and vector timestamps. */
export function traceCollector(options: TraceCollectorOptions): TraceCollector {
  const recorder = new TraceRecorder(options);
  return { sink: (event) => recorder.record(event), finish: () => recorder.finish() };
}

class TraceRecorder {
  /** Vector clock component order; nodes not named up front get a component when first seen. */
  readonly #nodes: Address[] = [];
  readonly #slotOf = new Map<Address, number>();
  readonly #eventsMax: number;
  readonly #events: TracedEvent[] = [];
  readonly #vectors = new Map<Address, Uint32Array>();
  readonly #lamports = new Map<Address, number>();
  /** Frame → copies in flight: a delivery matches a copy with the same endpoints and send tick. */
  readonly #inFlight = new Map<Uint8Array, PendingCopy[]>();
  readonly #labels = new WeakMap<Uint8Array, MessageLabel>();
  /** `node|agent#requestId` of requests already sent by a node: the first send is the issue. */
  readonly #issued = new Set<string>();
  /** Each replica's last view mark, `view:changing`. */
  readonly #views = new Map<number, string>();
  #eventsDropped = 0;
  #cappedAtTick: number | undefined;

  constructor(options: TraceCollectorOptions) {
    for (const node of options.nodes) this.#slot(node);
    this.#eventsMax = Math.max(
      1,
      Math.min(
        options.eventsMax ?? TRACE_EVENTS_MAX,
        Math.floor(TRACE_VECTOR_CELLS_MAX / Math.max(1, options.nodes.length)),
      ),
    );
  }

  record(event: TraceEvent): void {
    if (!this.#room(event.tick)) return;
    const index = this.#events.length;
    switch (event.kind) {
      case 'send':
        this.#send(event, index);
        return;
      case 'deliver':
        this.#deliver(event, index);
        return;
      case 'view': {
        // Replicas persist their view often; only a change is worth a mark.
        const key = `${event.view}:${event.changing}`;
        if (this.#views.get(event.replica) === key) return;
        this.#views.set(event.replica, key);
        this.#events.push({ index, ...event, ...this.#stamp(event.replica) });
        return;
      }
      case 'execute':
      case 'stateTransfer':
      case 'reject':
        this.#events.push({ index, ...event, ...this.#stamp(event.replica) });
        return;
      case 'accept':
        this.#events.push({ index, ...event, ...this.#stamp(event.agent) });
        return;
      case 'partition':
      case 'networkHealed':
        this.#events.push({ index, ...event });
        return;
    }
  }

  /** The trace so far, with undelivered copies counted as lost. */
  finish(): RunTrace {
    for (const pending of this.#inFlight.values()) for (const copy of pending) copy.send.lost++;
    this.#inFlight.clear();
    return {
      nodes: [...this.#nodes],
      events: this.#events,
      eventsMax: this.#eventsMax,
      eventsDropped: this.#eventsDropped,
      cappedAtTick: this.#cappedAtTick,
    };
  }

  #send(event: Extract<TraceEvent, { kind: 'send' }>, index: number): void {
    const message = this.#labelOf(event.from, event.type, event.frame);
    const send: TracedSend = {
      index,
      tick: event.tick,
      kind: 'send',
      to: event.to,
      message,
      outcome: event.outcome,
      issue: this.#firstIssue(event.from, message),
      deliveries: [],
      lost: 0,
      ...this.#stamp(event.from),
    };
    this.#events.push(send);
    const copies = event.outcome === 'duplicated' ? 2 : event.outcome === 'queued' ? 1 : 0;
    if (copies === 0) return;
    let pending = this.#inFlight.get(event.frame);
    if (pending === undefined) {
      pending = [];
      this.#inFlight.set(event.frame, pending);
    }
    for (let i = 0; i < copies; i++)
      pending.push({ from: event.from, to: event.to, sentAt: event.tick, send });
  }

  #deliver(event: Extract<TraceEvent, { kind: 'deliver' }>, index: number): void {
    const envelope = event.envelope;
    const copy = this.#takeCopy(envelope);
    const message =
      copy?.send.message ??
      this.#labels.get(envelope.frame) ??
      labelOf(envelope.from, envelope.type, envelope.frame);
    copy?.send.deliveries.push(index);
    this.#events.push({
      index,
      tick: event.tick,
      kind: 'deliver',
      from: envelope.from,
      message,
      sentAt: envelope.sentAt,
      send: copy?.send.index,
      ...this.#stamp(envelope.to, copy?.send),
    });
  }

  /** Removes and returns the copy in flight this delivery is (same endpoints, same send tick). */
  #takeCopy(envelope: Envelope): PendingCopy | undefined {
    const pending = this.#inFlight.get(envelope.frame);
    const at =
      pending?.findIndex(
        (copy) => copy.from === envelope.from && copy.to === envelope.to && copy.sentAt === envelope.sentAt,
      ) ?? -1;
    if (pending === undefined || at < 0) return undefined;
    const copy = pending[at];
    pending.splice(at, 1);
    if (pending.length === 0) this.#inFlight.delete(envelope.frame);
    return copy;
  }

  /** A frame's label, decoded once and remembered. */
  #labelOf(from: Address, type: MessageType | 0, frame: Uint8Array): MessageLabel {
    let message = this.#labels.get(frame);
    if (message === undefined) {
      message = labelOf(from, type, frame);
      this.#labels.set(frame, message);
    }
    return message;
  }

  /** True the first time `node` sends a given (agent, requestId) request: it issued it then. */
  #firstIssue(node: Address, message: MessageLabel): boolean {
    if (message.type !== MessageType.request || message.agent === undefined) return false;
    const key = `${nodeName(node)}|${message.agent}#${message.requestId}`;
    const issue = !this.#issued.has(key);
    this.#issued.add(key);
    return issue;
  }

  #slot(node: Address): number {
    let index = this.#slotOf.get(node);
    if (index === undefined) {
      index = this.#nodes.length;
      this.#nodes.push(node);
      this.#slotOf.set(node, index);
    }
    return index;
  }

  /** Advances `node`'s clocks for one event, merging a message's clocks first when given. */
  #stamp(node: Address, merge?: { vector: Uint32Array; lamport: number }) {
    const own = this.#slot(node);
    let vector = this.#vectors.get(node) ?? new Uint32Array(this.#nodes.length);
    if (vector.length < this.#nodes.length) {
      const grown = new Uint32Array(this.#nodes.length);
      grown.set(vector);
      vector = grown;
    }
    let lamport = this.#lamports.get(node) ?? 0;
    if (merge !== undefined) {
      merge.vector.forEach((value, i) => {
        if (value > (vector[i] ?? 0)) vector[i] = value;
      });
      lamport = Math.max(lamport, merge.lamport);
    }
    vector[own] = (vector[own] ?? 0) + 1;
    lamport += 1;
    this.#vectors.set(node, vector);
    this.#lamports.set(node, lamport);
    return { node, lamport, vector: vector.slice() };
  }

  /** Whether the trace has room for one more event; past the cap it counts what it leaves out. */
  #room(tick: number): boolean {
    if (this.#events.length < this.#eventsMax) return true;
    this.#eventsDropped++;
    this.#cappedAtTick ??= tick;
    return false;
  }
}

// -----------------------------------------------------------------------------------------------
// Helpers the simulator calls when tracing. They only report what already happened: the simulator
// sends and delivers the same way whether or not anybody traces.

/** One `send` event per copy the network was handed, with what became of it. */
export function traceSends(
  sink: TraceSink,
  from: Address,
  type: MessageType | 0,
  frame: Uint8Array,
  copies: readonly SentCopy[],
  tick: number,
): void {
  for (const copy of copies)
    sink({ kind: 'send', tick, from, to: copy.to, type, frame, outcome: copy.outcome });
}

/** The steps of one honest replica output worth showing, in the order the replica took them. */
export function traceReplicaOutput(
  sink: TraceSink,
  replica: number,
  output: ReplicaOutput,
  tick: number,
): void {
  for (const record of output.persist) {
    if (record.kind === 'view')
      sink({ kind: 'view', tick, replica, view: record.view, changing: record.changing });
  }
  for (const transfer of output.stateTransfers)
    sink({ kind: 'stateTransfer', tick, replica, sequence: transfer.sequence });
  for (const batch of output.executed) {
    sink({
      kind: 'execute',
      tick,
      replica,
      sequence: batch.sequence,
      view: batch.view,
      via: batch.via,
      requests: batch.requests.length,
    });
  }
  for (const rejection of output.rejected)
    sink({ kind: 'reject', tick, replica, code: rejection.code, detail: rejection.detail });
}

/** A result an agent accepted on a reply. */
export function traceAccepted(sink: TraceSink, agent: string, accepted: AcceptedRecord, tick: number): void {
  sink({ kind: 'accept', tick, agent, requestId: accepted.requestId, sequence: accepted.sequence });
}

/** Partition starts and heals at `tick`, as the network applies them (all heal at `healTick`). */
export function tracePartitions(
  sink: TraceSink,
  partitions: readonly Partition[],
  healTick: number,
  tick: number,
): void {
  partitions.forEach((partition, index) => {
    const end = Math.min(partition.healTick, healTick);
    if (partition.startTick >= end) return;
    if (tick === partition.startTick) sink({ kind: 'partition', tick, phase: 'start', index, partition });
    if (tick === end) sink({ kind: 'partition', tick, phase: 'heal', index, partition });
  });
  if (tick === healTick) sink({ kind: 'networkHealed', tick });
}
