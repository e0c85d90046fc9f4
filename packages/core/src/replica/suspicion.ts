/**
 * Suspicion: how a replica leaves a view, and how one that fell behind finds the view the others
 * are in.
 *
 * A replica whose timer runs out does not leave its view: it broadcasts SUSPECT(view) and keeps
 * working. It leaves only once f+1 replicas suspect the view (so at least one honest replica
 * does), and then relays those f+1 suspicions, so that every honest replica holds them and leaves
 * too. A replica whose timer alone fired (a paused or slow one) therefore never sits alone in a
 * higher view ("lone view change"): it goes on in the view the others are in, and its suspicion
 * lapses once it no longer holds.
 *
 * A suspicion of a view older than ours comes from a replica that missed a view change: we send
 * it the NEW-VIEW we entered our view by. That message proves itself (2f+1 signed view-changes
 * and the pre-prepares they imply), so the replica checks it and follows no one's word. A replica
 * suspects its own view when it holds messages of later views from f+1 replicas: at least one
 * honest replica is past it.
 */
import { MessageType, type Suspect } from '../messages.ts';
import type { ReplicaContext } from './context.ts';
import { broadcast, sign } from './output.ts';
import type { HeldSuspicion } from './state.ts';
import { rateLimited } from './state-transfer.ts';
import { startViewChange } from './view-change.ts';

/** Retry periods after which a suspicion its author did not renew lapses. */
const SUSPICION_LAPSE_RETRIES = 2;

/**
 * Our timer ran out in the current view: suspect it (signed anew every `retryTicks` while it
 * holds, so that it stays live at the others), and leave it if f+1 replicas now do.
 */
export function suspectView(ctx: ReplicaContext): void {
  const own = ctx.suspicion.held.get(ctx.id);
  if (own?.view === ctx.view && ctx.now - own.at < ctx.protocol.retryTicks) return;
  const body: Suspect = { type: MessageType.suspect, view: ctx.view, round: ctx.now, replica: ctx.id };
  ctx.suspicion.held.set(ctx.id, { view: ctx.view, frame: broadcast(ctx, sign(ctx, body)), at: ctx.now });
  maybeLeaveView(ctx);
}

/** Our timer no longer runs out (the view made progress after all): we stop suspecting it. */
export function withdrawSuspicion(ctx: ReplicaContext): void {
  ctx.suspicion.held.delete(ctx.id);
}

/**
 * A replica's suspicion: an older view's is answered with our NEW-VIEW; a newer one than we have
 * seen from that replica is counted. Copies that are not newer (relayed, or replayed by a
 * Byzantine replica to revive a suspicion its author has dropped) change nothing.
 */
export function onSuspect(ctx: ReplicaContext, suspect: Suspect, raw: Uint8Array): void {
  if (suspect.replica === ctx.id) return;
  if (suspect.view < ctx.view) {
    sendNewViewTo(ctx, suspect.replica);
    return;
  }
  const seen = ctx.suspicion.seen.get(suspect.replica);
  if (
    seen !== undefined &&
    (suspect.view < seen.view || (suspect.view === seen.view && suspect.round <= seen.round))
  )
    return;
  ctx.suspicion.seen.set(suspect.replica, { view: suspect.view, round: suspect.round });
  ctx.suspicion.held.set(suspect.replica, { view: suspect.view, frame: raw, at: ctx.now });
  maybeLeaveView(ctx);
}

/**
 * Sends a replica that is behind the NEW-VIEW we entered the current view by, if we hold it and
 * have not just sent it something (a relayed suspicion reaches us once per relayer). Not in the
 * first `retryTicks` of the view: the NEW-VIEW that went to everyone is still on its way, and
 * the replica asks again (view-changes and suspicions are re-sent) if it was lost.
 */
export function sendNewViewTo(ctx: ReplicaContext, replica: number): void {
  const held = ctx.viewChange.newViewFrame;
  if (ctx.mode !== 'normal' || held?.view !== ctx.view) return;
  if (ctx.now - ctx.timers.viewEnteredAt < ctx.protocol.retryTicks || rateLimited(ctx, replica)) return;
  ctx.out.send.push({ to: { kind: 'replica', id: replica }, type: MessageType.newView, frame: held.frame });
}

/**
 * f+1 live suspicions of our view or later ones: at least one honest replica has given up on
 * the f+1-th highest view suspected, so we leave for the view after it, and relay those
 * suspicions so every honest replica holding them does the same. The next view is always the
 * one after: a target every replica computes alike, so none is left alone in a view the others
 * skipped (a primary that is down is passed over by suspecting its view at once, see `timers`).
 */
function maybeLeaveView(ctx: ReplicaContext): void {
  const live = liveSuspicions(ctx)
    .filter((held) => held.view >= ctx.view)
    .sort((a, b) => b.view - a.view);
  const quorum = live.slice(0, ctx.quorums.weak);
  const lowest = quorum.at(-1);
  if (quorum.length < ctx.quorums.weak || lowest === undefined) return;
  startViewChange(ctx, lowest.view + 1);
  ctx.suspicion.cause = quorum.map((held) => held.frame);
  relaySuspicions(ctx);
}

/** Sends the suspicions we left our last view on to every replica (again on each view-change retry). */
export function relaySuspicions(ctx: ReplicaContext): void {
  for (const frame of ctx.suspicion.cause)
    ctx.out.send.push({ to: { kind: 'replicas' }, type: MessageType.suspect, frame });
}

/**
 * Suspicions not renewed within two `retryTicks` lapse: a replica signs its own anew every
 * `retryTicks` while its timer keeps running out, so only those whose author stopped suspecting
 * go, and soon, before f Byzantine replicas could add theirs to a suspicion that no longer holds.
 */
/**
 * Whether a replica other than `except` (ourselves included) suspects `view` now: the view is
 * being given up, or may be soon.
 */
export function othersSuspect(ctx: ReplicaContext, view: number, except: number): boolean {
  dropLapsedSuspicions(ctx);
  for (const [replica, held] of ctx.suspicion.held) if (replica !== except && held.view === view) return true;
  return false;
}

function liveSuspicions(ctx: ReplicaContext): HeldSuspicion[] {
  dropLapsedSuspicions(ctx);
  return [...ctx.suspicion.held.values()];
}

/** Forgets the suspicions their authors did not renew in time: only live ones remain held. */
function dropLapsedSuspicions(ctx: ReplicaContext): void {
  for (const [replica, held] of ctx.suspicion.held)
    if (ctx.now - held.at > SUSPICION_LAPSE_RETRIES * ctx.protocol.retryTicks)
      ctx.suspicion.held.delete(replica);
}

/**
 * Changing into or entering `view`: suspicions of the views before it are settled, and so is the
 * cause we left our last view on (`maybeLeaveView` sets it again after `startViewChange`).
 */
export function forgetSuspicionsBelow(ctx: ReplicaContext, view: number): void {
  for (const [replica, held] of ctx.suspicion.held) if (held.view < view) ctx.suspicion.held.delete(replica);
  ctx.suspicion.cause = [];
}

/**
 * Whether we have heard from `replica` lately: within a request timeout and two heartbeats.
 * Until the primary fell silent, every live backup voted on its batches (heartbeats at least),
 * and the timeout is how long it has been silent since; so a replica that was alive when the
 * primary failed still counts, and one that fell silent well before it does not.
 */
export function isHeardFrom(ctx: ReplicaContext, replica: number): boolean {
  if (replica === ctx.id) return true;
  const at = ctx.timers.heardAt.get(replica);
  return (
    at !== undefined && ctx.now - at <= ctx.protocol.requestTimeoutTicks + 2 * ctx.protocol.heartbeatTicks
  );
}
