/**
 * The authenticated peers and what waits for each: its open connections, the one its frames leave
 * by, and its bounded send queue, handed to that connection's socket as the socket drains.
 *
 * Frames to a peer stay on one connection while it is open: spreading them over two sockets
 * would reorder them. Each frame is sealed with the channel of the connection it leaves by, in the
 * order it is written, so the counter inside its tag is that connection's.
 */
import { WebSocket } from 'ws';
import type { Channel } from '../channel.ts';
import type { Tally } from '../tally.ts';
import {
  type FrameLimits,
  frameBytesMaxOf,
  isAgentPeer,
  type PeerId,
  type PeerQueueStats,
  type SendResult,
  sendQueueBoundsOf,
} from '../transport.ts';
import type { Connection } from './connection.ts';

interface PeerState {
  /** Authenticated, open connections to the peer (at most one per direction). */
  readonly connections: Set<Connection>;
  /** The connection frames leave by, kept while it is open so they arrive in order. */
  sendVia: Connection | undefined;
  readonly queue: Uint8Array[];
  bytesQueued: number;
  /** The peer is an agent: its bytes count towards `agentSendQueueTotalBytesMax`. */
  readonly agent: boolean;
}

export interface PeersContext {
  /** This transport's peer id: an agent sends frames of at most `agentFrameBytesMax`. */
  readonly self: PeerId;
  readonly limits: FrameLimits;
  readonly socketBufferBytesMax: number;
  readonly tally: Tally;
  readonly isClosed: () => boolean;
  /** Closes an agent's connection that does not read what it is sent, counted `SLOW_READER`. */
  readonly failSlowReader: (connection: Connection) => void;
  /** Monotonic milliseconds, to date when a connection's socket last drained. */
  readonly nowMs: () => number;
}

export class Peers {
  readonly #context: PeersContext;
  readonly #states = new Map<PeerId, PeerState>();
  /**
   * Bytes for agents queued here or handed to their sockets and not yet flushed, all agents
   * together, bounded by `agentSendQueueTotalBytesMax`.
   */
  #agentBytesHeld = 0;

  constructor(context: PeersContext) {
    this.#context = context;
  }

  /** The peers with an open connection, in the order they came up. */
  ids(): PeerId[] {
    return [...this.#states.keys()];
  }

  /**
   * Adds a connection that has just finished the handshake. A peer that reconnects replaces its
   * older connection in the same direction (that one may be half-open): it is returned, already
   * forgotten here, for the caller to close. `wasUp`: the peer had an open connection before.
   */
  add(connection: Connection, peer: PeerId): { older: Connection | undefined; wasUp: boolean } {
    let state = this.#states.get(peer);
    if (state === undefined) {
      state = {
        connections: new Set(),
        sendVia: undefined,
        queue: [],
        bytesQueued: 0,
        agent: isAgentPeer(peer),
      };
      this.#states.set(peer, state);
    }
    const older = [...state.connections].find((other) => other.direction === connection.direction);
    const wasUp = state.connections.size > 0;
    state.connections.add(connection);
    if (state.sendVia === undefined || state.sendVia === older) state.sendVia = connection;
    if (older !== undefined) state.connections.delete(older);
    return { older, wasUp };
  }

  /**
   * Forgets an open connection that ended. Returns true when it was the peer's last: the peer is
   * down, and the frames that waited for it are counted as `DISCONNECTED`. Otherwise they go on
   * over the peer's other connection.
   */
  remove(connection: Connection): boolean {
    const peer = connection.peer as PeerId;
    const state = this.#states.get(peer);
    if (!state?.connections.delete(connection)) return false;
    if (state.sendVia === connection) state.sendVia = state.connections.values().next().value;
    if (state.connections.size > 0) {
      this.flush(peer);
      return false;
    }
    this.#states.delete(peer);
    if (state.agent) this.#agentBytesHeld -= state.bytesQueued;
    this.#context.tally.reject('DISCONNECTED', state.queue.length);
    return true;
  }

  send(to: PeerId, frame: Uint8Array): SendResult {
    const { limits, tally } = this.#context;
    if (this.#context.isClosed()) return 'closed';
    if (!(frame instanceof Uint8Array) || frame.byteLength > frameBytesMaxOf(limits, this.#context.self)) {
      tally.reject('SEND_TOO_LARGE');
      return 'too-large';
    }
    const state = this.#states.get(to);
    if (state === undefined || state.connections.size === 0) {
      tally.reject('NOT_CONNECTED');
      return 'not-connected';
    }
    const bounds = sendQueueBoundsOf(limits, to);
    if (frame.byteLength > bounds.bytesMax) {
      // Only a frame to an agent can be this large: it could never fit that agent's queue.
      tally.reject('SEND_TOO_LARGE');
      return 'too-large';
    }
    if (state.queue.length >= bounds.framesMax || state.bytesQueued + frame.byteLength > bounds.bytesMax) {
      tally.reject('QUEUE_FULL');
      this.#closeIfSlowAgent(state);
      return 'queue-full';
    }
    if (state.agent && this.#agentBytesHeld + frame.byteLength > limits.agentSendQueueTotalBytesMax) {
      // Not this agent's fault alone: refuse the frame (the agent retries), keep its connection.
      tally.reject('QUEUE_TOTAL_FULL');
      return 'queue-full';
    }
    state.queue.push(frame);
    state.bytesQueued += frame.byteLength;
    if (state.agent) this.#agentBytesHeld += frame.byteLength;
    try {
      this.flush(to);
    } catch {
      // ws throws only on misuse (a socket not open), which openSendVia() excludes; never let it escape.
    }
    return 'queued';
  }

  /**
   * An agent whose queue is full is not reading: its connection is closed (`SLOW_READER`) and its
   * queued frames dropped, rather than kept for it at a replica's expense. It may reconnect.
   * A replica keeps its connection: the protocol retransmits what a full queue refused.
   */
  #closeIfSlowAgent(state: PeerState): void {
    if (!state.agent || state.sendVia === undefined) return;
    this.#context.failSlowReader(state.sendVia);
  }

  /** Hands queued frames to the peer's socket while fewer than `socketBufferBytesMax` bytes sit there unflushed. */
  flush(peer: PeerId): void {
    const state = this.#states.get(peer);
    if (state === undefined) return;
    const connection = openSendVia(state);
    if (connection === undefined) return;
    const sealer = connection.channel as Channel;
    const { agent } = state;
    while (state.queue.length > 0 && connection.bytesInFlight < this.#context.socketBufferBytesMax) {
      const frame = state.queue.shift() as Uint8Array;
      state.bytesQueued -= frame.byteLength;
      // Sealed here, on the connection it leaves by, in the order it is written: the counter
      // inside the tag is this connection's.
      const message = sealer.seal(frame);
      if (connection.bytesInFlight === 0) connection.drainedAtMs = this.#context.nowMs();
      connection.bytesInFlight += message.byteLength;
      if (agent) this.#agentBytesHeld += message.byteLength - frame.byteLength;
      this.#context.tally.frameOut(frame.byteLength);
      // The callback runs once the socket has taken the bytes (or failed): room for more, and
      // proof the peer is reading (see `Connections.ping`, which closes slow readers).
      connection.socket.send(message, { binary: true }, () => {
        connection.bytesInFlight -= message.byteLength;
        if (agent) this.#agentBytesHeld -= message.byteLength;
        connection.drainedAtMs = this.#context.nowMs();
        if (!this.#context.isClosed() && connection.state === 'open') this.flush(peer);
      });
    }
  }

  /** Per peer: frames and bytes waiting, and bytes handed to its sockets and not yet flushed. */
  queueStats(): Record<PeerId, PeerQueueStats> {
    const queues: Record<PeerId, PeerQueueStats> = {};
    for (const [peer, state] of this.#states) {
      let bytesInFlight = 0;
      for (const connection of state.connections) bytesInFlight += connection.bytesInFlight;
      queues[peer] = { framesQueued: state.queue.length, bytesQueued: state.bytesQueued, bytesInFlight };
    }
    return queues;
  }

  clear(): void {
    // Bytes in sockets are released by their send callbacks; only the queues go here.
    for (const state of this.#states.values()) if (state.agent) this.#agentBytesHeld -= state.bytesQueued;
    this.#states.clear();
  }
}

/** The connection the peer's frames leave by, if its socket is open to write to. */
function openSendVia(state: PeerState): Connection | undefined {
  const connection = state.sendVia;
  return connection !== undefined && connection.socket.readyState === WebSocket.OPEN ? connection : undefined;
}
