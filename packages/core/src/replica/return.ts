/**
 * Return: the safe way back from a view change the others did not follow.
 *
 * A replica leaves its view once it holds f+1 suspicions of it, and relays them so every honest
 * replica leaves too. If the relay never arrives (a partition, or the replica crashes right after
 * leaving) and the others' suspicions lapse, the others stay where they are and this replica is
 * stranded in a view change no one else will make: the cluster works without its fault margin.
 *
 * Going back is not free. The stranded replica q signed VIEW-CHANGEs for the views it changed
 * into; were it to vote below them again, those view-changes would be stale (they lack what it
 * prepares from then on), and a NEW-VIEW built from one could re-propose something else at a
 * sequence that committed meanwhile. Refusing q's stale view-changes is not enough: a Byzantine
 * primary can send different NEW-VIEWs, each carrying a different returner's stale view-change,
 * to different replicas, and assemble a prepare quorum across them. So the views themselves die:
 * - q, changing into view w, sees 2f others still voting in a view x below it (x at least `left`,
 *   the last view q worked in) well after it left: they did not follow. It broadcasts
 *   RETURN(x, through = w).
 * - A replica in normal mode in x records, durably, that it will never enter a view above x
 *   through w ("skips" them: a view change that would go there goes to the first view above), and
 *   acknowledges; if q never was in x, it also sends the NEW-VIEW it entered x by.
 * - With 2f acknowledgements q records the same skip, durably, and enters x (with its log if it
 *   left x itself, by the NEW-VIEW otherwise).
 * Then in every view u above x through w at least f+1 honest replicas never take part (q and the
 * honest among its acknowledgers; none of them was ever in u), so at most 2f replicas can vote
 * there: nothing prepares in u, and q's stale view-changes, which only lead into such views, do no
 * harm however many replicas return. Every other view's view-changes are current. The full
 * argument and the Quint model's evidence are in docs/protocol.md and spec/README.md.
 */
import { type Frame, MessageType, type NewView, type Return, type ReturnAck } from '../messages.ts';
import type { ViewInterval } from '../types.ts';
import type { ReplicaContext } from './context.ts';
import { acceptNewView, checkNewView } from './new-view.ts';
import { broadcast, persistView, reject, send, sign } from './output.ts';
import { propose } from './requests.ts';
import { othersSuspect } from './suspicion.ts';

/**
 * The most views one return may skip. A stranded replica is one view (rarely two) above the
 * others; a Byzantine replica's RETURN can make the next view change skip at most this many.
 */
export const RETURN_SPAN_MAX = 2;
/** Intervals of skipped views kept; more are joined (skipping more views is always safe). */
const SKIPS_MAX = 4;

/** Whether we will never enter `view` (we returned from it, or acknowledged a return from it). */
export function isSkipped(ctx: ReplicaContext, view: number): boolean {
  return ctx.returning.skips.some((interval) => view > interval.above && view <= interval.through);
}

/** The first view at or above `view` that we have not skipped. */
export function firstUnskipped(ctx: ReplicaContext, view: number): number {
  let target = view;
  for (const interval of [...ctx.returning.skips].sort((a, b) => a.above - b.above))
    if (target > interval.above && target <= interval.through) target = interval.through + 1;
  return target;
}

/** A vote of a view below ours, while we change views: that replica did not follow us (yet). */
export function noteVoteBelow(ctx: ReplicaContext, view: number, replica: number): void {
  const left = ctx.returning.left; // -1: unknown (a store from before it was kept): no return
  if (ctx.mode === 'view-change' && replica !== ctx.id && left >= 0 && view >= left)
    ctx.returning.votesBelow.set(replica, { view, at: ctx.now });
}

/** A view change starts: whether the others follow us is measured afresh. */
export function restartReturn(ctx: ReplicaContext): void {
  ctx.returning.changingSince = ctx.now;
  ctx.returning.votesBelow.clear();
  ctx.returning.asked = undefined;
}

/**
 * On each tick while changing views: ask to return once 2f others still vote in one view below
 * ours well after we left (a view change they were going to follow would have taken them out of
 * it within a message delay); re-send the request until it is acknowledged.
 */
export function maybeAskToReturn(ctx: ReplicaContext): void {
  if (ctx.mode !== 'view-change') return;
  const asked = ctx.returning.asked;
  if (asked !== undefined) {
    if (ctx.now - asked.sentAt < ctx.protocol.retryTicks) return;
    asked.sentAt = ctx.now;
    ctx.out.send.push({ to: { kind: 'replicas' }, type: MessageType.return, frame: asked.frame });
    return;
  }
  const view = viewTheOthersWorkIn(ctx);
  if (view === undefined) return;
  const body: Return = {
    type: MessageType.return,
    view,
    through: ctx.view,
    left: ctx.returning.left,
    replica: ctx.id,
  };
  const frame = broadcast(ctx, sign(ctx, body));
  ctx.returning.asked = {
    view,
    through: ctx.view,
    frame,
    sentAt: ctx.now,
    acks: new Set(),
    newView: undefined,
  };
}

/** The view below ours (within reach of a return) that 2f others voted in since we left, if any. */
function viewTheOthersWorkIn(ctx: ReplicaContext): number | undefined {
  const followedBy = ctx.returning.changingSince + 2 * ctx.protocol.retryTicks;
  const voters = new Map<number, number>();
  for (const { view, at } of ctx.returning.votesBelow.values())
    if (at >= followedBy) voters.set(view, (voters.get(view) ?? 0) + 1);
  // A view we skip ourselves we could never enter (its NEW-VIEW would be SKIPPED_VIEW).
  const candidates = [...voters]
    .filter(([view, count]) => count >= 2 * ctx.quorums.f && ctx.view - view <= RETURN_SPAN_MAX)
    .map(([view]) => view)
    .filter((view) => !isSkipped(ctx, view));
  return candidates.length === 0 ? undefined : Math.max(...candidates);
}

/**
 * A replica asks to return into our view: we skip the views it leaves (durably, before we say
 * so) and acknowledge, with our NEW-VIEW if it never was in this view. Re-sent copies are
 * answered with the acknowledgement already signed; a new RETURN per replica per `retryTicks`.
 */
export function onReturn(ctx: ReplicaContext, ret: Return): void {
  if (ret.replica === ctx.id) return;
  if (ret.through <= ret.view || ret.through - ret.view > RETURN_SPAN_MAX || ret.left > ret.view) {
    reject(
      ctx,
      'INVALID_RETURN',
      `from ${ret.replica}: to ${ret.view} from ${ret.through}, left ${ret.left}`,
    );
    return;
  }
  forgetViewChangeOf(ctx, ret);
  if (ctx.mode !== 'normal' || ctx.view !== ret.view) return;
  // A view that others suspect is being given up: skipping the views after it would keep us out
  // of the one the others are about to form (with the returner, if it lied about being stranded).
  if (othersSuspect(ctx, ret.view, ret.replica)) return;
  const handled = ctx.returning.handled.get(ret.replica);
  const same = handled?.view === ret.view && handled.through === ret.through;
  if (!same && handled !== undefined && ctx.now - handled.at < ctx.protocol.retryTicks) {
    reject(ctx, 'RETURN_RATE_LIMITED', `replica ${ret.replica}`);
    return;
  }
  const record = same
    ? handled
    : { view: ret.view, through: ret.through, at: ctx.now, ack: undefined, newViewSentAt: undefined };
  ctx.returning.handled.set(ret.replica, record);
  skipViews(ctx, ret.view, ret.through);
  record.ack ??= sign<ReturnAck>(ctx, {
    type: MessageType.returnAck,
    view: ret.view,
    through: ret.through,
    returner: ret.replica,
    replica: ctx.id,
  });
  send(ctx, { kind: 'replica', id: ret.replica }, record.ack);
  // The NEW-VIEW is kilobytes where a RETURN is tens of bytes: copies of one RETURN (the
  // returner re-sends it every retry, a Byzantine replica may replay it) draw at most one per retry.
  const held = ctx.viewChange.newViewFrame;
  const sentLately =
    record.newViewSentAt !== undefined && ctx.now - record.newViewSentAt < ctx.protocol.retryTicks;
  if (ret.left < ret.view && held?.view === ctx.view && !sentLately) {
    record.newViewSentAt = ctx.now;
    ctx.out.send.push({
      to: { kind: 'replica', id: ret.replica },
      type: MessageType.newView,
      frame: held.frame,
    });
  }
}

/**
 * The returner's view-changes for the views it leaves no longer tell where it is: dropped, so
 * they cannot make us join a view it left. Until its return completes it still re-sends its
 * view-change, which we accept again; its next RETURN (every `retryTicks`) drops it again, and
 * the views it names are dead anyway (see above).
 */
function forgetViewChangeOf(ctx: ReplicaContext, ret: Return): void {
  const held = ctx.viewChange.latest.get(ret.replica);
  const view = held?.signed.body.newView;
  if (view !== undefined && view > ret.view && view <= ret.through) ctx.viewChange.latest.delete(ret.replica);
}

/** An acknowledgement of our return: with 2f of them (and the NEW-VIEW if we need it) we go back. */
export function onReturnAck(ctx: ReplicaContext, ack: ReturnAck): void {
  const asked = ctx.returning.asked;
  if (ctx.mode !== 'view-change' || asked === undefined || ack.returner !== ctx.id || ack.replica === ctx.id)
    return;
  if (ack.view !== asked.view || ack.through !== asked.through) return;
  asked.acks.add(ack.replica);
  maybeCompleteReturn(ctx);
}

/**
 * A NEW-VIEW for a view below ours: if it is the one we asked to return into and never were in,
 * we keep it (checked) to enter that view by. Returns whether it was that.
 */
export function onNewViewToReturnTo(ctx: ReplicaContext, frame: Frame<NewView>, raw: Uint8Array): boolean {
  const asked = ctx.returning.asked;
  if (ctx.mode !== 'view-change' || asked === undefined || frame.body.view !== asked.view) return false;
  if (asked.newView !== undefined || asked.view === ctx.returning.left) return true;
  if (checkNewView(ctx, frame)) {
    asked.newView = { frame, raw };
    maybeCompleteReturn(ctx);
  }
  return true;
}

function maybeCompleteReturn(ctx: ReplicaContext): void {
  const asked = ctx.returning.asked;
  if (asked === undefined || asked.acks.size < 2 * ctx.quorums.f) return;
  const back = asked.view === ctx.returning.left;
  if (!back && asked.newView === undefined) return;
  // Durable before we vote in the view below: we never enter the views we leave.
  skipViews(ctx, asked.view, asked.through);
  ctx.returning.asked = undefined;
  ctx.returning.votesBelow.clear();
  ctx.suspicion.held.delete(ctx.id);
  if (back) goBack(ctx);
  else if (asked.newView !== undefined) acceptNewView(ctx, asked.newView.frame, asked.newView.raw);
}

/** Back in the view we left, with our log as it was: we vote in it again from now on. */
function goBack(ctx: ReplicaContext): void {
  ctx.view = ctx.returning.left;
  ctx.mode = 'normal';
  ctx.viewChange.armedAt = undefined;
  ctx.suspicion.cause = [];
  ctx.timers.heardFromPrimary = false;
  ctx.timers.viewEnteredAt = ctx.now;
  ctx.timers.lastProgressSeenAt = ctx.now;
  ctx.timers.lastProposalAt = ctx.now;
  for (const pending of ctx.requests.pending.values()) pending.receivedAt = ctx.now;
  persistView(ctx);
  propose(ctx);
}

/** Records, durably, that we will never enter the views above `above` through `through`. */
export function skipViews(ctx: ReplicaContext, above: number, through: number): void {
  const before = ctx.returning.skips;
  // Views at or below the last one we worked in are behind us for good: no need to keep them.
  // Dropped before merging, so that a stale interval is never joined with a live one.
  const skips = mergeIntervals(
    [...before, { above, through }].filter((interval) => interval.through > ctx.returning.left),
  );
  if (sameIntervals(before, skips)) return;
  ctx.returning.skips = skips;
  ctx.out.persist.push({ kind: 'skips', intervals: skips });
}

/** Sorted, overlapping or adjacent ones joined, at most `SKIPS_MAX` (the lowest joined). */
function mergeIntervals(intervals: readonly ViewInterval[]): ViewInterval[] {
  const sorted = [...intervals].sort((a, b) => a.above - b.above);
  const merged: ViewInterval[] = [];
  for (const interval of sorted) {
    const last = merged.at(-1);
    if (last !== undefined && interval.above <= last.through)
      merged[merged.length - 1] = { above: last.above, through: Math.max(last.through, interval.through) };
    else merged.push(interval);
  }
  while (merged.length > SKIPS_MAX) {
    const [first, second] = merged as [ViewInterval, ViewInterval];
    merged.splice(0, 2, { above: first.above, through: Math.max(first.through, second.through) });
  }
  return merged;
}

function sameIntervals(a: readonly ViewInterval[], b: readonly ViewInterval[]): boolean {
  return a.length === b.length && a.every((x, i) => x.above === b[i]?.above && x.through === b[i]?.through);
}
