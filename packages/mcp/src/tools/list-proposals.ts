/** `list_proposals`: proposals in id order, a page at a time. */
import { z } from 'zod';
import { summaryForModel } from '../present.ts';
import { defineTool, READS } from './tool.ts';

/** Proposals a listing returns at most (the state machine's page bound). */
export const LIST_LIMIT_MAX = 100;

export const listProposals = defineTool({
  name: 'list_proposals',
  title: 'List proposals',
  description:
    'Lists proposals in id order with status, title, proposer, deadline and (score rules) winner. Use get_decision for a full tally.',
  annotations: READS,
  input: (fields) => ({
    status: z.enum(['open', 'decided', 'all']).default('all'),
    after: z.string().optional().describe('Page cursor: list ids after this one.'),
    limit: z.number().int().min(1).max(LIST_LIMIT_MAX).default(50),
    consistency: fields.consistency,
  }),
  run: async (args, context, extra) => {
    const proposals = await context.coordination.proposals(
      { status: args.status, limit: args.limit, ...(args.after === undefined ? {} : { after: args.after }) },
      { consistency: args.consistency, signal: extra.signal },
    );
    return { proposals: proposals.map(summaryForModel) };
  },
});
