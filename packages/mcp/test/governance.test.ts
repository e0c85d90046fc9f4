/**
 * Governance through the MCP tools, over an in-process cluster (alice, bob and carol are the
 * council, threshold 2): propose_action registers a newcomer, cast_vote approves it, the
 * decision shows the action and its outcome; list_agents shows key history; receipts and
 * evidence check against it after a rotation; a removed agent's calls fail with UNKNOWN_AGENT.
 */
import { joinStatementToJson, type KeyPair, nodeCrypto, signJoinStatement } from '@conclave/core';
import { coordination, type InProcessCluster, startInProcessCluster } from '@conclave/sdk';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConclaveMcpServer } from '../src/index.ts';

const TICK_MS = 5;
const crypto = nodeCrypto();
let cluster: InProcessCluster;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  cluster = await startInProcessCluster({ tickMs: TICK_MS, agents: ['alice', 'bob', 'carol'] });
});
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await cluster?.stop();
});

type ToolResult = {
  isError?: boolean;
  content: { text?: string }[];
  structuredContent?: Record<string, unknown>;
};

/** An MCP client for a server signing with `secretKey` as `agent` (the genesis key when omitted). */
async function mcpFor(agent: string, secretKey?: Uint8Array) {
  const conclave =
    secretKey === undefined ? await cluster.connect(agent) : await cluster.connectAs({ agent, secretKey });
  closers.push(() => conclave.close());
  const c = coordination(conclave);
  const server = createConclaveMcpServer({ coordination: c, tickMs: TICK_MS });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: `test-${agent}`, version: '0.0.0' });
  await client.connect(clientSide);
  closers.push(() => client.close());
  const call = async (name: string, args: Record<string, unknown> = {}) =>
    (await client.callTool({ name, arguments: args }, undefined, { timeout: 20_000 })) as ToolResult;
  return { call, coordination: c };
}

// biome-ignore lint/suspicious/noExplicitAny: the checks below reach into the tools' JSON answers
type Json = Record<string, any>;

const ok = (result: ToolResult): Json => {
  expect(result.isError, result.content[0]?.text).toBeFalsy();
  return result.structuredContent as Json;
};

const freshKeys = (): KeyPair =>
  crypto.keyPairFromSeed(globalThis.crypto.getRandomValues(new Uint8Array(32)));

const joinJson = (agent: string, keys: KeyPair) =>
  joinStatementToJson(
    signJoinStatement(
      { role: 'agent', id: agent, publicKey: keys.publicKey, host: '', port: 0 },
      keys.secretKey,
      crypto,
    ),
  );

describe('governance through the MCP tools', () => {
  it('registers, rotates and removes an agent; receipts and records follow the key history', async () => {
    const [alice, bob] = await Promise.all([mcpFor('alice'), mcpFor('bob')]);

    const council = ok(await alice.call('get_council'));
    expect(council).toMatchObject({ isMember: true, threshold: 2, totalWeight: 3 });
    expect(council.members.map((m: { agent: string }) => m.agent)).toEqual(['alice', 'bob', 'carol']);

    // A statement whose signature is not the key's: refused before it reaches the cluster.
    const dave = freshKeys();
    const statement = joinJson('dave', dave);
    const forged = { ...statement, publicKey: Buffer.from(freshKeys().publicKey).toString('hex') };
    expect(
      await alice.call('propose_action', {
        proposalId: 'forged',
        action: { kind: 'register_agent', joinStatement: forged },
      }),
    ).toMatchObject({ isError: true, structuredContent: { error: { code: 'INVALID_ARGUMENT' } } });

    const proposed = ok(
      await alice.call('propose_action', {
        proposalId: 'add-dave',
        title: 'Register dave',
        action: {
          kind: 'register_agent',
          joinStatement: statement,
          weight: 2,
          quotas: { kvKeysPerAgentMax: 5 },
        },
      }),
    );
    expect(proposed).toMatchObject({
      status: 'open',
      action: { kind: 'register_agent', agent: 'dave', weight: 2, publicKey: statement.publicKey },
      actionOutcome: null,
    });
    ok(await alice.call('cast_vote', { proposalId: 'add-dave', choice: 'approve' }));
    const voted = ok(await bob.call('cast_vote', { proposalId: 'add-dave', choice: 'approve' }));
    expect(voted.proposal).toMatchObject({ status: 'approved', actionKind: 'register_agent' });
    const decided = ok(await bob.call('wait_for_decision', { proposalId: 'add-dave', timeoutSeconds: 10 }));
    expect(decided).toMatchObject({ status: 'approved', actionOutcome: { status: 'executed' } });
    expect(ok(await alice.call('get_decision', { proposalId: 'add-dave' })).actionOutcome.status).toBe(
      'executed',
    );

    // dave acts under its key; it is not on the council.
    const daveMcp = await mcpFor('dave', dave.secretKey);
    expect(
      await daveMcp.call('propose_action', {
        proposalId: 'x',
        action: { kind: 'remove_agent', agent: 'bob' },
      }),
    ).toMatchObject({
      isError: true,
      structuredContent: { error: { code: 'REJECTED', reason: 'NOT_COUNCIL' } },
    });
    ok(
      await alice.call('propose', {
        proposalId: 'lunch',
        title: 'Lunch?',
        rule: { kind: 'threshold', k: 1 },
        voters: [{ agent: 'dave' }],
      }),
    );
    const receipt = ok(await daveMcp.call('cast_vote', { proposalId: 'lunch', choice: 'approve' })).receipt;
    // And equivocates on another: evidence against its first key.
    ok(
      await bob.call('propose', {
        proposalId: 'dinner',
        title: 'Dinner?',
        rule: { kind: 'threshold', k: 2 },
        voters: [{ agent: 'dave' }, { agent: 'alice' }],
      }),
    );
    ok(await daveMcp.call('cast_vote', { proposalId: 'dinner', choice: 'approve' }));
    expect(await daveMcp.call('cast_vote', { proposalId: 'dinner', choice: 'reject' })).toMatchObject({
      structuredContent: { error: { reason: 'EQUIVOCATION' } },
    });

    // dave rotates; its receipt from before still verifies, against the key it held then.
    await daveMcp.coordination.rotateKey(freshKeys().secretKey);
    const agents = ok(await alice.call('list_agents')).agents;
    const record = agents.find((a: { id: string }) => a.id === 'dave');
    expect(record).toMatchObject({
      weight: 2,
      council: false,
      observer: false,
      quotas: { kvKeysPerAgentMax: 5 },
    });
    // Its own quota use: the override as its limit; bob's open proposal counts against bob, not dave.
    const usage = ok(await daveMcp.call('get_quota_usage'));
    expect(usage.agent).toBe('dave');
    expect(usage.quotas.kvKeysPerAgentMax).toEqual({ used: 0, limit: 5 });
    expect(usage.quotas.openProposalsPerAgentMax.used).toBe(0);
    const bobs = ok(await bob.call('get_quota_usage')).quotas;
    // "dinner" is bob's: open, or decided and kept (dave's exclusion can settle it early).
    expect(bobs.openProposalsPerAgentMax.used + bobs.retainedProposalsPerAgentMax.used).toBe(1);
    expect(record.keys).toHaveLength(2);
    expect(record.keys[0]).toMatchObject({ publicKey: statement.publicKey, until: record.keys[1].from });
    expect(ok(await alice.call('verify_receipt', { receipt }))).toMatchObject({
      valid: true,
      agent: 'dave',
      agentKeysFrom: 'registry',
    });

    ok(
      await bob.call('propose_action', {
        proposalId: 'remove-dave',
        action: { kind: 'remove_agent', agent: 'dave' },
      }),
    );
    ok(await alice.call('cast_vote', { proposalId: 'remove-dave', choice: 'approve' }));
    ok(await bob.call('cast_vote', { proposalId: 'remove-dave', choice: 'approve' }));
    const refused = await daveMcp.call('kv_put', { key: 'dave/x', value: 'late' });
    expect(refused).toMatchObject({ isError: true, structuredContent: { error: { code: 'UNKNOWN_AGENT' } } });
    expect(refused.content[0]?.text).toMatch(/^UNKNOWN_AGENT: .*register/);
    expect(
      ok(await alice.call('list_agents')).agents.find((a: { id: string }) => a.id === 'dave'),
    ).toMatchObject({
      removed: true,
      publicKey: null,
    });
    // Evidence signed with a key dave no longer holds, by an agent no longer registered, still checks.
    const evidence = ok(await alice.call('list_evidence', { agent: 'dave' })).evidence;
    expect(evidence).toHaveLength(1);
    expect(evidence[0]).toMatchObject({ agent: 'dave', verified: true });
  });
});
