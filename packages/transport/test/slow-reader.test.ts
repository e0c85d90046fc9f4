/**
 * Agents that stop reading: a replica keeps only a small queue for each, cuts off one that does
 * not read (`SLOW_READER`), frees what was queued for it, and keeps its replica links as they were.
 * Real sockets on 127.0.0.1, OS-chosen ports, bounded waits.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  type Identity,
  memoryNetwork,
  type PeerId,
  TransportError,
  type WebSocketTransport,
  type WebSocketTransportOptions,
  webSocketTransport,
} from '../src/index.ts';
import { setReadingPaused } from '../src/websocket.ts';
import {
  crypto,
  localhostTransports,
  numberedFrame,
  record,
  testCluster,
  text,
  waitConnected,
  waitFor,
} from './support.ts';

const FRAME_BYTES = 64 * 1024;

describe('WebSocket transport: slow readers', () => {
  const cluster = testCluster(4);
  const { create, closeAll } = localhostTransports(cluster);
  afterEach(closeAll);

  /** Replicas 0 and 1 linked, agent alice connected to replica 0 and no longer reading. */
  async function stuckAlice(options: Partial<WebSocketTransportOptions>) {
    const slowReaders: PeerId[] = [];
    const replica = create(cluster.replicas[0] as Identity, {
      ...options,
      onSlowReader: (peer) => slowReaders.push(peer),
    });
    const other = create(cluster.replicas[1] as Identity);
    await replica.start();
    await other.start();
    const alice = create(cluster.agents[0] as Identity);
    await alice.start();
    await waitConnected(replica, [other.self, alice.self]);
    setReadingPaused(alice, true);
    return { replica, other, alice, slowReaders };
  }

  /** The replica-to-replica link still carries frames, and `other` never went down. */
  async function replicaLinkUnaffected(replica: WebSocketTransport, other: WebSocketTransport) {
    const inbox = record(other);
    expect(replica.send(other.self, text('still linked'))).toBe('queued');
    await waitFor('a frame between replicas', () => inbox.length === 1, 2000);
    expect(replica.connected()).toContain(other.self);
    expect(replica.stats().rejected.PING_TIMEOUT).toBe(0);
  }

  it('cuts off an agent whose small queue fills, frees its queue, and leaves replica links alone', async () => {
    const agentSendQueueBytesMax = 256 * 1024;
    const { replica, other, alice, slowReaders } = await stuckAlice({ agentSendQueueBytesMax });
    let sent = 0;
    // Kernel buffers absorb some megabytes first; then the agent's queue fills and it is cut off.
    while (replica.send(alice.self, numberedFrame(sent, FRAME_BYTES)) === 'queued') {
      sent++;
      const queue = replica.stats().queues[alice.self];
      expect(queue?.bytesQueued ?? 0).toBeLessThanOrEqual(agentSendQueueBytesMax);
      expect(sent).toBeLessThan(2000);
      if (sent % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    const stats = replica.stats();
    expect(stats.rejected.QUEUE_FULL).toBe(1);
    expect(stats.rejected.SLOW_READER).toBe(1);
    expect(slowReaders).toEqual([alice.self]);
    // The connection is gone at once, and with it everything queued for alice.
    expect(replica.connected()).not.toContain(alice.self);
    expect(stats.queues[alice.self]).toBeUndefined();
    expect(replica.send(alice.self, text('gone'))).toBe('not-connected');
    await replicaLinkUnaffected(replica, other);
  });

  it('cuts off an agent whose socket does not drain for slowReaderMs, before its queue fills', async () => {
    // A queue large enough never to fill here: only the drain deadline can act.
    const { replica, other, alice, slowReaders } = await stuckAlice({
      frameBytesMax: 1024 * 1024,
      agentSendQueueBytesMax: 64 * 1024 * 1024,
      agentSendQueueFramesMax: 4096,
      pingIntervalMs: 100,
      slowReaderMs: 100,
    });
    // 32 MiB: more than localhost's kernel buffers take, so bytes stay in flight.
    for (let i = 0; i < 512; i++)
      expect(replica.send(alice.self, numberedFrame(i, FRAME_BYTES))).toBe('queued');
    await waitFor('SLOW_READER', () => replica.stats().rejected.SLOW_READER === 1, 3000);
    const stats = replica.stats();
    expect(stats.rejected.QUEUE_FULL).toBe(0);
    // Closed as a slow reader, not as a silent one: the drain check runs before the pong check.
    expect(stats.rejected.PING_TIMEOUT).toBe(0);
    expect(slowReaders).toEqual([alice.self]);
    expect(stats.queues[alice.self]).toBeUndefined();
    expect(stats.rejected.DISCONNECTED).toBeGreaterThan(0);
    await replicaLinkUnaffected(replica, other);
  });

  it('bounds bytes for all agents together: past the total a frame to any agent is refused, no one is cut off', async () => {
    const agentSendQueueTotalBytesMax = 512 * 1024;
    // Per-agent bounds too large to act: only the total can.
    const { replica, alice } = await stuckAlice({
      frameBytesMax: 1024 * 1024,
      agentSendQueueBytesMax: 64 * 1024 * 1024,
      agentSendQueueFramesMax: 4096,
      agentSendQueueTotalBytesMax,
    });
    const bob = create(cluster.agents[1] as Identity);
    await bob.start();
    await waitConnected(replica, [bob.self]);
    let sent = 0;
    // Kernel buffers absorb some megabytes first (those bytes are no longer held); then the total fills.
    while (replica.send(alice.self, numberedFrame(sent, FRAME_BYTES)) === 'queued') {
      sent++;
      expect(replica.stats().queues[alice.self]?.bytesQueued ?? 0).toBeLessThanOrEqual(
        agentSendQueueTotalBytesMax,
      );
      expect(sent).toBeLessThan(2000);
      if (sent % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(replica.stats().rejected.QUEUE_TOTAL_FULL).toBe(1);
    // bob reads, but the room is all alice's: his frame is refused too, and nobody is cut off.
    expect(replica.send(bob.self, numberedFrame(0, FRAME_BYTES))).toBe('queue-full');
    expect(replica.stats().rejected.QUEUE_TOTAL_FULL).toBe(2);
    expect(replica.stats().rejected.SLOW_READER).toBe(0);
    expect(replica.connected()).toEqual(expect.arrayContaining([alice.self, bob.self]));
    // Once alice reads, what she held is released and bob is served again.
    const inbox = record(bob);
    setReadingPaused(alice, false);
    await waitFor('alice drained', () => replica.stats().queues[alice.self]?.bytesQueued === 0, 5000);
    await waitFor('room for bob', () => replica.send(bob.self, text('your turn')) === 'queued', 5000);
    await waitFor('a frame to bob', () => inbox.length >= 1, 2000);
  });

  it('lets a cut-off agent reconnect once it reads again', async () => {
    const { replica, alice } = await stuckAlice({ agentSendQueueBytesMax: 128 * 1024 });
    let sent = 0;
    while (replica.send(alice.self, numberedFrame(sent, FRAME_BYTES)) === 'queued' && sent < 2000) {
      sent++;
      if (sent % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    expect(replica.stats().rejected.SLOW_READER).toBe(1);
    setReadingPaused(alice, false);
    await waitFor('alice back', () => replica.connected().includes(alice.self), 3000);
    const inbox = record(alice);
    expect(replica.send(alice.self, text('welcome back'))).toBe('queued');
    await waitFor('a frame to alice', () => inbox.some((r) => r.frame.byteLength === 12), 2000);
  });

  it('start() tries again after a failed start instead of repeating the old rejection', async () => {
    const squatter = create(cluster.replicas[0] as Identity);
    await squatter.start();
    const port = squatter.address()?.port as number;
    const second = create(cluster.replicas[1] as Identity, { listenPort: port });
    await expect(second.start()).rejects.toMatchObject({ code: 'ADDRESS_IN_USE' });
    await squatter.close();
    await second.start();
    expect(second.address()?.port).toBe(port);
  });

  it('refuses slow-reader and agent queue options that cannot work, at creation', () => {
    const base = { identity: cluster.replicas[0] as Identity, directory: cluster.directory, crypto };
    for (const bad of [
      { slowReaderMs: 0 },
      { slowReaderMs: 1.5 },
      { agentSendQueueBytesMax: 0 },
      { agentSendQueueFramesMax: -1 },
      { agentSendQueueTotalBytesMax: 0 },
      { onSlowReader: 'log' as never },
    ]) {
      expect(() => webSocketTransport({ ...base, ...bad })).toThrow(TransportError);
      expect(() => webSocketTransport({ ...base, ...bad })).toThrow(
        expect.objectContaining({ code: 'INVALID_OPTIONS' }),
      );
    }
  });
});

describe('memory transport: the same small queues towards agents', () => {
  it('answers queue-full after agentSendQueueFramesMax frames to an agent that does not read', async () => {
    const cluster = testCluster(4);
    const network = memoryNetwork({ crypto });
    const limits = { agentSendQueueFramesMax: 8 };
    const replica = network.transport(cluster.replicas[0] as Identity, cluster.directory, limits);
    const other = network.transport(cluster.replicas[1] as Identity, cluster.directory, limits);
    const alice = network.transport(cluster.agents[0] as Identity, cluster.directory, limits);
    await Promise.all([replica.start(), other.start(), alice.start()]);
    network.pause(alice.self);
    for (let i = 0; i < 8; i++) expect(replica.send(alice.self, text(`${i}`))).toBe('queued');
    expect(replica.send(alice.self, text('one too many'))).toBe('queue-full');
    // A replica peer keeps the large bound.
    for (let i = 0; i < 64; i++) expect(replica.send(other.self, text(`${i}`))).toBe('queued');
    expect(replica.stats().rejected.QUEUE_FULL).toBe(1);
    await Promise.all([replica.close(), other.close(), alice.close()]);
  });
});
