/**
 * The hub of an in-memory network: which transports are live, which pairs of them are linked,
 * and the delivery of queued frames one `setImmediate` turn later, FIFO per link. It also keeps
 * the test hooks' state: cut pairs (`partition`) and peers that stopped reading (`pause`).
 */
import { bytesEqual } from '../crypto.ts';
import { admit, type DirectoryIndex } from '../directory.ts';
import type { PeerId, RefusalReason, RejectReason } from '../transport.ts';

/** The frames one member has queued for one peer, in order. */
export interface Link {
  readonly frames: Uint8Array[];
  bytes: number;
  deliveryScheduled: boolean;
}

/** One transport as the hub sees it: its identity, its links, and what the hub tells it. */
export interface HubMember {
  readonly self: PeerId;
  readonly publicKey: Uint8Array;
  readonly index: DirectoryIndex;
  readonly isReplica: boolean;
  readonly closed: boolean;
  /** Peers linked now, as this member last saw them. */
  readonly linked: Set<PeerId>;
  /** Peers ever linked, so a link that comes back counts as a reconnect. */
  readonly linkedBefore: Set<PeerId>;
  /** Outgoing links by destination. */
  readonly links: Map<PeerId, Link>;
  /** Replicas refusing this member (an agent) now, and why, so each refusal is told once. */
  readonly refusedBy: Map<PeerId, RefusalReason>;
  receive(from: PeerId, frame: Uint8Array): void;
  peerChanged(peer: PeerId, up: boolean): void;
  dropped(reason: RejectReason, frames: number): void;
  delivered(bytes: number): void;
  reconnected(): void;
  /** A replica refuses this member (an agent): told once per refusal, like a refused handshake. */
  refused(peer: PeerId, reason: RefusalReason): void;
}

export class MemoryHub {
  /** The started, unclosed member of each peer. */
  readonly #members = new Map<PeerId, HubMember>();
  /** Cut pairs, by `pairKey`. */
  readonly #partitions = new Set<string>();
  /** Peers that stopped reading: frames to them wait in their senders' links. */
  readonly #paused = new Set<PeerId>();

  /** The member started for `peer`, if any. */
  member(peer: PeerId): HubMember | undefined {
    return this.#members.get(peer);
  }

  /** Makes a started member the live one for its peer, and links it. */
  join(member: HubMember): void {
    this.#members.set(member.self, member);
    this.#refresh();
  }

  /** Unlinks a member that closed, if it is the live one for its peer. */
  leave(member: HubMember): void {
    if (this.#members.get(member.self) !== member) return;
    this.#members.delete(member.self);
    this.#refresh();
  }

  partition(a: PeerId, b: PeerId): void {
    this.#partitions.add(pairKey(a, b));
    this.#refresh();
  }

  heal(): void {
    this.#partitions.clear();
    this.#refresh();
  }

  /** A member's directory changed (`setAgents`): links it no longer allows go, new ones come up. */
  directoryChanged(): void {
    this.#refresh();
  }

  pause(peer: PeerId): void {
    this.#paused.add(peer);
  }

  resume(peer: PeerId): void {
    this.#paused.delete(peer);
    for (const member of this.#members.values()) {
      const link = member.links.get(peer);
      if (link !== undefined) this.scheduleDelivery(member, peer, link);
    }
  }

  /** Delivers `link`'s frames on a later turn, unless `to` is paused or the link is cut meanwhile. */
  scheduleDelivery(from: HubMember, to: PeerId, link: Link): void {
    if (link.deliveryScheduled || this.#paused.has(to) || link.frames.length === 0) return;
    link.deliveryScheduled = true;
    setImmediate(() => {
      link.deliveryScheduled = false;
      while (link.frames.length > 0 && !this.#paused.has(to) && from.links.get(to) === link) {
        const target = this.#members.get(to);
        if (target === undefined || !from.linked.has(to)) return;
        const frame = link.frames.shift() as Uint8Array;
        link.bytes -= frame.byteLength;
        from.delivered(frame.byteLength);
        target.receive(from.self, frame);
      }
    });
  }

  // Recomputes every member's links after anything that can change them, and tells each side.
  #refresh(): void {
    for (const member of this.#members.values()) {
      for (const peer of [...member.linked]) {
        const other = this.#members.get(peer);
        if (other !== undefined && this.#canLink(member, other)) continue;
        member.linked.delete(peer);
        dropLink(member, peer);
        member.peerChanged(peer, false);
      }
      for (const other of this.#members.values()) {
        if (member.linked.has(other.self) || !this.#canLink(member, other)) continue;
        member.linked.add(other.self);
        if (member.linkedBefore.has(other.self)) member.reconnected();
        member.linkedBefore.add(other.self);
        member.peerChanged(other.self, true);
      }
    }
    for (const member of this.#members.values()) if (!member.isReplica) this.#tellRefusals(member);
  }

  /**
   * Tells `agent` each replica that refuses it now for a reason it should know, once per change:
   * as a WebSocket replica answers a refused handshake. Both sides count it. A cut link tells nothing.
   */
  #tellRefusals(agent: HubMember): void {
    for (const replica of this.#members.values()) {
      if (!replica.isReplica || this.#partitions.has(pairKey(agent.self, replica.self))) continue;
      const reason = refusalOf(replica, agent);
      if (reason === agent.refusedBy.get(replica.self)) continue;
      if (reason === undefined) {
        agent.refusedBy.delete(replica.self);
        continue;
      }
      agent.refusedBy.set(replica.self, reason);
      replica.dropped(reason, 1);
      agent.refused(replica.self, reason);
    }
  }

  /** Two members link when one is a replica, no partition cuts them, and each one's directory holds the other's key. */
  #canLink(a: HubMember, b: HubMember): boolean {
    return (
      a !== b &&
      (a.isReplica || b.isReplica) &&
      !this.#partitions.has(pairKey(a.self, b.self)) &&
      accepts(a, b) &&
      accepts(b, a)
    );
  }
}

const pairKey = (a: PeerId, b: PeerId) => (a < b ? `${a}\n${b}` : `${b}\n${a}`);

/** Whether `a`'s directory lists `b` with the key `b` really has (decided as a handshake is). */
function accepts(a: HubMember, b: HubMember): boolean {
  return admission(a, b).ok;
}

function admission(a: HubMember, b: HubMember) {
  return admit(a.index, b.self, (publicKey) => bytesEqual(publicKey, b.publicKey));
}

/** Why `replica` refuses `agent`, when it is for a reason the agent should be told. */
function refusalOf(replica: HubMember, agent: HubMember): RefusalReason | undefined {
  const decided = admission(replica, agent);
  if (decided.ok) return undefined;
  return decided.reason === 'UNKNOWN_AGENT' || decided.reason === 'REVOKED_KEY' ? decided.reason : undefined;
}

/** Drops `member`'s link to `to`, counting the frames still queued on it as `DISCONNECTED`. */
function dropLink(member: HubMember, to: PeerId): void {
  const link = member.links.get(to);
  if (link === undefined) return;
  member.links.delete(to);
  if (link.frames.length > 0) member.dropped('DISCONNECTED', link.frames.length);
  link.frames.length = 0;
  link.bytes = 0;
}
