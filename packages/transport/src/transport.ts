/**
 * The transport port: moving opaque frames between authenticated peers.
 *
 * A transport never interprets a frame. What it promises is who a frame came from (`from` is
 * the peer that proved its key during the handshake, and every frame after it is authenticated
 * as sent by that peer on that connection), that every queue it keeps is bounded, and that
 * everything it refuses is counted under a named reason. Frames between one pair of peers arrive
 * in the order they were sent, each at most once, while a connection stays up; a frame may be
 * lost when a connection breaks (the protocol above retransmits what matters).
 */
/** `'replica:0'`, `'replica:1'`, …, or `'agent:<agentId>'`. */
export type PeerId = string;

/** The peer id of replica `id`. */
export const replicaPeer = (id: number): PeerId => `replica:${id}`;
/** The peer id of the agent named `id` in the directory. */
export const agentPeer = (id: string): PeerId => `agent:${id}`;

/** A peer id taken apart; `undefined` from {@link parsePeer} when the id is not well formed. */
export type ParsedPeer =
  | { readonly kind: 'replica'; readonly id: number }
  | { readonly kind: 'agent'; readonly id: string };

/**
 * Parses a peer id. Replica numbers must be written canonically (`replica:1`, never `replica:01`),
 * so one peer has exactly one id.
 */
export function parsePeer(peer: string): ParsedPeer | undefined {
  if (peer.startsWith('replica:')) {
    const text = peer.slice('replica:'.length);
    const id = Number(text);
    if (!Number.isSafeInteger(id) || id < 0 || String(id) !== text) return undefined;
    return { kind: 'replica', id };
  }
  if (peer.startsWith('agent:')) {
    const id = peer.slice('agent:'.length);
    return id.length === 0 ? undefined : { kind: 'agent', id };
  }
  return undefined;
}

/** Who may connect, and where replicas listen. Keys are 32-byte Ed25519 public keys. */
export interface Directory {
  readonly replicas: readonly { id: number; publicKey: Uint8Array; host: string; port: number }[];
  readonly agents: readonly AgentEntry[];
}

/** An agent of the directory: its id (without the `agent:` prefix) and 32-byte Ed25519 public key. */
export interface AgentEntry {
  readonly id: string;
  readonly publicKey: Uint8Array;
}

/**
 * Why a replica refused an agent, told to the agent in a message the replica signs (WebSocket)
 * or by the hub (memory), and counted on both sides:
 * - `UNKNOWN_AGENT`: the agent's id is not in the replica's directory (never registered, or removed);
 * - `REVOKED_KEY`: the id is there, with another key, and the agent proved it holds one of the id's
 *   retired keys (its key was rotated).
 */
export type RefusalReason = 'UNKNOWN_AGENT' | 'REVOKED_KEY';

/** Every {@link RefusalReason}. */
export const REFUSAL_REASONS: readonly RefusalReason[] = Object.freeze(['UNKNOWN_AGENT', 'REVOKED_KEY']);

/** This process's peer id and its 64-byte Ed25519 secret key (tweetnacl format: seed ‖ public key). */
export interface Identity {
  readonly peer: PeerId;
  readonly secretKey: Uint8Array;
}

/**
 * What became of a frame handed to {@link Transport.send}:
 * - `queued`: accepted; it leaves in order behind earlier frames to the same peer;
 * - `queue-full`: the peer's send queue is at its frame or byte bound (the peer is slow or stuck);
 * - `not-connected`: no authenticated connection to that peer right now (or no such peer);
 * - `too-large`: the frame exceeds `frameBytesMax`;
 * - `closed`: the transport was closed.
 */
export type SendResult = 'queued' | 'queue-full' | 'not-connected' | 'too-large' | 'closed';

/**
 * Why something was refused, rejected or dropped. Each is counted in {@link TransportStats.rejected}.
 *
 * From peers (the connection is closed):
 * - `NOT_BINARY`: a text message, where only binary frames are allowed;
 * - `TOO_LARGE`: an incoming message over `frameBytesMax`;
 * - `PROTOCOL_ERROR`: a malformed WebSocket frame (bad opcode, unmasked client frame, …);
 * - `HANDSHAKE_FAILED`: a handshake message that is not the expected shape;
 * - `UNKNOWN_PEER`: the claimed peer is not one this side accepts (a replica not in the directory, or itself);
 * - `UNKNOWN_AGENT`, `REVOKED_KEY`: an agent refused (see {@link RefusalReason}), in the handshake or,
 *   after `setAgents`, on its open connection; counted by the replica, and by the agent told so;
 * - `WRONG_PEER`: the replica we dialled answered as a different peer;
 * - `BAD_SIGNATURE`: the handshake signature does not verify with the directory's key;
 * - `BAD_MAC`: after the handshake, a message whose channel tag is missing or wrong (changed,
 *   injected, replayed or reordered on the way); the frame is not delivered;
 * - `HANDSHAKE_TIMEOUT`: no complete handshake within `handshakeTimeoutMs`;
 * - `TOO_MANY_CONNECTIONS`: over `connectionsMax` connections (or no handshake slot could be freed);
 * - `HANDSHAKE_EVICTED`: every `handshakesPendingMax` slot was taken and a newcomer arrived, so
 *   the connection longest in the handshake was closed to admit it;
 * - `ADDRESS_BUSY`: a TCP connection from an address that already holds
 *   `handshakesPendingPerAddressMax` connections not yet authenticated; closed before HTTP or TLS;
 * - `PING_TIMEOUT`: the peer missed its pongs for two ping intervals;
 * - `SLOW_READER`: an agent that does not read what it is sent: its send queue filled
 *   (`agentSendQueueFramesMax` / `agentSendQueueBytesMax`), or bytes handed to its socket did not
 *   drain for `slowReaderMs`. Its queued frames are dropped (counted `DISCONNECTED`); it may reconnect.
 *
 * From this side's own sends (the frame is not sent):
 * - `QUEUE_FULL`, `SEND_TOO_LARGE`, `NOT_CONNECTED`: the matching {@link SendResult};
 * - `QUEUE_TOTAL_FULL`: a frame to an agent while all agents' frames together held
 *   `agentSendQueueTotalBytesMax` (answered `queue-full`; the agent's connection stays open);
 * - `DISCONNECTED`: a frame still queued when the last connection to its peer closed.
 */
export type RejectReason =
  | 'NOT_BINARY'
  | 'TOO_LARGE'
  | 'PROTOCOL_ERROR'
  | 'HANDSHAKE_FAILED'
  | 'UNKNOWN_PEER'
  | RefusalReason
  | 'WRONG_PEER'
  | 'BAD_SIGNATURE'
  | 'BAD_MAC'
  | 'HANDSHAKE_TIMEOUT'
  | 'TOO_MANY_CONNECTIONS'
  | 'HANDSHAKE_EVICTED'
  | 'ADDRESS_BUSY'
  | 'PING_TIMEOUT'
  | 'SLOW_READER'
  | 'QUEUE_FULL'
  | 'QUEUE_TOTAL_FULL'
  | 'SEND_TOO_LARGE'
  | 'NOT_CONNECTED'
  | 'DISCONNECTED';

/** Every {@link RejectReason}, in a fixed order (for zeroed counters and for printing). */
export const REJECT_REASONS: readonly RejectReason[] = Object.freeze([
  'NOT_BINARY',
  'TOO_LARGE',
  'PROTOCOL_ERROR',
  'HANDSHAKE_FAILED',
  'UNKNOWN_PEER',
  'UNKNOWN_AGENT',
  'REVOKED_KEY',
  'WRONG_PEER',
  'BAD_SIGNATURE',
  'BAD_MAC',
  'HANDSHAKE_TIMEOUT',
  'TOO_MANY_CONNECTIONS',
  'HANDSHAKE_EVICTED',
  'ADDRESS_BUSY',
  'PING_TIMEOUT',
  'SLOW_READER',
  'QUEUE_FULL',
  'QUEUE_TOTAL_FULL',
  'SEND_TOO_LARGE',
  'NOT_CONNECTED',
  'DISCONNECTED',
]);

/** The send queue towards one connected peer. */
export interface PeerQueueStats {
  /** Frames accepted by `send` and not yet handed to a connection. */
  readonly framesQueued: number;
  readonly bytesQueued: number;
  /** Bytes handed to a connection that it has not yet flushed to the network. */
  readonly bytesInFlight: number;
}

/** A snapshot of counters and gauges. Counters only grow during a transport's life. */
export interface TransportStats {
  readonly framesIn: number;
  readonly framesOut: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly rejected: Readonly<Record<RejectReason, number>>;
  /** One entry per peer with at least one authenticated connection. */
  readonly queues: Readonly<Record<PeerId, PeerQueueStats>>;
  /** Authenticated connections open now. */
  readonly connections: number;
  /** Connections whose handshake has not finished yet (inbound and outbound). */
  readonly handshakesPending: number;
  /** Times a link to a peer was re-attempted (WebSocket: redials) or re-established (memory). */
  readonly reconnects: number;
}

/**
 * The port. Implementations: `webSocketTransport` (production) and `memoryNetwork().transport`
 * (tests); both pass the same compliance suite.
 */
export interface Transport {
  /** The peer id this transport authenticates as. */
  readonly self: PeerId;
  /**
   * Always `true`: every frame handed to `onFrame` handlers was sent by `from`, to this
   * transport, on the connection it arrived by, in order and at most once. A frame that was
   * forged, changed, replayed or reordered on the way is never delivered (WebSocket: the channel
   * MAC keyed by the handshake, `BAD_MAC`; memory: by construction). So handlers may rely on
   * `from` alone to know who sent a frame, e.g. to accept replies without a signature of their
   * own. It says nothing of confidentiality: without TLS, frames travel in the clear.
   */
  readonly channelAuthenticated: true;
  /**
   * Replicas listen and dial every other replica; agents dial every replica. Resolves once listening
   * (connections come up in the background; see `onPeer` and `connected`). Rejects with a
   * {@link TransportError}, e.g. `ADDRESS_IN_USE`.
   */
  start(): Promise<void>;
  /**
   * Queues a frame for `to`. Never throws and never blocks. The transport keeps a reference to
   * `frame` until it is sent: do not modify it afterwards.
   */
  send(to: PeerId, frame: Uint8Array): SendResult;
  /**
   * Registers a frame handler. `from` is the authenticated peer, never a claim inside the frame
   * (see `channelAuthenticated`). `frame` may be a view into a larger buffer (mind its
   * `byteOffset` before touching `frame.buffer`), shared by every handler: do not modify it.
   */
  onFrame(handler: (from: PeerId, frame: Uint8Array) => void): void;
  /** Registers a handler told when a peer's first authenticated connection opens and its last one closes. */
  onPeer?(handler: (peer: PeerId, up: boolean) => void): void;
  /** Peers with at least one authenticated connection now. */
  connected(): PeerId[];
  /**
   * Stops reading what `peer` sends for `ms` milliseconds (TCP backpressure): its frames wait in
   * its own buffers rather than cost this side a read and a refusal each. For a peer that sends
   * faster than it is allowed. A no-op for a peer not connected or already held back, and where
   * the transport has no such control (memory).
   */
  holdBack?(peer: PeerId, ms: number): void;
  /**
   * Replaces the directory's agents (replicas never change). On return: an agent added may
   * handshake at once; every open connection of an agent no longer listed, or listed with
   * another key, is closed (`UNKNOWN_AGENT` / `REVOKED_KEY`); and every handshake decided from
   * then on, including those already under way, is decided by the new list. A key an agent loses
   * (its id stays, with a new key) is remembered as retired, as is each key in `retired`, so an
   * agent that proves it holds one is told `REVOKED_KEY` rather than refused as an impostor. Throws
   * `TransportError` `INVALID_DIRECTORY` (a duplicate id or key, an empty id, a key not 32 bytes),
   * changing nothing; a no-op once closed.
   */
  setAgents?(agents: readonly AgentEntry[], retired?: readonly AgentEntry[]): void;
  /**
   * Registers a handler told when a replica refuses this transport (an agent): in its handshake,
   * by a refusal the replica signed over this handshake (WebSocket), so neither a stranger nor an
   * on-path attacker can forge one. Told once per refused handshake; the transport keeps
   * redialling with backoff, so the host decides when to give up (e.g. when f + 1 replicas refuse).
   */
  onRefused?(handler: (peer: PeerId, reason: RefusalReason) => void): void;
  stats(): TransportStats;
  /** Closes every connection, listener and timer. Idempotent; after it no handler is called. */
  close(): Promise<void>;
}

/** A transport whose agents may change while it runs: what both implementations make. */
export interface LiveDirectoryTransport extends Transport {
  setAgents(agents: readonly AgentEntry[], retired?: readonly AgentEntry[]): void;
  onRefused(handler: (peer: PeerId, reason: RefusalReason) => void): void;
}

/** Stable codes of the errors a person can act on. */
export type TransportErrorCode =
  | 'ADDRESS_IN_USE'
  | 'LISTEN_FAILED'
  | 'INVALID_IDENTITY'
  | 'INVALID_DIRECTORY'
  | 'INVALID_OPTIONS'
  | 'CLOSED';

/** An error with a stable `code`, thrown by factories and `start()`; never by `send`. */
export class TransportError extends Error {
  readonly code: TransportErrorCode;
  constructor(code: TransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransportError';
    this.code = code;
  }
}

/**
 * A broken invariant of the transport's own state: a bug, never bad input from a peer (that is a
 * counted rejection) nor a configuration mistake (that is a {@link TransportError}). It is a class
 * of its own rather than a `TransportError` code because those are errors a person can act on,
 * thrown by factories and `start()` only, while an invariant can break anywhere, `send` included.
 * Its `code` is `'INVARIANT'`, as the protocol's invariant errors have, so a host can treat both
 * alike by that code.
 */
export class TransportInvariantError extends Error {
  readonly code = 'INVARIANT';
  constructor(message: string) {
    super(message);
    this.name = 'TransportInvariantError';
  }
}

/** Limits shared by both implementations, with their defaults. */
export interface FrameLimits {
  /** Bytes of one frame at most, both ways. */
  readonly frameBytesMax: number;
  /** Frames waiting to be sent to one peer at most; beyond it `send` answers `queue-full`. */
  readonly sendQueueFramesMax: number;
  /** Bytes waiting to be sent to one peer at most; beyond it `send` answers `queue-full`. */
  readonly sendQueueBytesMax: number;
  /**
   * Bytes of one frame an agent may send (capped by `frameBytesMax`). Agents send only requests
   * and queries, whose operation is at most 64 KiB by default, so a replica need never read a
   * larger frame from one; an agent's own `send` refuses larger frames as `too-large`.
   */
  readonly agentFrameBytesMax: number;
  /**
   * Frames waiting to be sent to one agent at most. Replicas answer an agent only with replies,
   * query replies and receipts, a few per request it has pending; an agent that lets more pile up
   * is not reading, and its connection is closed (`SLOW_READER`).
   */
  readonly agentSendQueueFramesMax: number;
  /**
   * Bytes waiting to be sent to one agent at most; past it the agent's connection is closed
   * (`SLOW_READER`), and a single frame to an agent larger than it is refused as `too-large`.
   */
  readonly agentSendQueueBytesMax: number;
  /**
   * Bytes waiting for all agents together, queued or handed to their sockets and not yet flushed.
   * Per-agent bounds alone allow `connectionsMax` × (queue + socket buffer), about 2 GiB; past this
   * total, a frame to an agent is refused (`queue-full`, counted `QUEUE_TOTAL_FULL`). Replicas'
   * queues are not part of it: they are bounded per replica, and agents cannot take their room.
   */
  readonly agentSendQueueTotalBytesMax: number;
}

/**
 * `frameBytesMax` is the protocol's own frame bound (16 MiB): a smaller one would refuse frames the
 * protocol may send. It is written here, not imported, so the transport depends on nothing of ours;
 * a test outside this package checks the two stay equal.
 */
export const FRAME_LIMITS_DEFAULT: FrameLimits = Object.freeze({
  frameBytesMax: 16 * 1024 * 1024,
  sendQueueFramesMax: 4096,
  sendQueueBytesMax: 64 * 1024 * 1024,
  // 16 × the default operation bound: room for the request's envelope and for clusters that raise
  // `operationBytesMax`, yet 16 times less than a replica's frame for a hostile agent to make us read.
  agentFrameBytesMax: 1024 * 1024,
  // The largest frame a replica sends an agent is a receipt: its request (64 KiB operation plus
  // envelope), 64 request digests (2 KiB) and up to 64 signed commits (~16 KiB), under 100 KiB; a
  // reply or query reply carries at most `resultBytesMax` (64 KiB). 1 MiB holds ten of the largest,
  // and 256 frames hold 8 requests × 3 answers × 4 replica retries with room to spare.
  agentSendQueueFramesMax: 256,
  agentSendQueueBytesMax: 1024 * 1024,
  // 64 agents with full queues, or 640 of the largest frames a replica sends an agent.
  agentSendQueueTotalBytesMax: 64 * 1024 * 1024,
});

/** The limits with every default applied (`FRAME_LIMITS_DEFAULT`). */
export function frameLimitsOf(options: Partial<FrameLimits>): FrameLimits {
  return {
    frameBytesMax: options.frameBytesMax ?? FRAME_LIMITS_DEFAULT.frameBytesMax,
    sendQueueFramesMax: options.sendQueueFramesMax ?? FRAME_LIMITS_DEFAULT.sendQueueFramesMax,
    sendQueueBytesMax: options.sendQueueBytesMax ?? FRAME_LIMITS_DEFAULT.sendQueueBytesMax,
    agentFrameBytesMax: options.agentFrameBytesMax ?? FRAME_LIMITS_DEFAULT.agentFrameBytesMax,
    agentSendQueueFramesMax: options.agentSendQueueFramesMax ?? FRAME_LIMITS_DEFAULT.agentSendQueueFramesMax,
    agentSendQueueBytesMax: options.agentSendQueueBytesMax ?? FRAME_LIMITS_DEFAULT.agentSendQueueBytesMax,
    agentSendQueueTotalBytesMax:
      options.agentSendQueueTotalBytesMax ?? FRAME_LIMITS_DEFAULT.agentSendQueueTotalBytesMax,
  };
}

/** Whether `peer` names an agent (the small agent bounds apply to it). */
export function isAgentPeer(peer: PeerId): boolean {
  return parsePeer(peer)?.kind === 'agent';
}

/** The largest frame `peer` may send: `agentFrameBytesMax` for agents, `frameBytesMax` for replicas. */
export function frameBytesMaxOf(limits: FrameLimits, peer: PeerId): number {
  return isAgentPeer(peer) ? Math.min(limits.frameBytesMax, limits.agentFrameBytesMax) : limits.frameBytesMax;
}

/** One peer's send queue bound: frames and bytes. */
export interface SendQueueBounds {
  readonly framesMax: number;
  readonly bytesMax: number;
}

/**
 * The send queue bound towards `peer`: the small agent bounds for agents (one that does not read
 * must not hold megabytes of replies), the large ones for replicas (state transfer needs them). An agent bound never exceeds the
 * matching replica bound.
 */
export function sendQueueBoundsOf(limits: FrameLimits, peer: PeerId): SendQueueBounds {
  return isAgentPeer(peer)
    ? {
        framesMax: Math.min(limits.sendQueueFramesMax, limits.agentSendQueueFramesMax),
        bytesMax: Math.min(limits.sendQueueBytesMax, limits.agentSendQueueBytesMax),
      }
    : { framesMax: limits.sendQueueFramesMax, bytesMax: limits.sendQueueBytesMax };
}
