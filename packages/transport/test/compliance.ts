/**
 * The compliance suite of the transport port: every implementation must pass it unchanged.
 * Each implementation's test file calls `transportCompliance` with a factory for its transports.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type Directory,
  type FrameLimits,
  type Identity,
  type PeerId,
  type Transport,
  TransportError,
} from '../src/index.ts';
import {
  frameNumber,
  numberedFrame,
  type Received,
  record,
  sleep,
  type TestCluster,
  testCluster,
  text,
  waitConnected,
  waitFor,
} from './support.ts';

/** What the suite needs from an implementation. */
export interface ComplianceSubject {
  /** A transport, not yet started, for `identity` (directory: the cluster's unless given). */
  create(identity: Identity, directory?: Directory): Transport;
  /** Makes the peer stop reading from the network, as a stuck peer would. */
  pause(peer: PeerId): void;
  resume(peer: PeerId): void;
}

/** Called once per test with a fresh cluster and the limits every transport must use. */
export type ComplianceFactory = (cluster: TestCluster, limits: FrameLimits) => ComplianceSubject;

/** Small limits, so bounds are reached quickly. */
export const COMPLIANCE_LIMITS: FrameLimits = Object.freeze({
  frameBytesMax: 64 * 1024,
  sendQueueFramesMax: 64,
  sendQueueBytesMax: 1024 * 1024,
  agentFrameBytesMax: 16 * 1024,
  agentSendQueueFramesMax: 16,
  agentSendQueueBytesMax: 256 * 1024,
  agentSendQueueTotalBytesMax: 1024 * 1024,
});

export function transportCompliance(name: string, factory: ComplianceFactory): void {
  describe(`${name} transport: compliance`, () => {
    const cluster = testCluster(4);
    const limits = COMPLIANCE_LIMITS;
    const replicaPeers = cluster.replicas.map((identity) => identity.peer);
    const agentPeers = cluster.agents.map((identity) => identity.peer);
    let subject: ComplianceSubject;
    let created: Transport[] = [];

    beforeEach(() => {
      subject = factory(cluster, limits);
      created = [];
    });
    afterEach(async () => {
      await Promise.all(created.map((transport) => transport.close()));
    });

    const make = (identity: Identity): Transport => {
      const transport = subject.create(identity);
      created.push(transport);
      return transport;
    };
    const replica = (id: number) => cluster.replicas[id] as Identity;
    const agent = (index: number) => cluster.agents[index] as Identity;

    /** Starts the given replicas and agents and waits until each is connected to all it should reach. */
    async function mesh(replicaIds: readonly number[], agentIndexes: readonly number[] = []) {
      const replicas = replicaIds.map((id) => make(replica(id)));
      const agents = agentIndexes.map((index) => make(agent(index)));
      for (const transport of [...replicas, ...agents]) await transport.start();
      const replicaSet = replicas.map((transport) => transport.self);
      const agentSet = agents.map((transport) => transport.self);
      for (const transport of replicas)
        await waitConnected(transport, [
          ...replicaSet.filter((peer) => peer !== transport.self),
          ...agentSet,
        ]);
      for (const transport of agents) await waitConnected(transport, replicaSet);
      return { replicas, agents };
    }

    it('delivers frames between every pair of replicas, both ways, from the authenticated sender', async () => {
      const { replicas } = await mesh([0, 1, 2, 3]);
      const inboxes = replicas.map(record);
      for (const sender of replicas) {
        for (const receiver of replicas) {
          if (sender === receiver) continue;
          expect(sender.send(receiver.self, text(`${sender.self}->${receiver.self}`))).toBe('queued');
        }
      }
      await waitFor('12 frames', () => inboxes.every((inbox) => inbox.length === 3));
      replicas.forEach((receiver, index) => {
        const inbox = inboxes[index] as Received[];
        const froms = inbox.map((received) => received.from).sort();
        expect(froms).toEqual(replicaPeers.filter((peer) => peer !== receiver.self));
        for (const { from, frame } of inbox) {
          expect(new TextDecoder().decode(frame)).toBe(`${from}->${receiver.self}`);
        }
      });
    });

    it('delivers agent → replica and replica → agent frames; agents do not reach each other', async () => {
      const { replicas, agents } = await mesh([0, 1, 2, 3], [0, 1]);
      const alice = agents[0] as Transport;
      const bob = agents[1] as Transport;
      const replicaInboxes = replicas.map(record);
      const aliceInbox = record(alice);
      expect(alice.connected().sort()).toEqual([...replicaPeers].sort());
      expect(
        replicas[0]
          ?.connected()
          .filter((peer) => peer.startsWith('agent:'))
          .sort(),
      ).toEqual(agentPeers);
      for (const peer of replicaPeers) expect(alice.send(peer, text(`request to ${peer}`))).toBe('queued');
      for (const transport of replicas)
        expect(transport.send(alice.self, text(`reply from ${transport.self}`))).toBe('queued');
      await waitFor(
        '4 requests and 4 replies',
        () => replicaInboxes.every((inbox) => inbox.length === 1) && aliceInbox.length === 4,
      );
      replicaInboxes.forEach((inbox, id) => {
        expect(inbox[0]?.from).toBe(agentPeers[0]);
        expect(new TextDecoder().decode(inbox[0]?.frame)).toBe(`request to replica:${id}`);
      });
      expect(aliceInbox.map((received) => received.from).sort()).toEqual([...replicaPeers].sort());
      expect(alice.send(bob.self, text('psst'))).toBe('not-connected');
      expect(alice.stats().rejected.NOT_CONNECTED).toBe(1);
    });

    it('keeps the order of frames between one pair of peers, also while more connections come up', async () => {
      const sender = make(replica(0));
      const receiver = make(replica(1));
      const inbox = record(receiver);
      await sender.start();
      await receiver.start();
      // Start at the first moment the sender can, so a second connection may come up meanwhile.
      await waitConnected(sender, [receiver.self]);
      const count = 300;
      for (let index = 0; index < count; index++) {
        if (index % 20 === 0) await sleep(1);
        // More frames than the queue holds: wait for room when it is full, as a host would.
        let result = sender.send(receiver.self, numberedFrame(index, 64 + (index % 7) * 100));
        for (let attempt = 0; result === 'queue-full' && attempt < 1000; attempt++) {
          await sleep(1);
          result = sender.send(receiver.self, numberedFrame(index, 64 + (index % 7) * 100));
        }
        expect(result).toBe('queued');
      }
      await waitFor(`${count} frames`, () => inbox.length === count);
      expect(inbox.map((received) => frameNumber(received.frame))).toEqual(
        Array.from({ length: count }, (_, i) => i),
      );
    });

    it('passes a frame of exactly frameBytesMax and refuses one byte more as too-large', async () => {
      const { replicas } = await mesh([0, 1]);
      const [sender, receiver] = replicas as [Transport, Transport];
      const inbox = record(receiver);
      const largest = numberedFrame(7, limits.frameBytesMax);
      expect(sender.send(receiver.self, largest)).toBe('queued');
      expect(sender.send(receiver.self, new Uint8Array(limits.frameBytesMax + 1))).toBe('too-large');
      await waitFor('the largest frame', () => inbox.length === 1);
      expect(Buffer.compare(inbox[0]?.frame as Uint8Array, largest)).toBe(0);
      expect(sender.stats().rejected.SEND_TOO_LARGE).toBe(1);
      await sleep(30);
      expect(inbox).toHaveLength(1);
    });

    it('holds an agent to agentFrameBytesMax when it sends, and a replica to frameBytesMax', async () => {
      const { replicas, agents } = await mesh([0], [0]);
      const replicaZero = replicas[0] as Transport;
      const alice = agents[0] as Transport;
      const inbox = record(replicaZero);
      const aliceInbox = record(alice);
      expect(limits.agentFrameBytesMax).toBeLessThan(limits.frameBytesMax);
      expect(alice.send(replicaZero.self, new Uint8Array(limits.agentFrameBytesMax + 1))).toBe('too-large');
      expect(alice.stats().rejected.SEND_TOO_LARGE).toBe(1);
      expect(alice.send(replicaZero.self, numberedFrame(1, limits.agentFrameBytesMax))).toBe('queued');
      // Replies to an agent may be whole frames.
      expect(replicaZero.send(alice.self, numberedFrame(2, limits.frameBytesMax))).toBe('queued');
      await waitFor('both frames', () => inbox.length === 1 && aliceInbox.length === 1);
      expect(inbox[0]?.frame.byteLength).toBe(limits.agentFrameBytesMax);
      expect(aliceInbox[0]?.frame.byteLength).toBe(limits.frameBytesMax);
    });

    it('answers not-connected for unknown, malformed and unstarted peers, and counts it', async () => {
      const { replicas } = await mesh([0, 1]);
      const sender = replicas[0] as Transport;
      for (const to of [
        'replica:9',
        'agent:nobody',
        'replica:2',
        agentPeers[0] as PeerId,
        'nonsense',
        sender.self,
      ])
        expect(sender.send(to, text('hello'))).toBe('not-connected');
      expect(sender.stats().rejected.NOT_CONNECTED).toBe(6);
    });

    it('bounds the queue to a peer that does not read, then delivers everything it accepted in order', async () => {
      const { replicas } = await mesh([0, 1]);
      const [sender, receiver] = replicas as [Transport, Transport];
      const inbox = record(receiver);
      subject.pause(receiver.self);
      const frameBytes = 60 * 1024;
      let accepted = 0;
      let result = sender.send(receiver.self, numberedFrame(accepted, frameBytes));
      const deadline = Date.now() + 10_000;
      while (result === 'queued') {
        accepted++;
        const queue = sender.stats().queues[receiver.self];
        expect(queue?.framesQueued).toBeLessThanOrEqual(limits.sendQueueFramesMax);
        expect(queue?.bytesQueued).toBeLessThanOrEqual(limits.sendQueueBytesMax);
        expect(queue?.bytesInFlight).toBeLessThanOrEqual(limits.sendQueueBytesMax);
        // A stuck reader leaves some room in kernel buffers; never megabytes without end.
        expect(accepted).toBeLessThan(4000);
        expect(Date.now()).toBeLessThan(deadline);
        if (accepted % 8 === 0) await sleep(1);
        result = sender.send(receiver.self, numberedFrame(accepted, frameBytes));
      }
      expect(result).toBe('queue-full');
      expect(sender.send(receiver.self, numberedFrame(accepted, frameBytes))).toBe('queue-full');
      expect(sender.stats().rejected.QUEUE_FULL).toBe(2);
      subject.resume(receiver.self);
      await waitFor(`${accepted} frames after resume`, () => inbox.length === accepted, 5000);
      expect(inbox.map((received) => frameNumber(received.frame))).toEqual(
        Array.from({ length: accepted }, (_, i) => i),
      );
      expect(sender.send(receiver.self, numberedFrame(accepted, frameBytes))).toBe('queued');
      await waitFor('one more frame', () => inbox.length === accepted + 1);
    });

    it('close is idempotent, stops every callback, and send answers closed after it', async () => {
      const { replicas } = await mesh([0, 1]);
      const [sender, receiver] = replicas as [Transport, Transport];
      let framesAfterClose = 0;
      let peerEventsAfterClose = 0;
      let isClosed = false;
      receiver.onFrame(() => {
        if (isClosed) framesAfterClose++;
      });
      receiver.onPeer?.(() => {
        if (isClosed) peerEventsAfterClose++;
      });
      const senderEvents: [PeerId, boolean][] = [];
      sender.onPeer?.((peer, up) => senderEvents.push([peer, up]));
      for (let index = 0; index < 50; index++) sender.send(receiver.self, numberedFrame(index, 1000));
      isClosed = true;
      const closing = [receiver.close(), receiver.close()];
      await Promise.all(closing);
      await receiver.close();
      expect(receiver.send(sender.self, text('late'))).toBe('closed');
      expect(receiver.connected()).toEqual([]);
      await waitFor('the sender to see the peer gone', () => !sender.connected().includes(receiver.self));
      await sleep(50);
      expect(framesAfterClose).toBe(0);
      expect(peerEventsAfterClose).toBe(0);
      if (sender.onPeer !== undefined) expect(senderEvents).toContainEqual([receiver.self, false]);
      expect(sender.send(receiver.self, text('gone'))).toBe('not-connected');
      await expect(receiver.start()).rejects.toBeInstanceOf(TransportError);
    });

    it('reconnects to a replica that restarts, and frames flow again both ways', async () => {
      const { replicas, agents } = await mesh([0, 1, 2], [0]);
      const [first, second] = replicas as [Transport, Transport];
      const alice = agents[0] as Transport;
      await second.close();
      await waitFor('replica:1 to be seen down', () =>
        [first, alice].every((transport) => !transport.connected().includes(second.self)),
      );
      const restarted = make(replica(1));
      const inbox = record(restarted);
      const firstInbox = record(first);
      const aliceInbox = record(alice);
      await restarted.start();
      await waitConnected(restarted, [first.self, replicaPeers[2] as PeerId, alice.self]);
      await waitConnected(first, [restarted.self]);
      await waitConnected(alice, [restarted.self]);
      expect(first.send(restarted.self, text('welcome back'))).toBe('queued');
      expect(alice.send(restarted.self, text('request'))).toBe('queued');
      expect(restarted.send(first.self, text('thanks'))).toBe('queued');
      expect(restarted.send(alice.self, text('reply'))).toBe('queued');
      await waitFor(
        'frames through the new connections',
        () => inbox.length === 2 && firstInbox.length === 1 && aliceInbox.length === 1,
      );
      expect(inbox.map((received) => received.from).sort()).toEqual([alice.self, first.self].sort());
      expect(firstInbox[0]?.from).toBe(restarted.self);
      expect(aliceInbox[0]?.from).toBe(restarted.self);
      expect(first.stats().reconnects).toBeGreaterThan(0);
    });

    it('tells onPeer handlers when peers come up and go down', async () => {
      const first = make(replica(0));
      const events: [PeerId, boolean][] = [];
      first.onPeer?.((peer, up) => events.push([peer, up]));
      await first.start();
      const { replicas, agents } = await mesh([1], [0]);
      await waitConnected(first, [replicas[0]?.self as PeerId, agents[0]?.self as PeerId]);
      await agents[0]?.close();
      await waitFor('agent down', () => !first.connected().includes(agentPeers[0] as PeerId));
      if (first.onPeer === undefined) return;
      await waitFor('peer events', () => events.length >= 3);
      expect(events).toContainEqual([replicaPeers[1], true]);
      expect(events).toContainEqual([agentPeers[0], true]);
      expect(events).toContainEqual([agentPeers[0], false]);
    });

    it('counts frames and bytes in and out', async () => {
      const { replicas } = await mesh([0, 1]);
      const [sender, receiver] = replicas as [Transport, Transport];
      const inbox = record(receiver);
      for (let index = 0; index < 10; index++) sender.send(receiver.self, new Uint8Array(100));
      await waitFor('10 frames', () => inbox.length === 10);
      expect(sender.stats()).toMatchObject({ framesOut: 10, bytesOut: 1000 });
      expect(receiver.stats()).toMatchObject({ framesIn: 10, bytesIn: 1000 });
      expect(sender.stats().connections).toBeGreaterThanOrEqual(1);
      expect(sender.stats().queues[receiver.self]).toMatchObject({ framesQueued: 0, bytesQueued: 0 });
    });

    it('refuses an identity that is not in the directory, or whose secret key does not match', () => {
      const notListed = () => subject.create(cluster.outsider);
      expect(notListed).toThrow(TransportError);
      expect(notListed).toThrow(expect.objectContaining({ code: 'INVALID_IDENTITY' }));
      const wrongKey = () =>
        subject.create({ peer: agentPeers[0] as PeerId, secretKey: cluster.outsider.secretKey });
      expect(wrongKey).toThrow(expect.objectContaining({ code: 'INVALID_IDENTITY' }));
      const shortKey = () =>
        subject.create({ peer: replicaPeers[0] as PeerId, secretKey: new Uint8Array(10) });
      expect(shortKey).toThrow(expect.objectContaining({ code: 'INVALID_IDENTITY' }));
    });
  });
}
