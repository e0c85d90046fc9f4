/**
 * `cast_vote` on a sealed proposal. The tool takes the same ballot in both phases and does what
 * the phase needs, so a model does not have to know the protocol:
 *
 * - commit phase: commits to the ballot's seal (the salt derived from this agent's key, so
 *   nothing needs storing) and schedules the reveal in this server for when agreed time reaches
 *   the commit deadline; answers at once with when that will be.
 * - reveal phase: reveals, after checking here that the ballot reproduces this agent's
 *   commitment. A reveal that does not is recorded by the cluster as evidence against the agent
 *   and excludes its ballot, so a mismatch is refused here with nothing sent. This is also how a
 *   server restarted between commit and reveal reveals: the same ballot, the same derived salt.
 *
 * The ballot's content is never sent before the commit deadline: the plain vote path is taken
 * only once a read has shown the proposal is open.
 */
import {
  type Ballot,
  type CoordinationResult,
  decodeBallot,
  decodeCommitment,
  decodeResult,
  deriveSealSalt,
  encodeCommitment,
  ops,
  type ProposalView,
  type SignedBallot,
  sealOf,
} from '@conclave/coordination';
import { bytesEqual } from '@conclave/core';
import { refusalError } from '@conclave/sdk';
import type { ToolFailure } from '../errors.ts';
import { choiceForModel, type JsonObject, summaryForModel } from '../present.ts';
import { type CastWithReceipt, receiptFields, sendWithReceipt } from './cast-with-receipt.ts';
import { type ToolContext, ToolFailureError } from './tool.ts';

/** How long the quorum read before a vote may take before the ordered read is asked instead. */
const QUORUM_READ_TIMEOUT_MS = 2_000;

/** A sealed proposal's view (its `sealed` is not null). */
type SealedProposal = ProposalView & { readonly sealed: NonNullable<ProposalView['sealed']> };

/**
 * The proposal, read before anything of a ballot is sent: whether it is sealed decides whether
 * the ballot may be sent at all yet. A quorum read first (sealed-ness never changes, and a
 * quorum's phase is one f+1 honest replicas had reached); when that fails, an ordered read.
 */
export async function proposalBeforeVoting(
  proposalId: string,
  context: ToolContext,
  signal: AbortSignal,
): Promise<ProposalView> {
  try {
    return await context.coordination.decision(proposalId, {
      consistency: 'quorum',
      signal,
      timeoutMs: QUORUM_READ_TIMEOUT_MS,
    });
  } catch (error) {
    if (signal.aborted) throw error;
    // Not found by a quorum (it may be in flight), or no quorum: ask in order.
    return context.coordination.decision(proposalId, { signal });
  }
}

export function isSealed(view: ProposalView): view is SealedProposal {
  return view.sealed !== null;
}

/** A failure found here, before anything was sent. */
const refuse = (code: string, message: string): ToolFailureError =>
  new ToolFailureError({ code, message: `${code}: ${message}` } satisfies ToolFailure);

/** Casts `signed` on the sealed proposal `view`: commits or reveals, as its phase needs. */
export async function castSealed(
  view: SealedProposal,
  signed: SignedBallot,
  context: ToolContext,
  signal: AbortSignal,
): Promise<JsonObject> {
  const client = context.coordination.client;
  const ballot = checkOwnBallot(view, signed, context);
  const salt = deriveSealSalt(view.proposalId, context.agent, (m) => client.sign(m), client.crypto);
  const seal = sealOf(view.proposalId, context.agent, signed.ballotBytes, salt, client.crypto);
  const shown = { proposalId: view.proposalId, agent: context.agent, choice: choiceForModel(ballot.choice) };
  if (view.phase === 'commit') return commit(view, signed, salt, seal, shown, context, signal);
  return reveal(view, signed, salt, seal, shown, context, signal);
}

/**
 * The ballot is this agent's, signed with its key, and fits the proposal: otherwise the
 * commitment would seal a ballot the cluster refuses at the reveal, and the voter would be
 * recorded as never revealing.
 */
function checkOwnBallot(view: SealedProposal, signed: SignedBallot, context: ToolContext): Ballot {
  const client = context.coordination.client;
  const decoded = decodeBallot(signed.ballotBytes, context.limits);
  if (!decoded.ok) throw refuse('INVALID_ARGUMENT', `not a ballot: ${decoded.message}`);
  const { ballot } = decoded;
  if (
    ballot.agent !== context.agent ||
    !client.crypto.verify(signed.ballotBytes, signed.signature, client.publicKey)
  )
    throw refuse(
      'FORGED_BALLOT',
      `a sealed ballot must be ${context.agent}'s, signed with its key in this server; nothing was sent`,
    );
  const problem = choiceProblem(view, ballot.choice);
  if (problem !== undefined) throw refuse('INVALID_ARGUMENT', `${problem}; nothing was sent`);
  return ballot;
}

/** Why `choice` does not fit the proposal's rule (the cluster's own check, made before committing). */
function choiceProblem(view: ProposalView, choice: Ballot['choice']): string | undefined {
  if (view.rule.kind !== 'score')
    return typeof choice === 'string' ? undefined : 'this proposal takes approve, reject or abstain';
  if (typeof choice === 'string') return 'this proposal takes a score for every candidate';
  const scored = new Set(choice.map(([candidate]) => candidate));
  if (
    scored.size !== choice.length ||
    scored.size !== view.candidates.length ||
    view.candidates.some((c) => !scored.has(c))
  )
    return `a ballot must score exactly the candidates ${view.candidates.join(', ')}, each once`;
  return undefined;
}

type Shown = { readonly proposalId: string; readonly agent: string; readonly choice: unknown };

async function commit(
  view: SealedProposal,
  signed: SignedBallot,
  salt: Uint8Array,
  seal: Uint8Array,
  shown: Shown,
  context: ToolContext,
  signal: AbortSignal,
): Promise<JsonObject> {
  const { proposalId } = view;
  const { commitDeadline } = view.sealed;
  // A second, different commitment is equivocation: evidence against this agent. Caught here.
  const scheduled = context.reveals.pending(proposalId);
  if (scheduled !== undefined && !bytesEqual(scheduled.seal, seal)) throw otherCommitment(proposalId);
  const existing = await readOwn(ops.getCommitment({ proposalId, agent: context.agent }), context, signal);
  if (existing.ok && existing.kind === 'commitment') {
    const held = decodeCommitment(existing.commitmentBytes);
    if (held.ok && !bytesEqual(held.commitment.seal, seal)) throw otherCommitment(proposalId);
  } else if (!existing.ok && existing.code !== 'NOT_FOUND') {
    throw refusalError(existing.code, existing.message, existing.resource);
  }
  if (!context.reveals.hasRoomFor(proposalId))
    throw refuse(
      'TOO_MANY_PENDING_REVEALS',
      `this server already holds ${context.reveals.pendingMax} sealed ballots waiting for their reveal; nothing was sent. Vote on ${proposalId} once some of those proposals reach their reveal phase`,
    );
  const commitmentBytes = encodeCommitment({ proposalId, agent: context.agent, seal });
  const signature = context.coordination.client.sign(commitmentBytes);
  const sent = await sendWithReceipt(ops.commit({ commitmentBytes, signature }), 'commit', context, signal);
  const revealScheduled = context.reveals.schedule({
    proposalId,
    commitDeadline,
    deadline: view.deadline,
    seal,
    operation: ops.reveal({ ...signed, salt }),
  });
  const inSeconds = Math.max(0, ((commitDeadline - sent.agreedTime) * context.tickMs) / 1000);
  const whenToReveal = `after agreed time ${commitDeadline} (about ${inSeconds.toFixed(1)} s from now) and before the deadline ${view.deadline}`;
  return {
    ...shown,
    sealed: true,
    step: 'committed',
    ...sentFields(sent),
    commitDeadline,
    deadline: view.deadline,
    reveal: revealScheduled
      ? {
          scheduled: true,
          at: commitDeadline,
          inAboutSeconds: Number(inSeconds.toFixed(1)),
          how: `this server reveals the ballot by itself once the cluster's agreed time reaches ${commitDeadline}; nothing to do but wait_for_decision. If this server stops before then, call cast_vote again with the same choice, reason and confidence ${whenToReveal}.`,
        }
      : {
          scheduled: false,
          how: `this server could not schedule the reveal; call cast_vote again with the same choice, reason and confidence ${whenToReveal}, or it counts as ${view.sealed.missingReveal} and a no_reveal record is kept against ${context.agent}.`,
        },
    note: 'Sealed: the cluster holds only a hash of this ballot until the reveal, so no voter can see or copy it before committing its own. Do not vote again with a different choice: a second, different ballot is equivocation.',
    ...receiptFields(sent, 'commit'),
  };
}

async function reveal(
  view: SealedProposal,
  signed: SignedBallot,
  salt: Uint8Array,
  seal: Uint8Array,
  shown: Shown,
  context: ToolContext,
  signal: AbortSignal,
): Promise<JsonObject> {
  const { proposalId } = view;
  const held = await readOwn(ops.getCommitment({ proposalId, agent: context.agent }), context, signal);
  if (held.ok && held.kind === 'commitment') {
    const decoded = decodeCommitment(held.commitmentBytes);
    if (!decoded.ok || !bytesEqual(decoded.commitment.seal, seal))
      throw refuse(
        'SEAL_MISMATCH',
        `this ballot is not the one ${context.agent} committed to on ${proposalId}, so nothing was sent (a reveal that does not reproduce the commitment is recorded as evidence against ${context.agent} and voids its ballot). Call cast_vote again with exactly the choice, reason and confidence given when committing`,
      );
    if (!held.counted) throw excluded(view, context.agent);
    if (view.phase === 'decided')
      throw refuse(
        'CLOSED',
        `${proposalId} is already ${view.status}: reveals closed at its deadline ${view.deadline}, and ${context.agent}'s commitment counted as ${view.sealed.missingReveal}`,
      );
    return revealed(await sendReveal(signed, salt, context, signal), shown, view, context);
  }
  if (!held.ok && held.code !== 'NOT_FOUND') throw refusalError(held.code, held.message, held.resource);
  // No commitment held: revealed already (the commitment is dropped then), or never committed.
  const ballot = await readOwn(ops.getBallot({ proposalId, agent: context.agent }), context, signal);
  if (ballot.ok && ballot.kind === 'ballot') {
    if (!bytesEqual(ballot.ballotBytes, signed.ballotBytes))
      throw refuse(
        'SEAL_MISMATCH',
        `${context.agent} already revealed a different ballot on ${proposalId}; nothing was sent (a second, different ballot is equivocation). get_decision shows the counted ballot`,
      );
    // The same reveal again: a harmless duplicate, with a receipt.
    return revealed(await sendReveal(signed, salt, context, signal), shown, view, context);
  }
  throw refuse(
    'NO_COMMITMENT',
    `${context.agent} did not commit on ${proposalId} before its commit deadline ${view.sealed.commitDeadline}; a sealed proposal counts only ballots committed in time. Nothing was sent`,
  );
}

function excluded(view: SealedProposal, agent: string): ToolFailureError {
  const exclusion = view.tally.excluded.find((e) => e.agent === agent);
  const why = exclusion === undefined ? '' : ` (${exclusion.reason}, evidence ${exclusion.evidenceId})`;
  return refuse(
    'EXCLUDED',
    `${agent}'s ballot on ${view.proposalId} does not count${why}; nothing was sent. list_evidence shows why`,
  );
}

const otherCommitment = (proposalId: string): ToolFailureError =>
  refuse(
    'SEAL_MISMATCH',
    `this agent already committed to a different ballot on ${proposalId}; a second, different commitment is equivocation (recorded against the agent, and neither counts), so nothing was sent. To keep the first, call cast_vote with the same choice, reason and confidence as then`,
  );

async function sendReveal(
  signed: SignedBallot,
  salt: Uint8Array,
  context: ToolContext,
  signal: AbortSignal,
): Promise<CastWithReceipt> {
  return sendWithReceipt(ops.reveal({ ...signed, salt }), 'reveal', context, signal);
}

function revealed(
  sent: CastWithReceipt,
  shown: Shown,
  view: SealedProposal,
  context: ToolContext,
): JsonObject {
  // Revealed here: a reveal still scheduled for it has nothing left to do.
  context.reveals.forget(view.proposalId);
  return {
    ...shown,
    sealed: true,
    step: 'revealed',
    ...sentFields(sent),
    commitDeadline: view.sealed.commitDeadline,
    deadline: view.deadline,
    ...receiptFields(sent, 'reveal'),
  };
}

function sentFields(sent: CastWithReceipt): JsonObject {
  return {
    duplicate: sent.duplicate,
    sequence: sent.sequence,
    requestId: sent.requestId,
    vouchedBy: sent.replicas,
    proposal: summaryForModel(sent.proposal),
  };
}

/** An ordered read of this agent's own commitment or ballot. */
async function readOwn(
  operation: Uint8Array,
  context: ToolContext,
  signal: AbortSignal,
): Promise<CoordinationResult> {
  const answer = await context.coordination.client.request(operation, { signal });
  return decodeResult(answer.result);
}
