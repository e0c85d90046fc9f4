/** `list_proposals`: proposals in id order, a page at a time. */
import { DEFAULT_COORDINATION_LIMITS } from '@conclave/coordination';
import { z } from 'zod';
import { summaryForModel } from '../present.ts';
import { integerIn } from './fields.ts';
import { defineTool, READS } from './tool.ts';

/** Proposals a listing returns at most under the default limits (the state machine's `pageMax`). */
export const LIST_LIMIT_MAX = DEFAULT_COORDINATION_LIMITS.pageMax;
/** Proposals a listing returns unless told otherwise. */
const LIST_LIMIT_DEFAULT = 50;

export const listProposals = defineTool({
  name: 'list_proposals',
  title: 'List proposals',
  description:
    'Lists proposals in id order with status, phase (voting, commit, reveal, decided), title, proposer, deadline, sealed terms (commitDeadline, revealDeadline, missingReveal; null for an open ballot) and (score rules) winner. Use get_decision for a full tally and who has committed or revealed.',
  annotations: READS,
  input: (fields) => ({
    status: z.enum(['open', 'decided', 'all']).default('all'),
    after: fields.proposalId('Page cursor: list ids after this one.', 'after').optional(),
    limit: integerIn('limit', 1, fields.limits.pageMax).default(
      Math.min(LIST_LIMIT_DEFAULT, fields.limits.pageMax),
    ),
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
