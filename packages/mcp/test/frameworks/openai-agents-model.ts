/**
 * A scripted implementation of the OpenAI Agents SDK's `Model` interface (no network, no API
 * key): one function call a turn, then a message quoting the status in the last function call
 * result the runner gave it. `toolsSeen` records the tools the runner offered on each turn. And
 * what two agents' runs must show once they decided, whichever transport reached the server.
 */
import { type Model, type ModelRequest, type ModelResponse, Usage } from '@openai/agents';
import { expect } from 'vitest';
import type { runWithConclave } from './openai-agents-snippet.ts';
import { type ScriptedCall, statusIn } from './shared.ts';

/** A `Model` that makes `script`'s function calls one a turn, then quotes the last result's status. */
export function scriptedModel(
  script: readonly ScriptedCall[],
  /** Awaited before the first answer: a voter waits here until there is a proposal. */
  ready: () => Promise<unknown> = async () => undefined,
): Model & { readonly toolsSeen: string[][] } {
  const toolsSeen: string[][] = [];
  return {
    toolsSeen,
    async getResponse(request: ModelRequest): Promise<ModelResponse> {
      if (toolsSeen.length === 0) await ready();
      toolsSeen.push(request.tools.map((tool) => tool.name));
      const items = typeof request.input === 'string' ? [] : request.input;
      const results = items.filter((item) => item.type === 'function_call_result');
      const next = script[results.length];
      const output: ModelResponse['output'] =
        next === undefined
          ? [
              {
                type: 'message',
                role: 'assistant',
                status: 'completed',
                content: [
                  { type: 'output_text', text: `The decision is ${statusIn(results.at(-1)?.output)}.` },
                ],
              },
            ]
          : [
              {
                type: 'function_call',
                callId: `call-${results.length}`,
                name: next.toolName,
                arguments: JSON.stringify(next.input),
                status: 'completed',
              },
            ];
      return { usage: new Usage(), output };
    },
    // biome-ignore lint/correctness/useYield: the runner here never streams
    async *getStreamedResponse() {
      throw new Error('the scripted model does not stream');
    },
  };
}

type Run = Awaited<ReturnType<typeof runWithConclave>>;

const callsOf = (run: Run) =>
  (run.history as readonly { type: string; name?: string }[])
    .filter((item) => item.type === 'function_call')
    .map((item) => item.name);

/**
 * Two agents' runs reached the decision: the proposer proposed, approved and waited, the voter
 * approved and waited, the wait returned approved, and each `finalOutput` quotes it (so the
 * runner carried the tool result back to the model).
 */
export function expectBothDecided(proposer: Run, voter: Run): void {
  expect(callsOf(proposer)).toEqual(['propose', 'cast_vote', 'wait_for_decision']);
  expect(callsOf(voter)).toEqual(['cast_vote', 'wait_for_decision']);
  const waited = proposer.history.filter((item) => item.type === 'function_call_result').at(-1);
  expect(waited?.type === 'function_call_result' && statusIn(waited.output)).toBe('approved');
  expect(proposer.finalOutput).toBe('The decision is approved.');
  expect(voter.finalOutput).toBe('The decision is approved.');
}
