/**
 * The AI SDK's own test double (`MockLanguageModelV3` from `ai/test`), scripted: one tool call a
 * step, then a last answer quoting the status in the last tool result it was shown. And what two
 * agents' runs must show once they decided, whichever transport reached the server.
 */
import type { LanguageModelV3CallOptions, LanguageModelV3GenerateResult } from '@ai-sdk/provider';
import { MockLanguageModelV3 } from 'ai/test';
import { expect } from 'vitest';
import type { runWithConclave } from './ai-sdk-snippet.ts';
import { type ScriptedCall, statusIn } from './shared.ts';

const USAGE = {
  inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 1, text: 1, reasoning: 0 },
};

/** A mock model that makes `script`'s tool calls one step each, then quotes the last tool result's status. */
export function scriptedModel(
  script: readonly ScriptedCall[],
  /** Awaited before the first step: a voter waits here until there is a proposal. */
  ready: () => Promise<unknown> = async () => undefined,
): MockLanguageModelV3 {
  return new MockLanguageModelV3({
    doGenerate: async (options: LanguageModelV3CallOptions): Promise<LanguageModelV3GenerateResult> => {
      const results = options.prompt.flatMap((message) =>
        message.role === 'tool' ? message.content.filter((part) => part.type === 'tool-result') : [],
      );
      if (results.length === 0) await ready();
      const next = script[results.length];
      // Only what the loop discovered from the MCP server and offered may be called.
      const offered = (options.tools ?? []).map((tool) => tool.name);
      if (next !== undefined && !offered.includes(next.toolName))
        throw new Error(`${next.toolName} was not offered (offered: ${offered.join(', ')})`);
      if (next !== undefined) {
        return {
          content: [
            {
              type: 'tool-call',
              toolCallId: `call-${results.length}`,
              toolName: next.toolName,
              input: JSON.stringify(next.input),
            },
          ],
          finishReason: { unified: 'tool-calls', raw: undefined },
          usage: USAGE,
          warnings: [],
        };
      }
      const last = results.at(-1);
      return {
        content: [{ type: 'text', text: `The decision is ${statusIn(last?.output)}.` }],
        finishReason: { unified: 'stop', raw: undefined },
        usage: USAGE,
        warnings: [],
      };
    },
  });
}

type Run = Awaited<ReturnType<typeof runWithConclave>>;

/**
 * Two agents' runs reached the decision: the proposer proposed, approved and waited, the voter
 * approved and waited, one tool call a step, no tool failed, and each last answer quotes the
 * approved status the wait returned (so the framework carried the tool result back to the model).
 */
export function expectBothDecided(proposer: Run, voter: Run): void {
  const calls = (run: Run) => run.steps.map((step) => step.toolCalls.map((call) => call.toolName));
  expect(calls(proposer)).toEqual([['propose'], ['cast_vote'], ['wait_for_decision'], []]);
  expect(calls(voter)).toEqual([['cast_vote'], ['wait_for_decision'], []]);
  for (const step of [...proposer.steps, ...voter.steps]) {
    for (const result of step.toolResults)
      expect(JSON.stringify(result.output)).not.toContain('"isError":true');
  }
  expect(statusIn(proposer.steps[2]?.toolResults[0]?.output)).toBe('approved');
  expect(proposer.text).toBe('The decision is approved.');
  expect(voter.text).toBe('The decision is approved.');
}
