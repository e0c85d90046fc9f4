/** `propose`: opens a proposal that voters decide by signed ballots. */
import type { Rule } from '@conclave/coordination';
import { z } from 'zod';
import { proposalForModel } from '../present.ts';
import { ticksOf } from '../ticks.ts';
import { defineTool, IDEMPOTENT_WRITES } from './tool.ts';

export const propose = defineTool({
  name: 'propose',
  title: 'Open a proposal',
  description:
    'Opens a proposal that the listed voter agents decide by signed ballots before a deadline. Rules: threshold (approved once k voters approve), weighted (approved once approving weights reach approveWeight), score (each voter scores every candidate; highest median or trimmed mean wins). It ends approved, rejected (approval can no longer be reached), no_quorum or expired (deadline passed). Returns the proposal. Proposing the same id with the same definition again is harmless; a different definition gets REJECTED (CONFLICT).',
  annotations: IDEMPOTENT_WRITES,
  input: (fields) => ({
    proposalId: fields.id('A unique id for the proposal, e.g. "ship-2.0".'),
    title: z.string().min(1).max(256).describe('The question, in one line, e.g. "Ship release 2.0?"'),
    rule: z
      .discriminatedUnion('kind', [
        z.object({
          kind: z.literal('threshold'),
          k: z.number().int().min(1).describe('Approvals needed (voter weights ignored).'),
        }),
        z.object({
          kind: z.literal('weighted'),
          approveWeight: z.number().int().min(1).describe('Total weight of approving voters needed.'),
        }),
        z.object({
          kind: z.literal('score'),
          aggregate: z.enum(['median', 'trimmed_mean']),
          trimPermille: z
            .number()
            .int()
            .min(0)
            .max(499)
            .default(0)
            .describe('trimmed_mean only: thousandths of ballots dropped at each end (0 for median).'),
          minBallots: z.number().int().min(1).describe('Ballots needed for a result.'),
        }),
      ])
      .describe('How the proposal is decided.'),
    voters: z
      .array(
        z.object({
          agent: z.string().min(1).describe('A registered agent id (cluster_info lists them).'),
          weight: z.number().int().min(1).default(1),
        }),
      )
      .min(1)
      .max(64)
      .describe('Who may vote, each once. The proposer need not be one.'),
    ttlSeconds: z
      .number()
      .positive()
      .max(30 * 24 * 3600)
      .default(600)
      .describe("Voting closes this many seconds from now (in the cluster's agreed time)."),
    candidates: z
      .array(z.string().min(1).max(128))
      .min(2)
      .max(16)
      .optional()
      .describe('Score rule only: the candidate answers voters score.'),
  }),
  run: async (args, context, extra) => {
    const proposal = await context.coordination.propose({
      proposalId: args.proposalId,
      title: args.title,
      rule: ruleOf(args.rule),
      voters: args.voters,
      ttlTicks: ticksOf(args.ttlSeconds, context.tickMs),
      ...(args.candidates === undefined ? {} : { candidates: args.candidates }),
      signal: extra.signal,
    });
    return proposalForModel(proposal);
  },
});

/** The rule as the cluster takes it: a median drops nothing, whatever trimPermille said. */
function ruleOf(rule: Rule): Rule {
  if (rule.kind !== 'score') return rule;
  return { ...rule, trimPermille: rule.aggregate === 'median' ? 0 : rule.trimPermille };
}
