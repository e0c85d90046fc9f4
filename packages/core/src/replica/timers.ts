/**
 * Time: each tick checks the timeouts — a primary's heartbeat and stall, a backup's overdue
 * request or silent primary, the view-change timer — and re-sends what the network may have lost
 * (view-changes, suspicions, and agreement messages of sequences that stopped executing).
 */
import { assert } from '../errors.ts';
import { MessageType } from '../messages.ts';
import {
  high,
  isPrimary,
  primaryOf,
  type ReplicaContext,
  silenceTimeoutTicks,
  timeoutTicks,
} from './context.ts';
import { conflictOverdue, forwardConflict, forwardUnordered, propose, proposeBatch } from './requests.ts';
import { resendStuck } from './retransmit.ts';
import { maybeAskToReturn } from './return.ts';
import type { PendingRequest } from './state.ts';
import { fetchMissing } from './state-transfer.ts';
import { isHeardFrom, relaySuspicions, suspectView, withdrawSuspicion } from './suspicion.ts';

/** Time passes: timeouts are checked, lost messages re-sent, and a replica that is behind fetches. */
export function onTick(ctx: ReplicaContext, ticks: number): void {
  assert(Number.isInteger(ticks) && ticks > 0, 'ticks must be a positive integer');
  ctx.now += ticks;
  if (ctx.mode === 'view-change') {
    if (ctx.viewChange.ownFrame !== undefined && ctx.now - ctx.viewChange.sentAt >= ctx.protocol.retryTicks) {
      ctx.viewChange.sentAt = ctx.now;
      ctx.out.send.push({
        to: { kind: 'replicas' },
        type: MessageType.viewChange,
        frame: ctx.viewChange.ownFrame,
      });
      relaySuspicions(ctx);
    }
    // The view we are changing into did not start in time, or its primary has been silent
    // since well before (it is down, and waiting for it would cost a whole timeout): suspect it.
    const timerRanOut =
      ctx.viewChange.armedAt !== undefined && ctx.now - ctx.viewChange.armedAt >= timeoutTicks(ctx);
    if (timerRanOut || !isHeardFrom(ctx, primaryOf(ctx, ctx.view))) suspectView(ctx);
    maybeAskToReturn(ctx);
  } else {
    const timeout = timeoutTicks(ctx);
    const oldest = ctx.requests.pending.values().next().value as PendingRequest | undefined;
    const requestOverdue =
      (oldest !== undefined && ctx.now - oldest.receivedAt >= timeout) || conflictOverdue(ctx, timeout);
    if (isPrimary(ctx)) onPrimaryTick(ctx, timeout, requestOverdue);
    else onBackupTick(ctx, requestOverdue);
    resendStuck(ctx);
  }
  // Evidence that has not been ordered yet goes out again (forwards can be lost), also while
  // changing views: the replicas that must join the change may not know of it yet.
  if (ctx.mode === 'view-change' || !isPrimary(ctx)) {
    for (const pair of ctx.requests.conflicts.values()) {
      if (ctx.now - pair.forwardedAt >= ctx.protocol.retryTicks) forwardConflict(ctx, pair);
    }
  }
  const behind =
    ctx.agreement.highestSeenSequence > ctx.execution.lastExecuted || ctx.transfer.target !== undefined;
  if (behind && ctx.now - ctx.timers.lastExecutedAt >= ctx.protocol.retryTicks) fetchMissing(ctx);
}

/**
 * The primary proposes what is pending, sends heartbeats when idle, and gives up a view it
 * cannot make progress in.
 */
function onPrimaryTick(ctx: ReplicaContext, timeout: number, requestOverdue: boolean): void {
  propose(ctx);
  const idle = ctx.requests.nextSequence - 1 === ctx.execution.lastExecuted;
  if (
    idle &&
    ctx.requests.nextSequence <= high(ctx) &&
    ctx.now - ctx.timers.lastProposalAt >= ctx.protocol.heartbeatTicks
  ) {
    proposeBatch(ctx, []); // heartbeat: agreed time advances even with nothing to order
  }
  // A primary that cannot get anything executed is leading no one (the others may have moved
  // to other views while it was cut off, each waiting for f+1 to join them): it gives up its
  // view like a backup would, which is always safe and costs a working primary nothing.
  const inFlight = ctx.requests.nextSequence - 1 > ctx.execution.lastExecuted;
  const stalled =
    inFlight && ctx.now - Math.max(ctx.timers.lastExecutedAt, ctx.timers.viewEnteredAt) >= timeout;
  suspectIf(ctx, requestOverdue || stalled);
}

/** A backup starts a view change when a request is overdue or the primary has gone silent. */
function onBackupTick(ctx: ReplicaContext, requestOverdue: boolean): void {
  // Silence is only evidence against a primary we have heard from in this view: a replica that
  // is still connecting, or is itself cut off, would otherwise start a view change alone and,
  // having promised to leave the view, could not come back to it.
  const primarySilent =
    ctx.timers.heardFromPrimary && ctx.now - ctx.timers.lastProgressSeenAt >= silenceTimeoutTicks(ctx);
  suspectIf(ctx, requestOverdue || primarySilent);
  forwardUnordered(ctx);
}

/**
 * In normal mode: suspect the view while a timer runs out or f+1 replicas are past it, and stop
 * suspecting it once neither holds (a replica that was paused catches up and goes on).
 */
function suspectIf(ctx: ReplicaContext, timedOut: boolean): void {
  if (timedOut || othersAhead(ctx)) suspectView(ctx);
  else withdrawSuspicion(ctx);
}

/**
 * Whether f+1 replicas sent us messages of views above ours: at least one honest replica has
 * left our view, so it will not make progress again and we must find the view they are in.
 */
function othersAhead(ctx: ReplicaContext): boolean {
  const senders = new Set<number>();
  for (const item of ctx.agreement.earlyFrames) if (item.view > ctx.view) senders.add(item.sender);
  return senders.size >= ctx.quorums.weak;
}
