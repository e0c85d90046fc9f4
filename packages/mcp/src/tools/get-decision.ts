/** `get_decision`: a proposal and its tally, now. */
import { proposalForModel } from '../present.ts';
import { defineTool, READS } from './tool.ts';

export const getDecision = defineTool({
  name: 'get_decision',
  title: 'Read a proposal',
  description:
    'Reads a proposal now: status (open, approved, rejected, no_quorum, expired), rule, voters, deadline, and the tally (counted ballots with choices, voters excluded for equivocation, score aggregates and winner). Does not wait; use wait_for_decision to wait for the outcome.',
  annotations: READS,
  input: (fields) => ({
    proposalId: fields.proposalId('The proposal to read.'),
    consistency: fields.consistency,
  }),
  run: async (args, context, extra) =>
    proposalForModel(
      await context.coordination.decision(args.proposalId, {
        consistency: args.consistency,
        signal: extra.signal,
      }),
    ),
});
