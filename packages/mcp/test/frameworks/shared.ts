/**
 * What the framework tests share: an in-process cluster, one Conclave MCP server per agent
 * attached to it over Streamable HTTP on 127.0.0.1, and the script the scripted models follow
 * (propose, cast_vote, wait_for_decision, then say the decision).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Coordination, coordination, type InProcessCluster, startInProcessCluster } from '@conclave/sdk';
import { expect } from 'vitest';
import { createConclaveMcpServer, serveHttp } from '../../src/index.ts';

export const TICK_MS = 5;
/** Every call a test makes is bounded by this. */
export const STEP_TIMEOUT_MS = 15_000;

export interface Conclave {
  readonly cluster: InProcessCluster;
  /** The MCP server acting as `agent` over Streamable HTTP on 127.0.0.1: its URL. */
  httpServerFor(agent: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startConclave(): Promise<Conclave> {
  const cluster = await startInProcessCluster({ tickMs: TICK_MS });
  const closers: (() => Promise<unknown>)[] = [];
  return {
    cluster,
    async httpServerFor(agent) {
      const client = await cluster.connect(agent);
      closers.push(() => client.close());
      const create = () => createConclaveMcpServer({ coordination: coordination(client), tickMs: TICK_MS });
      const serving = await serveHttp(create, { port: 0 });
      closers.push(() => serving.close());
      return serving.url;
    },
    async stop() {
      for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
      await cluster.stop();
    },
  };
}

/** One tool call a scripted model makes. */
export interface ScriptedCall {
  readonly toolName: string;
  readonly input: Record<string, unknown>;
}

/** The proposer's calls: propose a 2-of-2 threshold decision, approve it, wait for it. */
export function proposerScript(proposalId: string, voters: readonly string[]): ScriptedCall[] {
  return [
    {
      toolName: 'propose',
      input: {
        proposalId,
        title: `Ship ${proposalId}?`,
        rule: { kind: 'threshold', k: voters.length },
        voters: voters.map((agent) => ({ agent, weight: 1 })),
        ttlSeconds: 120,
      },
    },
    ...voterScript(proposalId),
  ];
}

/** A voter's calls: approve, then wait for the outcome. */
export function voterScript(proposalId: string): ScriptedCall[] {
  return [
    { toolName: 'cast_vote', input: { proposalId, choice: 'approve', reason: 'evals pass' } },
    { toolName: 'wait_for_decision', input: { proposalId, timeoutSeconds: 10 } },
  ];
}

/**
 * The status in the last tool result the model was shown, whatever the framework wrapped it in
 * (an MCP result object, its JSON text, a string): the scripted model's final answer quotes it,
 * so the decision reaches the conversation only if the framework carried the tool result back.
 */
export function statusIn(toolResult: unknown): string | undefined {
  const text = typeof toolResult === 'string' ? toolResult : JSON.stringify(toolResult);
  const found = /\\*"status\\*"\s*:\s*\\*"([a-z_]+)\\*"/.exec(text);
  return found?.[1];
}

/** The text of the code block in packages/mcp/README.md that must be exactly `file`. */
export function readmeHasSnippet(file: string): boolean {
  const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');
  const snippet = readFileSync(join(import.meta.dirname, file), 'utf8');
  return readme.includes(`\`\`\`ts\n${snippet}\`\`\``);
}

/** Waits (as agent-1, up to STEP_TIMEOUT_MS) until the proposal is there to vote on. */
export async function untilProposed(conclave: Conclave, proposalId: string): Promise<void> {
  const watcher = coordination(await conclave.cluster.connect('agent-1'));
  try {
    await untilReadable(watcher, proposalId);
  } finally {
    await watcher.client.close();
  }
}

/** Waits (up to `timeoutMs`) until `watcher` reads the proposal: it is there to vote on. */
export async function untilReadable(
  watcher: Coordination,
  proposalId: string,
  timeoutMs = STEP_TIMEOUT_MS,
): Promise<void> {
  await expect
    .poll(
      () =>
        watcher.decision(proposalId).then(
          () => true,
          () => false,
        ),
      { timeout: timeoutMs, message: `proposal ${proposalId} on the cluster` },
    )
    .toBe(true);
}
