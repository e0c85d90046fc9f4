/**
 * The suite for agents that change while a transport runs (`setAgents`, `onRefused`): every
 * implementation must pass it unchanged. `agent-updates.test.ts` runs it for both.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type AgentEntry,
  type Directory,
  type Identity,
  type LiveDirectoryTransport,
  type PeerId,
  type RefusalReason,
  TransportError,
} from '../src/index.ts';
import { record, type TestCluster, testCluster, testKey, text, waitConnected, waitFor } from './support.ts';

export interface UpdateSubject {
  /** A transport, not yet started, for `identity` (directory: the cluster's unless given). */
  create(identity: Identity, directory?: Directory): LiveDirectoryTransport;
  closeAll(): Promise<void>;
}

export type UpdateFactory = (cluster: TestCluster) => UpdateSubject;

export function agentUpdateSuite(name: string, factory: UpdateFactory): void {
  describe(`${name} transport: agents that change at run time`, () => {
    const cluster = testCluster(4);
    const [alice, bob] = cluster.agents as [Identity, Identity];
    const mallory = cluster.outsider;
    const aliceKey = cluster.directory.agents[0] as AgentEntry;
    const bobKey = cluster.directory.agents[1] as AgentEntry;
    const malloryEntry: AgentEntry = { id: 'mallory', publicKey: mallory.publicKey };
    const aliceNext = testKey(150);
    const aliceNextEntry: AgentEntry = { id: 'alice', publicKey: aliceNext.publicKey };
    /** The directory as an agent sees it: its own entry is what it signs with. */
    const agentDirectory = (own: AgentEntry): Directory => ({
      replicas: cluster.directory.replicas,
      agents: [own],
    });
    let subject: UpdateSubject;

    beforeEach(() => {
      subject = factory(cluster);
    });
    afterEach(async () => {
      await subject.closeAll();
    });

    const replica0 = () => subject.create(cluster.replicas[0] as Identity);
    /** Every refusal a transport is told, in order. */
    const refusalsOf = (transport: LiveDirectoryTransport) => {
      const refusals: [PeerId, RefusalReason][] = [];
      transport.onRefused((peer, reason) => refusals.push([peer, reason]));
      return refusals;
    };
    async function connectedPair(identity: Identity = alice, directory?: Directory) {
      const replica = replica0();
      await replica.start();
      const agent = subject.create(identity, directory);
      const refusals = refusalsOf(agent);
      await agent.start();
      await waitConnected(replica, [agent.self]);
      await waitConnected(agent, [replica.self]);
      return { replica, agent, refusals };
    }
    async function exchanges(replica: LiveDirectoryTransport, agent: LiveDirectoryTransport) {
      const replicaInbox = record(replica);
      const agentInbox = record(agent);
      expect(agent.send(replica.self, text('request'))).toBe('queued');
      expect(replica.send(agent.self, text('reply'))).toBe('queued');
      await waitFor('frames both ways', () => replicaInbox.length === 1 && agentInbox.length === 1);
      expect(replicaInbox[0]?.from).toBe(agent.self);
    }

    it('refuses an agent not yet added (UNKNOWN_AGENT, told), and lets it in once added', async () => {
      const replica = replica0();
      await replica.start();
      const agent = subject.create(mallory, agentDirectory(malloryEntry));
      const refusals = refusalsOf(agent);
      await agent.start();
      await waitFor('mallory told she is unknown', () => refusals.length >= 1);
      expect(refusals[0]).toEqual([replica.self, 'UNKNOWN_AGENT']);
      expect(agent.connected()).toEqual([]);
      expect(replica.connected()).not.toContain(agent.self);
      expect(replica.stats().rejected.UNKNOWN_AGENT).toBeGreaterThanOrEqual(1);
      expect(agent.stats().rejected.UNKNOWN_AGENT).toBeGreaterThanOrEqual(1);
      replica.setAgents([aliceKey, bobKey, malloryEntry]);
      await waitConnected(agent, [replica.self]);
      await waitConnected(replica, [agent.self]);
      await exchanges(replica, agent);
    });

    it('closes a removed agent at once, tells it UNKNOWN_AGENT, and keeps refusing it', async () => {
      const { replica, agent, refusals } = await connectedPair();
      const bobTransport = subject.create(bob);
      await bobTransport.start();
      await waitConnected(replica, [bobTransport.self]);
      replica.setAgents([bobKey]);
      // Synchronous: once setAgents returns, the replica no longer holds alice.
      expect(replica.connected()).not.toContain(agent.self);
      expect(replica.stats().rejected.UNKNOWN_AGENT).toBe(1);
      await waitFor('alice told she was removed', () => refusals.length >= 1);
      expect(refusals[0]).toEqual([replica.self, 'UNKNOWN_AGENT']);
      await waitFor('alice sees the replica gone', () => agent.connected().length === 0);
      expect(agent.send(replica.self, text('still me'))).toBe('not-connected');
      // Bob is untouched.
      expect(replica.connected()).toContain(bobTransport.self);
      await exchanges(replica, bobTransport);
    });

    it('closes a rotated agent, refuses its old key with REVOKED_KEY, and accepts the new key', async () => {
      const { replica, agent, refusals } = await connectedPair();
      replica.setAgents([aliceNextEntry, bobKey]);
      expect(replica.connected()).not.toContain(agent.self);
      await waitFor('the old key told it was revoked', () => refusals.length >= 1);
      expect(refusals[0]).toEqual([replica.self, 'REVOKED_KEY']);
      expect(replica.stats().rejected.REVOKED_KEY).toBeGreaterThanOrEqual(1);
      expect(agent.connected()).toEqual([]);
      await agent.close();
      const rotated = subject.create(
        { peer: alice.peer, secretKey: aliceNext.secretKey },
        agentDirectory(aliceNextEntry),
      );
      const rotatedRefusals = refusalsOf(rotated);
      await rotated.start();
      await waitConnected(rotated, [replica.self]);
      await exchanges(replica, rotated);
      expect(rotatedRefusals).toEqual([]);
    });

    it('tells REVOKED_KEY for a key handed in as retired, which it would otherwise not know', async () => {
      const rotatedDirectory: Directory = { ...cluster.directory, agents: [aliceNextEntry, bobKey] };
      const replica = subject.create(cluster.replicas[0] as Identity, rotatedDirectory);
      replica.setAgents([aliceNextEntry, bobKey], [aliceKey]);
      await replica.start();
      const agent = subject.create(alice);
      const refusals = refusalsOf(agent);
      await agent.start();
      await waitFor('the old key told it was revoked', () => refusals.length >= 1);
      expect(refusals[0]).toEqual([replica.self, 'REVOKED_KEY']);
      expect(agent.connected()).toEqual([]);
    });

    it('decides a handshake under way when the update lands by the new directory', async () => {
      const replica = replica0();
      await replica.start();
      const agent = subject.create(alice);
      const refusals = refusalsOf(agent);
      const inbox = record(replica);
      // start() resolves with the dial under way (WebSocket: not even connected yet; memory: linked
      // at once, so there the update closes the link); the update lands before the handshake ends.
      await agent.start();
      agent.send(replica.self, text('sneaking in'));
      replica.setAgents([bobKey]);
      expect(replica.connected()).not.toContain(agent.self);
      await waitFor('alice refused', () => refusals.length >= 1);
      expect(refusals[0]).toEqual([replica.self, 'UNKNOWN_AGENT']);
      expect(replica.connected()).not.toContain(agent.self);
      expect(agent.connected()).toEqual([]);
      expect(inbox).toEqual([]);
    });

    it('refuses an invalid update with INVALID_DIRECTORY and changes nothing', async () => {
      const { replica, agent } = await connectedPair();
      const short = { id: 'carol', publicKey: new Uint8Array(31) };
      const invalid: [readonly AgentEntry[], (readonly AgentEntry[])?][] = [
        [[aliceKey, bobKey, { id: 'alice', publicKey: mallory.publicKey }]],
        [[aliceKey, { id: 'carol', publicKey: aliceKey.publicKey }]],
        [[aliceKey, { id: 'carol', publicKey: cluster.directory.replicas[1]?.publicKey as Uint8Array }]],
        [[aliceKey, short]],
        [[aliceKey, { id: '', publicKey: mallory.publicKey }]],
        [[aliceKey, { id: 'carol', publicKey: Array.from(mallory.publicKey) as never }]],
        [[malloryEntry], [short]],
        [undefined as never],
      ];
      for (const [agents, retired] of invalid) {
        let thrown: unknown;
        try {
          replica.setAgents(agents, retired);
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(TransportError);
        expect(thrown).toMatchObject({ code: 'INVALID_DIRECTORY' });
      }
      // Alice stays connected, and mallory (added only by a refused update) is still unknown.
      expect(replica.connected()).toContain(agent.self);
      await exchanges(replica, agent);
      const outsider = subject.create(mallory, agentDirectory(malloryEntry));
      const refusals = refusalsOf(outsider);
      await outsider.start();
      await waitFor('mallory refused', () => refusals.length >= 1);
      expect(refusals[0]).toEqual([replica.self, 'UNKNOWN_AGENT']);
    });

    it('ignores setAgents once closed', async () => {
      const replica = replica0();
      await replica.close();
      expect(() => replica.setAgents([])).not.toThrow();
    });
  });
}
