import { describe, expect, it } from 'vitest';
import { memoryNetwork, type Transport } from '../src/index.ts';
import { type ComplianceFactory, transportCompliance } from './compliance.ts';
import { crypto, record, testCluster, text, waitConnected, waitFor } from './support.ts';

const memory: ComplianceFactory = (cluster, limits) => {
  const network = memoryNetwork({ crypto });
  return {
    create: (identity, directory = cluster.directory) => network.transport(identity, directory, limits),
    pause: (peer) => network.pause(peer),
    resume: (peer) => network.resume(peer),
  };
};

transportCompliance('memory', memory);

describe('memory transport: test hooks', () => {
  const cluster = testCluster(4);

  it('a replica refuses and counts an agent frame over its own agentFrameBytesMax', async () => {
    const network = memoryNetwork({ crypto });
    const replica = network.transport(cluster.replicas[0] as never, cluster.directory, {
      agentFrameBytesMax: 1024,
    });
    // Alice allows herself larger frames than the replica accepts from agents, as a hostile agent would.
    const alice = network.transport(cluster.agents[0] as never, cluster.directory);
    const inbox = record(replica);
    await replica.start();
    await alice.start();
    await waitConnected(alice, [replica.self]);
    expect(alice.send(replica.self, new Uint8Array(1025))).toBe('queued');
    expect(alice.send(replica.self, new Uint8Array(1024))).toBe('queued');
    await waitFor('the frame within the bound', () => inbox.length === 1);
    expect(inbox[0]?.frame.byteLength).toBe(1024);
    expect(replica.stats().rejected.TOO_LARGE).toBe(1);
    await Promise.all([replica.close(), alice.close()]);
  });

  it('partition cuts a link both ways and drops what was queued on it; heal restores it', async () => {
    const network = memoryNetwork({ crypto });
    const [first, second] = [0, 1].map((id) =>
      network.transport(cluster.replicas[id] as never, cluster.directory),
    ) as [Transport, Transport];
    await first.start();
    await second.start();
    const inbox = record(second);
    expect(first.send(second.self, text('lost'))).toBe('queued');
    network.partition(first.self, second.self);
    expect(first.connected()).toEqual([]);
    expect(first.send(second.self, text('refused'))).toBe('not-connected');
    expect(first.stats().rejected.DISCONNECTED).toBe(1);
    network.heal();
    await waitConnected(first, [second.self]);
    expect(first.send(second.self, text('after heal'))).toBe('queued');
    await waitFor('the frame after heal', () => inbox.length === 1);
    expect(new TextDecoder().decode(inbox[0]?.frame)).toBe('after heal');
    expect(first.stats().reconnects).toBe(1);
    await Promise.all([first.close(), second.close()]);
  });

  it('refuses a second live transport for the same peer with ADDRESS_IN_USE', async () => {
    const network = memoryNetwork({ crypto });
    const identity = cluster.replicas[0] as never;
    const first = network.transport(identity, cluster.directory);
    const second = network.transport(identity, cluster.directory);
    await first.start();
    await expect(second.start()).rejects.toMatchObject({ code: 'ADDRESS_IN_USE' });
    await first.close();
    await second.start();
    await second.close();
  });

  it('requires a crypto backend, with INVALID_OPTIONS when there is none', () => {
    expect(() => memoryNetwork(undefined as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
    expect(() => memoryNetwork({} as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });

  it('copies frames, so a sender that reuses its buffer does not change what was sent', async () => {
    const network = memoryNetwork({ crypto });
    const [first, second] = [0, 1].map((id) =>
      network.transport(cluster.replicas[id] as never, cluster.directory),
    ) as [Transport, Transport];
    await first.start();
    await second.start();
    const inbox = record(second);
    const buffer = text('original');
    first.send(second.self, buffer);
    buffer.fill(0);
    await waitFor('the frame', () => inbox.length === 1);
    expect(new TextDecoder().decode(inbox[0]?.frame)).toBe('original');
    await Promise.all([first.close(), second.close()]);
  });
});
