/**
 * The Vercel AI SDK's own agent loop (`generateText` with `stopWhen`) against Conclave's MCP
 * server over Streamable HTTP, through the AI SDK's own MCP client (`createMCPClient` from
 * `@ai-sdk/mcp` with its `{ type: 'http', url }` transport; the server in process, on 127.0.0.1,
 * over an in-process cluster), driven by the AI SDK's own test double (`MockLanguageModelV3`
 * from `ai/test`) scripted to call tools.
 * Two agents: agent-0 proposes, approves and waits; agent-1 approves and waits. Each model's
 * last step quotes the status it read in the last tool result, so the decision is in the
 * conversation only if the framework carried it there. The loop runs `ai-sdk-snippet.ts`,
 * which README.md shows verbatim.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectBothDecided, scriptedModel } from './ai-sdk-model.ts';
import { runWithConclave } from './ai-sdk-snippet.ts';
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
  conclave = await startConclave();
});
afterAll(async () => {
  await conclave?.stop();
});

describe('the Vercel AI SDK over Streamable HTTP', () => {
  it('runs propose, cast_vote and wait_for_decision in its own loop and ends with the decision', async () => {
    const proposalId = 'ai-sdk-mcp';
    const proposer = runWithConclave(
      scriptedModel(proposerScript(proposalId, ['agent-0', 'agent-1'])),
      { type: 'http', url: await conclave.httpServerFor('agent-0') },
      `Propose ${proposalId}, approve it and report the decision.`,
    );
    // agent-1's turn starts once the proposal is there to vote on.
    await untilProposed(conclave, proposalId);
    const voter = runWithConclave(
      scriptedModel(voterScript(proposalId)),
      { type: 'http', url: await conclave.httpServerFor('agent-1') },
      `Vote on ${proposalId} and report the decision.`,
    );
    const [a, b] = await Promise.all([proposer, voter]);

    expectBothDecided(a, b);
  }, 30_000);

  it('is the snippet README.md shows', () => {
    expect(readmeHasSnippet('ai-sdk-snippet.ts')).toBe(true);
  });
});
