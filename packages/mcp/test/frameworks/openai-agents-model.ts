/**
 * A scripted implementation of the OpenAI Agents SDK's `Model` interface (no network, no API
 * key): one function call a turn, then a message quoting the status in the last function call
 * result the runner gave it. `toolsSeen` records the tools the runner offered on each turn.
 */
import { type Model, type ModelRequest, type ModelResponse, Usage } from '@openai/agents';
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
