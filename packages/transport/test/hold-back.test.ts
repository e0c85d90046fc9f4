/**
 * holdBack: a replica stops reading one peer for a while (TCP backpressure against a flooding
 * agent). That peer's frames arrive only after the hold; other peers are read throughout.
 * Real sockets on 127.0.0.1, OS-chosen ports, bounded waits.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Identity } from '../src/index.ts';
import { localhostTransports, record, testCluster, text, waitConnected, waitFor } from './support.ts';

const HOLD_MS = 400;

describe('WebSocket transport: holdBack', () => {
  const cluster = testCluster(4);
  const { create, closeAll } = localhostTransports(cluster);
  afterEach(closeAll);

  it('stops reading only the held peer, and delivers what it sent once the hold ends', async () => {
    const replica = create(cluster.replicas[0] as Identity);
    await replica.start();
    const alice = create(cluster.agents[0] as Identity);
    const bob = create(cluster.agents[1] as Identity);
    await Promise.all([alice.start(), bob.start()]);
    await waitConnected(replica, [alice.self, bob.self]);
    await Promise.all([waitConnected(alice, [replica.self]), waitConnected(bob, [replica.self])]);
    const inbox = record(replica);

    const heldAt = performance.now();
    replica.holdBack?.(alice.self, HOLD_MS);
    expect(alice.send(replica.self, text('from alice'))).toBe('queued');
    expect(bob.send(replica.self, text('from bob'))).toBe('queued');
    // bob is read during alice's hold; alice's frame waits in her socket.
    await waitFor('bob read', () => inbox.some((r) => r.from === bob.self), 2000);
    expect(inbox.some((r) => r.from === alice.self)).toBe(false);
    await waitFor('alice read after the hold', () => inbox.some((r) => r.from === alice.self), 3000);
    expect(performance.now() - heldAt).toBeGreaterThanOrEqual(HOLD_MS - 20);
    // Nothing was lost or refused, and alice stayed connected.
    expect(replica.stats().rejected).toMatchObject({ PING_TIMEOUT: 0, SLOW_READER: 0 });
    expect(replica.connected()).toContain(alice.self);
  });

  it('ignores a peer that is not connected and a second hold of a held peer', async () => {
    const replica = create(cluster.replicas[0] as Identity);
    await replica.start();
    const alice = create(cluster.agents[0] as Identity);
    await alice.start();
    await waitConnected(replica, [alice.self]);
    await waitConnected(alice, [replica.self]);
    replica.holdBack?.(cluster.agents[1]?.peer as Identity['peer'], HOLD_MS);
    replica.holdBack?.(alice.self, 100);
    // The second hold does not extend the first: alice is read again after ~100 ms, not 100 + HOLD_MS.
    replica.holdBack?.(alice.self, 5_000);
    const inbox = record(replica);
    expect(alice.send(replica.self, text('hi'))).toBe('queued');
    await waitFor('alice read after the first hold', () => inbox.length === 1, 2000);
  });
});
