/**
 * The OpenAI Agents SDK's own runner (`run` with an `Agent` and `mcpServers`) against Conclave's
 * MCP server over Streamable HTTP (the SDK's `MCPServerStreamableHttp`; the server in process,
 * on 127.0.0.1, over an in-process cluster). The model is a scripted implementation of the SDK's
 * `Model` interface (no network, no API key): one function call a turn (propose, cast_vote,
 * wait_for_decision), then a message quoting the status in the last function call result the
 * runner gave it. Two agents reach an approved decision, which is each run's `finalOutput`. The
 * loop is `openai-agents-snippet.ts`, shown verbatim in README.md.
 */
import { MCPServerStreamableHttp, setTracingDisabled } from '@openai/agents';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectBothDecided, scriptedModel } from './openai-agents-model.ts';
import { runWithConclave } from './openai-agents-snippet.ts';
import {
  type Conclave,
  proposerScript,
  readmeHasSnippet,
  startConclave,
  untilProposed,
  voterScript,
} from './shared.ts';

let conclave: Conclave;
beforeAll(async () => {
  setTracingDisabled(true); // no trace export (it would need an API key and the network)
  conclave = await startConclave();
});
afterAll(async () => {
  await conclave?.stop();
});

/** The SDK's Streamable HTTP client for a server at `url`. */
const httpServer = (url: string) =>
  new MCPServerStreamableHttp({ name: 'conclave', url, clientSessionTimeoutSeconds: 90 });

describe('the OpenAI Agents SDK over MCP', () => {
  it('runs propose, cast_vote and wait_for_decision in its runner and ends with the decision', async () => {
    const proposalId = 'openai-agents-mcp';
    const proposerModel = scriptedModel(proposerScript(proposalId, ['agent-0', 'agent-1']));
    const proposer = runWithConclave(
      proposerModel,
      httpServer(await conclave.httpServerFor('agent-0')),
      `Propose ${proposalId}, approve it and report the decision.`,
    );
    await untilProposed(conclave, proposalId);
    const voter = runWithConclave(
      scriptedModel(voterScript(proposalId)),
      httpServer(await conclave.httpServerFor('agent-1')),
      `Vote on ${proposalId} and report the decision.`,
    );
    const [a, b] = await Promise.all([proposer, voter]);

    // The runner offered the tools it listed from the server.
    expect(proposerModel.toolsSeen[0]).toEqual(
      expect.arrayContaining(['propose', 'cast_vote', 'wait_for_decision']),
    );
    expectBothDecided(a, b);
  }, 30_000);

  it('is the snippet README.md shows', () => {
    expect(readmeHasSnippet('openai-agents-snippet.ts')).toBe(true);
  });
});
