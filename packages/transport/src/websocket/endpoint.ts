/**
 * One WebSocket transport at work. It owns the parts — the listener, the dialers, the
 * connections, the peers and their queues — and takes each connection through its life: accepted
 * or dialled, the handshake, open (its peer is up and frames flow), ended (its peer may go down,
 * and we redial what we dialled). The parts do the work; this file says what follows what.
 */
import { performance } from 'node:perf_hooks';
import type { WebSocket } from 'ws';
import { CHANNEL_TAG_BYTES, type Channel } from '../channel.ts';
import { revocationOf } from '../directory.ts';
import { HANDSHAKE_BYTES_MAX } from '../handshake.ts';
import { Tally } from '../tally.ts';
import {
  type AgentEntry,
  frameBytesMaxOf,
  type PeerId,
  type RefusalReason,
  type RejectReason,
  type SendResult,
  TransportError,
  type TransportStats,
} from '../transport.ts';
import { answerServer } from './client-handshake.ts';
import { type Connection, type HandshakeContext, inboundConnection } from './connection.ts';
import { Connections } from './connections.ts';
import { Dialers } from './dialer.ts';
import { Listener } from './listener.ts';
import type { Address, WebSocketSettings } from './options.ts';
import { Peers } from './peers.ts';
import { answerClientProof, freshServerHello, sendServerHello } from './server-handshake.ts';

export class WebSocketEndpoint {
  readonly #settings: WebSocketSettings;
  readonly #handshake: HandshakeContext;
  readonly #tally = new Tally();
  readonly #frameHandlers: ((from: PeerId, frame: Uint8Array) => void)[] = [];
  readonly #peerHandlers: ((peer: PeerId, up: boolean) => void)[] = [];
  readonly #refusalHandlers: ((peer: PeerId, reason: RefusalReason) => void)[] = [];
  readonly #connections: Connections;
  readonly #peers: Peers;
  readonly #dialers: Dialers;
  readonly #listener: Listener;
  #pingTimer: NodeJS.Timeout | undefined;
  #startPromise: Promise<void> | undefined;
  #closePromise: Promise<void> | undefined;
  #closed = false;

  constructor(settings: WebSocketSettings) {
    this.#settings = settings;
    this.#handshake = { self: settings.self, keys: settings.keys, index: settings.index };
    const tally = this.#tally;
    const isClosed = () => this.#closed;
    const reject = (reason: RejectReason) => tally.reject(reason);
    const nowMs = () => performance.now();
    this.#connections = new Connections({
      handshakeTimeoutMs: settings.handshakeTimeoutMs,
      slowReaderMs: settings.slowReaderMs,
      nowMs,
      onSlowReader: (peer) => settings.onSlowReader(peer),
      messageBytesMaxOf: (peer) => messageBytesMaxOf(settings, peer),
      isClosed,
      reject,
      onMessage: (connection, data, isBinary) => this.#onMessage(connection, data, isBinary),
      onEnded: (connection, wasOpen) => this.#ended(connection, wasOpen),
    });
    const { limits, socketBufferBytesMax } = settings;
    const failSlowReader = (connection: Connection) => this.#connections.failSlowReader(connection);
    this.#peers = new Peers({
      self: settings.self,
      limits,
      socketBufferBytesMax,
      tally,
      isClosed,
      failSlowReader,
      nowMs,
    });
    const attach = (connection: Connection) => this.#connections.attach(connection);
    this.#dialers = new Dialers({ settings, tally, isClosed, attach });
    const accept = (socket: WebSocket, releaseAddressSlot: () => void) =>
      this.#accept(socket, releaseAddressSlot);
    this.#listener = new Listener({ settings, connections: this.#connections, isClosed, reject, accept });
  }

  /**
   * Listens (replicas) and dials every replica; once only. A start that failed (say the port was
   * taken, `ADDRESS_IN_USE`) is forgotten, so a later `start()` tries again instead of repeating
   * the old rejection.
   */
  start(): Promise<void> {
    if (this.#closed)
      return Promise.reject(new TransportError('CLOSED', `${this.#settings.self}: transport is closed`));
    this.#startPromise ??= this.#startOnce().catch((error: unknown) => {
      this.#startPromise = undefined;
      throw error;
    });
    return this.#startPromise;
  }

  close(): Promise<void> {
    this.#closePromise ??= this.#closeOnce();
    return this.#closePromise;
  }

  send(to: PeerId, frame: Uint8Array): SendResult {
    return this.#peers.send(to, frame);
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

  /**
   * Replaces the agents (checked whole first: a bad list changes nothing), then closes every open
   * connection of an agent refused by the new list. Handshakes under way are decided when their
   * proof arrives, by the list then in force (`answerClientProof`), so no old key gets in later.
   */
  setAgents(agents: readonly AgentEntry[], retired?: readonly AgentEntry[]): void {
    if (this.#closed) return;
    const { index } = this.#settings;
    index.replaceAgents(agents, retired);
    for (const connection of this.#connections.openAgents()) {
      const reason = revocationOf(index, connection.peer as PeerId, connection.peerKey as Uint8Array);
      if (reason !== undefined) this.#connections.refuse(connection, reason);
    }
  }

  connected(): PeerId[] {
    if (this.#closed) return [];
    return this.#peers.ids();
  }

  stats(): TransportStats {
    const queues = this.#peers.queueStats();
    const { open, handshakes } = this.#connections.countByState();
    return this.#tally.stats(queues, open, handshakes);
  }

  address(): Address | undefined {
    return this.#listener.address();
  }

  holdBack(peer: PeerId, ms: number): void {
    if (!this.#closed) this.#connections.holdBack(peer, ms);
  }

  setReadingPaused(paused: boolean): void {
    this.#connections.setReadingPaused(paused);
  }

  async #startOnce(): Promise<void> {
    const { selfEntry, pingIntervalMs, index, self } = this.#settings;
    if (selfEntry !== undefined) await this.#listener.listen(selfEntry);
    if (this.#closed) {
      // close() ran while we were binding the port and left the listener to us.
      await this.#listener.closeServer();
      return;
    }
    this.#pingTimer = setInterval(() => this.#connections.ping(), pingIntervalMs);
    this.#dialers.dialAll(index.replicas, self);
  }

  async #closeOnce(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#pingTimer);
    this.#dialers.stop();
    this.#connections.closeAll();
    this.#peers.clear();
    await this.#listener.close();
  }

  /** A client finished the WebSocket upgrade: the handshake starts with our hello. */
  #accept(socket: WebSocket, releaseAddressSlot: () => void): void {
    const connection = inboundConnection(socket, freshServerHello(), releaseAddressSlot);
    this.#connections.attach(connection);
    sendServerHello(connection, this.#settings.self);
  }

  #onMessage(connection: Connection, data: Buffer, isBinary: boolean): void {
    if (this.#closed || connection.state === 'closed') return;
    if (!isBinary) {
      this.#connections.fail(connection, 'NOT_BINARY');
      return;
    }
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (connection.state === 'handshake') this.#onHandshakeMessage(connection, bytes);
    else this.#onFrameMessage(connection, bytes);
  }

  #onHandshakeMessage(connection: Connection, bytes: Uint8Array): void {
    if (bytes.byteLength > HANDSHAKE_BYTES_MAX) {
      this.#connections.fail(connection, 'HANDSHAKE_FAILED');
      return;
    }
    const step =
      connection.direction === 'inbound'
        ? answerClientProof(connection, bytes, this.#handshake)
        : answerServer(connection, bytes, this.#handshake);
    if (step.next === 'fail') this.#connections.fail(connection, step.reason);
    else if (step.next === 'refuse') this.#connections.refuse(connection, step.reason);
    else if (step.next === 'refused') this.#refused(connection, step.reason);
    else if (step.next === 'open') this.#open(connection, step.peer);
  }

  /** A replica refused us, in a refusal it signed: counted, closed (we redial), and told to the host. */
  #refused(connection: Connection, reason: RefusalReason): void {
    const peer = connection.peer as PeerId;
    this.#connections.fail(connection, reason);
    for (const handler of this.#refusalHandlers) {
      if (this.#closed) return;
      handler(peer, reason);
    }
  }

  /** A message on an open connection: one frame and its channel tag. */
  #onFrameMessage(connection: Connection, bytes: Uint8Array): void {
    if (bytes.byteLength > messageBytesMaxOf(this.#settings, connection.peer as PeerId)) {
      // ws enforces this already (maxPayload); kept so the bound never rests on ws internals alone.
      this.#connections.fail(connection, 'TOO_LARGE');
      return;
    }
    const opened = (connection.channel as Channel).open(bytes);
    if (opened === undefined) {
      this.#connections.fail(connection, 'BAD_MAC');
      return;
    }
    // A copy that owns its bytes: the message is a view into the socket's read buffer (often
    // 64 KB), and a frame kept for long — in the log, a certificate, a pending request — would
    // keep that whole buffer alive. Copying costs ~1% of a replica's CPU; retention cost ~16 MB
    // of its RSS at 64 clients.
    const frame = new Uint8Array(opened);
    const peer = connection.peer as PeerId;
    this.#tally.frameIn(frame.byteLength);
    for (const handler of this.#frameHandlers) {
      if (this.#closed) return;
      handler(peer, frame);
    }
  }

  /** The handshake proved who is at the other end: the peer is up (if it was not), and its queue flows. */
  #open(connection: Connection, peer: PeerId): void {
    this.#connections.markOpen(connection, peer);
    const { older, wasUp } = this.#peers.add(connection, peer);
    if (older !== undefined) this.#connections.discard(older);
    this.#dialers.opened(connection);
    if (!wasUp) this.#emitPeer(peer, true);
    this.#peers.flush(peer);
  }

  /** A connection ended while the transport is open: its peer may be down, and we redial what we dialled. */
  #ended(connection: Connection, wasOpen: boolean): void {
    if (wasOpen && connection.peer !== undefined && this.#peers.remove(connection))
      this.#emitPeer(connection.peer, false);
    this.#dialers.ended(connection);
  }

  #emitPeer(peer: PeerId, up: boolean): void {
    for (const handler of this.#peerHandlers) {
      if (this.#closed) return;
      handler(peer, up);
    }
  }
}

/** What `peer` may send in one message: its frame bound plus the channel tag. */
function messageBytesMaxOf(settings: WebSocketSettings, peer: PeerId): number {
  return frameBytesMaxOf(settings.limits, peer) + CHANNEL_TAG_BYTES;
}
