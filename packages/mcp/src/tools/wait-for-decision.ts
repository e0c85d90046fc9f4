/**
 * `wait_for_decision`: waits for a proposal's outcome, with progress notifications while it
 * waits so that clients whose timeouts reset on progress keep the call alive.
 */
import type { ProposalView } from '@conclave/coordination';
import { TimeoutError } from '@conclave/sdk';
import { z } from 'zod';
import { proposalForModel } from '../present.ts';
import { ownSealedBallot } from './own-sealed.ts';
import { defineTool, type Extra, READS, ToolFailureError } from './tool.ts';

/** How long a wait lasts unless told otherwise, and at most. */
export const WAIT_SECONDS_DEFAULT = 30;
export const WAIT_SECONDS_MAX = 600;
/** While a wait sees no change, a progress notification still goes out this often. */
export const WAIT_HEARTBEAT_MS = 10_000;
/** How often a wait asks the replicas. */
export const WAIT_POLL_MS = 200;

export const waitForDecision = defineTool({
  name: 'wait_for_decision',
  title: "Wait for a proposal's outcome",
  description: `Waits until the proposal is decided (approved, rejected, no_quorum or expired) and returns it with its tally. Sends progress notifications while it waits (whenever the tally changes, and every ${WAIT_HEARTBEAT_MS / 1000} s), and stops when the call is cancelled. If it is still open after timeoutSeconds, returns a TIMEOUT error with the current tally: call it again or get_decision later. A sealed proposal is decided once every committed voter has revealed, or at its deadline; progress messages say which phase it is in and how many have committed or revealed (never what they chose before the reveal).`,
  annotations: READS,
  input: (fields) => ({
    proposalId: fields.proposalId('The proposal to wait for.'),
    timeoutSeconds: z
      .number()
      .positive()
      .max(WAIT_SECONDS_MAX)
      .default(WAIT_SECONDS_DEFAULT)
      .describe(`How long to wait at most (default ${WAIT_SECONDS_DEFAULT}, at most ${WAIT_SECONDS_MAX}).`),
  }),
  run: async (args, context, extra) => {
    const progress = progressReporter(extra);
    try {
      const decided = await context.coordination.waitForDecision(args.proposalId, {
        signal: extra.signal,
        timeoutMs: args.timeoutSeconds * 1000,
        pollMs: WAIT_POLL_MS,
        onProgress: progress.changed,
      });
      return { ...proposalForModel(decided), ...ownSealedBallot(decided, context) };
    } catch (error) {
      if (error instanceof TimeoutError)
        throw stillOpen(args.proposalId, args.timeoutSeconds, progress.last());
      throw error;
    } finally {
      progress.stop();
    }
  },
});

/**
 * Progress notifications for one wait: one whenever the tally changes, and a heartbeat while it
 * does not. Silent when the caller gave no progress token or has gone away.
 */
function progressReporter(extra: Extra) {
  const token = extra._meta?.progressToken;
  let progress = 0;
  let last: ProposalView | undefined;
  const notify = (message: string) => {
    if (token === undefined || extra.signal.aborted) return;
    progress += 1;
    extra
      .sendNotification({
        method: 'notifications/progress',
        params: { progressToken: token, progress, message },
      })
      .catch(() => undefined);
  };
  const heartbeat = setInterval(
    () => notify(last === undefined ? 'waiting for the replicas' : `still open: ${tallyLine(last)}`),
    WAIT_HEARTBEAT_MS,
  );
  return {
    changed: (proposal: ProposalView) => {
      last = proposal;
      notify(`open: ${tallyLine(proposal)}`);
    },
    last: () => last,
    stop: () => clearInterval(heartbeat),
  };
}

/** The TIMEOUT failure of a wait that ran out, with the last tally seen. */
function stillOpen(proposalId: string, seconds: number, last: ProposalView | undefined): ToolFailureError {
  return new ToolFailureError({
    code: 'TIMEOUT',
    message: `TIMEOUT: proposal ${proposalId} is still open after ${seconds} s${last === undefined ? '' : ` (${tallyLine(last)})`} — call wait_for_decision again, or get_decision later`,
  });
}

/** One line on a proposal's standing, for progress messages. */
function tallyLine(proposal: ProposalView): string {
  const t = proposal.tally;
  const sealed = proposal.sealed;
  // In the commit phase there are no choices to count: who committed is all there is.
  if (sealed !== null && proposal.phase === 'commit')
    return `commit phase until ${sealed.commitDeadline}: ${sealed.committed.length} of ${proposal.voters.length} committed`;
  const parts = [
    `${t.approve.count} approve`,
    `${t.reject.count} reject`,
    `${t.abstain.count} abstain`,
    `${t.pending.count} pending`,
  ];
  if (sealed !== null)
    parts.unshift(`reveal phase: ${sealed.revealed.length} of ${sealed.committed.length} committed revealed`);
  if (t.excluded.length > 0)
    parts.push(`${t.excluded.length} excluded (${t.excluded.map((e) => e.agent).join(', ')})`);
  if (t.winner !== null) parts.push(`leading: ${t.winner}`);
  return parts.join(', ');
}
