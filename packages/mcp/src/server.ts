/**
 * The MCP server: one agent identity's coordination primitives as MCP tools (one module each,
 * under `tools/`), and decisions as MCP resources. Every tool signs as that agent, through the
 * SDK client, so every answer is one that f+1 replicas vouched for.
 */
import { type CoordinationLimits, DEFAULT_PAGE_LIMIT, resolveLimits } from '@conclave/coordination';
import { quorumsOf } from '@conclave/core';
import type { Coordination } from '@conclave/sdk';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { registerResources } from './resources.ts';
import { acquireRevealScheduler, type RevealScheduler } from './reveals.ts';
import { DEFAULT_TICK_MS } from './ticks.ts';
import { fieldsFor } from './tools/fields.ts';
import { TOOLS } from './tools/index.ts';
import { registerTools } from './tools/register.ts';
import type { ToolContext } from './tools/tool.ts';

export interface ConclaveMcpServerOptions {
  /** The coordination primitives over a connected client: the one agent this server signs as. */
  readonly coordination: Coordination;
  /** Milliseconds per tick of the cluster's agreed time (cluster.json `tickMs`), to turn seconds into ticks. */
  readonly tickMs?: number;
  /** Where the server writes one line per call and failure (stderr in stdio mode: never stdout). */
  readonly log?: (line: string) => void;
  /**
   * The cluster's coordination limits, when its replicas run with other than the defaults: the
   * tools' input schemas are derived from them, so give the replicas' own overrides.
   */
  readonly limits?: Partial<CoordinationLimits>;
}

/** A new MCP server (one per session) over one agent's coordination client. */
export function createConclaveMcpServer(options: ConclaveMcpServerOptions): McpServer {
  const tickMs = options.tickMs ?? DEFAULT_TICK_MS;
  const log = options.log ?? (() => undefined);
  // Shared with the other sessions over this agent's client; cancelled when the last one closes.
  const reveals = acquireRevealScheduler(options.coordination, { tickMs, log });
  const context = contextOf(options, reveals.scheduler);
  const server = new McpServer(
    { name: 'conclave', title: `Conclave (agent ${context.agent})`, version: '0.1.0' },
    { instructions: instructionsFor(context) },
  );
  registerTools(server, TOOLS, fieldsFor(context.limits, context.tickMs), context);
  registerResources(server, context);
  // Called when the transport closes, whoever closed it (the client went away, or `close()`).
  server.server.onclose = () => void reveals.release();
  return server;
}

/** What every tool of one agent works with (shared with `conclaveToolkit`). */
export function contextOf(options: ConclaveMcpServerOptions, reveals: RevealScheduler): ToolContext {
  const client = options.coordination.client;
  const replicas = client.cluster.replicas.length;
  const limits = resolveLimits(options.limits);
  return {
    coordination: options.coordination,
    agent: client.agent,
    replicas,
    f: quorumsOf(replicas).weak - 1,
    tickMs: options.tickMs ?? DEFAULT_TICK_MS,
    limits,
    // The SDK's default page, unless the cluster pages smaller.
    pageSize: Math.min(DEFAULT_PAGE_LIMIT, limits.pageMax),
    log: options.log ?? (() => undefined),
    reveals,
  };
}

/** What the model is told about the server when it connects. */
function instructionsFor(context: ToolContext): string {
  return [
    `You act as agent "${context.agent}" of a Conclave cluster: ${context.replicas} replicas, of which up to f=${context.f} may be Byzantine.`,
    "Every write you make is signed with this agent's key and ordered by consensus; every answer was vouched for by at least f+1 replicas.",
    'To decide something with other agents: propose, then each voter calls cast_vote, then wait_for_decision.',
    'Keep the receipt cast_vote returns: verify_receipt proves offline that the vote was decided.',
    'A sealed proposal (propose with "sealed") keeps choices hidden until every voter has committed: cast_vote commits, this server reveals when the commit phase ends; if it restarted in between, cast_vote again with the same ballot reveals.',
    'Council members change the agent registry or the council with propose_action, then cast_vote on it like any proposal; list_agents and get_council read them.',
  ].join(' ');
}
