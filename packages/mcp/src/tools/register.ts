/**
 * Registers tool definitions on an MCP server. Every call is logged with its duration, and every
 * failure becomes a tool error (`isError: true`), never a crash, so the server keeps serving.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { failureOf, toolError } from '../errors.ts';
import type { JsonObject } from '../present.ts';
import type { Fields } from './fields.ts';
import { type Extra, type ToolContext, type ToolDefinition, ToolFailureError } from './tool.ts';

export function registerTools(
  server: McpServer,
  tools: readonly ToolDefinition[],
  fields: Fields,
  context: ToolContext,
): void {
  for (const tool of tools) {
    const description = typeof tool.description === 'string' ? tool.description : tool.description(context);
    server.registerTool(
      tool.name,
      {
        title: tool.title,
        description,
        inputSchema: tool.input(fields, context),
        annotations: tool.annotations,
      },
      (args: unknown, extra: Extra) =>
        answer(tool.name, context, () => tool.run(args as Parameters<typeof tool.run>[0], context, extra)),
    );
  }
}

/** Runs a tool's work: its result as JSON text and structured content, or a tool error. */
async function answer(
  name: string,
  context: ToolContext,
  work: () => Promise<JsonObject>,
): Promise<CallToolResult> {
  const started = Date.now();
  try {
    const result = await work();
    context.log(`${name} ok ${Date.now() - started} ms`);
    return { content: [{ type: 'text', text: JSON.stringify(result) }], structuredContent: result };
  } catch (error) {
    const failure = error instanceof ToolFailureError ? error.failure : failureOf(error);
    context.log(`${name} failed ${Date.now() - started} ms: ${failure.message}`);
    return toolError(failure);
  }
}
