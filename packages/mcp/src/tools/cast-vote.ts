/** `cast_vote`: this agent's signed ballot on a proposal, with the receipt that proves it was decided. */
import { decodeBallot, encodeBallot, type SignedBallot } from '@conclave/coordination';
import { SIGNATURE_BYTES } from '@conclave/core';
import { z } from 'zod';
import { invalidArgument } from '../errors.ts';
import { type JsonObject, summaryForModel } from '../present.ts';
import { type CastWithReceipt, castWithReceipt, receiptFields } from './cast-with-receipt.ts';
import { base64Of, type Fields, integerIn, listOf, utf8Text } from './fields.ts';
import { castSealed, isSealed, proposalBeforeVoting } from './sealed-vote.ts';
import { defineTool, IDEMPOTENT_WRITES, type ToolContext, ToolFailureError } from './tool.ts';

type ScoreEntry = { readonly candidate: string; readonly score: number };
type Choice = 'approve' | 'reject' | 'abstain' | readonly ScoreEntry[];

/** The arguments, as the schema below hands them to the handler. */
interface VoteArgs {
  readonly proposalId: string;
  readonly choice?: Choice | undefined;
  readonly reason?: string | undefined;
  readonly confidence?: number | undefined;
  readonly signedBallot?: { readonly ballotBase64: string; readonly signatureBase64: string } | undefined;
}

export const castVote = defineTool({
  name: 'cast_vote',
  title: 'Vote on a proposal',
  description: (context) =>
    `Casts this agent's (${context.agent}) ballot on a proposal, signed with its key, and returns where it was ordered, the proposal's status, and a receipt (base64) that proves the vote was decided; keep it and check it with verify_receipt. One ballot per agent per proposal: voting the same again is a harmless duplicate, but a DIFFERENT second ballot is equivocation: it is refused, recorded as evidence against this agent, and this agent's vote stops counting. Choice: "approve", "reject" or "abstain"; for score proposals, a score for every candidate. Sealed proposals (get_decision shows "sealed" and a phase) take the same call: in the commit phase it commits to a hash of the ballot (no one sees the choice yet) and returns at once; this server then reveals the ballot by itself when the commit phase ends. If this server was restarted in between, call cast_vote again in the reveal phase with exactly the same choice, reason and confidence: it checks the ballot against the commitment and reveals it (a different ballot is refused here, since revealing it would be recorded against this agent).`,
  annotations: IDEMPOTENT_WRITES,
  input: (fields, context) => ({
    proposalId: fields.proposalId('The proposal to vote on.'),
    choice: choiceSchema(fields).optional().describe('Your choice. Required unless signedBallot is given.'),
    reason: utf8Text('reason', fields.limits.reasonBytesMax, 0)
      .optional()
      .describe('Why, in a sentence; recorded with the ballot.'),
    confidence: z.number().min(0).max(1).optional().describe('0..1, recorded, not counted. Default 1.'),
    signedBallot: z
      .object({
        ballotBase64: base64Of('ballotBase64', 1, fields.limits.ballotBytesMax, 'ballotBytesMax'),
        signatureBase64: base64Of(
          'signatureBase64',
          SIGNATURE_BYTES,
          SIGNATURE_BYTES,
          'an Ed25519 signature',
        ),
      })
      .optional()
      .describe(
        `Advanced: relay a ballot already signed elsewhere with ${context.agent}'s key instead of choice. A ballot that names another agent, or whose signature does not check, is refused (FORGED_BALLOT).`,
      ),
  }),
  run: async (args, context, extra) => {
    const signed = args.signedBallot === undefined ? signHere(args, context) : relayed(args, context);
    // Read first: a plain vote on a sealed proposal would put the choice in the log before its time.
    const proposal = await proposalBeforeVoting(args.proposalId, context, extra.signal);
    if (isSealed(proposal)) return castSealed(proposal, signed, context, extra.signal);
    return voteForModel(args, context, await castWithReceipt(signed, context, extra.signal));
  },
});

/**
 * A yes/no choice or scores. When the scores as a whole are refused (too many), zod reports
 * only "Invalid input" for a union, so the refusal of the scores is passed on as it is.
 */
function choiceSchema(fields: Fields) {
  const scores = scoresSchema(fields);
  return z.union([z.enum(['approve', 'reject', 'abstain']), scores], {
    error: (issue) => (Array.isArray(issue.input) ? issue.errors?.[1]?.[0]?.message : undefined),
  });
}

/** A score per candidate, within the cluster's bounds on candidates and scores. */
function scoresSchema(fields: Fields) {
  const entry = z.object({
    candidate: fields.candidate(),
    score: integerIn('score', 0, fields.limits.scoreMax),
  });
  return listOf(entry, 'choice', 1, fields.limits.candidatesMax).describe(
    'Score proposals: one entry per candidate, higher is better.',
  );
}

/**
 * A ballot signed elsewhere, checked to be a ballot on this proposal whose fields are within the
 * cluster's limits (the cluster checks the signature and the voter).
 */
function relayed(args: VoteArgs, context: ToolContext): SignedBallot {
  const given = args.signedBallot as NonNullable<VoteArgs['signedBallot']>;
  if (args.choice !== undefined)
    throw new ToolFailureError(invalidArgument('give either choice or signedBallot, not both'));
  const ballotBytes = new Uint8Array(Buffer.from(given.ballotBase64, 'base64'));
  const signature = new Uint8Array(Buffer.from(given.signatureBase64, 'base64'));
  const ballot = decodeBallot(ballotBytes, context.limits);
  if (!ballot.ok)
    throw new ToolFailureError(invalidArgument(`signedBallot is not a ballot: ${ballot.message}`));
  if (ballot.ballot.proposalId !== args.proposalId)
    throw new ToolFailureError(
      invalidArgument(`signedBallot is for proposal ${ballot.ballot.proposalId}, not ${args.proposalId}`),
    );
  return { ballotBytes, signature };
}

/** The ballot the arguments describe, signed with this agent's key. */
function signHere(args: VoteArgs, context: ToolContext): SignedBallot {
  if (args.choice === undefined)
    throw new ToolFailureError(invalidArgument('choice is required (approve, reject, abstain, or scores)'));
  const ballotBytes = encodeBallot({
    proposalId: args.proposalId,
    agent: context.agent,
    choice:
      typeof args.choice === 'string'
        ? args.choice
        : args.choice.map(({ candidate, score }) => [candidate, score] as const),
    reason: args.reason ?? '',
    confidencePermille: Math.round((args.confidence ?? 1) * 1000),
  });
  checkBallotBytes(ballotBytes, context.limits.ballotBytesMax);
  return { ballotBytes, signature: context.coordination.client.sign(ballotBytes) };
}

/** Each field is within its limit by the schema, but together they can still encode too long. */
function checkBallotBytes(ballotBytes: Uint8Array, ballotBytesMax: number): void {
  if (ballotBytes.byteLength <= ballotBytesMax) return;
  throw new ToolFailureError(
    invalidArgument(
      `the ballot encodes to ${ballotBytes.byteLength} bytes, over ${ballotBytesMax} (ballotBytesMax); shorten the reason`,
    ),
  );
}

function voteForModel(args: VoteArgs, context: ToolContext, result: CastWithReceipt): JsonObject {
  return {
    proposalId: args.proposalId,
    agent: context.agent,
    ...(args.choice === undefined ? {} : { choice: args.choice }),
    duplicate: result.duplicate,
    sequence: result.sequence,
    requestId: result.requestId,
    vouchedBy: result.replicas,
    proposal: summaryForModel(result.proposal),
    ...receiptFields(result, 'vote'),
  };
}
