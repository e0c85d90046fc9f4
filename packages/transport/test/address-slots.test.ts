/**
 * Pending-handshake slots per source address: a stranger on one address that opens socket after
 * socket and never authenticates keeps at most `handshakesPendingPerAddressMax` of them; the rest
 * are closed at once (`ADDRESS_BUSY`), and peers on other addresses are not touched. Real sockets:
 * the stranger dials from 127.0.0.2 (all of 127/8 is loopback on Linux), the agents from 127.0.0.1.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type Identity, TransportError, webSocketTransport } from '../src/index.ts';
import { AddressSlots } from '../src/websocket/address-slots.ts';
import { crypto, localhostTransports, testCluster, waitConnected, waitFor } from './support.ts';

const STRANGER_ADDRESS = '127.0.0.2';

interface Stranger {
  readonly socket: Socket;
  isClosed(): boolean;
}

/** A TCP connection from STRANGER_ADDRESS that sends nothing. */
function stranger(port: number): Stranger {
  let closed = false;
  const socket = connect({ host: '127.0.0.1', port, localAddress: STRANGER_ADDRESS });
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
  });
  return { socket, isClosed: () => closed };
}

/** Whether a stranger's socket is let in (still open 100 ms after connecting) before the deadline. */
async function admittedWithin(port: number, deadlineMs: number): Promise<boolean> {
  const started = performance.now();
  while (performance.now() - started < deadlineMs) {
    const attempt = stranger(port);
    await new Promise((settle) => setTimeout(settle, 100));
    const admitted = !attempt.isClosed();
    attempt.socket.destroy();
    if (admitted) return true;
  }
  return false;
}

const end = (remoteAddress: string, remotePort: number) => ({ remoteAddress, remotePort });

describe('AddressSlots', () => {
  it('gives an address at most its share, and a released slot back once', () => {
    const slots = new AddressSlots(2);
    const a = slots.take(end('10.0.0.1', 1));
    const b = slots.take(end('10.0.0.1', 2));
    expect(a).toBeDefined();
    expect(b).toBeDefined();
    expect(slots.take(end('10.0.0.1', 3))).toBeUndefined();
    expect(slots.take(end('10.0.0.2', 1))).toBeDefined();
    expect(slots.find(end('10.0.0.1', 2))).toBe(b);
    b?.release();
    b?.release();
    expect(slots.heldBy('10.0.0.1')).toBe(1);
    expect(slots.find(end('10.0.0.1', 2))).toBeUndefined();
    expect(slots.take(end('10.0.0.1', 4))).toBeDefined();
    expect(slots.take(end('10.0.0.1', 5))).toBeUndefined();
  });

  it('gives no slot to a socket already gone (no address)', () => {
    expect(new AddressSlots(1).take({ remoteAddress: undefined, remotePort: undefined })).toBeUndefined();
  });

  it('forgets an address that holds nothing', () => {
    const slots = new AddressSlots(1);
    slots.take(end('10.0.0.1', 1))?.release();
    expect(slots.addresses).toBe(0);
  });
});

describe('WebSocket transport: pending handshakes per address', () => {
  const cluster = testCluster(4);
  const { create, closeAll } = localhostTransports(cluster);
  afterEach(closeAll);

  it('closes a stranger’s sockets beyond its address’s share at once, and lets agents elsewhere in', async () => {
    const perAddress = 1;
    const replica = create(cluster.replicas[0] as Identity, {
      handshakesPendingMax: 8,
      handshakesPendingPerAddressMax: perAddress,
      // Far beyond the test: only the per-address bound closes the extra sockets.
      handshakeTimeoutMs: 60_000,
    });
    await replica.start();
    const port = replica.address()?.port as number;
    const flood = Array.from({ length: 10 }, () => stranger(port));
    await waitFor(
      'the extra sockets refused',
      () => replica.stats().rejected.ADDRESS_BUSY === 10 - perAddress,
    );
    await waitFor(
      'the refused sockets closed',
      () => flood.filter((s) => s.isClosed()).length === 10 - perAddress,
    );
    // The stranger's address held only its share, so no slot had to be taken from anyone.
    expect(replica.stats().rejected.HANDSHAKE_EVICTED).toBe(0);

    // Two agents and three replicas from 127.0.0.1: authenticated connections give their slot back,
    // so more peers than the share get in from one address.
    const peers = [...cluster.agents, ...cluster.replicas.slice(1)].map((identity) => create(identity));
    expect(peers.length).toBeGreaterThan(perAddress);
    await Promise.all(peers.map((peer) => peer.start()));
    await waitConnected(
      replica,
      peers.map((peer) => peer.self),
      3000,
    );

    // When the stranger's held sockets close, its address is let in again.
    for (const held of flood) held.socket.destroy();
    expect(await admittedWithin(port, 2000)).toBe(true);
  });

  it('refuses a per-address bound above the total bound', () => {
    expect(() =>
      webSocketTransport({
        identity: cluster.replicas[0] as Identity,
        directory: cluster.directory,
        crypto,
        handshakesPendingMax: 4,
        handshakesPendingPerAddressMax: 5,
      }),
    ).toThrow(TransportError);
  });
});
