/** `get_decision`: a proposal and its tally, now. */
import { proposalForModel } from '../present.ts';
import { ownSealedBallot } from './own-sealed.ts';
import { defineTool, READS } from './tool.ts';

export const getDecision = defineTool({
  name: 'get_decision',
  title: 'Read a proposal',
  description:
    'Reads a proposal now: status (open, approved, rejected, no_quorum, expired), phase (voting for an open ballot; commit, then reveal, for a sealed one; decided), rule, voters, deadline, and the tally (counted ballots with choices, voters excluded with the reason and evidence id, score aggregates and winner). Sealed proposals also show "sealed": the commit deadline, who has committed and who has revealed (never what anyone chose before their reveal), who is still to reveal, and after the deadline who never revealed with their no_reveal evidence id; and "yourBallot": where this agent stands and what to do next. Does not wait; use wait_for_decision to wait for the outcome.',
  annotations: READS,
  input: (fields) => ({
    proposalId: fields.proposalId('The proposal to read.'),
    consistency: fields.consistency,
  }),
  run: async (args, context, extra) => {
    const view = await context.coordination.decision(args.proposalId, {
      consistency: args.consistency,
      signal: extra.signal,
    });
    return { ...proposalForModel(view), ...ownSealedBallot(view, context) };
  },
});
