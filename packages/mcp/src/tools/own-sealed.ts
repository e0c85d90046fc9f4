/**
 * Where this server's own agent stands on a sealed proposal: committed, revealed, a reveal
 * scheduled here (or what became of it), and what to do next. Added to get_decision and
 * wait_for_decision answers, so a model need not work it out from the lists.
 */
import type { ProposalView } from '@conclave/coordination';
import type { JsonObject } from '../present.ts';
import type { ToolContext } from './tool.ts';

/** `{ yourBallot }` for a sealed proposal this agent votes on; nothing otherwise. */
export function ownSealedBallot(view: ProposalView, context: ToolContext): JsonObject {
  const { agent } = context;
  if (view.sealed === null || !view.voters.some((v) => v.agent === agent)) return {};
  const committed = view.sealed.committed.includes(agent);
  const revealed = view.sealed.revealed.includes(agent);
  const exclusion = view.tally.excluded.find((e) => e.agent === agent);
  const scheduled = context.reveals.pending(view.proposalId);
  const outcome = context.reveals.outcome(view.proposalId);
  return {
    yourBallot: {
      agent,
      committed,
      revealed,
      excluded:
        exclusion === undefined ? null : { reason: exclusion.reason, evidenceId: exclusion.evidenceId },
      revealScheduledAt: scheduled === undefined ? null : scheduled.revealAt,
      scheduledReveal: outcome === undefined ? null : { status: outcome.status, detail: outcome.detail },
      next: nextStep(view, {
        committed,
        revealed,
        excluded: exclusion !== undefined,
        scheduled: scheduled !== undefined,
      }),
    },
  };
}

function nextStep(
  view: ProposalView,
  own: { committed: boolean; revealed: boolean; excluded: boolean; scheduled: boolean },
): string {
  const sealed = view.sealed as NonNullable<ProposalView['sealed']>;
  if (own.excluded) return 'nothing: your ballot does not count here (list_evidence shows why)';
  if (view.phase === 'decided')
    return own.committed && !own.revealed
      ? `nothing: decided; your ballot was not revealed and counted as ${sealed.missingReveal}`
      : 'nothing: decided';
  if (own.revealed) return 'nothing: your ballot is revealed and counted';
  if (view.phase === 'commit')
    return own.committed
      ? own.scheduled
        ? `nothing: this server reveals your ballot once agreed time reaches ${sealed.commitDeadline}`
        : `after agreed time ${sealed.commitDeadline}, call cast_vote again with the same choice, reason and confidence to reveal`
      : `cast_vote before agreed time ${sealed.commitDeadline} to commit`;
  if (!own.committed) return 'nothing: you did not commit in the commit phase, so you cannot vote';
  return own.scheduled
    ? 'nothing: this server is revealing your ballot'
    : `call cast_vote with the same choice, reason and confidence as when you committed, before agreed time ${view.deadline}, to reveal`;
}
