/**
 * Decisions as MCP resources: the list of proposals, and one proposal with its tally. A failed
 * read is a protocol error (resources have no tool-error form); an unknown proposal is
 * InvalidParams, anything else InternalError.
 */
import type { ProposalSummary } from '@conclave/coordination';
import { type McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { failureOf } from './errors.ts';
import { proposalForModel, summaryForModel } from './present.ts';
import type { ToolContext } from './tools/tool.ts';

const URI_PREFIX = 'conclave://decisions';
const JSON_TYPE = 'application/json';

export function registerResources(server: McpServer, context: ToolContext): void {
  registerList(server, context);
  registerProposal(server, context);
}

/** `conclave://decisions`: every proposal (one page) with its status. */
function registerList(server: McpServer, context: ToolContext): void {
  const all = allProposals(context);
  server.registerResource(
    'decisions',
    URI_PREFIX,
    {
      title: 'Proposals and their status',
      description: `Every proposal (up to ${context.pageSize}) with its status, as JSON.`,
      mimeType: JSON_TYPE,
    },
    async (uri, extra) => {
      const proposals = (await all(extra.signal)).map(summaryForModel);
      return { contents: [{ uri: uri.href, mimeType: JSON_TYPE, text: JSON.stringify({ proposals }) }] };
    },
  );
}

/** `conclave://decisions/{proposalId}`: one proposal with its tally; listed one per proposal. */
function registerProposal(server: McpServer, context: ToolContext): void {
  const all = allProposals(context);
  server.registerResource(
    'decision',
    new ResourceTemplate(`${URI_PREFIX}/{proposalId}`, {
      list: async (extra) => ({ resources: (await all(extra.signal)).map(resourceOf) }),
    }),
    {
      title: 'A proposal and its tally',
      description: 'One proposal: status, rule, voters, deadline and tally, as JSON (a linearizable read).',
      mimeType: JSON_TYPE,
    },
    async (uri, variables, extra) => {
      const raw = variables.proposalId;
      const proposalId = decodeURIComponent(Array.isArray(raw) ? (raw[0] ?? '') : (raw ?? ''));
      const proposal = await context.coordination
        .decision(proposalId, { signal: extra.signal })
        .catch(readFailure(context));
      const text = JSON.stringify(proposalForModel(proposal));
      return { contents: [{ uri: uri.href, mimeType: JSON_TYPE, text }] };
    },
  );
}

/** One page of every proposal, as both resources list them. */
function allProposals(context: ToolContext) {
  return (signal: AbortSignal) =>
    context.coordination
      .proposals({ status: 'all', limit: context.pageSize }, { signal })
      .catch(readFailure(context));
}

function resourceOf(proposal: ProposalSummary) {
  return {
    uri: `${URI_PREFIX}/${encodeURIComponent(proposal.proposalId)}`,
    name: proposal.proposalId,
    title: proposal.title,
    description: `${proposal.status}: ${proposal.title}`,
    mimeType: JSON_TYPE,
  };
}

/** A failed read as the protocol error resources answer with, logged. */
function readFailure(context: ToolContext) {
  return (error: unknown): never => {
    const failure = failureOf(error);
    context.log(`resource read failed: ${failure.message}`);
    throw new McpError(
      failure.reason === 'NOT_FOUND' ? ErrorCode.InvalidParams : ErrorCode.InternalError,
      failure.message,
    );
  };
}
