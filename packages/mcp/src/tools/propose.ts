/** `propose`: opens a proposal that voters decide by signed ballots, open or sealed. */
import { type CoordinationLimits, ops, type Rule, TRIM_PERMILLE_MAX } from '@conclave/coordination';
import { z } from 'zod';
import { proposalForModel } from '../present.ts';
import { secondsMaxOf, ticksOf } from '../ticks.ts';
import { type Fields, integerIn, listOf, secondsUpTo, utf8Text } from './fields.ts';
import { absoluteTerms, SEALED_WHEN, sealedSchema, sealedTermsOf, sendProposal } from './sealed-terms.ts';
import { defineTool, IDEMPOTENT_WRITES } from './tool.ts';

/** How long voting stays open unless the caller says (within the cluster's deadline bound). */
const TTL_SECONDS_DEFAULT = 600;

export const propose = defineTool({
  name: 'propose',
  title: 'Open a proposal',
  description: `Opens a proposal that the listed voter agents decide by signed ballots before a deadline. Rules: threshold (approved once k voters approve), weighted (approved once approving weights reach approveWeight), score (each voter scores every candidate; highest median or trimmed mean wins). It ends approved, rejected (approval can no longer be reached), no_quorum or expired (deadline passed). ${SEALED_WHEN} Returns the proposal. Proposing the same id with the same definition again is harmless; a different definition gets REJECTED (CONFLICT).`,
  annotations: IDEMPOTENT_WRITES,
  input: (fields) => ({
    proposalId: fields.proposalId('A unique id for the proposal, e.g. "ship-2.0".'),
    title: utf8Text('title', fields.limits.titleBytesMax, 0).describe(
      'The question, in one line, e.g. "Ship release 2.0?"',
    ),
    rule: ruleSchema(fields.limits),
    voters: votersSchema(fields),
    ttlSeconds: ttlSeconds(fields.limits.deadlineTicksMax, fields.tickMs),
    candidates: listOf(fields.candidate(), 'candidates', 2, fields.limits.candidatesMax)
      .optional()
      .describe('Score rule only: the candidate answers voters score.'),
    sealed: sealedSchema(fields),
  }),
  run: async (args, context, extra) => {
    const sealed = sealedTermsOf(args.sealed, args.ttlSeconds, context.tickMs, args.rule.kind);
    if (sealed !== null) {
      // Both deadlines from one reading of the agreed time, so the phases are as long as asked.
      const now = await context.coordination.agreedTime({ signal: extra.signal });
      const operation = ops.propose({
        proposalId: args.proposalId,
        title: args.title,
        rule: ruleOf(args.rule),
        voters: args.voters,
        deadline: now + ticksOf(args.ttlSeconds, context.tickMs),
        ...(args.candidates === undefined ? {} : { candidates: args.candidates }),
        sealed: absoluteTerms(sealed, now),
      });
      return proposalForModel(await sendProposal(context, operation, extra.signal));
    }
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

/** The three rules, with the bounds the cluster puts on their numbers. */
function ruleSchema(limits: CoordinationLimits) {
  return z
    .discriminatedUnion('kind', [
      z.object({
        kind: z.literal('threshold'),
        k: integerIn('k', 1, limits.votersMax).describe('Approvals needed (voter weights ignored).'),
      }),
      z.object({
        kind: z.literal('weighted'),
        approveWeight: integerIn('approveWeight', 1, limits.votersMax * limits.weightMax).describe(
          'Total weight of approving voters needed.',
        ),
      }),
      z.object({
        kind: z.literal('score'),
        aggregate: z.enum(['median', 'trimmed_mean']),
        trimPermille: integerIn('trimPermille', 0, TRIM_PERMILLE_MAX)
          .default(0)
          .describe('trimmed_mean only: thousandths of ballots dropped at each end (0 for median).'),
        minBallots: integerIn('minBallots', 1, limits.votersMax).describe('Ballots needed for a result.'),
      }),
    ])
    .describe('How the proposal is decided.');
}

function votersSchema(fields: Fields) {
  const voter = z.object({
    agent: fields.agentId('agent', 'A registered agent id (cluster_info lists them).'),
    weight: integerIn('weight', 1, fields.limits.weightMax).default(1),
  });
  return listOf(voter, 'voters', 1, fields.limits.votersMax).describe(
    'Who may vote, each once. The proposer need not be one.',
  );
}

/** Seconds until voting closes: at most the cluster's deadline bound, once in ticks. */
function ttlSeconds(deadlineTicksMax: number, tickMs: number) {
  const field = secondsUpTo('ttlSeconds', deadlineTicksMax, 'deadlineTicksMax', tickMs);
  return field
    .default(Math.min(TTL_SECONDS_DEFAULT, secondsMaxOf(deadlineTicksMax, tickMs)))
    .describe("Voting closes this many seconds from now (in the cluster's agreed time).");
}

/** The rule as the cluster takes it: a median drops nothing, whatever trimPermille said. */
function ruleOf(rule: Rule): Rule {
  if (rule.kind !== 'score') return rule;
  return { ...rule, trimPermille: rule.aggregate === 'median' ? 0 : rule.trimPermille };
}
