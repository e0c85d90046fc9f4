/**
 * The WebSocket transport's options, their defaults, and the checks that refuse a configuration
 * that could never work — at creation, before any socket exists, so a mistake is reported once
 * instead of as a reconnect loop.
 */
import { CHANNEL_TAG_BYTES } from '../channel.ts';
import { checkCrypto, type TransportCrypto } from '../crypto.ts';
import {
  checkFrameLimits,
  checkIdentity,
  checkPositive,
  type DirectoryIndex,
  indexDirectory,
  type ReplicaEntry,
} from '../directory.ts';
import type { HandshakeKeys } from '../handshake.ts';
import {
  type Directory,
  type FrameLimits,
  frameLimitsOf,
  type Identity,
  type PeerId,
  TransportError,
} from '../transport.ts';

/** TLS material: PEM strings or buffers, as `node:tls` takes them. */
export interface TlsOptions {
  /** This replica's certificate chain. Required for replicas (they listen). */
  readonly cert?: string | Buffer;
  /** This replica's private key. Required for replicas. */
  readonly key?: string | Buffer;
  /** Certificates to trust when dialling; default: Node's built-in CA list. */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
}

export interface WebSocketTransportOptions extends Partial<FrameLimits> {
  readonly identity: Identity;
  readonly directory: Directory;
  /**
   * Signs and verifies handshakes, and checks `identity` against the directory. Required: pass the
   * backend the process signs with (core's `CryptoBackend` fits); there is no default.
   */
  readonly crypto: TransportCrypto;
  /** Connections at most, authenticated or not, inbound and outbound. Default 1024. */
  readonly connectionsMax?: number;
  /** Inbound connections that have not finished the handshake, at most. Default 64. */
  readonly handshakesPendingMax?: number;
  /**
   * Of those, what one source address may hold (from its TCP connect until it authenticates);
   * beyond it a connection is closed at once (`ADDRESS_BUSY`). At most `handshakesPendingMax`.
   * Default 32.
   */
  readonly handshakesPendingPerAddressMax?: number;
  /** A connection that has not finished the handshake by then is closed (also HTTP header and TLS time). Default 2000. */
  readonly handshakeTimeoutMs?: number;
  /** Ping every open connection this often; a peer that misses pongs for two intervals is closed. Default 5000. */
  readonly pingIntervalMs?: number;
  /** Redial backoff: full jitter over `initialMs · 2^attempt`, capped at `maxMs`. Default 100 / 5000. */
  readonly reconnect?: { readonly initialMs?: number; readonly maxMs?: number };
  /**
   * Frames are handed to a connection's socket while fewer than this many bytes sit there unflushed
   * (so at most this plus one frame); the rest wait in the peer's send queue. Default 1 MiB.
   */
  readonly socketBufferBytesMax?: number;
  /**
   * An agent's connection whose socket holds bytes it has not drained for this long is closed
   * (`SLOW_READER`); checked at each ping, so within `slowReaderMs + pingIntervalMs`. Default 5000.
   */
  readonly slowReaderMs?: number;
  /**
   * Told once for each agent connection closed as a slow reader (the host logs it; the count is
   * `stats().rejected.SLOW_READER`). Must not throw.
   */
  readonly onSlowReader?: (peer: PeerId) => void;
  /** When set, replicas listen with HTTPS (wss) and everyone dials wss, verifying with `ca`. */
  readonly tls?: TlsOptions;
  /** Interface to listen on. Default: this replica's `host` in the directory. */
  readonly listenHost?: string;
  /** Port to listen on; 0 lets the OS choose (see `address()`). Default: this replica's `port` in the directory. */
  readonly listenPort?: number;
  /**
   * Where to dial a replica; read at every dial. Default: its `host` and `port` in the directory.
   * For hosts whose replicas listen on OS-chosen ports (tests); `undefined` counts as a failed dial.
   */
  readonly addressOf?: (replica: number) => { readonly host: string; readonly port: number } | undefined;
  /** Jitter source in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
}

/** Defaults of the WebSocket-only limits (frame limits: `FRAME_LIMITS_DEFAULT`). */
export const WEBSOCKET_DEFAULTS = Object.freeze({
  connectionsMax: 1024,
  handshakesPendingMax: 64,
  // Half the slots: one address's stranger leaves the other half free without any eviction, and
  // up to 32 agents on one host (the bench's 16 plus replicas) may be mid-handshake at once.
  handshakesPendingPerAddressMax: 32,
  handshakeTimeoutMs: 2000,
  pingIntervalMs: 5000,
  reconnectInitialMs: 100,
  reconnectMaxMs: 5000,
  socketBufferBytesMax: 1024 * 1024,
  slowReaderMs: 5000,
});

/** A host and port to listen on or dial. */
export interface Address {
  readonly host: string;
  readonly port: number;
}

/** The socket-level bounds, every one a positive integer. */
export interface SocketBounds {
  readonly connectionsMax: number;
  readonly handshakesPendingMax: number;
  readonly handshakesPendingPerAddressMax: number;
  readonly handshakeTimeoutMs: number;
  readonly pingIntervalMs: number;
  readonly reconnectInitialMs: number;
  readonly reconnectMaxMs: number;
  readonly socketBufferBytesMax: number;
  readonly slowReaderMs: number;
}

/** The options with every default applied and every check passed: what the parts of the transport read. */
export interface WebSocketSettings extends SocketBounds {
  readonly self: PeerId;
  readonly crypto: TransportCrypto;
  /** What this side signs its handshake proofs with. */
  readonly keys: HandshakeKeys;
  readonly index: DirectoryIndex;
  /** This replica's directory entry; `undefined` for an agent, which never listens. */
  readonly selfEntry: ReplicaEntry | undefined;
  readonly limits: FrameLimits;
  /** A frame plus its channel tag: what ws must accept as one message. */
  readonly messageBytesMax: number;
  readonly tls: TlsOptions | undefined;
  /** Jitter source in [0, 1). */
  readonly random: () => number;
  readonly onSlowReader: (peer: PeerId) => void;
  /** Where to listen, read from the options when the listener starts. */
  listenAddress(entry: ReplicaEntry): Address;
  /** Where to dial `replica` now (`addressOf` is asked at every dial); `undefined` counts as a failed dial. */
  dialAddress(replica: ReplicaEntry): Address | undefined;
}

/**
 * Applies the defaults and checks the options, in this order: `crypto`, the frame limits, the
 * socket bounds, the directory, the identity, TLS. Throws `TransportError` (`INVALID_OPTIONS`,
 * `INVALID_DIRECTORY`, `INVALID_IDENTITY`) at the first problem.
 */
export function resolveOptions(options: WebSocketTransportOptions): WebSocketSettings {
  const crypto = options.crypto;
  checkCrypto(crypto);
  const limits = frameLimitsOf(options);
  checkFrameLimits(limits);
  const bounds = resolveSocketBounds(options);
  const random = options.random ?? Math.random;

  const index = indexDirectory(options.directory);
  checkIdentity(options.identity, index, crypto);
  const self = options.identity.peer;
  const selfEntry = index.replicas.find((replica) => replica.peer === self);
  const tls = options.tls;
  if (selfEntry !== undefined && tls !== undefined && (tls.cert === undefined || tls.key === undefined))
    throw new TransportError(
      'INVALID_OPTIONS',
      `${self}: tls needs cert and key on a replica, which listens`,
    );
  return {
    ...bounds,
    self,
    crypto,
    keys: { crypto, secretKey: options.identity.secretKey },
    index,
    selfEntry,
    limits,
    messageBytesMax: limits.frameBytesMax + CHANNEL_TAG_BYTES,
    tls,
    random,
    onSlowReader: options.onSlowReader ?? (() => {}),
    listenAddress: (entry) => ({
      host: options.listenHost ?? entry.host,
      port: options.listenPort ?? entry.port,
    }),
    dialAddress: (replica) =>
      options.addressOf ? options.addressOf(replica.id) : { host: replica.host, port: replica.port },
  };
}

/**
 * Checks connection and frame limits on their own, as a configuration file gives them (no
 * identity, directory or crypto): the same checks, in the same order, as `webSocketTransport`.
 * Throws `TransportError` (`INVALID_OPTIONS`) naming the first limit that could never work.
 */
export function checkConnectionLimits(limits: Partial<FrameLimits> & SocketOptions): void {
  checkFrameLimits(frameLimitsOf(limits));
  resolveSocketBounds(limits);
}

/** The options that set socket-level bounds: all but who this side is and the frame limits. */
type SocketOptions = Omit<WebSocketTransportOptions, 'identity' | 'directory' | 'crypto' | keyof FrameLimits>;

function resolveSocketBounds(options: SocketOptions): SocketBounds {
  const bounds: SocketBounds = {
    connectionsMax: options.connectionsMax ?? WEBSOCKET_DEFAULTS.connectionsMax,
    handshakesPendingMax: options.handshakesPendingMax ?? WEBSOCKET_DEFAULTS.handshakesPendingMax,
    handshakesPendingPerAddressMax:
      options.handshakesPendingPerAddressMax ??
      Math.min(WEBSOCKET_DEFAULTS.handshakesPendingPerAddressMax, options.handshakesPendingMax ?? Infinity),
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? WEBSOCKET_DEFAULTS.handshakeTimeoutMs,
    pingIntervalMs: options.pingIntervalMs ?? WEBSOCKET_DEFAULTS.pingIntervalMs,
    reconnectInitialMs: options.reconnect?.initialMs ?? WEBSOCKET_DEFAULTS.reconnectInitialMs,
    reconnectMaxMs: options.reconnect?.maxMs ?? WEBSOCKET_DEFAULTS.reconnectMaxMs,
    socketBufferBytesMax: options.socketBufferBytesMax ?? WEBSOCKET_DEFAULTS.socketBufferBytesMax,
    slowReaderMs: options.slowReaderMs ?? WEBSOCKET_DEFAULTS.slowReaderMs,
  };
  checkPositive('connectionsMax', bounds.connectionsMax);
  checkPositive('handshakesPendingMax', bounds.handshakesPendingMax);
  checkPositive('handshakesPendingPerAddressMax', bounds.handshakesPendingPerAddressMax);
  if (bounds.handshakesPendingPerAddressMax > bounds.handshakesPendingMax)
    throw new TransportError(
      'INVALID_OPTIONS',
      'handshakesPendingPerAddressMax must not exceed handshakesPendingMax',
    );
  checkPositive('handshakeTimeoutMs', bounds.handshakeTimeoutMs);
  checkPositive('pingIntervalMs', bounds.pingIntervalMs);
  checkPositive('reconnect.initialMs', bounds.reconnectInitialMs);
  checkPositive('reconnect.maxMs', bounds.reconnectMaxMs);
  checkPositive('socketBufferBytesMax', bounds.socketBufferBytesMax);
  checkPositive('slowReaderMs', bounds.slowReaderMs);
  if (options.onSlowReader !== undefined && typeof options.onSlowReader !== 'function')
    throw new TransportError('INVALID_OPTIONS', 'onSlowReader must be a function');
  if (bounds.reconnectInitialMs > bounds.reconnectMaxMs)
    throw new TransportError('INVALID_OPTIONS', 'reconnect.initialMs must not exceed reconnect.maxMs');
  return bounds;
}
