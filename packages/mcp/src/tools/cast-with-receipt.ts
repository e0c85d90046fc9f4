/**
 * Sends a signed ballot and fetches its receipt. Replicas serve a receipt only while its batch
 * is above their stable checkpoint, so a fetch can lose the race with a checkpoint; the same
 * signed ballot sent again is then a duplicate (it never counts twice) with a fresh receipt.
 */
import { decodeResult, ops, type ProposalSummary, type SignedBallot } from '@conclave/coordination';
import type { Receipt } from '@conclave/core';
import { ConclaveError, RejectedError, TimeoutError } from '@conclave/sdk';
import type { ToolContext } from './tool.ts';

/** How long a vote's receipt is looked for, and how many times the ballot is sent to get one. */
export const RECEIPT_TIMEOUT_MS = 2_000;
export const RECEIPT_ATTEMPTS_MAX = 3;

/** Where the first send of the ballot was ordered, and what it did. */
export interface CastVote {
  readonly sequence: number;
  readonly requestId: number;
  readonly replicas: readonly number[];
  readonly proposal: ProposalSummary;
  readonly duplicate: boolean;
}

/** The vote, and its receipt (with the sequence of the send it proves) unless none could be had. */
export type CastWithReceipt = CastVote & {
  readonly receipt: { readonly receipt: Receipt; readonly sequence: number } | undefined;
};

export async function castWithReceipt(
  signed: SignedBallot,
  context: ToolContext,
  signal: AbortSignal,
): Promise<CastWithReceipt> {
  let first: CastVote | undefined;
  for (let attempt = 1; attempt <= RECEIPT_ATTEMPTS_MAX; attempt++) {
    const answer = await context.coordination.client.request(ops.vote(signed), { signal }).catch((error) => {
      if (first === undefined) throw error;
      return undefined; // the vote itself counted; only the receipt is missing
    });
    if (answer === undefined) break;
    const result = decodeResult(answer.result);
    if (!result.ok) {
      if (first === undefined) throw new RejectedError(result.code, result.message);
      break;
    }
    if (result.kind !== 'vote')
      throw new ConclaveError('INVALID_ARGUMENT', `expected a vote result, got ${result.kind}`);
    const { sequence, requestId, replicas } = answer;
    const vote: CastVote = {
      sequence,
      requestId,
      replicas,
      proposal: result.proposal,
      duplicate: result.duplicate,
    };
    first ??= vote;
    const receipt = await fetchReceipt(vote, attempt, context, signal);
    if (receipt !== undefined) return { ...first, receipt: { receipt, sequence: vote.sequence } };
  }
  return { ...(first as CastVote), receipt: undefined };
}

/** The receipt of one send, or undefined when the replicas no longer serve it (a checkpoint passed). */
async function fetchReceipt(
  vote: CastVote,
  attempt: number,
  context: ToolContext,
  signal: AbortSignal,
): Promise<Receipt | undefined> {
  try {
    return await context.coordination.client.receipt(vote.sequence, vote.requestId, {
      signal,
      timeoutMs: RECEIPT_TIMEOUT_MS,
    });
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    context.log(
      `cast_vote: no receipt for sequence ${vote.sequence} (attempt ${attempt}); the replicas may have passed a checkpoint`,
    );
    return undefined;
  }
}
