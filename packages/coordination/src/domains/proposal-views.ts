/**
 * What reads show of a proposal: its view (with tally) and its summary. A sealed proposal shows
 * who has committed and who has revealed, never a commitment's content (that is `get_commitment`,
 * and a seal tells nothing without the ballot and its secret salt).
 */

import { compareStrings } from '../record.ts';
import type { ProposalPhase, ProposalSummary, ProposalView } from '../results.ts';
import { computeTally, type ProposalRecord } from '../tally.ts';
import { sortedKeys } from './shared.ts';

/** Where `proposal` is at agreed time `now`. */
export function phaseOf(proposal: ProposalRecord, now: number): ProposalPhase {
  if (proposal.status !== 'open') return 'decided';
  if (proposal.sealed === null) return 'voting';
  return now < proposal.sealed.commitDeadline ? 'commit' : 'reveal';
}

/** Voters whose commitment (or revealed ballot) counts, sorted. */
function counting(proposal: ProposalRecord, of: ReadonlyMap<string, unknown>): string[] {
  return sortedKeys(of).filter((agent) => !proposal.excluded.has(agent));
}

export function proposalView(proposal: ProposalRecord, now: number): ProposalView {
  return {
    proposalId: proposal.proposalId,
    proposer: proposal.proposer,
    title: proposal.title,
    rule: proposal.rule,
    voters: proposal.voters,
    deadline: proposal.deadline,
    candidates: proposal.candidates,
    createdAt: proposal.createdAt,
    status: proposal.status,
    phase: phaseOf(proposal, now),
    decidedAt: proposal.decidedAt,
    sealed:
      proposal.sealed === null
        ? null
        : {
            ...proposal.sealed,
            committed: [
              ...counting(proposal, proposal.commitments),
              ...counting(proposal, proposal.ballots),
            ].sort(compareStrings),
            revealed: counting(proposal, proposal.ballots),
          },
    tally: computeTally(proposal),
    action: proposal.action,
    actionOutcome: proposal.actionOutcome,
  };
}

export function proposalSummary(proposal: ProposalRecord, now: number): ProposalSummary {
  return {
    proposalId: proposal.proposalId,
    proposer: proposal.proposer,
    title: proposal.title,
    status: proposal.status,
    phase: phaseOf(proposal, now),
    deadline: proposal.deadline,
    sealed: proposal.sealed,
    decidedAt: proposal.decidedAt,
    winner: proposal.status === 'approved' ? computeTally(proposal).winner : null,
    actionKind: proposal.action?.kind ?? null,
    actionOutcome: proposal.actionOutcome,
  };
}
