/**
 * The MCP server against real daemons, driven by the official MCP client the way an agent
 * framework drives it: four replicas on 127.0.0.1 (replica 3 Byzantine: it lies in its replies),
 * one `conclave mcp` process per agent (three over stdio, one over Streamable HTTP), and one
 * Byzantine agent that equivocates and then forges another agent's ballot through the tool
 * inputs. Checks the decision (tool, wait with progress, resource), the evidence, receipts
 * (valid and tampered), errors as tool errors, and cancellation of a wait.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  makeCluster,
  ROOT,
  type RunningReplica,
  startReplica,
  statusOf,
  stopReplica,
  waitFor,
} from '@conclave/cli';
import { decodeRequestBody } from '@conclave/coordination';
import { nodeCrypto, verifyReceipt } from '@conclave/core';
import { BYZANTINE_REPLICA_SCRIPT } from '@conclave/harness';
import { type ClusterFile, clusterConfigOf } from '@conclave/node';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeReceiptText, signedBallotIn } from '../src/index.ts';

const CLI = join(ROOT, 'packages/cli/src/cli.ts');
const PROPOSAL = 'ship-3.0';
const LYING_REPLICA = 3;
const STEP_TIMEOUT_MS = 20_000;

interface McpAgent {
  readonly agent: string;
  readonly client: Client;
  /** What the server wrote to stderr (its log). */
  readonly log: () => string;
  stop(): Promise<void>;
}

type ToolResult = {
  isError?: boolean;
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
};

const replicas: RunningReplica[] = [];
const protocolErrors: string[] = [];
const agents: McpAgent[] = [];
let clusterDir = '';

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop().catch(() => undefined)));
  await Promise.all(replicas.map((r) => stopReplica(r, 'SIGKILL')));
  if (clusterDir !== '') rmSync(dirname(clusterDir), { recursive: true, force: true });
});

/** `conclave mcp` over stdio, as a framework launches it. */
async function stdioAgent(dir: string, agent: string): Promise<McpAgent> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: ['--import', 'tsx', CLI, 'mcp', '--dir', dir, '--agent', agent],
    cwd: ROOT,
    env: { ...process.env } as Record<string, string>,
    stderr: 'pipe',
  });
  let log = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  });
  const client = new Client({ name: `test-${agent}`, version: '0.0.0' });
  // Anything but JSON-RPC on the server's stdout would show up here.
  transport.onerror = (error) => protocolErrors.push(`${agent}: ${error.message}`);
  const mcpAgent: McpAgent = { agent, client, log: () => log, stop: () => client.close() };
  agents.push(mcpAgent);
  await client.connect(transport, { timeout: STEP_TIMEOUT_MS });
  return mcpAgent;
}

/** `conclave mcp --http PORT`, and one Streamable HTTP session to it. */
async function httpAgent(dir: string, agent: string): Promise<McpAgent> {
  const child: ChildProcess = spawn(
    process.execPath,
    // Port 0: the server listens where the OS says and prints its URL.
    ['--import', 'tsx', CLI, 'mcp', '--dir', dir, '--agent', agent, '--http', '0'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const client = new Client({ name: `test-${agent}`, version: '0.0.0' });
  const mcpAgent: McpAgent = {
    agent,
    client,
    log: () => log,
    stop: async () => {
      await client.close().catch(() => undefined);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
  agents.push(mcpAgent);
  const url = await waitFor(
    `${agent}'s MCP server on HTTP`,
    () => /serving MCP on (http:\/\/\S+)/.exec(log)?.[1],
    STEP_TIMEOUT_MS,
  );
  expect(url).toMatch(/^http:\/\/127\.0\.0\.1:[1-9]\d*\/mcp$/);
  await client.connect(new StreamableHTTPClientTransport(new URL(url)), { timeout: STEP_TIMEOUT_MS });
  return mcpAgent;
}

async function call(
  agent: McpAgent,
  name: string,
  args: Record<string, unknown>,
  options: Parameters<Client['callTool']>[2] = {},
): Promise<ToolResult> {
  return (await agent.client.callTool({ name, arguments: args }, undefined, {
    timeout: STEP_TIMEOUT_MS,
    ...options,
  })) as ToolResult;
}

/** The parts of tool results the test reads. */
interface ProposalOut {
  readonly status: string;
  readonly tally: { readonly counted: readonly { agent: string }[]; readonly excluded: readonly unknown[] };
}
interface VoteOut {
  readonly receipt: string;
  readonly vouchedBy: readonly number[];
}
interface EvidenceOut {
  readonly evidence: readonly {
    first: { ballot: { choice: string } };
    second: { ballot: { choice: string } };
  }[];
}

/** A successful tool result's structured content (and its JSON text says the same). */
async function ok<T = Record<string, unknown>>(
  agent: McpAgent,
  name: string,
  args: Record<string, unknown> = {},
): Promise<T> {
  const result = await call(agent, name, args);
  expect(result.isError, `${agent.agent} ${name}: ${result.content[0]?.text}`).toBeFalsy();
  expect(JSON.parse(result.content[0]?.text ?? '')).toEqual(result.structuredContent);
  return result.structuredContent as T;
}

/** A tool error: its code, reason and one-line message. */
async function failed(agent: McpAgent, name: string, args: Record<string, unknown>) {
  const result = await call(agent, name, args);
  expect(result.isError, `${agent.agent} ${name} should fail`).toBe(true);
  const text = result.content[0]?.text ?? '';
  expect(text).not.toContain('\n');
  return { ...(result.structuredContent?.error as { code: string; reason?: string }), text };
}

function tamper(receipt: string): string {
  const bytes = Buffer.from(receipt, 'base64');
  const at = bytes.length - 10; // inside the last replica's commit signature
  bytes[at] = (bytes[at] as number) ^ 0x01;
  return bytes.toString('base64');
}

describe('the Conclave MCP server, driven by the MCP client against real daemons', () => {
  it('agents decide through MCP tools despite a lying replica and an equivocating, forging agent', async () => {
    const started = Date.now();
    const { dir, file } = await makeCluster(4, 4);
    clusterDir = dir;
    for (let id = 0; id < 4; id++)
      replicas.push(
        id === LYING_REPLICA
          ? startReplica(dir, id, ['--misbehave', 'lying-replies'], { script: BYZANTINE_REPLICA_SCRIPT })
          : startReplica(dir, id),
      );
    await waitFor(
      'replicas up',
      async () =>
        (await Promise.all([0, 1, 2, 3].map((id) => statusOf(dir, id)))).every(Boolean) ? true : undefined,
      30_000,
    );
    // One server process per agent: agent-2 is the Byzantine one; agent-3 speaks Streamable HTTP.
    const [alice, bob, mallory, dave] = await Promise.all([
      stdioAgent(dir, 'agent-0'),
      stdioAgent(dir, 'agent-1'),
      stdioAgent(dir, 'agent-2'),
      httpAgent(dir, 'agent-3'),
    ]);
    const ready = Date.now();

    // What a framework sees first: the tools (over HTTP here) and who it is.
    const tools = (await dave.client.listTools()).tools.map((t) => t.name);
    for (const name of [
      'propose',
      'cast_vote',
      'get_decision',
      'wait_for_decision',
      'kv_get',
      'kv_put',
      'claim_task',
      'complete_task',
      'list_evidence',
      'verify_receipt',
    ])
      expect(tools).toContain(name);
    expect(await ok(dave, 'cluster_info')).toMatchObject({ agent: 'agent-3', replicas: 4, f: 1 });

    await expectProposal(alice, file);
    await expectTasksAndKv(alice, bob, mallory);
    await expectCancellableWait(alice, bob);

    // Errors are answers: the servers are all still serving.
    for (const agent of [alice, bob, mallory, dave])
      expect(await ok(agent, 'cluster_info')).toMatchObject({ agent: agent.agent });
    // stdout carried only the protocol; the logs went to stderr.
    expect(protocolErrors).toEqual([]);
    expect(alice.log()).toContain('signing as agent-0');
    // Closing stdin is how a framework ends a stdio server: it stops by itself, before the
    // client's 2 s grace period would escalate to SIGTERM.
    const stopping = Date.now();
    await alice.stop();
    expect(Date.now() - stopping).toBeLessThan(1_900);
    expect(alice.log()).toContain('stopped');
    console.log(`mcp e2e: servers ready in ${ready - started} ms, story in ${Date.now() - ready} ms`);

    async function expectProposal(proposer: McpAgent, clusterFile: ClusterFile) {
      const proposal = await ok(proposer, 'propose', {
        proposalId: PROPOSAL,
        title: 'Ship release 3.0?',
        rule: { kind: 'threshold', k: 3 },
        voters: ['agent-0', 'agent-1', 'agent-2', 'agent-3'].map((agent) => ({ agent })),
        ttlSeconds: 300,
      });
      expect(proposal).toMatchObject({ proposalId: PROPOSAL, status: 'open', proposer: 'agent-0' });

      // bob waits for the outcome while the others vote, and sees progress.
      const progress: { progress: number; message?: string }[] = [];
      const waiting = call(
        bob,
        'wait_for_decision',
        { proposalId: PROPOSAL, timeoutSeconds: 40 },
        { timeout: 45_000, onprogress: (p) => progress.push(p) },
      );
      // Votes start once bob has seen the proposal open. Otherwise his quorum reads can all land
      // while a vote is mid-commit at some honest replica (NO_QUORUM, asked again: the lying
      // replica leaves no slack), and the first answer he gets is the decision, with no progress.
      await waitFor(
        'bob to see the proposal open',
        () => (progress.length > 0 ? true : undefined),
        STEP_TIMEOUT_MS,
      );

      const vote = await ok<VoteOut>(alice, 'cast_vote', {
        proposalId: PROPOSAL,
        choice: 'approve',
        reason: 'all checks green',
      });
      expect(vote).toMatchObject({ agent: 'agent-0', duplicate: false, proposal: { status: 'open' } });
      expect(typeof vote.receipt).toBe('string');

      // mallory votes, then equivocates: the second, different ballot is refused and recorded.
      await ok(mallory, 'cast_vote', { proposalId: PROPOSAL, choice: 'approve' });
      const equivocation = await failed(mallory, 'cast_vote', { proposalId: PROPOSAL, choice: 'reject' });
      expect(equivocation).toMatchObject({ code: 'REJECTED', reason: 'EQUIVOCATION' });
      // ...and forges: alice's genuine signed ballot, lifted from her public receipt, cast as its own.
      const receipt = decodeReceiptText(vote.receipt);
      const body = receipt && decodeRequestBody(receipt.request.bytes);
      const stolen = body && signedBallotIn(body.operation);
      expect(stolen).toBeDefined();
      const forgery = await failed(mallory, 'cast_vote', {
        proposalId: PROPOSAL,
        signedBallot: {
          ballotBase64: Buffer.from(stolen!.ballotBytes).toString('base64'),
          signatureBase64: Buffer.from(stolen!.signature).toString('base64'),
        },
      });
      expect(forgery).toMatchObject({ code: 'REJECTED', reason: 'FORGED_BALLOT' });
      expect(forgery.text).toMatch(/^REJECTED \(FORGED_BALLOT\): .+ — /);

      const votes = [
        vote,
        await ok<VoteOut>(bob, 'cast_vote', { proposalId: PROPOSAL, choice: 'approve', confidence: 0.8 }),
        await ok<VoteOut>(dave, 'cast_vote', { proposalId: PROPOSAL, choice: 'approve' }),
      ];
      // Every vote was accepted on f+1 matching answers, never with the lying replica's.
      for (const accepted of votes) {
        expect(accepted.vouchedBy).toHaveLength(2);
        expect(accepted.vouchedBy).not.toContain(LYING_REPLICA);
      }

      const waited = await waiting;
      expect(waited.isError, waited.content[0]?.text).toBeFalsy();
      const decided = waited.structuredContent as unknown as ProposalOut;
      expect(decided).toMatchObject({ proposalId: PROPOSAL, status: 'approved', decided: true });
      expect(decided.tally.counted.map((b) => b.agent)).toEqual(['agent-0', 'agent-1', 'agent-3']);
      expect(decided.tally.excluded).toMatchObject([{ agent: 'agent-2', reason: 'equivocation' }]);
      expect(progress.length).toBeGreaterThanOrEqual(1);
      for (let i = 1; i < progress.length; i++)
        expect(progress[i]!.progress).toBeGreaterThan(progress[i - 1]!.progress);
      expect(progress[0]?.message).toMatch(/^open: /);

      // The same decision from another agent over HTTP, and as a resource.
      expect(await ok(dave, 'get_decision', { proposalId: PROPOSAL })).toMatchObject({ status: 'approved' });
      const uri = `conclave://decisions/${PROPOSAL}`;
      const listed = await alice.client.listResources(undefined, { timeout: STEP_TIMEOUT_MS });
      expect(listed.resources.map((r) => r.uri)).toContain(uri);
      const read = await alice.client.readResource({ uri }, { timeout: STEP_TIMEOUT_MS });
      expect(JSON.parse((read.contents[0] as { text: string }).text)).toMatchObject({
        proposalId: PROPOSAL,
        status: 'approved',
      });

      // The evidence against mallory, re-checked by the server against its registered key.
      const { evidence } = await ok<EvidenceOut>(bob, 'list_evidence', { proposalId: PROPOSAL });
      expect(evidence).toHaveLength(1);
      expect(evidence[0]).toMatchObject({ kind: 'ballot', agent: 'agent-2', verified: true });
      expect([evidence[0]!.first.ballot.choice, evidence[0]!.second.ballot.choice].sort()).toEqual([
        'approve',
        'reject',
      ]);

      // alice's receipt checks offline: in another agent's server, and here with the cluster's keys.
      expect(verifyReceipt(receipt!, clusterConfigOf(clusterFile), nodeCrypto()).ok).toBe(true);
      expect(await ok(dave, 'verify_receipt', { receipt: vote.receipt })).toMatchObject({
        valid: true,
        agent: 'agent-0',
        operation: { op: 'vote', ballot: { proposalId: PROPOSAL, agent: 'agent-0', choice: 'approve' } },
      });
      const tampered = await ok<{ valid: boolean; reason?: string }>(dave, 'verify_receipt', {
        receipt: tamper(vote.receipt),
      });
      expect(tampered.valid).toBe(false);
      expect(tampered.reason).toEqual(expect.any(String));
      expect(await ok(dave, 'verify_receipt', { receipt: 'not a receipt' })).toMatchObject({ valid: false });

      // An unknown proposal: a tool error with the state machine's reason.
      expect(await failed(mallory, 'get_decision', { proposalId: 'no-such-proposal' })).toMatchObject({
        code: 'REJECTED',
        reason: 'NOT_FOUND',
      });
    }

    async function expectTasksAndKv(a: McpAgent, b: McpAgent, m: McpAgent) {
      expect(await ok(a, 'kv_put', { key: 'release', value: 'v3.0' })).toMatchObject({ version: 1 });
      expect(await failed(b, 'kv_put', { key: 'release', value: 'v2.9', expectedVersion: 0 })).toMatchObject({
        reason: 'VERSION_MISMATCH',
      });
      expect(await ok(b, 'kv_get', { key: 'release', consistency: 'quorum' })).toMatchObject({
        value: 'v3.0',
        version: 1,
        updatedBy: 'agent-0',
      });
      await ok(a, 'create_task', { taskId: 'notes', payload: 'write the release notes' });
      expect(await ok(b, 'claim_task', { taskId: 'notes', leaseSeconds: 60 })).toMatchObject({
        status: 'claimed',
        claimant: 'agent-1',
      });
      expect(await failed(m, 'complete_task', { taskId: 'notes', result: 'mine' })).toMatchObject({
        code: 'REJECTED',
      });
      expect(await ok(b, 'complete_task', { taskId: 'notes', result: 'done: notes.md' })).toMatchObject({
        status: 'done',
        result: 'done: notes.md',
        completedBy: 'agent-1',
      });
    }

    async function expectCancellableWait(proposer: McpAgent, waiter: McpAgent) {
      // Nobody will vote on this one: the wait would run its full timeout unless cancelled.
      await ok(proposer, 'propose', {
        proposalId: 'hold',
        title: 'Hold the release?',
        rule: { kind: 'threshold', k: 1 },
        voters: [{ agent: 'agent-0' }],
        ttlSeconds: 300,
      });
      const abort = new AbortController();
      let notified = 0;
      const waiting = call(
        waiter,
        'wait_for_decision',
        { proposalId: 'hold', timeoutSeconds: 120 },
        {
          signal: abort.signal,
          timeout: 30_000,
          onprogress: () => {
            notified += 1;
            abort.abort(new Error('the test cancels the wait'));
          },
        },
      );
      const cancelledAt = Date.now();
      await expect(waiting).rejects.toThrow();
      expect(notified).toBeGreaterThanOrEqual(1);
      expect(Date.now() - cancelledAt).toBeLessThan(STEP_TIMEOUT_MS);
      // The server saw the cancellation and stopped waiting.
      await waitFor(
        'the server to stop the cancelled wait',
        () => (/wait_for_decision failed .*ABORTED/.test(waiter.log()) ? true : undefined),
        10_000,
      );
    }
  }, 90_000);
});
