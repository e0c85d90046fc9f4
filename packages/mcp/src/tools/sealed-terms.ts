/**
 * Sealed terms as `propose` and `propose_action` take them: how long the commit phase lasts and
 * what a committed ballot never revealed counts as. Turned into the cluster's absolute terms
 * (commitDeadline, deadline in agreed time) from one ordered read of the agreed time.
 */
import {
  type CoordinationResult,
  decodeResult,
  type MissingReveal,
  type ProposalView,
  type SealedTerms,
} from '@conclave/coordination';
import { ConclaveError, refusalError } from '@conclave/sdk';
import { z } from 'zod';
import { invalidArgument } from '../errors.ts';
import { ticksOf } from '../ticks.ts';
import type { Fields } from './fields.ts';
import { secondsUpTo } from './fields.ts';
import { type ToolContext, ToolFailureError } from './tool.ts';

/** The reveal phase lasts at least this long: the server reveals within a poll of the commit deadline. */
export const REVEAL_SECONDS_MIN = 1;

/** What a model reads about sealed ballots, in propose and propose_action. */
export const SEALED_WHEN =
  'Give "sealed" for a sealed ballot when voters could copy or react to each other\'s votes (agents that read the same feed, a bidding or ranking question, a vote where the first ballot anchors the rest): during a commit phase each voter commits only to a hash of its ballot (who committed is public, what they chose is not), then in the reveal phase each reveals its ballot and the hash is checked. Voters still just call cast_vote; their servers commit, then reveal once the commit phase is over. A voter that commits and never reveals counts as missingReveal and gets a no_reveal evidence record.';

/** The `sealed` input field. */
export function sealedSchema(fields: Fields) {
  return z
    .object({
      commitSeconds: secondsUpTo(
        'sealed.commitSeconds',
        fields.limits.deadlineTicksMax,
        'deadlineTicksMax',
        fields.tickMs,
      )
        .optional()
        .describe(
          `How long the commit phase lasts, from now; the reveal phase then runs until the deadline (ttlSeconds), and must last at least ${REVEAL_SECONDS_MIN} s. Default: half of ttlSeconds.`,
        ),
      missingReveal: z
        .enum(['abstain', 'reject'])
        .default('abstain')
        .describe(
          'What a voter that committed and never revealed counts as: abstain (default) or reject (not for score rules, where it adds no scores).',
        ),
    })
    .optional()
    .describe('Make the ballot sealed (commit, then reveal). Omit for an open ballot.');
}

/** The `sealed` argument as the schema hands it over. */
export type SealedInput = z.output<ReturnType<typeof sealedSchema>>;

/** Sealed terms relative to now: the commit phase's length in ticks, and what a missing reveal counts as. */
export interface RelativeSealedTerms {
  readonly commitTicks: number;
  readonly missingReveal: MissingReveal;
}

/**
 * Checks sealed terms against the rest of the proposal: the commit phase ends before the
 * deadline and leaves the reveal phase at least `REVEAL_SECONDS_MIN`; `reject` for a missing
 * reveal only under yes/no rules. Null for an open ballot.
 */
export function sealedTermsOf(
  sealed: SealedInput,
  ttlSeconds: number,
  tickMs: number,
  ruleKind: 'threshold' | 'weighted' | 'score',
): RelativeSealedTerms | null {
  if (sealed === undefined) return null;
  const ttlTicks = ticksOf(ttlSeconds, tickMs);
  const commitTicks =
    sealed.commitSeconds === undefined
      ? Math.max(1, Math.floor(ttlTicks / 2))
      : ticksOf(sealed.commitSeconds, tickMs);
  const revealTicksMin = ticksOf(REVEAL_SECONDS_MIN, tickMs);
  const commitShown = sealed.commitSeconds === undefined ? 'half of ttlSeconds' : `${sealed.commitSeconds} s`;
  if (commitTicks + revealTicksMin > ttlTicks)
    throw new ToolFailureError(
      invalidArgument(
        `sealed.commitSeconds (${commitShown}) must end at least ${REVEAL_SECONDS_MIN} s before the deadline (ttlSeconds ${ttlSeconds} s): the reveal phase runs from the end of the commit phase to the deadline. Shorten the commit phase or lengthen ttlSeconds`,
      ),
    );
  if (sealed.missingReveal === 'reject' && ruleKind === 'score')
    throw new ToolFailureError(
      invalidArgument(
        'sealed.missingReveal "reject" is for yes/no rules; under a score rule a missing reveal adds no scores (use "abstain")',
      ),
    );
  return { commitTicks, missingReveal: sealed.missingReveal };
}

/** The absolute terms, from the agreed time `now`. */
export function absoluteTerms(terms: RelativeSealedTerms, now: number): SealedTerms {
  return { commitDeadline: now + terms.commitTicks, missingReveal: terms.missingReveal };
}

/** Sends a proposing operation and returns the proposal (a refusal throws, as the SDK's own calls do). */
export async function sendProposal(
  context: ToolContext,
  operation: Uint8Array,
  signal: AbortSignal,
): Promise<ProposalView> {
  const answer = await context.coordination.client.request(operation, { signal });
  const result: CoordinationResult = decodeResult(answer.result);
  if (!result.ok) throw refusalError(result.code, result.message, result.resource);
  if (result.kind !== 'proposal')
    throw new ConclaveError('INVALID_ARGUMENT', `expected a proposal result, got ${result.kind}`);
  return result.proposal;
}
