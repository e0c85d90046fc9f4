/**
 * The in-memory transport: every transport made by one `memoryNetwork()` hub lives in this
 * process, and frames are copied between them asynchronously (one `setImmediate` turn), FIFO per
 * ordered pair of peers.
 *
 * It keeps the WebSocket transport's promises so code tested against it behaves the same on the
 * wire: `from` is a peer whose key matches the directory (a transport whose secret key does not is
 * refused at creation) and every frame is authenticated by construction (`channelAuthenticated`),
 * agents reach only replicas, queues and frames are bounded, and everything refused is counted. The hub adds test hooks: cut and heal links, and make a peer stop reading.
 *
 * The parts, in `memory/`: `hub.ts` — live transports, links, delivery and the test hooks;
 * `endpoint.ts` — one transport, its side of the links and the `Transport` port.
 */
import { checkCrypto, type TransportCrypto } from './crypto.ts';
import { checkFrameLimits, checkIdentity, indexDirectory } from './directory.ts';
import { MemoryEndpoint } from './memory/endpoint.ts';
import { MemoryHub } from './memory/hub.ts';
import {
  type Directory,
  type FrameLimits,
  frameLimitsOf,
  type Identity,
  type LiveDirectoryTransport,
  type PeerId,
} from './transport.ts';

/** Options of one in-memory transport; every limit defaults to {@link FRAME_LIMITS_DEFAULT}. */
export type MemoryTransportOptions = Partial<FrameLimits>;

/** Options of a {@link memoryNetwork} hub, shared by every transport it makes. */
export interface MemoryNetworkOptions {
  /**
   * Checks each transport's identity (its secret key against the directory's public key).
   * Required: pass the backend the process signs with (core's `CryptoBackend` fits); there is no
   * default.
   */
  readonly crypto: TransportCrypto;
}

/** A hub connecting in-memory transports, with hooks for tests. */
export interface MemoryNetwork {
  /**
   * A transport for `identity`, which must be in `directory` with a matching key (else
   * `TransportError` `INVALID_IDENTITY`). Two peers are linked while both are started, neither
   * is closed, each one's directory lists the other with the key it really has, at least one is a
   * replica, and no partition separates them. Starting a second live transport for the same peer
   * fails with `ADDRESS_IN_USE`, like a second replica on a port.
   */
  transport(
    identity: Identity,
    directory: Directory,
    options?: MemoryTransportOptions,
  ): LiveDirectoryTransport;
  /** Cuts the link between `a` and `b` (both ways): frames queued on it are dropped and counted. */
  partition(a: PeerId, b: PeerId): void;
  /** Restores every link cut by `partition`. */
  heal(): void;
  /** Makes `peer` stop reading: frames to it wait in their senders' queues (which stay bounded). */
  pause(peer: PeerId): void;
  /** Makes `peer` read again; waiting frames are delivered in order. */
  resume(peer: PeerId): void;
}

/**
 * Creates an in-memory network hub. Throws `TransportError` `INVALID_OPTIONS` without
 * `options.crypto`.
 */
export function memoryNetwork(options: MemoryNetworkOptions): MemoryNetwork {
  const crypto = options?.crypto;
  checkCrypto(crypto);
  const hub = new MemoryHub();
  return {
    transport: (identity, directory, transportOptions = {}) =>
      memoryTransport(hub, crypto, identity, directory, transportOptions),
    partition: (a, b) => hub.partition(a, b),
    heal: () => hub.heal(),
    pause: (peer) => hub.pause(peer),
    resume: (peer) => hub.resume(peer),
  };
}

/** Checks the limits and the identity (see `MemoryNetwork.transport`), then makes the transport. */
function memoryTransport(
  hub: MemoryHub,
  crypto: TransportCrypto,
  identity: Identity,
  directory: Directory,
  options: MemoryTransportOptions,
): LiveDirectoryTransport {
  const limits = frameLimitsOf(options);
  checkFrameLimits(limits);
  const index = indexDirectory(directory);
  checkIdentity(identity, index, crypto);
  const endpoint = new MemoryEndpoint(hub, identity.peer, index, limits);
  return {
    self: identity.peer,
    // Frames move between objects in this process: nothing on the way can forge or replay one.
    channelAuthenticated: true,
    start: () => endpoint.start(),
    send: (to, frame) => endpoint.send(to, frame),
    onFrame: (handler) => endpoint.onFrame(handler),
    onPeer: (handler) => endpoint.onPeer(handler),
    setAgents: (agents, retired) => endpoint.setAgents(agents, retired),
    onRefused: (handler) => endpoint.onRefused(handler),
    connected: () => endpoint.connected(),
    stats: () => endpoint.stats(),
    close: () => endpoint.close(),
  };
}
