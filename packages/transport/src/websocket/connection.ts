/**
 * One WebSocket connection as the transport tracks it, from the first byte to its close, and what
 * the two sides of the handshake hand back after each message.
 */
import type { WebSocket } from 'ws';
import type { Channel } from '../channel.ts';
import type { DirectoryIndex, ReplicaEntry } from '../directory.ts';
import type { EphemeralKeyPair, HandshakeKeys, Session } from '../handshake.ts';
import type { PeerId, RefusalReason, RejectReason } from '../transport.ts';

/** Inbound: a client dialled our listener. Outbound: we dialled a replica. */
export type Direction = 'inbound' | 'outbound';

/** The fresh values the server sends in its hello and needs again to check the client's proof. */
export interface ServerHelloSecrets {
  readonly nonce: Uint8Array;
  readonly ephemeral: EphemeralKeyPair;
}

export interface Connection {
  readonly socket: WebSocket;
  readonly direction: Direction;
  state: 'handshake' | 'open' | 'closed';
  /** Outbound: the replica we meant to dial. Inbound: set once the handshake proves who it is. */
  peer: PeerId | undefined;
  /** Inbound, until the client's proof: the fresh values this side sent in its hello. */
  hello: ServerHelloSecrets | undefined;
  /** Outbound, between the server's hello and its proof: what the server's signature must cover. */
  session: Session | undefined;
  /**
   * Authenticates every message once the handshake is done. Outbound it is derived at the
   * server's hello and used only after the server's proof verifies; inbound, once the client's does.
   */
  channel: Channel | undefined;
  handshakeTimer: NodeJS.Timeout | undefined;
  /** Bytes handed to the socket and not yet flushed. */
  bytesInFlight: number;
  /** When the socket last took bytes off `bytesInFlight` (or, if none yet, when they were first handed to it). */
  drainedAtMs: number;
  pongsMissed: number;
  /** Inbound, once open: the key the peer proved it holds, to close it if `setAgents` revokes that key. */
  peerKey: Uint8Array | undefined;
  /** Outbound: the replica id, to redial when this connection ends. */
  readonly replica: number | undefined;
  /** Inbound: gives back its source address's pending-handshake slot; called once it authenticates. */
  readonly releaseAddressSlot: () => void;
}

/** A connection a client opened to our listener; it starts with our hello. */
export function inboundConnection(
  socket: WebSocket,
  hello: ServerHelloSecrets,
  releaseAddressSlot: () => void,
): Connection {
  return {
    socket,
    direction: 'inbound',
    state: 'handshake',
    peer: undefined,
    hello,
    session: undefined,
    channel: undefined,
    handshakeTimer: undefined,
    bytesInFlight: 0,
    drainedAtMs: 0,
    pongsMissed: 0,
    peerKey: undefined,
    replica: undefined,
    releaseAddressSlot,
  };
}

/** A connection we dialled to `replica`; it starts by waiting for the replica's hello. */
export function outboundConnection(socket: WebSocket, replica: ReplicaEntry): Connection {
  return {
    socket,
    direction: 'outbound',
    state: 'handshake',
    peer: replica.peer,
    hello: undefined,
    session: undefined,
    channel: undefined,
    handshakeTimer: undefined,
    bytesInFlight: 0,
    drainedAtMs: 0,
    pongsMissed: 0,
    peerKey: undefined,
    replica: replica.id,
    releaseAddressSlot: () => {},
  };
}

/** What both sides of the handshake read: who we are, what we sign with, whom we accept. */
export interface HandshakeContext {
  readonly self: PeerId;
  readonly keys: HandshakeKeys;
  readonly index: DirectoryIndex;
}

/**
 * After one handshake message: wait for the next (`continue`), refuse the connection and count
 * why (`fail`), open it as the peer the handshake proved (`open`); the server refused an agent and
 * has sent it a signed refusal (`refuse`: close the connection saying why); or, on the client, the
 * replica refused us in a refusal it signed (`refused`: tell the host).
 */
export type HandshakeStep =
  | { readonly next: 'continue' }
  | { readonly next: 'fail'; readonly reason: RejectReason }
  | { readonly next: 'refuse' | 'refused'; readonly reason: RefusalReason }
  | { readonly next: 'open'; readonly peer: PeerId };

/**
 * ws buffers a whole message before handing it over, up to `maxPayload`, which is one setting for
 * the whole server. Until a peer has authenticated, we want far less: otherwise unauthenticated
 * memory could reach handshakesPendingMax × frameBytesMax. ws has no public per-socket setting, so
 * this adjusts its receiver's private limit when that exists as expected, and otherwise leaves the
 * server-wide bound (still a bound) in place.
 */
export function limitMessageBytes(socket: WebSocket, bytesMax: number): void {
  const receiver = (socket as unknown as { _receiver?: { _maxPayload?: unknown } })._receiver;
  if (receiver !== undefined && typeof receiver._maxPayload === 'number') receiver._maxPayload = bytesMax;
}
