/**
 * The same tools as the MCP server, without MCP: for frameworks with a native tool format that is
 * simpler for their users than an MCP client (the AI SDK's `tool()`, `@conclave/ai-sdk`). Each
 * tool validates its input with the same zod schema the server offers, runs the same handler,
 * and resolves with the same JSON object; a failure rejects with a `ToolFailureError` whose
 * message is the one line the server would answer with.
 */
import type { ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { failureOf } from './errors.ts';
import type { JsonObject } from './present.ts';
import { acquireRevealScheduler } from './reveals.ts';
import { type ConclaveMcpServerOptions, contextOf } from './server.ts';
import { DEFAULT_TICK_MS } from './ticks.ts';
import { fieldsFor } from './tools/fields.ts';
import { TOOLS } from './tools/index.ts';
import { type Extra, ToolFailureError } from './tools/tool.ts';

export interface ConclaveTool {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly annotations: ToolAnnotations;
  /** The input schema (zod 4), bounds derived from the cluster's limits. */
  readonly inputSchema: z.ZodObject<z.ZodRawShape>;
  /** Validates `input`, runs the tool as the toolkit's agent; rejects with a `ToolFailureError`. */
  call(input: unknown, signal?: AbortSignal): Promise<JsonObject>;
}

export interface ConclaveToolkit {
  readonly agent: string;
  readonly tools: readonly ConclaveTool[];
  /** Cancels this toolkit's pending sealed-ballot reveals (the client stays open: it is the caller's). */
  close(): Promise<void>;
}

/** Every MCP tool of one agent, as plain functions over its coordination client. */
export function conclaveToolkit(options: ConclaveMcpServerOptions): ConclaveToolkit {
  const tickMs = options.tickMs ?? DEFAULT_TICK_MS;
  const reveals = acquireRevealScheduler(options.coordination, {
    tickMs,
    log: options.log ?? (() => undefined),
  });
  const context = contextOf(options, reveals.scheduler);
  const fields = fieldsFor(context.limits, context.tickMs);
  const tools = TOOLS.map((tool): ConclaveTool => {
    const inputSchema = z.object(tool.input(fields, context));
    return {
      name: tool.name,
      title: tool.title,
      description: typeof tool.description === 'string' ? tool.description : tool.description(context),
      annotations: tool.annotations,
      inputSchema,
      async call(input, signal = new AbortController().signal) {
        const parsed = inputSchema.safeParse(input);
        if (!parsed.success)
          throw new ToolFailureError({
            code: 'INVALID',
            message: `${tool.name}: ${z.prettifyError(parsed.error)}`,
          });
        // What the handlers use of an MCP request: its signal; no progress token, so no notifications.
        const extra = { signal, sendNotification: async () => undefined } as unknown as Extra;
        try {
          return await tool.run(parsed.data as never, context, extra);
        } catch (error) {
          throw error instanceof ToolFailureError ? error : new ToolFailureError(failureOf(error));
        }
      },
    };
  });
  return { agent: context.agent, tools, close: () => reveals.release() };
}
