/**
 * Every connection the transport holds, authenticated or not, and the life they share: the
 * socket's events, the handshake deadline, failing a connection under a counted reason, its end,
 * and the pings that close a peer gone silent.
 */
import { WebSocket } from 'ws';
import { isAgentPeer, type PeerId, type RefusalReason, type RejectReason } from '../transport.ts';
import { type Connection, limitMessageBytes } from './connection.ts';

/** Pings a peer may leave unanswered before its connection is closed. */
const PONGS_MISSED_MAX = 2;

/**
 * The WebSocket close code (private-use range) and reason sent with a connection closed because
 * its agent was refused. A close frame is not authenticated, so it is a courtesy for logs: the
 * agent learns why for sure from the signed refusal of its next handshake.
 */
export const REFUSAL_CLOSE_CODES: Readonly<Record<RefusalReason, number>> = Object.freeze({
  UNKNOWN_AGENT: 4001,
  REVOKED_KEY: 4002,
});

export interface ConnectionsContext {
  readonly handshakeTimeoutMs: number;
  /** An agent's connection whose socket has not drained for this long is closed (`SLOW_READER`). */
  readonly slowReaderMs: number;
  /** Monotonic milliseconds (see `Connection.drainedAtMs`). */
  readonly nowMs: () => number;
  /** Told once per connection closed as a slow reader, for the host's log. */
  readonly onSlowReader: (peer: PeerId, bytesInFlight: number) => void;
  /** A frame plus its channel tag: what authenticated `peer` may send in one message. */
  readonly messageBytesMaxOf: (peer: PeerId) => number;
  readonly isClosed: () => boolean;
  readonly reject: (reason: RejectReason) => void;
  /** A message arrived on a connection. */
  readonly onMessage: (connection: Connection, data: Buffer, isBinary: boolean) => void;
  /** A connection ended while the transport is open; `wasOpen`: it had finished the handshake. */
  readonly onEnded: (connection: Connection, wasOpen: boolean) => void;
}

export class Connections {
  readonly #context: ConnectionsContext;
  readonly #all = new Set<Connection>();
  /**
   * Inbound connections that have not finished our handshake, oldest first (a Set keeps
   * insertion order): the listener bounds them, and evicts the stalest when full.
   */
  readonly #inboundHandshakes = new Set<Connection>();
  /** Sockets closed with a refusal, waiting for the peer's close frame, each with the timer that ends the wait. */
  readonly #closing = new Map<WebSocket, ReturnType<typeof setTimeout>>();
  /** Test hook only (see `setReadingPaused`). */
  #readingPaused = false;
  /** Peers whose connections are not read for now, each with the timer that resumes them (see `holdBack`). */
  readonly #heldBack = new Map<PeerId, ReturnType<typeof setTimeout>>();

  constructor(context: ConnectionsContext) {
    this.#context = context;
  }

  /** Connections held, in the handshake or open, inbound and outbound. */
  get size(): number {
    return this.#all.size;
  }

  get inboundHandshakes(): number {
    return this.#inboundHandshakes.size;
  }

  /**
   * Closes the inbound connection that has waited longest in the handshake, counted as
   * `HANDSHAKE_EVICTED`, to make room for a newcomer. Returns false when there is none (every
   * slot is a socket still mid-upgrade). A stranger who holds every slot is thus pushed out by
   * the next arrivals instead of keeping honest peers out until its deadline.
   */
  evictStalestHandshake(): boolean {
    const stalest = this.#inboundHandshakes.values().next().value;
    if (stalest === undefined) return false;
    this.fail(stalest, 'HANDSHAKE_EVICTED');
    return true;
  }

  /** Takes in a new connection: listens to its socket and gives it `handshakeTimeoutMs` to finish the handshake. */
  attach(connection: Connection): void {
    const { socket } = connection;
    socket.binaryType = 'nodebuffer';
    socket.on('message', (data: Buffer, isBinary: boolean) =>
      this.#context.onMessage(connection, data, isBinary),
    );
    socket.on('pong', () => {
      connection.pongsMissed = 0;
    });
    socket.on('error', (error: Error & { code?: string }) => this.#onSocketError(connection, error));
    socket.on('close', () => this.end(connection));
    connection.handshakeTimer = setTimeout(
      () => this.fail(connection, 'HANDSHAKE_TIMEOUT'),
      this.#context.handshakeTimeoutMs,
    );
    this.#all.add(connection);
    if (connection.direction === 'inbound') this.#inboundHandshakes.add(connection);
  }

  /** Closes a connection over something its peer did, counted under `reason`. */
  fail(connection: Connection, reason: RejectReason): void {
    if (connection.state === 'closed') return;
    this.#context.reject(reason);
    connection.socket.terminate();
    // 'close' follows from terminate(); end() runs there, but run it now so the state is exact.
    this.end(connection);
  }

  /**
   * Closes a connection whose agent was refused, counted under `reason`, with a close frame saying
   * why (after anything already sent, such as a signed refusal). The connection ends now; its
   * socket is destroyed if the peer has not finished the close within `handshakeTimeoutMs`.
   */
  refuse(connection: Connection, reason: RefusalReason): void {
    if (connection.state === 'closed') return;
    this.#context.reject(reason);
    const { socket } = connection;
    socket.close(REFUSAL_CLOSE_CODES[reason], reason);
    this.#awaitClose(socket);
    this.end(connection);
  }

  /** Destroys a socket we closed if its peer has not answered the close within `handshakeTimeoutMs`. */
  #awaitClose(socket: WebSocket): void {
    const forget = () => {
      clearTimeout(this.#closing.get(socket));
      this.#closing.delete(socket);
    };
    this.#closing.set(
      socket,
      setTimeout(() => {
        forget();
        socket.terminate();
      }, this.#context.handshakeTimeoutMs),
    );
    socket.once('close', forget);
  }

  /** Open connections of agents: the ones a directory update may have to close. */
  openAgents(): Connection[] {
    return [...this.#all].filter(
      (connection) => connection.state === 'open' && isAgentPeer(connection.peer as PeerId),
    );
  }

  /** Forgets a connection that is gone and, unless the transport is closing, says so (`onEnded`). */
  end(connection: Connection): void {
    if (connection.state === 'closed') return;
    const wasOpen = connection.state === 'open';
    connection.state = 'closed';
    this.#all.delete(connection);
    clearTimeout(connection.handshakeTimer);
    this.#inboundHandshakes.delete(connection);
    if (this.#context.isClosed()) return;
    this.#context.onEnded(connection, wasOpen);
  }

  /** The handshake proved the connection is `peer`'s: its deadline ends and it may carry whole frames. */
  markOpen(connection: Connection, peer: PeerId): void {
    connection.state = 'open';
    connection.peer = peer;
    // Both directions were held to a handshake message until now (the dialer sets its socket's
    // bound at creation); an agent's messages stay at the smaller agent bound.
    limitMessageBytes(connection.socket, this.#context.messageBytesMaxOf(peer));
    clearTimeout(connection.handshakeTimer);
    connection.handshakeTimer = undefined;
    this.#inboundHandshakes.delete(connection);
    connection.releaseAddressSlot();
    if (this.#readingPaused || this.#heldBack.has(peer)) connection.socket.pause();
  }

  /**
   * Closes an open connection its peer has replaced with a newer one. Nothing is told: the peer
   * is still up, over the newer connection.
   */
  discard(older: Connection): void {
    older.state = 'closed';
    this.#all.delete(older);
    older.socket.terminate();
  }

  /**
   * Every `pingIntervalMs`: pings each open connection, and fails those that missed too many pongs
   * or, for agents, that have not drained their socket for `slowReaderMs` (checked here rather than
   * with a timer per frame, so a slow reader is closed within `slowReaderMs + pingIntervalMs`).
   */
  ping(): void {
    const nowMs = this.#context.nowMs();
    for (const connection of [...this.#all]) {
      if (connection.state !== 'open') continue;
      if (this.#isSlowReader(connection, nowMs)) {
        this.failSlowReader(connection);
        continue;
      }
      if (connection.pongsMissed >= PONGS_MISSED_MAX) {
        this.fail(connection, 'PING_TIMEOUT');
        continue;
      }
      connection.pongsMissed++;
      if (connection.socket.readyState === WebSocket.OPEN) connection.socket.ping();
    }
  }

  /** Closes an agent's connection that does not read, counted `SLOW_READER` and told to the host once. */
  failSlowReader(connection: Connection): void {
    if (connection.state !== 'open') return;
    this.#context.onSlowReader(connection.peer as PeerId, connection.bytesInFlight);
    this.fail(connection, 'SLOW_READER');
  }

  /** An agent's socket holding bytes it has not drained for `slowReaderMs`. Replicas are never: the protocol needs their links. */
  #isSlowReader(connection: Connection, nowMs: number): boolean {
    return (
      connection.bytesInFlight > 0 &&
      nowMs - connection.drainedAtMs >= this.#context.slowReaderMs &&
      isAgentPeer(connection.peer as PeerId)
    );
  }

  /** Test hook: stop (or start again) reading the open connections, as a stuck peer would. */
  setReadingPaused(paused: boolean): void {
    this.#readingPaused = paused;
    for (const connection of this.#all) {
      if (connection.state !== 'open') continue;
      if (paused) connection.socket.pause();
      else connection.socket.resume();
    }
  }

  /**
   * Stops reading `peer`'s open connections for `ms`: what it sends meanwhile waits in its own
   * socket buffers, then in its own send queue, and a flood slows to what the replica reads. A
   * peer already held back is left as it is (one timer per peer).
   */
  holdBack(peer: PeerId, ms: number): void {
    if (this.#heldBack.has(peer)) return;
    const held = this.#openOf(peer);
    if (held.length === 0) return;
    for (const connection of held) connection.socket.pause();
    const timer = setTimeout(() => {
      this.#heldBack.delete(peer);
      if (this.#readingPaused) return;
      for (const connection of this.#openOf(peer)) connection.socket.resume();
    }, ms);
    this.#heldBack.set(peer, timer);
  }

  #openOf(peer: PeerId): Connection[] {
    return [...this.#all].filter((connection) => connection.state === 'open' && connection.peer === peer);
  }

  /** Connections open, and still in the handshake. */
  countByState(): { open: number; handshakes: number } {
    let open = 0;
    let handshakes = 0;
    for (const connection of this.#all) {
      if (connection.state === 'open') open++;
      else if (connection.state === 'handshake') handshakes++;
    }
    return { open, handshakes };
  }

  /** The transport is closing: every connection ends at once, and no one is told. */
  closeAll(): void {
    for (const timer of this.#heldBack.values()) clearTimeout(timer);
    this.#heldBack.clear();
    for (const [socket, timer] of this.#closing) {
      clearTimeout(timer);
      socket.terminate();
    }
    this.#closing.clear();
    for (const connection of [...this.#all]) {
      clearTimeout(connection.handshakeTimer);
      connection.state = 'closed';
      connection.socket.terminate();
    }
    this.#all.clear();
    this.#inboundHandshakes.clear();
  }

  #onSocketError(connection: Connection, error: Error & { code?: string }): void {
    if (connection.state === 'closed') return;
    if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.fail(connection, 'TOO_LARGE');
    else if (typeof error.code === 'string' && error.code.startsWith('WS_ERR_'))
      this.fail(connection, 'PROTOCOL_ERROR');
    else {
      // A network error (refused, reset, TLS): not the peer's fault in a way we can name; just end.
      connection.socket.terminate();
      this.end(connection);
    }
  }
}
