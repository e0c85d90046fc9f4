/**
 * The in-memory transport: every transport made by one `memoryNetwork()` hub lives in this
 * process, and frames are copied between them asynchronously (one `setImmediate` turn), FIFO per
 * ordered pair of peers.
 *
 * It keeps the WebSocket transport's promises so code tested against it behaves the same on the
 * wire: `from` is a peer whose key matches the directory (a transport whose secret key does not is
 * refused at creation) and every frame is authenticated by construction (`channelAuthenticated`),
 * agents reach only replicas, queues and frames are bounded, and everything refused is counted. The hub adds test hooks: cut and heal links, and make a peer stop reading.
 */
import { bytesEqual, checkCrypto, type TransportCrypto } from './crypto.ts';
import {
  checkFrameLimits,
  checkIdentity,
  type DirectoryIndex,
  indexDirectory,
  zeroRejections,
} from './directory.ts';
import {
  type Directory,
  FRAME_LIMITS_DEFAULT,
  type FrameLimits,
  type Identity,
  type PeerId,
  type PeerQueueStats,
  type RejectReason,
  type SendResult,
  type Transport,
  TransportError,
  type TransportStats,
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
  transport(identity: Identity, directory: Directory, options?: MemoryTransportOptions): Transport;
  /** Cuts the link between `a` and `b` (both ways): frames queued on it are dropped and counted. */
  partition(a: PeerId, b: PeerId): void;
  /** Restores every link cut by `partition`. */
  heal(): void;
  /** Makes `peer` stop reading: frames to it wait in their senders' queues (which stay bounded). */
  pause(peer: PeerId): void;
  /** Makes `peer` read again; waiting frames are delivered in order. */
  resume(peer: PeerId): void;
}

interface Link {
  readonly frames: Uint8Array[];
  bytes: number;
  deliveryScheduled: boolean;
}

interface Member {
  readonly self: PeerId;
  readonly publicKey: Uint8Array;
  readonly index: DirectoryIndex;
  readonly isReplica: boolean;
  closed: boolean;
  /** Peers linked now, as this member last saw them. */
  readonly linked: Set<PeerId>;
  /** Peers ever linked, so a link that comes back counts as a reconnect. */
  readonly linkedBefore: Set<PeerId>;
  /** Outgoing links by destination. */
  readonly links: Map<PeerId, Link>;
  receive(from: PeerId, frame: Uint8Array): void;
  peerChanged(peer: PeerId, up: boolean): void;
  dropped(reason: RejectReason, frames: number): void;
  delivered(bytes: number): void;
  reconnected(): void;
}

/**
 * Creates an in-memory network hub. Throws `TransportError` `INVALID_OPTIONS` without
 * `options.crypto`.
 */
export function memoryNetwork(options: MemoryNetworkOptions): MemoryNetwork {
  const crypto = options?.crypto;
  checkCrypto(crypto);
  const members = new Map<PeerId, Member>();
  const partitions = new Set<string>();
  const paused = new Set<PeerId>();

  const pairKey = (a: PeerId, b: PeerId) => (a < b ? `${a}\n${b}` : `${b}\n${a}`);
  const accepts = (a: Member, b: Member) => {
    const key = a.index.publicKeyOf(b.self);
    return key !== undefined && bytesEqual(key, b.publicKey);
  };
  const canLink = (a: Member, b: Member) =>
    a !== b &&
    (a.isReplica || b.isReplica) &&
    !partitions.has(pairKey(a.self, b.self)) &&
    accepts(a, b) &&
    accepts(b, a);

  function dropLink(member: Member, to: PeerId): void {
    const link = member.links.get(to);
    if (link === undefined) return;
    member.links.delete(to);
    if (link.frames.length > 0) member.dropped('DISCONNECTED', link.frames.length);
    link.frames.length = 0;
    link.bytes = 0;
  }

  // Recomputes every member's links after anything that can change them, and tells each side.
  function refresh(): void {
    for (const member of members.values()) {
      for (const peer of [...member.linked]) {
        const other = members.get(peer);
        if (other !== undefined && canLink(member, other)) continue;
        member.linked.delete(peer);
        dropLink(member, peer);
        member.peerChanged(peer, false);
      }
      for (const other of members.values()) {
        if (member.linked.has(other.self) || !canLink(member, other)) continue;
        member.linked.add(other.self);
        if (member.linkedBefore.has(other.self)) member.reconnected();
        member.linkedBefore.add(other.self);
        member.peerChanged(other.self, true);
      }
    }
  }

  function scheduleDelivery(from: Member, to: PeerId, link: Link): void {
    if (link.deliveryScheduled || paused.has(to) || link.frames.length === 0) return;
    link.deliveryScheduled = true;
    setImmediate(() => {
      link.deliveryScheduled = false;
      while (link.frames.length > 0 && !paused.has(to) && from.links.get(to) === link) {
        const target = members.get(to);
        if (target === undefined || !from.linked.has(to)) return;
        const frame = link.frames.shift() as Uint8Array;
        link.bytes -= frame.byteLength;
        from.delivered(frame.byteLength);
        target.receive(from.self, frame);
      }
    });
  }

  function transport(
    identity: Identity,
    directory: Directory,
    options: MemoryTransportOptions = {},
  ): Transport {
    const limits: FrameLimits = {
      frameBytesMax: options.frameBytesMax ?? FRAME_LIMITS_DEFAULT.frameBytesMax,
      sendQueueFramesMax: options.sendQueueFramesMax ?? FRAME_LIMITS_DEFAULT.sendQueueFramesMax,
      sendQueueBytesMax: options.sendQueueBytesMax ?? FRAME_LIMITS_DEFAULT.sendQueueBytesMax,
    };
    checkFrameLimits(limits);
    const index = indexDirectory(directory);
    checkIdentity(identity, index, crypto);
    const self = identity.peer;

    const frameHandlers: ((from: PeerId, frame: Uint8Array) => void)[] = [];
    const peerHandlers: ((peer: PeerId, up: boolean) => void)[] = [];
    const rejected = zeroRejections();
    const counters = { framesIn: 0, framesOut: 0, bytesIn: 0, bytesOut: 0, reconnects: 0 };
    let started = false;
    let closePromise: Promise<void> | undefined;

    const member: Member = {
      self,
      publicKey: index.publicKeyOf(self) as Uint8Array,
      index,
      isReplica: index.isReplica(self),
      closed: false,
      linked: new Set(),
      linkedBefore: new Set(),
      links: new Map(),
      receive(from, frame) {
        if (member.closed) return;
        if (frame.byteLength > limits.frameBytesMax) {
          rejected.TOO_LARGE++;
          return;
        }
        counters.framesIn++;
        counters.bytesIn += frame.byteLength;
        for (const handler of frameHandlers) handler(from, frame);
      },
      peerChanged(peer, up) {
        // Told on a later turn, like a socket event, and never once closed.
        setImmediate(() => {
          if (member.closed) return;
          for (const handler of peerHandlers) handler(peer, up);
        });
      },
      dropped(reason, frames) {
        rejected[reason] += frames;
      },
      delivered(bytes) {
        counters.framesOut++;
        counters.bytesOut += bytes;
      },
      reconnected() {
        counters.reconnects++;
      },
    };

    return {
      self,
      // Frames move between objects in this process: nothing on the way can forge or replay one.
      channelAuthenticated: true,
      start() {
        if (member.closed)
          return Promise.reject(new TransportError('CLOSED', `${self}: transport is closed`));
        if (started) return Promise.resolve();
        const live = members.get(self);
        if (live !== undefined && !live.closed) {
          return Promise.reject(
            new TransportError('ADDRESS_IN_USE', `${self} is already started on this memory network`),
          );
        }
        started = true;
        members.set(self, member);
        refresh();
        return Promise.resolve();
      },
      send(to, frame): SendResult {
        if (member.closed) return 'closed';
        if (!(frame instanceof Uint8Array) || frame.byteLength > limits.frameBytesMax) {
          rejected.SEND_TOO_LARGE++;
          return 'too-large';
        }
        if (!member.linked.has(to)) {
          rejected.NOT_CONNECTED++;
          return 'not-connected';
        }
        let link = member.links.get(to);
        if (link === undefined) {
          link = { frames: [], bytes: 0, deliveryScheduled: false };
          member.links.set(to, link);
        }
        if (
          link.frames.length >= limits.sendQueueFramesMax ||
          link.bytes + frame.byteLength > limits.sendQueueBytesMax
        ) {
          rejected.QUEUE_FULL++;
          return 'queue-full';
        }
        // A copy, as a network would make: the receiver must not see later changes by the sender.
        link.frames.push(frame.slice());
        link.bytes += frame.byteLength;
        scheduleDelivery(member, to, link);
        return 'queued';
      },
      onFrame(handler) {
        frameHandlers.push(handler);
      },
      onPeer(handler) {
        peerHandlers.push(handler);
      },
      connected: () => (member.closed ? [] : [...member.linked]),
      stats(): TransportStats {
        const queues: Record<PeerId, PeerQueueStats> = {};
        for (const peer of member.linked) {
          const link = member.links.get(peer);
          queues[peer] = {
            framesQueued: link?.frames.length ?? 0,
            bytesQueued: link?.bytes ?? 0,
            bytesInFlight: 0,
          };
        }
        return {
          ...counters,
          rejected: { ...rejected },
          queues,
          connections: member.closed ? 0 : member.linked.size,
          handshakesPending: 0,
        };
      },
      close() {
        if (closePromise !== undefined) return closePromise;
        member.closed = true;
        if (members.get(self) === member) {
          members.delete(self);
          refresh();
        }
        member.linked.clear();
        for (const link of member.links.values()) link.frames.length = 0;
        member.links.clear();
        closePromise = Promise.resolve();
        return closePromise;
      },
    };
  }

  return {
    transport,
    partition(a, b) {
      partitions.add(pairKey(a, b));
      refresh();
    },
    heal() {
      partitions.clear();
      refresh();
    },
    pause(peer) {
      paused.add(peer);
    },
    resume(peer) {
      paused.delete(peer);
      for (const member of members.values()) {
        const link = member.links.get(peer);
        if (link !== undefined) scheduleDelivery(member, peer, link);
      }
    },
  };
}
