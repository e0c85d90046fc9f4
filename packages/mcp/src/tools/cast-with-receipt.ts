/**
 * Sends a signed ballot (a vote, or a sealed ballot's commit or reveal) and fetches its receipt.
 * Replicas serve a receipt only while its batch is above their stable checkpoint, so a fetch can
 * lose the race with a checkpoint; the same operation sent again is then a duplicate (it never
 * counts twice) with a fresh receipt.
 */
import { decodeResult, ops, type ProposalSummary, type SignedBallot } from '@conclave/coordination';
import type { Receipt } from '@conclave/core';
import { ConclaveError, RejectedError, TimeoutError } from '@conclave/sdk';
import { type JsonObject, receiptForModel } from '../present.ts';
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
  /** The agreed time (ticks) of the batch it executed in. */
  readonly agreedTime: number;
}

/** The vote, and its receipt (with the sequence of the send it proves) unless none could be had. */
export type CastWithReceipt = CastVote & {
  readonly receipt: { readonly receipt: Receipt; readonly sequence: number } | undefined;
};

/** A plain vote on an open proposal, and its receipt. */
export function castWithReceipt(
  signed: SignedBallot,
  context: ToolContext,
  signal: AbortSignal,
): Promise<CastWithReceipt> {
  return sendWithReceipt(ops.vote(signed), 'vote', context, signal);
}

/**
 * Any operation whose result is a `vote` result (vote, commit, reveal), and its receipt; `what`
 * names it in the log.
 */
export async function sendWithReceipt(
  operation: Uint8Array,
  what: 'vote' | 'commit' | 'reveal',
  context: ToolContext,
  signal: AbortSignal,
): Promise<CastWithReceipt> {
  let first: CastVote | undefined;
  for (let attempt = 1; attempt <= RECEIPT_ATTEMPTS_MAX; attempt++) {
    const answer = await context.coordination.client.request(operation, { signal }).catch((error) => {
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
      throw new ConclaveError('INVALID_ARGUMENT', `expected a ${what} result, got ${result.kind}`);
    const { sequence, requestId, replicas } = answer;
    const vote: CastVote = {
      sequence,
      requestId,
      replicas,
      proposal: result.proposal,
      duplicate: result.duplicate,
      agreedTime: result.at.timestamp,
    };
    first ??= vote;
    const receipt = await fetchReceipt(vote, what, attempt, context, signal);
    if (receipt !== undefined) return { ...first, receipt: { receipt, sequence: vote.sequence } };
  }
  return { ...(first as CastVote), receipt: undefined };
}

/** The receipt of one send, or undefined when the replicas no longer serve it (a checkpoint passed). */
async function fetchReceipt(
  vote: CastVote,
  what: string,
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
      `cast_vote: no receipt for the ${what} at sequence ${vote.sequence} (attempt ${attempt}); the replicas may have passed a checkpoint`,
    );
    return undefined;
  }
}

/** The receipt, or why there is none; and which send it proves when that was a re-send. */
export function receiptFields(result: CastWithReceipt, what: 'vote' | 'commit' | 'reveal'): JsonObject {
  const counted = what === 'vote' ? 'the vote counted' : `the ${what} was recorded`;
  if (result.receipt === undefined)
    return {
      receipt: null,
      receiptMissing: `${counted} (f+1 replicas vouched for it) but its receipt was not available; call cast_vote again with the same ballot to get one (a harmless duplicate)`,
    };
  return {
    receipt: receiptForModel(result.receipt.receipt),
    receiptFormat: 'base64 of the canonical receipt; check it with verify_receipt',
    ...(what === 'vote' ? {} : { receiptOf: `the ${what} of this sealed ballot` }),
    ...(result.receipt.sequence === result.sequence
      ? {}
      : { receiptSequence: result.receipt.sequence, receiptOf: `a re-send of this same ${what}` }),
  };
}
