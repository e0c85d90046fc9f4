/**
 * The AI SDK's own test double (`MockLanguageModelV3` from `ai/test`), scripted: one tool call a
 * step, then a last answer quoting the status in the last tool result it was shown.
 */
import type { LanguageModelV3CallOptions, LanguageModelV3GenerateResult } from '@ai-sdk/provider';
import { MockLanguageModelV3 } from 'ai/test';
import { type ScriptedCall, statusIn } from './shared.ts';

const USAGE = {
  inputTokens: { total: 1, noCache: 1, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 1, text: 1, reasoning: 0 },
};

/** A mock model that makes `script`'s tool calls one step each, then quotes the last tool result's status. */
export function scriptedModel(script: readonly ScriptedCall[]): MockLanguageModelV3 {
  return new MockLanguageModelV3({
    doGenerate: async (options: LanguageModelV3CallOptions): Promise<LanguageModelV3GenerateResult> => {
      const results = options.prompt.flatMap((message) =>
        message.role === 'tool' ? message.content.filter((part) => part.type === 'tool-result') : [],
      );
      const next = script[results.length];
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
