/**
 * One in-memory transport: its side of the hub's links (what the hub tells it) and the
 * `Transport` port (what its owner calls). Frames are copied on `send`, as a network would, and
 * counted out when the hub delivers them.
 */
import type { DirectoryIndex } from '../directory.ts';
import { Tally } from '../tally.ts';
import {
  type AgentEntry,
  type FrameLimits,
  frameBytesMaxOf,
  type PeerId,
  type PeerQueueStats,
  type RefusalReason,
  type RejectReason,
  type SendResult,
  sendQueueBoundsOf,
  TransportError,
  type TransportStats,
} from '../transport.ts';
import type { HubMember, Link, MemoryHub } from './hub.ts';

export class MemoryEndpoint implements HubMember {
  readonly self: PeerId;
  readonly publicKey: Uint8Array;
  readonly index: DirectoryIndex;
  readonly isReplica: boolean;
  closed = false;
  readonly linked = new Set<PeerId>();
  readonly linkedBefore = new Set<PeerId>();
  readonly links = new Map<PeerId, Link>();
  readonly refusedBy = new Map<PeerId, RefusalReason>();
  readonly #hub: MemoryHub;
  readonly #limits: FrameLimits;
  readonly #tally = new Tally();
  readonly #frameHandlers: ((from: PeerId, frame: Uint8Array) => void)[] = [];
  readonly #peerHandlers: ((peer: PeerId, up: boolean) => void)[] = [];
  readonly #refusalHandlers: ((peer: PeerId, reason: RefusalReason) => void)[] = [];
  #started = false;
  #closePromise: Promise<void> | undefined;

  /** `self` must be in `index` (the caller has checked its identity). */
  constructor(hub: MemoryHub, self: PeerId, index: DirectoryIndex, limits: FrameLimits) {
    this.#hub = hub;
    this.self = self;
    this.publicKey = index.publicKeyOf(self) as Uint8Array;
    this.index = index;
    this.isReplica = index.isReplica(self);
    this.#limits = limits;
  }

  // ---- what the hub tells this member ----

  receive(from: PeerId, frame: Uint8Array): void {
    if (this.closed) return;
    // An agent's frames are held to the smaller agent bound, as the WebSocket transport does.
    if (frame.byteLength > frameBytesMaxOf(this.#limits, from)) {
      this.#tally.reject('TOO_LARGE');
      return;
    }
    this.#tally.frameIn(frame.byteLength);
    for (const handler of this.#frameHandlers) handler(from, frame);
  }

  peerChanged(peer: PeerId, up: boolean): void {
    // Told on a later turn, like a socket event, and never once closed.
    setImmediate(() => {
      if (this.closed) return;
      for (const handler of this.#peerHandlers) handler(peer, up);
    });
  }

  dropped(reason: RejectReason, frames: number): void {
    this.#tally.reject(reason, frames);
  }

  delivered(bytes: number): void {
    this.#tally.frameOut(bytes);
  }

  reconnected(): void {
    this.#tally.reconnect();
  }

  refused(peer: PeerId, reason: RefusalReason): void {
    this.#tally.reject(reason);
    // Told on a later turn, like a socket event, and never once closed.
    setImmediate(() => {
      if (this.closed) return;
      for (const handler of this.#refusalHandlers) handler(peer, reason);
    });
  }

  // ---- the Transport port ----

  start(): Promise<void> {
    if (this.closed) return Promise.reject(new TransportError('CLOSED', `${this.self}: transport is closed`));
    if (this.#started) return Promise.resolve();
    const live = this.#hub.member(this.self);
    if (live !== undefined && !live.closed) {
      return Promise.reject(
        new TransportError('ADDRESS_IN_USE', `${this.self} is already started on this memory network`),
      );
    }
    this.#started = true;
    this.#hub.join(this);
    return Promise.resolve();
  }

  send(to: PeerId, frame: Uint8Array): SendResult {
    const limits = this.#limits;
    if (this.closed) return 'closed';
    if (!(frame instanceof Uint8Array) || frame.byteLength > frameBytesMaxOf(limits, this.self)) {
      this.#tally.reject('SEND_TOO_LARGE');
      return 'too-large';
    }
    if (!this.linked.has(to)) {
      this.#tally.reject('NOT_CONNECTED');
      return 'not-connected';
    }
    let link = this.links.get(to);
    if (link === undefined) {
      link = { frames: [], bytes: 0, deliveryScheduled: false };
      this.links.set(to, link);
    }
    // The same per-peer bounds as the WebSocket transport (small ones towards agents). A link has
    // no connection to close, so an agent that does not read is answered `queue-full` here, not
    // cut off as `SLOW_READER`.
    const bounds = sendQueueBoundsOf(limits, to);
    if (frame.byteLength > bounds.bytesMax) {
      this.#tally.reject('SEND_TOO_LARGE');
      return 'too-large';
    }
    if (link.frames.length >= bounds.framesMax || link.bytes + frame.byteLength > bounds.bytesMax) {
      this.#tally.reject('QUEUE_FULL');
      return 'queue-full';
    }
    // A copy, as a network would make: the receiver must not see later changes by the sender.
    link.frames.push(frame.slice());
    link.bytes += frame.byteLength;
    this.#hub.scheduleDelivery(this, to, link);
    return 'queued';
  }

  onFrame(handler: (from: PeerId, frame: Uint8Array) => void): void {
    this.#frameHandlers.push(handler);
  }

  onPeer(handler: (peer: PeerId, up: boolean) => void): void {
    this.#peerHandlers.push(handler);
  }

  onRefused(handler: (peer: PeerId, reason: RefusalReason) => void): void {
    this.#refusalHandlers.push(handler);
  }

  /** See `Transport.setAgents`: the hub re-decides every link of this transport at once. */
  setAgents(agents: readonly AgentEntry[], retired?: readonly AgentEntry[]): void {
    if (this.closed) return;
    this.index.replaceAgents(agents, retired);
    if (this.#hub.member(this.self) === this) this.#hub.directoryChanged();
  }

  connected(): PeerId[] {
    return this.closed ? [] : [...this.linked];
  }

  stats(): TransportStats {
    const queues: Record<PeerId, PeerQueueStats> = {};
    for (const peer of this.linked) {
      const link = this.links.get(peer);
      queues[peer] = {
        framesQueued: link?.frames.length ?? 0,
        bytesQueued: link?.bytes ?? 0,
        bytesInFlight: 0,
      };
    }
    return this.#tally.stats(queues, this.closed ? 0 : this.linked.size, 0);
  }

  close(): Promise<void> {
    if (this.#closePromise !== undefined) return this.#closePromise;
    this.closed = true;
    this.#hub.leave(this);
    this.linked.clear();
    for (const link of this.links.values()) link.frames.length = 0;
    this.links.clear();
    this.#closePromise = Promise.resolve();
    return this.#closePromise;
  }
}
