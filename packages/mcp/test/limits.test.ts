/**
 * The MCP tools' input bounds against the cluster's: for every limited field, the server accepts
 * the largest value the cluster takes (the call goes through and succeeds) and refuses the next
 * one with the field and its bound, and the cluster refuses that value too when it is sent
 * without the MCP server. Once with the default limits, once with other limits given to both
 * the replicas and the server.
 */
import {
  type CoordinationLimits,
  CoordinationStateMachine,
  decodeResult,
  encodeBallot,
  ops,
  resolveLimits,
} from '@conclave/coordination';
import {
  type Coordination,
  coordination,
  type InProcessCluster,
  RejectedError,
  startInProcessCluster,
} from '@conclave/sdk';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConclaveMcpServer } from '../src/index.ts';
import { AGENTS, type Boundary, boundaries, type Env, LONG_AGENT } from './boundaries.ts';

const TICK_MS = 5;

/** Small enough that every bound is reached in a few bytes, and the ballot bound is reachable. */
const OTHER_LIMITS: Partial<CoordinationLimits> = {
  votersMax: 4,
  weightMax: 10,
  candidatesMax: 3,
  candidateBytesMax: 5,
  scoreMax: 9,
  proposalIdBytesMax: 8,
  titleBytesMax: 10,
  reasonBytesMax: 150,
  ballotBytesMax: 200,
  deadlineTicksMax: 2_000,
  kvKeyBytesMax: 6,
  kvValueBytesMax: 12,
  taskIdBytesMax: 7,
  taskPayloadBytesMax: 9,
  taskResultBytesMax: 11,
  leaseTicksMax: 1_000,
  pageMax: 10,
};

type ToolResult = { isError?: boolean; content: { text?: string }[]; structuredContent?: unknown };

/** A cluster run with `overrides`, MCP servers told the same, and the rows' view of them. */
function harness(overrides: Partial<CoordinationLimits> | undefined) {
  const limits = resolveLimits(overrides, AGENTS.length);
  let cluster: InProcessCluster;
  const clients = new Map<string, Promise<Coordination>>();
  const servers = new Map<string, Promise<Client>>();
  const closers: (() => Promise<unknown>)[] = [];

  const sdk = (agent: string) => {
    if (!clients.has(agent))
      clients.set(
        agent,
        cluster.connect(agent).then((client) => {
          closers.push(() => client.close());
          return coordination(client);
        }),
      );
    return clients.get(agent) as Promise<Coordination>;
  };
  const mcp = (agent: string) => {
    if (!servers.has(agent)) servers.set(agent, mcpClient(agent));
    return servers.get(agent) as Promise<Client>;
  };
  async function mcpClient(agent: string) {
    const server = createConclaveMcpServer({
      coordination: await sdk(agent),
      tickMs: TICK_MS,
      limits,
    });
    const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
    await server.connect(serverSide);
    const client = new Client({ name: `limits-${agent}`, version: '0.0.0' });
    await client.connect(clientSide);
    closers.push(() => client.close());
    return client;
  }
  const env: Env = {
    limits,
    tickMs: TICK_MS,
    sdk,
    secretKey: (agent) => cluster.identity(agent).secretKey,
    proposeWithin: async (ttlTicks) => refusalOf(proposeAtFixedTime(cluster, limits, ttlTicks)),
  };
  return {
    env,
    limits,
    sdk,
    call: async (agent: string, tool: string, args: Record<string, unknown>) =>
      (await (
        await mcp(agent)
      ).callTool({ name: tool, arguments: args }, undefined, {
        timeout: 20_000,
      })) as ToolResult,
    start: async () => {
      cluster = await startInProcessCluster({
        tickMs: TICK_MS,
        agents: AGENTS,
        stateMachine: ({ cluster: c, crypto }) =>
          new CoordinationStateMachine({ crypto, agents: c.agents, limits }),
      });
    },
    stop: async () => {
      for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
      await cluster?.stop();
    },
  };
}

/** A proposal `ttlTicks` ahead, applied to a fresh state machine at a fixed agreed time. */
function proposeAtFixedTime(cluster: InProcessCluster, limits: CoordinationLimits, ttlTicks: number) {
  const machine = new CoordinationStateMachine({
    crypto: cluster.crypto,
    agents: cluster.cluster.agents,
    limits,
  });
  const now = 1_000;
  const operation = ops.propose({
    proposalId: 'ttl',
    title: '',
    rule: { kind: 'threshold', k: 1 },
    voters: [{ agent: 'agent-1', weight: 1 }],
    deadline: now + ttlTicks,
  });
  return decodeResult(
    machine.apply(operation, { agent: 'agent-0', requestId: 1, sequence: 1, timestamp: now }),
  );
}

function refusalOf(result: ReturnType<typeof decodeResult>): void {
  if (!result.ok) throw new RejectedError(result.code, result.message);
}

type Harness = ReturnType<typeof harness>;

/** One row: the bound is accepted end to end, the next value refused by the server and the cluster alike. */
async function expectBoundary(h: Harness, b: Boundary) {
  await b.before?.();
  const accepted = await h.call(b.agent, b.tool, b.args(b.largest));
  expect(accepted.isError, `${b.name} at its bound: ${accepted.content[0]?.text}`).toBeFalsy();

  const refused = await h.call(b.agent, b.tool, b.args(b.pastIt));
  expect(refused.isError, `${b.name} past its bound`).toBe(true);
  const said = refused.content[0]?.text ?? '';
  expect(said).toMatch(/Input validation error|INVALID_ARGUMENT/);
  expect(said).toContain(b.says);

  const cluster = await b.cluster(b.pastIt).then(
    () => 'accepted',
    (error: unknown) => error,
  );
  expect(cluster, `the cluster on ${b.name} past its bound`).toBeInstanceOf(RejectedError);
  expect((cluster as RejectedError).reason).toBe('INVALID');
  expect((cluster as RejectedError).message).toContain(b.clusterSays ?? b.says);
}

describe.each([
  ['the default limits', undefined],
  ['other limits, given to the replicas and the server', OTHER_LIMITS],
])('input bounds with %s', (_label, overrides) => {
  const h = harness(overrides);
  beforeAll(() => h.start());
  afterAll(() => h.stop());

  it.each(boundaries(h.env).map((b) => [b.name, b] as const))('%s', async (_name, b) => {
    await expectBoundary(h, b);
  });
});

describe('bounds that no single field reaches, with other limits', () => {
  const h = harness(OTHER_LIMITS);
  beforeAll(() => h.start());
  afterAll(() => h.stop());

  it('casts a ballot that encodes to ballotBytesMax, and refuses one byte more before signing it', async () => {
    const { ballotBytesMax, reasonBytesMax } = h.limits;
    const voter = await h.sdk(LONG_AGENT);
    for (const proposalId of ['fits', 'over'])
      await voter.propose({
        proposalId,
        title: '',
        rule: { kind: 'threshold', k: 1 },
        voters: [{ agent: LONG_AGENT, weight: 1 }],
        ttlTicks: h.limits.deadlineTicksMax,
      });
    // The reason that pads the ballot to exactly the bound; each field is within its own limit.
    const reason = reasonPadding('fits', ballotBytesMax);
    expect(reason.length).toBeLessThan(reasonBytesMax);

    const fits = await h.call(LONG_AGENT, 'cast_vote', { proposalId: 'fits', choice: 'approve', reason });
    expect(fits.isError, fits.content[0]?.text).toBeFalsy();
    const over = await h.call(LONG_AGENT, 'cast_vote', {
      proposalId: 'over',
      choice: 'approve',
      reason: `${reason}x`,
    });
    expect(over.structuredContent).toMatchObject({ error: { code: 'INVALID_ARGUMENT' } });
    expect(over.content[0]?.text).toContain(
      `${ballotBytesMax + 1} bytes, over ${ballotBytesMax} (ballotBytesMax)`,
    );
    await expect(voter.vote('over', 'approve', { reason: `${reason}x` })).rejects.toMatchObject({
      reason: 'INVALID',
      message: `ballotBytes must be at most ${ballotBytesMax} bytes`,
    });
  });

  it('lists with a page the cluster allows, where the SDK default page is refused', async () => {
    const pageMax = h.limits.pageMax;
    expect(pageMax).toBeLessThan(100);
    const client = await h.sdk('agent-1');
    await expect(client.tasks.list()).rejects.toMatchObject({ reason: 'INVALID' });
    await expect(client.evidence()).rejects.toMatchObject({ reason: 'INVALID' });
    for (const tool of ['list_tasks', 'list_evidence']) {
      const listed = await h.call('agent-1', tool, {});
      expect(listed.isError, `${tool}: ${listed.content[0]?.text}`).toBeFalsy();
    }
  });

  it('keeps the default ttl and lease within the bounds when the bounds are shorter', async () => {
    const proposed = await h.call('agent-1', 'propose', {
      proposalId: 'default',
      title: 'no ttl',
      rule: { kind: 'threshold', k: 1 },
      voters: [{ agent: 'agent-1' }],
    });
    expect(proposed.isError, proposed.content[0]?.text).toBeFalsy();
    const view = proposed.structuredContent as { deadline: number; createdAt: { timestamp: number } };
    expect(view.deadline - view.createdAt.timestamp).toBeLessThanOrEqual(h.limits.deadlineTicksMax);

    await (await h.sdk('agent-1')).tasks.create('dflt', new TextEncoder().encode('x'));
    const claimed = await h.call('agent-1', 'claim_task', { taskId: 'dflt' });
    expect(claimed.isError, claimed.content[0]?.text).toBeFalsy();
  });
});

/** The reason that makes LONG_AGENT's approve ballot on `proposalId` exactly `bytes` long. */
function reasonPadding(proposalId: string, bytes: number): string {
  const size = (reason: string) =>
    encodeBallot({ proposalId, agent: LONG_AGENT, choice: 'approve', reason, confidencePermille: 1000 })
      .byteLength;
  let reason = '';
  while (size(reason) < bytes) reason += 'x';
  expect(size(reason)).toBe(bytes);
  return reason;
}
