/**
 * A scripted LangChain chat model (no network): one tool call a turn, then an answer quoting the
 * status in the last `ToolMessage` the graph gave it. And what two agents' runs must show once
 * they decided, whichever transport reached the server.
 */
import type { CallbackManagerForLLMRun } from '@langchain/core/callbacks/manager';
import { BaseChatModel, type BindToolsInput } from '@langchain/core/language_models/chat_models';
import { AIMessage, type BaseMessage, ToolMessage } from '@langchain/core/messages';
import type { ChatResult } from '@langchain/core/outputs';
import { expect } from 'vitest';
import { type ScriptedCall, statusIn } from './shared.ts';

/** A chat model that follows a script of tool calls, then quotes the last tool result's status. */
export class ScriptedChatModel extends BaseChatModel {
  readonly #script: readonly ScriptedCall[];
  readonly #ready: () => Promise<unknown>;
  constructor(
    script: readonly ScriptedCall[],
    /** Awaited before the first turn: a voter waits here until there is a proposal. */
    ready: () => Promise<unknown> = async () => undefined,
  ) {
    super({});
    this.#script = script;
    this.#ready = ready;
  }
  _llmType(): string {
    return 'scripted';
  }
  /** The tools LangGraph bound (discovered from the MCP server): the only ones the script may call. */
  #offered: string[] = [];
  override bindTools(tools: BindToolsInput[]): this {
    this.#offered = tools.map((tool) => ('name' in tool && typeof tool.name === 'string' ? tool.name : ''));
    return this;
  }
  async _generate(
    messages: BaseMessage[],
    _options: this['ParsedCallOptions'],
    _run?: CallbackManagerForLLMRun,
  ): Promise<ChatResult> {
    const results = messages.filter((message) => ToolMessage.isInstance(message));
    if (results.length === 0) await this.#ready();
    const next = this.#script[results.length];
    if (next !== undefined && !this.#offered.includes(next.toolName))
      throw new Error(`${next.toolName} was not offered (offered: ${this.#offered.join(', ')})`);
    const message =
      next === undefined
        ? new AIMessage(`The decision is ${statusIn(results.at(-1)?.content)}.`)
        : new AIMessage({
            content: '',
            tool_calls: [
              { id: `call-${results.length}`, name: next.toolName, args: next.input, type: 'tool_call' },
            ],
          });
    return { generations: [{ message, text: typeof message.content === 'string' ? message.content : '' }] };
  }
}

/** The names of the tools the model called, in order. */
export const toolCallsOf = (messages: readonly BaseMessage[]) =>
  messages.flatMap((message) =>
    AIMessage.isInstance(message) ? (message.tool_calls ?? []).map((call) => call.name) : [],
  );

/**
 * Two agents' ReAct runs reached the decision: the proposer proposed, approved and waited, the
 * voter approved and waited, no tool failed, and each last message quotes the approved status
 * the wait returned (so the graph carried the tool result back to the model).
 */
export function expectBothDecided(proposer: readonly BaseMessage[], voter: readonly BaseMessage[]): void {
  expect(toolCallsOf(proposer)).toEqual(['propose', 'cast_vote', 'wait_for_decision']);
  expect(toolCallsOf(voter)).toEqual(['cast_vote', 'wait_for_decision']);
  const toolMessages = [...proposer, ...voter].filter((message) => ToolMessage.isInstance(message));
  expect(toolMessages).toHaveLength(5);
  for (const message of toolMessages) expect(message.status).not.toBe('error');
  expect(proposer.at(-1)?.content).toBe('The decision is approved.');
  expect(voter.at(-1)?.content).toBe('The decision is approved.');
}
