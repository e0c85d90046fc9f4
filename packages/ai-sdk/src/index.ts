/**
 * @conclave/ai-sdk: one agent's Conclave tools as Vercel AI SDK `tool()` definitions, for
 * `generateText` / `streamText` / `Agent`, built straight from an SDK client. The tools are the
 * MCP server's (same names, descriptions, input schemas and JSON results, from
 * `conclaveToolkit`), without an MCP client or a server process in between. A failure throws
 * its one-line message, which the AI SDK hands the model as a tool error.
 */
import { type ConclaveMcpServerOptions, conclaveToolkit } from '@conclave/mcp';
import { type Tool, tool } from 'ai';

export interface ConclaveAiTools {
  /** Pass to `generateText({ tools })`: keyed by tool name (propose, cast_vote, wait_for_decision…). */
  readonly tools: Record<string, Tool>;
  /** Cancels pending sealed-ballot reveals; the SDK client stays open (close it yourself). */
  close(): Promise<void>;
}

/** The tools of the agent `options.coordination` signs as. */
export function conclaveTools(options: ConclaveMcpServerOptions): ConclaveAiTools {
  const toolkit = conclaveToolkit(options);
  const tools: Record<string, Tool> = {};
  for (const conclave of toolkit.tools) {
    tools[conclave.name] = tool({
      title: conclave.title,
      description: conclave.description,
      inputSchema: conclave.inputSchema,
      execute: (input, { abortSignal }) => conclave.call(input, abortSignal),
    });
  }
  return { tools, close: () => toolkit.close() };
}
