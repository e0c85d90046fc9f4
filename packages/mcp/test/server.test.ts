/**
 * The MCP server in one process, over an in-process cluster: input validation, score proposals,
 * a wait that times out, how SDK errors read as tool errors, and the HTTP transport's guards.
 * (The real-process story is in mcp.test.ts.)
 */
import { request } from 'node:http';
import { lyingReplies } from '@conclave/harness';
import {
  AbortedError,
  ConclaveError,
  coordination,
  type InProcessCluster,
  NoQuorumError,
  RejectedError,
  startInProcessCluster,
  TimeoutError,
} from '@conclave/sdk';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConclaveMcpServer, failureOf, serveHttp } from '../src/index.ts';

const TICK_MS = 5;
let cluster: InProcessCluster;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  cluster = await startInProcessCluster({ tickMs: TICK_MS, byzantine: { 3: lyingReplies } });
});
afterAll(async () => {
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
  await cluster?.stop();
});

/** An MCP client talking to a server for `agent` over an in-memory MCP transport. */
async function mcpFor(agent: string): Promise<Client> {
  const conclave = await cluster.connect(agent);
  closers.push(() => conclave.close());
  const server = createConclaveMcpServer({ coordination: coordination(conclave), tickMs: TICK_MS });
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: `test-${agent}`, version: '0.0.0' });
  await client.connect(clientSide);
  closers.push(() => client.close());
  return client;
}

type ToolResult = {
  isError?: boolean;
  content: { text?: string }[];
  structuredContent?: Record<string, unknown>;
};
const callTool = async (client: Client, name: string, args: Record<string, unknown>) =>
  (await client.callTool({ name, arguments: args }, undefined, { timeout: 20_000 })) as ToolResult;

describe('the MCP server over an in-process cluster', () => {
  it('decides a score proposal, refuses bad input as tool errors, and times a wait out', async () => {
    const [a, b] = await Promise.all([mcpFor('agent-0'), mcpFor('agent-1')]);

    const proposed = await callTool(a, 'propose', {
      proposalId: 'model',
      title: 'Which model?',
      rule: { kind: 'score', aggregate: 'median', minBallots: 2 },
      voters: [{ agent: 'agent-0' }, { agent: 'agent-1' }],
      candidates: ['model-a', 'model-b'],
      ttlSeconds: 60,
    });
    expect(proposed.isError, proposed.content[0]?.text).toBeFalsy();

    // Bad input never reaches the cluster and never takes the server down.
    const badChoice = await callTool(a, 'cast_vote', { proposalId: 'model', choice: 'maybe' });
    expect(badChoice.isError).toBe(true);
    const noChoice = await callTool(a, 'cast_vote', { proposalId: 'model' });
    expect(noChoice).toMatchObject({
      isError: true,
      structuredContent: { error: { code: 'INVALID_ARGUMENT' } },
    });
    const wrongShape = await callTool(a, 'cast_vote', { proposalId: 'model', choice: 'approve' });
    expect(wrongShape).toMatchObject({ isError: true, structuredContent: { error: { reason: 'INVALID' } } });

    for (const [client, scores] of [
      [a, { 'model-a': 7, 'model-b': 9 }],
      [b, { 'model-a': 5, 'model-b': 8 }],
    ] as const) {
      const vote = await callTool(client, 'cast_vote', {
        proposalId: 'model',
        choice: Object.entries(scores).map(([candidate, score]) => ({ candidate, score })),
      });
      expect(vote.isError, vote.content[0]?.text).toBeFalsy();
    }
    const decided = await callTool(b, 'wait_for_decision', { proposalId: 'model', timeoutSeconds: 10 });
    expect(decided.structuredContent).toMatchObject({ status: 'approved', tally: { winner: 'model-b' } });

    await callTool(a, 'propose', {
      proposalId: 'idle',
      title: 'Nobody votes',
      rule: { kind: 'threshold', k: 1 },
      voters: [{ agent: 'agent-1' }],
      ttlSeconds: 60,
    });
    const timedOut = await callTool(a, 'wait_for_decision', { proposalId: 'idle', timeoutSeconds: 0.3 });
    expect(timedOut).toMatchObject({ isError: true, structuredContent: { error: { code: 'TIMEOUT' } } });
    expect(timedOut.content[0]?.text).toMatch(/still open after 0.3 s \(0 approve, .*1 pending\)/);

    const listed = await callTool(b, 'list_proposals', { status: 'all' });
    const proposals = listed.structuredContent?.proposals as { proposalId: string }[];
    expect(proposals.map((p) => p.proposalId)).toEqual(['idle', 'model']);
  }, 30_000);

  it('reads every SDK error as one actionable line with a stable code', () => {
    const cases = [
      [new TimeoutError('no answer in 10000 ms'), 'TIMEOUT', /^TIMEOUT: no answer in 10000 ms — .*retry/i],
      [new RejectedError('CONFLICT', 'id taken'), 'REJECTED', /^REJECTED \(CONFLICT\): id taken — /],
      [new NoQuorumError('reached 1 of 4'), 'NO_QUORUM', /^NO_QUORUM: reached 1 of 4 — /],
      [new AbortedError('aborted'), 'ABORTED', /^ABORTED: aborted — /],
      [new ConclaveError('CLOSED', 'closed\nbadly'), 'CLOSED', /^CLOSED: closed badly — /],
      [new Error('boom'), 'INTERNAL', /^INTERNAL: boom — /],
    ] as const;
    for (const [error, code, message] of cases) {
      const failure = failureOf(error);
      expect(failure.code).toBe(code);
      expect(failure.message).toMatch(message);
      expect(failure.message).not.toContain('\n');
    }
    expect(failureOf(new RejectedError('FORGED_BALLOT', 'x')).reason).toBe('FORGED_BALLOT');
  });

  it('serves Streamable HTTP on 127.0.0.1 and refuses foreign Host headers', async () => {
    const conclave = await cluster.connect('agent-2');
    closers.push(() => conclave.close());
    const serving = await serveHttp(
      () => createConclaveMcpServer({ coordination: coordination(conclave), tickMs: TICK_MS }),
      { port: 0 },
    );
    closers.push(() => serving.close());
    expect(serving.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/mcp$/);

    const client = new Client({ name: 'test-http', version: '0.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(serving.url)));
    closers.push(() => client.close());
    expect((await client.listTools()).tools.length).toBeGreaterThanOrEqual(10);
    expect(serving.sessions()).toBe(1);

    const initialize = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '0' } },
    });
    const post = (host: string, body: string) =>
      new Promise<number>((done, fail) => {
        const url = new URL(serving.url);
        const req = request(
          {
            host: '127.0.0.1',
            port: url.port,
            path: url.pathname,
            method: 'POST',
            headers: {
              host,
              'content-type': 'application/json',
              accept: 'application/json, text/event-stream',
            },
            timeout: 5_000,
          },
          (res) => {
            res.resume();
            done(res.statusCode ?? 0);
          },
        );
        req.on('error', fail);
        req.end(body);
      });
    expect(await post('evil.example:80', initialize)).toBe(403); // DNS rebinding
    expect(await post(new URL(serving.url).host, '{"jsonrpc":"2.0","id":2,"method":"tools/list"}')).toBe(400);
  }, 30_000);
});
