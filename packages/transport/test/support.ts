/** Fixtures and bounded waiting for the transport tests. */
import { nodeCrypto } from '@conclave/core';
import { Packr } from 'msgpackr';
import {
  agentPeer,
  type Directory,
  type Identity,
  type PeerId,
  replicaPeer,
  type Transport,
  type WebSocketTransport,
  type WebSocketTransportOptions,
  webSocketTransport,
} from '../src/index.ts';

/** The crypto backend every test transport is given (transport has no default of its own). */
export const crypto = nodeCrypto();

export interface TestKey {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/** Deterministic keys: each test identity comes from its own fixed seed. */
export function testKey(seedByte: number): TestKey {
  return crypto.keyPairFromSeed(new Uint8Array(32).fill(seedByte));
}

export interface TestCluster {
  readonly directory: Directory;
  /** Index = replica id. */
  readonly replicas: readonly Identity[];
  /** alice, then bob. */
  readonly agents: readonly Identity[];
  /** An agent nobody registered: `agent:mallory`, with her own key. */
  readonly outsider: Identity & { readonly publicKey: Uint8Array };
}

export function testCluster(replicaCount = 4): TestCluster {
  const replicaKeys = Array.from({ length: replicaCount }, (_, id) => testKey(id + 1));
  const agentNames = ['alice', 'bob'];
  const agentKeys = agentNames.map((_, index) => testKey(100 + index));
  const mallory = testKey(200);
  return {
    directory: {
      replicas: replicaKeys.map((key, id) => ({ id, publicKey: key.publicKey, host: '127.0.0.1', port: 0 })),
      agents: agentNames.map((id, index) => ({ id, publicKey: (agentKeys[index] as TestKey).publicKey })),
    },
    replicas: replicaKeys.map((key, id) => ({ peer: replicaPeer(id), secretKey: key.secretKey })),
    agents: agentNames.map((id, index) => ({
      peer: agentPeer(id),
      secretKey: (agentKeys[index] as TestKey).secretKey,
    })),
    outsider: { peer: agentPeer('mallory'), secretKey: mallory.secretKey, publicKey: mallory.publicKey },
  };
}

/**
 * WebSocket transports on 127.0.0.1 with OS-chosen ports: each replica is dialled at the port it
 * listens on. Call `closeAll` after each test.
 */
export function localhostTransports(cluster: TestCluster) {
  const created: WebSocketTransport[] = [];
  const live = new Map<number, WebSocketTransport>();
  return {
    create(identity: Identity, options: Partial<WebSocketTransportOptions> = {}): WebSocketTransport {
      const transport = webSocketTransport({
        identity,
        directory: cluster.directory,
        crypto,
        listenHost: '127.0.0.1',
        listenPort: 0,
        addressOf: (id) => {
          const port = live.get(id)?.address()?.port;
          return port === undefined ? undefined : { host: '127.0.0.1', port };
        },
        reconnect: { initialMs: 10, maxMs: 100 },
        ...options,
      });
      const replica = cluster.replicas.findIndex((entry) => entry.peer === identity.peer);
      if (replica >= 0) live.set(replica, transport);
      created.push(transport);
      return transport;
    },
    async closeAll(): Promise<void> {
      await Promise.all(created.map((transport) => transport.close()));
      created.length = 0;
      live.clear();
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every few milliseconds; throws naming `what` if it is not true within `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(5);
  }
}

export interface Received {
  readonly from: PeerId;
  readonly frame: Uint8Array;
}

/** Records every frame a transport delivers. */
export function record(transport: Transport): Received[] {
  const received: Received[] = [];
  transport.onFrame((from, frame) => received.push({ from, frame: new Uint8Array(frame) }));
  return received;
}

/** Waits until `transport` is connected to every peer in `peers`. */
export function waitConnected(
  transport: Transport,
  peers: readonly PeerId[],
  timeoutMs = 3000,
): Promise<void> {
  return waitFor(
    `${transport.self} connected to ${peers.join(', ')} (has ${transport.connected().join(', ')})`,
    () => {
      const connected = new Set(transport.connected());
      return peers.every((peer) => connected.has(peer));
    },
    timeoutMs,
  );
}

/** A frame whose first four bytes carry `index`, so order and loss can be checked. */
export function numberedFrame(index: number, byteLength: number): Uint8Array {
  const frame = new Uint8Array(byteLength);
  new DataView(frame.buffer).setUint32(0, index);
  frame.fill(index & 0xff, 4);
  return frame;
}

export function frameNumber(frame: Uint8Array): number {
  return new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(0);
}

export const text = (value: string) => new TextEncoder().encode(value);

const packr = new Packr({ useRecords: false, moreTypes: false });

/**
 * A hand-made handshake message: `items` as a msgpack array, the way the handshake writes its own,
 * but packed here rather than by `src`, so tests can build shapes the handshake never sends.
 */
export const packTuple = (items: readonly unknown[]): Uint8Array => new Uint8Array(packr.pack(items));
