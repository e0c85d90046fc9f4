/**
 * The adapter (`conclaveTools`) in the Vercel AI SDK's own loop: `generateText` with `stopWhen`,
 * driven by the AI SDK's `MockLanguageModelV3` scripted to call propose, cast_vote and
 * wait_for_decision, on an in-process cluster. Two agents reach an approved decision, and each
 * model's last answer quotes the status it read in its last tool result. A refused call reaches
 * the model as a tool error and the loop goes on. The loop is `snippet.ts`, shown verbatim in
 * README.md.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { coordination, type InProcessCluster, startInProcessCluster } from '@conclave/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scriptedModel } from '../../mcp/test/frameworks/ai-sdk-model.ts';
import { proposerScript, STEP_TIMEOUT_MS, statusIn, voterScript } from '../../mcp/test/frameworks/shared.ts';
import { runWithConclaveTools } from './snippet.ts';

const TICK_MS = 5;
let cluster: InProcessCluster;
beforeAll(async () => {
  cluster = await startInProcessCluster({ tickMs: TICK_MS });
});
afterAll(async () => {
  await cluster?.stop();
});

const toolNames = (steps: readonly { toolCalls: readonly { toolName: string }[] }[]) =>
  steps.map((step) => step.toolCalls.map((call) => call.toolName));

describe('@conclave/ai-sdk', () => {
  it('runs propose, cast_vote and wait_for_decision as AI SDK tools and ends with the decision', async () => {
    const proposalId = 'ai-sdk-tools';
    const [alice, bob] = await Promise.all([cluster.connect('agent-0'), cluster.connect('agent-1')]);
    try {
      const proposer = runWithConclaveTools(
        scriptedModel(proposerScript(proposalId, ['agent-0', 'agent-1'])),
        coordination(alice),
        TICK_MS,
        `Propose ${proposalId}, approve it and report the decision.`,
      );
      await expect
        .poll(
          () =>
            coordination(bob)
              .decision(proposalId)
              .then(
                () => true,
                () => false,
              ),
          {
            timeout: STEP_TIMEOUT_MS,
          },
        )
        .toBe(true);
      const voter = runWithConclaveTools(
        scriptedModel(voterScript(proposalId)),
        coordination(bob),
        TICK_MS,
        `Vote on ${proposalId} and report the decision.`,
      );
      const [a, b] = await Promise.all([proposer, voter]);
      expect(toolNames(a.steps)).toEqual([['propose'], ['cast_vote'], ['wait_for_decision'], []]);
      expect(toolNames(b.steps)).toEqual([['cast_vote'], ['wait_for_decision'], []]);
      expect(a.steps.flatMap((step) => step.content.filter((part) => part.type === 'tool-error'))).toEqual(
        [],
      );
      expect(statusIn(a.steps[2]?.toolResults[0]?.output)).toBe('approved');
      expect(a.text).toBe('The decision is approved.');
      expect(b.text).toBe('The decision is approved.');
    } finally {
      await Promise.all([alice.close(), bob.close()]);
    }
  }, 30_000);

  it('hands a refusal to the model as a tool error, and the loop goes on', async () => {
    const carol = await cluster.connect('agent-2');
    try {
      // agent-2 is not a voter on ai-sdk-tools, and the proposal is decided already.
      const { steps, text } = await runWithConclaveTools(
        scriptedModel([{ toolName: 'cast_vote', input: { proposalId: 'ai-sdk-tools', choice: 'approve' } }]),
        coordination(carol),
        TICK_MS,
        'Vote on ai-sdk-tools.',
      );
      const errors = steps.flatMap((step) => step.content.filter((part) => part.type === 'tool-error'));
      expect(errors).toHaveLength(1);
      expect(String((errors[0] as { error: unknown }).error)).toMatch(/CLOSED|FORBIDDEN/);
      expect(steps).toHaveLength(2);
      expect(text).toContain('The decision is');
    } finally {
      await carol.close();
    }
  }, 30_000);

  it('is the snippet README.md shows', () => {
    const readme = readFileSync(join(import.meta.dirname, '../README.md'), 'utf8');
    const snippet = readFileSync(join(import.meta.dirname, 'snippet.ts'), 'utf8');
    expect(readme.includes(`\`\`\`ts\n${snippet}\`\`\``)).toBe(true);
  });
});
