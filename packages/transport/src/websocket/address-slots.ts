/**
 * Pending-handshake slots per remote address. Every inbound TCP connection takes a slot of its
 * source address from its first byte until it authenticates or closes; an address that already
 * holds `perAddressMax` is refused at once, before HTTP, TLS or the WebSocket upgrade cost
 * anything. So one host without a key keeps at most that many of the listener's
 * `handshakesPendingMax` slots, and the handshakes it opens again and again are refused for the
 * price of an accept and a close instead of an upgrade, a hello and an eviction each.
 *
 * Peers that share an address (behind one NAT, or on one machine) share its slots: a stranger
 * there competes with them, not with everyone.
 */

/** Where a socket comes from, as `net.Socket` (and `tls.TLSSocket`) tell it; undefined once it is gone. */
export interface RemoteEnd {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
}

/** One connection's slot; `release` is idempotent (authentication and close both call it). */
export interface AddressSlot {
  readonly address: string;
  release(): void;
}

export class AddressSlots {
  readonly #perAddressMax: number;
  /** Slots held per address; an address is forgotten when it holds none, so this is bounded by the sockets open. */
  readonly #held = new Map<string, number>();
  /** Slots by connection (`address|port`), to find one from the socket the upgrade arrives on. */
  readonly #byConnection = new Map<string, AddressSlot>();

  constructor(perAddressMax: number) {
    this.#perAddressMax = perAddressMax;
  }

  /**
   * Takes a slot for a socket just accepted; undefined when its address holds every one it may,
   * or the socket is already gone (no address).
   */
  take({ remoteAddress: address, remotePort: port }: RemoteEnd): AddressSlot | undefined {
    if (address === undefined || port === undefined) return undefined;
    const held = this.#held.get(address) ?? 0;
    if (held >= this.#perAddressMax) return undefined;
    this.#held.set(address, held + 1);
    const connectionKey = `${address}|${port}`;
    let released = false;
    const slot: AddressSlot = {
      address,
      release: () => {
        if (released) return;
        released = true;
        this.#byConnection.delete(connectionKey);
        const left = (this.#held.get(address) ?? 1) - 1;
        if (left <= 0) this.#held.delete(address);
        else this.#held.set(address, left);
      },
    };
    this.#byConnection.set(connectionKey, slot);
    return slot;
  }

  /** The slot of the connection from this socket's address and port, if it still holds one. */
  find({ remoteAddress, remotePort }: RemoteEnd): AddressSlot | undefined {
    return this.#byConnection.get(`${remoteAddress}|${remotePort}`);
  }

  /** Slots held by `address` now. */
  heldBy(address: string): number {
    return this.#held.get(address) ?? 0;
  }

  /** Addresses holding at least one slot. */
  get addresses(): number {
    return this.#held.size;
  }
}
